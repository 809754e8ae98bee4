"""``python -m benchmarks [--quick] [--builds pure,compiled] [--json PATH]``: run the suite, print the tables, plot.

The in-process table is measured for each build (pure, compiled) in its own interpreter
(:mod:`benchmarks.builds`); the other tables run here, on this tree's build.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from typing import Any

from . import report
from .builds import BUILDS, Build, current_build, prepare, run_worker
from .features import run_features
from .inprocess import run_breakdown, run_inprocess
from .scan import run_memory, run_scan
from .servers import run_servers
from .worst import run_worst


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _inprocess(builds: list[str], rounds: int, quick: bool, meta: dict[str, Any]) -> list[dict[str, object]]:
    """Every in-process row for each build; a build that can't be had is named with why (never a failure)."""
    meta["builds"], meta["builds_missing"] = {}, {}
    if builds == [current_build()]:  # this interpreter is the build: no worker needed
        meta["builds"][builds[0]] = "this tree, measured in the harness's own interpreter"
        return [c.row() for c in run_inprocess(rounds, quick, log=_log)]
    ready: list[Build] = []
    for name in builds:
        build = prepare(name, log=_log)
        if isinstance(build, str):
            _log(f"  the {name} build is not available: {build}; reporting the others only")
            meta["builds_missing"][name] = build
        else:
            ready.append(build)
    rows: list[dict[str, object]] = []
    for build in ready:
        _log(f"  {build.name}: {build.origin}")
        try:
            rows += run_worker(build, rounds, quick)
        except (OSError, RuntimeError, ValueError) as exc:
            _log(f"  the {build.name} run failed: {exc}")
            meta["builds_missing"][build.name] = f"its run failed ({exc})"
            continue
        meta["builds"][build.name] = build.origin
    return rows


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
    parser.add_argument(
        "--builds",
        help="the builds of the in-process table, comma-separated: pure, compiled (default: both for a full run; "
        "for --quick, this tree's build alone)",
    )
    args = parser.parse_args(argv)
    builds = args.builds.split(",") if args.builds else ([current_build()] if args.quick else list(BUILDS))
    if not builds or any(b not in BUILDS for b in builds):
        parser.error(f"--builds: a comma-separated list of {', '.join(BUILDS)}")

    rounds = args.rounds or (5 if args.quick else 21)
    started = time.monotonic()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    result: dict[str, Any] = {
        "meta": {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python -m benchmarks" + " ".join([""] + (argv if argv is not None else sys.argv[1:])),
            "quick": args.quick,
            "rounds": rounds,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {load:.2f} at start",
        }
    }
    _log(f"respguard benchmarks ({'quick' if args.quick else 'full'}, {rounds} rounds)")
    _log(f"in-process (ratio to bare, median of rounds), builds: {', '.join(builds)}:")
    result["inprocess"] = _inprocess(builds, rounds, args.quick, result["meta"])
    result["meta"]["other_tables_build"] = current_build()
    _log(f"the other tables run on this tree's build ({current_build()}).")
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
