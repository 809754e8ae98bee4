"""The markdown table, the JSON file and the plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .apps import VARIANTS

BODY_ORDER = ("json-1k", "json-64k", "json-1m", "html-1k", "html-64k", "nopd-1k", "image-256k")
SIZES = {"json-1k": 1, "json-64k": 64, "json-1m": 1024}  # KiB, for the plot


def _get(rows: Sequence[dict[str, Any]], **match: object) -> dict[str, Any] | None:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def targets(result: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for every target of issue 3 the run measured."""
    out: list[tuple[str, str, bool | None]] = []
    inproc = result.get("inprocess", [])

    def ratio(stack: str, body: str, variant: str) -> float | None:
        row = _get(inproc, stack=stack, body=body, variant=variant)
        return None if row is None else float(row["ratio_to_bare"])

    for stack, limit in (("asgi", 1.08), ("wsgi", 1.05)):
        r = ratio(stack, "json-1k", "respguard")
        if r is not None:
            out.append((f"{stack.upper()} respguard json-1k ≤ {limit}× bare", f"{r:.3f}×", r <= limit))
    a, n = (
        _get(inproc, stack="asgi", body="json-1k", variant="respguard"),
        _get(inproc, stack="asgi", body="json-1k", variant="naive"),
    )
    if a and n:
        speedup = float(n["us_median"]) / float(a["us_median"])
        out.append(("ASGI respguard ≥ 6× faster than naive (json-1k)", f"{speedup:.2f}×", speedup >= 6))
    for row in result.get("scan", []):
        if row.get("config", "default") == "default" and row["body"] in ("json-1m", "html-64k"):
            r = float(row["ratio_to_find"])
            out.append((f"scan {row['body']} ≥ 0.35× bytes.find", f"{r:.3f}×", r >= 0.35))
    for stack in ("asgi", "wsgi"):
        for body in ("image-256k", "nopd-1k"):
            r = ratio(stack, body, "respguard")
            if r is not None:
                out.append((f"{stack.upper()} {body} ≤ 1.03× bare", f"{r:.3f}×", r <= 1.03))
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
        lines.append("In-process: `bare` is µs per request; the other columns, the median per-round ratio to bare.")
        lines.append("")
        lines.append("| stack | body | " + " | ".join(VARIANTS) + " |")
        lines.append("|---|---|" + "---:|" * len(VARIANTS))
        for stack in ("asgi", "wsgi"):
            for body in BODY_ORDER:
                cells = []
                for v in VARIANTS:
                    row = _get(inproc, stack=stack, body=body, variant=v)
                    if row is None:
                        cells.append("")
                    elif v == "bare":
                        cells.append(f"{row['us_median']:.1f} µs")
                    else:
                        cells.append(f"{row['ratio_to_bare']:.2f}×")
                if any(cells):
                    lines.append(f"| {stack} | {body} | " + " | ".join(cells) + " |")
        lines.append("")
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
    checks = targets(result)
    if checks:
        lines.append("| target | measured | met |")
        lines.append("|---|---:|:---:|")
        for name, measured, met in checks:
            lines.append(f"| {name} | {measured} | {'yes' if met else 'NO'} |")
        lines.append("")
    return "\n".join(lines)


def write_json(result: dict[str, Any], path: str) -> None:
    Path(path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def plot(result: dict[str, Any], path: str) -> bool:
    """Overhead ratio by JSON body size, ASGI and WSGI; ``False`` if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    inproc = result.get("inprocess", [])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, stack in zip(axes, ("asgi", "wsgi"), strict=True):
        styles = (("noop", ":"), ("hold", "-"), ("respguard", "-"), ("respguard-report", "--"), ("naive", "-."))
        for variant, style in styles:
            xs, ys = [], []
            for body, kib in SIZES.items():
                row = _get(inproc, stack=stack, body=body, variant=variant)
                if row is not None:
                    xs.append(kib)
                    ys.append(float(row["ratio_to_bare"]))
            if xs:
                ax.plot(xs, ys, style, marker="o", label=variant)
        ax.axhline(1.0, color="grey", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(list(SIZES.values()), ["1 KB", "64 KB", "1 MiB"])
        ax.set_title(f"{stack.upper()} ({'Starlette' if stack == 'asgi' else 'Flask'}), JSON user records")
        ax.set_xlabel("response body size")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("time per request / bare (median of rounds)")
    axes[0].legend()
    meta = result.get("meta", {})
    fig.suptitle(f"respguard overhead by body size ({meta.get('date', '')})")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
