"""The markdown table, the JSON file and the plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .apps import PEERS, VARIANTS
from .builds import BUILDS

BODY_ORDER = ("json-1k", "json-64k", "json-1m", "html-1k", "html-64k", "nopd-1k", "image-256k")
SIZES = {"json-1k": 1, "json-64k": 64, "json-1m": 1024}  # KiB, for the plot


def _get(rows: Sequence[dict[str, Any]], **match: object) -> dict[str, Any] | None:
    for row in rows:
        if all((_build(row) if k == "build" else row.get(k)) == v for k, v in match.items()):
            return row
    return None


def _build(row: dict[str, Any]) -> str:
    return str(row.get("build", "pure"))  # rows of runs before the builds were measured: pure


def _builds(rows: Sequence[dict[str, Any]]) -> list[str]:
    present = {_build(r) for r in rows}
    return [b for b in BUILDS if b in present]


#: Issue 13's in-process targets: respguard / bare on 1 KB of JSON, per build and stack.
BUILD_TARGETS = {("compiled", "asgi"): 1.35, ("compiled", "wsgi"): 1.10, ("pure", "asgi"): 1.8, ("pure", "wsgi"): 1.3}
#: The peer respguard must never cost more than, per stack (Starlette's SessionMiddleware; Flask's session).
SESSION_PEER = {"asgi": "Starlette SessionMiddleware", "wsgi": "a Flask session read"}


def build_targets(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for issue 13's targets; a build the run could not measure says why."""
    out: list[tuple[str, str, bool | None]] = []
    inproc = result.get("inprocess", [])
    missing = result.get("meta", {}).get("builds_missing", {})
    for build in BUILDS:
        for stack in ("asgi", "wsgi"):
            limit = BUILD_TARGETS[(build, stack)]
            name = f"{build} {stack.upper()} respguard json-1k ≤ {limit}× bare"
            versus = f"{build} {stack.upper()} respguard json-1k ≤ {SESSION_PEER[stack]} (`session`)"
            row = _get(inproc, build=build, stack=stack, body="json-1k", variant="respguard")
            if row is None:
                if build in missing:
                    out.append((name, f"not measured: {missing[build]}", None))
                continue
            r = float(row["ratio_to_bare"])
            out.append((name, f"{r:.3f}×", r <= limit))
            peer = _get(inproc, build=build, stack=stack, body="json-1k", variant="session")
            if peer is not None:
                p = float(peer["ratio_to_bare"])
                out.append((versus, f"{r:.3f}× vs {p:.3f}×", r <= p))
    return out


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for every target of issue 3 the run measured (in-process ones per build)."""
    out: list[tuple[str, str, bool | None]] = []
    inproc = result.get("inprocess", [])
    builds = _builds(inproc)

    def ratio(build: str, stack: str, body: str, variant: str) -> float | None:
        row = _get(inproc, build=build, stack=stack, body=body, variant=variant)
        return None if row is None else float(row["ratio_to_bare"])

    for build in builds:
        for stack, limit in (("asgi", 1.08), ("wsgi", 1.05)):
            r = ratio(build, stack, "json-1k", "respguard")
            if r is not None:
                out.append((f"{build} {stack.upper()} respguard json-1k ≤ {limit}× bare", f"{r:.3f}×", r <= limit))
        a = _get(inproc, build=build, stack="asgi", body="json-1k", variant="respguard")
        n = _get(inproc, build=build, stack="asgi", body="json-1k", variant="naive")
        if a and n:
            speedup = float(n["us_median"]) / float(a["us_median"])
            out.append((f"{build} ASGI respguard ≥ 6× faster than naive (json-1k)", f"{speedup:.2f}×", speedup >= 6))
    for row in result.get("scan", []):
        if row.get("config", "default") == "default" and row["body"] in ("json-1m", "html-64k"):
            r = float(row["ratio_to_find"])
            out.append((f"scan {row['body']} ≥ 0.35× bytes.find", f"{r:.3f}×", r >= 0.35))
    for build in builds:
        for stack in ("asgi", "wsgi"):
            for body in ("image-256k", "nopd-1k"):
                r = ratio(build, stack, body, "respguard")
                if r is not None:
                    out.append((f"{build} {stack.upper()} {body} ≤ 1.03× bare", f"{r:.3f}×", r <= 1.03))
    for row in result.get("server", []):
        if row["variant"] == "respguard":
            rps, p99 = float(row["ratio_to_bare"]), float(row["p99_ratio_to_bare"])
            out.append((f"{row['server']} req/s ≥ 0.95× bare", f"{rps:.3f}×", rps >= 0.95))
            out.append((f"{row['server']} p99 ≤ 1.10× bare", f"{p99:.3f}×", p99 <= 1.10))
    for row in result.get("memory", []):
        r = float(row["peak_extra_bytes"]) / (1024 * 1024)
        name = f"peak extra memory {row.get('stack', '')} json-1m ({row.get('path', 'fast')}) ≤ 2.5× body"
        out.append((name, f"{r:.2f}×", r <= 2.5))
    return out


def markdown(result: dict[str, Any]) -> str:
    lines: list[str] = []
    meta = result.get("meta", {})
    lines.append(f"respguard benchmarks, {meta.get('date', '?')}: `{meta.get('command', '')}`")
    lines.append(f"({meta.get('machine', '')}; {meta.get('rounds', '?')} rounds, medians; ratios per round)")
    lines.append("")
    inproc = result.get("inprocess", [])
    if inproc:
        lines.append(
            "In-process: `bare` is µs per request; the other columns, the median per-round ratio to bare in the"
        )
        lines.append("same build's run (each build measured in its own interpreter; the peers do not use respguard).")
        for build, origin in meta.get("builds", {}).items():
            lines.append(f"- {build}: {origin}")
        for build, why in meta.get("builds_missing", {}).items():
            lines.append(f"- {build}: not measured, {why}")
        if meta.get("other_tables_build"):
            lines.append(f"- the other tables: this tree's build ({meta['other_tables_build']}), in the harness")
        lines.append("")
        for stack in ("asgi", "wsgi"):
            columns = VARIANTS + PEERS[stack]
            header = "| stack | body | build | " + " | ".join(columns) + " |"
            rows = []
            for body in BODY_ORDER:
                for build in _builds(inproc):
                    cells = []
                    for v in columns:
                        row = _get(inproc, build=build, stack=stack, body=body, variant=v)
                        if row is None:
                            cells.append("")
                        elif v == "bare":
                            cells.append(f"{row['us_median']:.1f} µs")
                        else:
                            cells.append(f"{row['ratio_to_bare']:.2f}×")
                    if any(cells):
                        rows.append(f"| {stack} | {body} | {build} | " + " | ".join(cells) + " |")
            if rows:
                lines += [header, "|---|---|---|" + "---:|" * len(columns), *rows, ""]
    worst = result.get("worst", [])
    if worst:
        lines.append("Worst-case responses (`python -m benchmarks.worst`): time as a ratio to a plain body of the")
        lines.append("same size, type and chunking through the same guard; linear cost keeps it flat from 1 to 4 MiB.")
        lines.append("")
        lines.append("| shape | MiB | chunk | ratio | plain |")
        lines.append("|---|---:|---:|---:|---:|")
        for row in worst:
            lines.append(
                f"| {row['shape']} | {row['size_mib']} | {row['chunk']} B | {row['ratio_to_plain']:.2f}× "
                f"| {row['plain_ms']} ms |"
            )
        lines.append("")
    breakdown = result.get("breakdown", [])
    if breakdown:
        configs = list(dict.fromkeys(str(r["config"]) for r in breakdown))
        lines.append("| µs over bare | body | " + " | ".join(configs) + " |")
        lines.append("|---|---|" + "---:|" * len(configs))
        for stack, body in dict.fromkeys((r["stack"], r["body"]) for r in breakdown):
            cells = []
            for config in configs:
                row = _get(breakdown, stack=stack, body=body, config=config)
                cells.append("" if row is None else f"+{row['us_over_bare']:.1f}")
            lines.append(f"| {stack} | {body} | " + " | ".join(cells) + " |")
        lines.append("")
    features = result.get("features", [])
    if features:
        lines.append("| opt-in feature | case | µs | over bare | over the guard without it |")
        lines.append("|---|---|---:|---:|---:|")
        for row in features:
            lines.append(
                f"| {row['feature']} | {row['case']} | {row['us_median']:.1f} | {row['us_over_bare']:+.1f} | "
                f"{row['us_over_baseline']:+.1f} |"
            )
        lines.append("")
    scan = result.get("scan", [])
    if scan:
        lines.append("| scan | config | MB/s | bytes.find MB/s | ratio to find |")
        lines.append("|---|---|---:|---:|---:|")
        for row in scan:
            lines.append(
                f"| {row['body']} | {row.get('config', 'default')} | {row['mb_per_s']:.0f} | "
                f"{row.get('find_mb_per_s', 0):.0f} | {row['ratio_to_find']:.3f}× |"
            )
        lines.append("")
    server = result.get("server", [])
    if meta.get("server_error"):
        lines.append(f"Real servers: the run failed ({meta['server_error']}).")
        lines.append("")
    if server:
        lines.append("| server | variant | req/s | ratio | p99 ms | p99 ratio |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for row in server:
            lines.append(
                f"| {row['server']} | {row['variant']} | {row['rps']:.0f} | {row['ratio_to_bare']:.3f}× | "
                f"{row['p99_ms']:.2f} | {row.get('p99_ratio_to_bare', 1.0):.3f}× |"
            )
        lines.append("")
    memory = result.get("memory", [])
    if memory:
        lines.append("| memory | stack | path | peak extra bytes | × body |")
        lines.append("|---|---|---|---:|---:|")
        for row in memory:
            extra, ratio = row["peak_extra_bytes"], row.get("ratio_to_body", "")
            lines.append(f"| {row['body']} | {row.get('stack', '')} | {row.get('path', '')} | {extra} | {ratio} |")
        lines.append("")
    checks = build_targets(result)
    if checks:
        lines.append("Targets (issue 13), in-process, respguard over bare on 1 KB of JSON:")
        lines.append("")
        lines += _target_table(checks)
    checks = targets(result)
    if checks:
        lines.append("Targets (issue 3):")
        lines.append("")
        lines += _target_table(checks)
    return "\n".join(lines)


def _target_table(checks: Sequence[tuple[str, str, bool | None]]) -> list[str]:
    lines = ["| target | measured | met |", "|---|---:|:---:|"]
    for name, measured, met in checks:
        lines.append(f"| {name} | {measured} | {'–' if met is None else 'yes' if met else 'NO'} |")
    return lines + [""]


def write_json(result: dict[str, Any], path: str) -> None:
    Path(path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


#: Peer labels in the plot's legend.
PEER_LABELS = {
    ("asgi", "session"): "SessionMiddleware",
    ("asgi", "gzip"): "GZipMiddleware",
    ("asgi", "cors"): "CORSMiddleware",
    ("asgi", "basehttp"): "BaseHTTPMiddleware no-op",
    ("wsgi", "session"): "Flask session read",
    ("wsgi", "login"): "Flask-Login login_required",
}


def plot_series(result: dict[str, Any], stack: str) -> list[tuple[str, list[int], list[float]]]:
    """(label, KiB, µs per request) lines for one stack's plot.

    Every build's figure is its ratio to bare times the bare µs of the reference run (the pure
    build's when there is one): each ratio comes from one run, so the lines share one bare line.
    """
    inproc = [r for r in result.get("inprocess", []) if r["stack"] == stack]
    builds = _builds(inproc)
    if not builds:
        return []
    reference = builds[0]
    lines: list[tuple[str, list[int], list[float]]] = []

    def line(label: str, build: str, variant: str) -> None:
        xs, ys = [], []
        for body, kib in SIZES.items():
            bare = _get(inproc, build=reference, body=body, variant="bare")
            row = _get(inproc, build=build, body=body, variant=variant)
            if bare is not None and row is not None:
                xs.append(kib)
                ys.append(float(row["ratio_to_bare"]) * float(bare["us_median"]))
        if xs:
            lines.append((label, xs, ys))

    line("bare", reference, "bare")
    line("hold (the floor)", reference, "hold")
    for build in builds:
        line(f"respguard, {build}", build, "respguard")
    for peer in PEERS[stack]:
        line(PEER_LABELS.get((stack, peer), peer), reference, peer)
    return lines


#: The peers' colours, apart from respguard's red and green.
_PEER_COLOURS = ("tab:blue", "tab:orange", "tab:purple", "tab:brown")


def plot(result: dict[str, Any], path: str) -> bool:
    """µs per request by JSON body size, ASGI and WSGI side by side; ``False`` if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    styles = {
        "bare": {"color": "black", "linestyle": "-", "linewidth": 2.0},
        "hold (the floor)": {"color": "grey", "linestyle": "--"},
        "respguard, pure": {"color": "tab:red", "linestyle": "-", "linewidth": 2.0},
        "respguard, compiled": {"color": "tab:green", "linestyle": "-", "linewidth": 2.5},
    }
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, stack in zip(axes, ("asgi", "wsgi"), strict=True):
        peers = iter(_PEER_COLOURS)
        for label, xs, ys in plot_series(result, stack):
            style = styles.get(label) or {"color": next(peers, None), "linestyle": ":", "linewidth": 1.5}
            ax.plot(xs, ys, marker="o", markersize=4, label=label, **style)  # type: ignore[arg-type]
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(list(SIZES.values()), ["1 KB", "64 KB", "1 MiB"])
        ax.set_title(f"{stack.upper()} ({'Starlette' if stack == 'asgi' else 'Flask'}), JSON user records")
        ax.set_xlabel("response body size")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("µs per request (median ratio to bare × bare's median µs)")
    meta = result.get("meta", {})
    fig.suptitle(f"Cost per request in-process: respguard (pure, compiled) beside its peers ({meta.get('date', '')})")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
