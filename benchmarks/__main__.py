"""``python -m benchmarks [--quick] [--json PATH]``: run the suite, print the table, write the plot."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from typing import Any

from . import report
from .features import run_features
from .inprocess import run_breakdown, run_inprocess
from .scan import run_memory, run_scan
from .servers import run_servers
from .worst import run_worst


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (CI smoke; under 2 minutes)")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    parser.add_argument(
        "--plot", metavar="PATH", help="PNG plot (default: docs/bench.png for a full run; none for --quick)"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write the plot")
    parser.add_argument("--no-servers", action="store_true", help="skip the uvicorn/gunicorn runs")
    parser.add_argument("--rounds", type=int, help="rounds per in-process comparison (default 5 quick, 21 full)")
    args = parser.parse_args(argv)

    rounds = args.rounds or (5 if args.quick else 21)
    started = time.monotonic()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result: dict[str, Any] = {
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python -m benchmarks" + (" --quick" if args.quick else ""),
            "quick": args.quick,
            "rounds": rounds,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {load:.2f} at start",
        }
    }
    _log(f"respguard benchmarks ({'quick' if args.quick else 'full'}, {rounds} rounds)")
    _log("in-process (ratio to bare, median of rounds):")
    result["inprocess"] = [c.row() for c in run_inprocess(rounds, args.quick, log=_log)]
    _log("where respguard's time goes (µs over bare, one default feature off at a time):")
    result["breakdown"] = run_breakdown(rounds, args.quick, log=_log)
    _log("opt-in features, each on its own (µs per request):")
    result["features"] = run_features(rounds, args.quick, log=_log)
    _log("scan throughput:")
    result["scan"] = run_scan(rounds, args.quick, log=_log)
    _log("memory:")
    result["memory"] = run_memory(log=_log)
    _log("worst-case responses through the whole guard (ratio to a plain body of the same size):")
    result["worst"] = run_worst(args.quick, log=_log)
    result["server"] = []
    if not args.no_servers:
        _log("real servers on 127.0.0.1:")
        server_rounds = 2 if args.quick else 5
        try:
            result["server"] = run_servers(server_rounds, 1.0 if args.quick else 3.0, log=_log)
        except (OSError, RuntimeError) as exc:  # a server that won't start must not hide the rest
            result["meta"]["server_error"] = str(exc)[:300]
            _log(f"  server run failed: {exc}")
    end_load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result["meta"]["machine"] += f", {end_load:.2f} at end"
    result["meta"]["seconds"] = round(time.monotonic() - started, 1)

    print(report.markdown(result))
    if args.json:
        report.write_json(result, args.json)
        _log(f"wrote {args.json}")
    plot = args.plot or (None if args.quick else "docs/bench.png")
    if plot and not args.no_plot and report.plot(result, plot):
        _log(f"wrote {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
