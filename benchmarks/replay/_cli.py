"""``python -m benchmarks.replay``: the incident replay on real servers, as one command."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from examples.customers import BUGS, all_records

from ._apps import create_store
from ._classify import COUNTERS
from ._run import Run, replay
from ._servers import SERVERS, Server, ServerSpec, start_server, stop_all

SECRET = "replay-secret-5d1f0c2a"
REPLAY_BUGS = tuple(b for b in BUGS if b != "none") + ("none",)


@dataclass(frozen=True)
class Mode:
    requests: int
    users: int
    seconds: float


FULL = Mode(requests=2400, users=64, seconds=120.0)
QUICK = Mode(requests=240, users=24, seconds=10.0)


def row(spec: ServerSpec, bug: str, guard: bool, run: Run) -> dict[str, Any]:
    counts = run.tally.counts
    stats = run.stats
    out: dict[str, Any] = {
        "server": spec.name,
        "workers": spec.workers,
        "bug": bug,
        "guard": "on" if guard else "off",
        "requests": run.tally.requests,
    }
    out.update({name: counts[name] for name in COUNTERS})
    out["details"] = {
        "workers_seen": len(stats.workers_seen),
        "cross_worker_checks": stats.cross_worker,
        "worker_restarts": stats.restarts,
        "restart_replaced": stats.restart_replaced,
        "requests_served_by_new_worker": stats.new_worker_requests,
        "bindings_from_old_workers_checked_by_new_worker": stats.new_worker_binding_checks,
        "connection_errors_at_restart": stats.errors_at_restart,
        "resets_before_any_response_byte_at_restart": stats.resets_at_restart,
        "retried_gets": stats.retried,
        "unresolved_blocks": stats.unresolved_blocks,
        "blocks_checked_against_app_truth": stats.truth_checked,
        "event_vs_app_truth_disagreements": stats.truth_disagreements,
        "attacks": stats.attacks,
        "writes_that_happened": stats.side_effects,
        "cache_hits": stats.cache_hits,
        "own_pages_withheld_for_shared_cache": stats.own_withheld_for_cache,
        "error_reasons": dict(stats.error_reasons),
        "samples": run.tally.samples,
    }
    return out


def failed_row(spec: ServerSpec, bug: str, guard: bool, error: str) -> dict[str, Any]:
    out: dict[str, Any] = {"server": spec.name, "workers": spec.workers, "bug": bug, "guard": "on" if guard else "off"}
    out.update({"requests": 0, **dict.fromkeys(COUNTERS, 0)})
    out["details"] = {"error": error}
    return out


def verdict(r: dict[str, Any]) -> str:
    """The goal of each row: guard off shows the leak; guard on has 0 leaks, false blocks, errors."""
    if "error" in r["details"]:
        return "FAIL " + r["details"]["error"]
    if r["guard"] == "on":
        bad = [f"{k}={r[k]}" for k in ("leaks", "false_blocks", "server_errors") if r[k]]
        if not bad:
            return "ok"
        resets = r["details"]["resets_before_any_response_byte_at_restart"]
        if r["server_errors"] and resets == r["server_errors"]:
            bad[-1] += " (all: connection closed by the restarting worker before any response byte)"
        return "FAIL " + " ".join(bad)
    if r["bug"] == "none":
        return "ok (control)" if not r["leaks"] else "FAIL control"
    if r["leaks"]:
        return "ok (leaks)"
    return "no leak" + (f" ({NO_RACE})" if r["bug"] in IN_PROCESS_RACES and r["server"] == "gunicorn-sync" else "")


NO_RACE = "sync workers: one request at a time per process, no race"
IN_PROCESS_RACES = ("shared-state", "login-mixup")

_COLUMNS = ("server", "workers", "bug", "guard", "requests", *COUNTERS)


def table(rows: Sequence[dict[str, Any]]) -> str:
    headers = [*_COLUMNS, "notes"]
    body = []
    for r in rows:
        d = r["details"]
        notes = [verdict(r)]
        if "error" in d:
            body.append([str(r[c]) for c in _COLUMNS] + notes)
            continue
        if d["worker_restarts"]:
            note = "worker restarted" + ("" if d["restart_replaced"] else " (no replacement seen)")
            if d["bindings_from_old_workers_checked_by_new_worker"]:
                note += f" (new worker checked {d['bindings_from_old_workers_checked_by_new_worker']} old bindings)"
            notes.append(note)
        if d["cross_worker_checks"]:
            notes.append(f"{d['cross_worker_checks']} cross-worker binding checks")
        if d["writes_that_happened"]:
            notes.append(f"{d['writes_that_happened']}/{d['attacks']} foreign writes happened")
        elif d["attacks"]:
            notes.append(f"0/{d['attacks']} foreign writes happened")
        if d["cache_hits"]:
            notes.append(f"{d['cache_hits']} cache hits")
        if d["own_pages_withheld_for_shared_cache"]:
            notes.append(f"{d['own_pages_withheld_for_shared_cache']} own pages withheld (public cache policy)")
        if d["event_vs_app_truth_disagreements"] or d["unresolved_blocks"]:
            notes.append(
                f"CHECK: {d['event_vs_app_truth_disagreements']} event/app-truth disagreements, "
                f"{d['unresolved_blocks']} blocks without an event"
            )
        if d["retried_gets"]:
            notes.append(f"{d['retried_gets']} GETs retried")
        if r["guard"] == "off" and r["server_errors"]:
            notes.append(f"{r['server_errors']} server errors ({d['connection_errors_at_restart']} at the restart)")
        body.append([str(r[c]) for c in _COLUMNS] + ["; ".join(notes)])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip() for b in body]
    return "\n".join(lines)


LEGEND = """\
correct: the browser's own data, or the answer it expected (an app's own refusal of an attack);
leaks: another person's id or e-mail reached it, or its write to another's record happened;
blocked: respguard's block page over someone else's data (resolved with the audit event of the request id);
false_blocks: respguard's block page over the browser's own data; server_errors: a 5xx other than the
block page, or no complete response; other: any other 4xx from the app. Goal: guard off, leaks > 0;
guard on, 0 leaks, 0 false blocks, 0 server errors."""


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    cols = [*_COLUMNS, "verdict"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join([*(str(r[c]) for c in _COLUMNS), verdict(r)]) + " |")
    return "\n".join(lines)


async def run_one(
    spec: ServerSpec,
    bug: str,
    guard: bool,
    mode: Mode,
    seed: int,
    workdir: str,
    restart: bool,
    trace: str | None = None,
) -> dict[str, Any]:
    run_dir = tempfile.mkdtemp(prefix=f"{spec.name}-{spec.workers}-{bug}-{int(guard)}-", dir=workdir)
    store = None
    if spec.workers > 1:
        store = os.path.join(run_dir, "shop.sqlite")
        create_store(store, all_records())
    server = await start_server(spec, bug=bug, guard=guard, secret=SECRET, run_dir=run_dir, store=store)
    try:
        result = await replay(
            port=server.port,
            bug=bug,
            guard=guard,
            budget=mode.requests,
            users=mode.users,
            seconds=mode.seconds,
            secret=SECRET,
            seed=seed,
            events_dir=server.events_dir,
            restart=restarter(server) if restart and spec.workers > 1 else None,
            trace=trace,
        )
    finally:
        server.stop()
    return row(spec, bug, guard, result)


def restarter(server: Server) -> Any:
    async def restart(seen: set[str]) -> bool:
        workers = server.workers()
        serving = [int(p) for p in sorted(seen) if p.isdigit() and int(p) in workers]
        pid = (serving or workers)[0]
        before = set(workers)
        server.restart_worker(pid)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = set(server.workers())
            if pid not in now and now - before:
                return True
        return False

    return restart


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.replay",
        description="Replay the incidents (example apps with their bugs) on uvicorn and gunicorn, guard off and on.",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK.requests} requests per run (else {FULL.requests})"
    )
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON to PATH")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    parser.add_argument("--servers", default="all", help="comma list of uvicorn/1,uvicorn/2,gunicorn-sync/2,...")
    parser.add_argument("--bugs", default="all", help="comma list of " + ",".join(REPLAY_BUGS))
    parser.add_argument("--guard", default="off,on", help="off, on or off,on")
    parser.add_argument("--requests", type=int, help="requests per run")
    parser.add_argument("--users", type=int, help="concurrent simulated browsers per run")
    parser.add_argument("--seconds", type=float, help="time limit per run")
    parser.add_argument("--seed", type=int, default=20140707)
    parser.add_argument("--no-restart", action="store_true", help="do not restart a worker mid-run")
    parser.add_argument("--parallel", type=int, help="runs at a time (default: 2 with --quick, else 1)")
    parser.add_argument("--keep", action="store_true", help="keep the run directories (server logs, events)")
    parser.add_argument("--trace", metavar="DIR", help="write every request and its outcome as JSONL files in DIR")
    return parser.parse_args(argv)


def select(args: argparse.Namespace) -> tuple[list[ServerSpec], list[str], list[bool]]:
    specs = list(SERVERS)
    if args.servers != "all":
        wanted = {s.strip() for s in args.servers.split(",") if s.strip()}
        specs = [s for s in SERVERS if s.label.replace("w", "") in wanted or s.name in wanted]
        if not specs:
            raise SystemExit(f"--servers: none of {sorted(wanted)}; choose from {[s.label[:-1] for s in SERVERS]}")
    bugs = list(REPLAY_BUGS)
    if args.bugs != "all":
        bugs = [b.strip() for b in args.bugs.split(",") if b.strip()]
        unknown = set(bugs) - set(REPLAY_BUGS)
        if unknown:
            raise SystemExit(f"--bugs: unknown {sorted(unknown)}; choose from {list(REPLAY_BUGS)}")
    guards = []
    for g in args.guard.split(","):
        if g.strip() not in ("off", "on"):
            raise SystemExit("--guard: off, on or off,on")
        guards.append(g.strip() == "on")
    return specs, bugs, guards


async def amain(args: argparse.Namespace) -> list[dict[str, Any]]:
    base = QUICK if args.quick else FULL
    mode = Mode(args.requests or base.requests, args.users or base.users, args.seconds or base.seconds)
    specs, bugs, guards = select(args)
    workdir = tempfile.mkdtemp(prefix="respguard-replay-")
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    print(
        f"respguard incident replay: {len(specs)} servers x {len(bugs)} bugs x {len(guards)} guard settings, "
        f"{mode.requests} requests / {mode.users} browsers per run (logs in {workdir})",
        flush=True,
    )
    jobs = [(spec, bug, guard) for spec in specs for bug in bugs for guard in guards]
    parallel = args.parallel or (2 if args.quick else 1)
    slots = asyncio.Semaphore(parallel)
    results: dict[int, dict[str, Any]] = {}

    async def one(index: int, spec: ServerSpec, bug: str, guard: bool) -> None:
        async with slots:
            t0 = time.monotonic()
            trace = None
            if args.trace:
                trace = os.path.join(args.trace, f"{spec.name}-{spec.workers}-{bug}-{'on' if guard else 'off'}.jsonl")
            try:
                r = await run_one(spec, bug, guard, mode, args.seed, workdir, not args.no_restart, trace)
            except RuntimeError as exc:  # the server did not start: report the row, go on
                print(f"  {spec.label:<20} {bug:<18} {exc}", file=sys.stderr, flush=True)
                r = failed_row(spec, bug, guard, str(exc).splitlines()[0])
            results[index] = r
            counts = " ".join(f"{k}={r[k]}" for k in ("requests", *COUNTERS))
            print(
                f"  {spec.label:<20} {bug:<18} guard {r['guard']:<3} {counts}  [{verdict(r)}] "
                f"{time.monotonic() - t0:.1f}s",
                flush=True,
            )

    if args.trace:
        os.makedirs(args.trace, exist_ok=True)
    try:
        tasks = [asyncio.ensure_future(one(i, *job)) for i, job in enumerate(jobs)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        rows = [results[i] for i in range(len(jobs))]
    finally:
        stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{len(rows)} runs in {time.monotonic() - started:.0f} s\n")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # Ctrl-C and SIGTERM both unwind through the ``finally`` blocks that stop the servers
    # (SIGINT too when started in the background, where it would be inherited as ignored).
    previous = signal.signal(signal.SIGTERM, _terminate), signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        rows = asyncio.run(amain(args))
    except KeyboardInterrupt:
        stop_all()
        print("interrupted: every server stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    print(table(rows))
    print()
    print(LEGEND)
    if args.markdown:
        print()
        print(markdown(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(rows, file, indent=2)
            file.write("\n")
    failed = [r for r in rows if verdict(r).startswith("FAIL")]
    return 1 if failed else 0


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
