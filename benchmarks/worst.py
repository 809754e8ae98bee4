"""``python -m benchmarks.worst [--quick]``: worst-case responses through the whole guard, beside a plain one.

A guard that a crafted response can stall is a denial of service on the app it protects. Each
row sends one worst-case body, of 1 and 4 MiB, through ``respguard.ASGIMiddleware`` (every
default option, ``JsonKeys``/``HtmlAttribute``/``OwnerHeader``) in 1 KB and 100 B chunks, and
reports its time as a ratio to a plain body of the same size, type and chunking through the
same guard in the same round. Linear cost shows as a ratio that stays flat from 1 to 4 MiB;
the goal is at most 3x. Shapes:

- ``sse-event-lines``: one 1.5 MiB-class event of 80-byte ``data`` lines (an event that never ends);
- ``sse-cr-lines``: an event whose lines end at a CR, each chunk ending with that CR;
- ``jsonl-tiny``: JSON lines of one-byte records;
- ``untyped-spaces``: a body without a Content-Type that opens with white space (sniffed);
- ``gzip-members``: a JSON body of one-byte gzip members;
- ``html-meta-late``: an unlabelled page whose ``<meta charset>`` comes late (every reading scanned);
- ``emails-crafted``: text made to make an e-mail pattern backtrack (``a@a@a@...``, long dotted runs).

Rounds are interleaved with their plain body, the median ratio is printed; it stops by itself
(rows past a 60 s budget are skipped, saying so) and talks to nothing but itself (no sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import respguard

MIB = 1 << 20
SIZES = (1 * MIB, 4 * MIB)
CHUNKS = (1024, 100)
GOAL = 3.0
BUDGET = 60.0  # seconds
OWN = "alice-7f3a"


def _guard() -> respguard.Guard:
    return respguard.Guard(
        secret_key="worst-case-secret",
        extractors=[respguard.JsonKeys("user_id"), respguard.HtmlAttribute(), respguard.OwnerHeader()],
        max_body_bytes=8 * MIB,
    )


def _records(size: int) -> bytes:
    record = json.dumps({"user_id": OWN, "name": "Person Name", "note": "x" * 24}).encode()
    return b"[" + b",".join([record] * (size // (len(record) + 1))) + b"]"


def _shape(name: str, size: int) -> tuple[list[tuple[bytes, bytes]], bytes, list[tuple[bytes, bytes]], bytes]:
    """(headers, worst body, headers, plain body of the same size and kind)."""
    json_type = [(b"content-type", b"application/json")]
    if name == "sse-event-lines":
        line = b"data: " + b"y" * 73 + b"\n"
        sse = [(b"content-type", b"text/event-stream")]
        plain = b"".join(b'data: {"user_id": "%s"}\n\n' % OWN.encode() for _ in range(size // 30))
        return sse, line * (size // len(line)), sse, plain
    if name == "sse-cr-lines":
        line = b"data: " + b"y" * 92 + b"\r"
        sse = [(b"content-type", b"text/event-stream")]
        plain = b"".join(b'data: {"user_id": "%s"}\n\n' % OWN.encode() for _ in range(size // 30))
        return sse, line * (size // len(line)), sse, plain
    if name == "jsonl-tiny":
        lines = [(b"content-type", b"application/x-ndjson")]
        plain = b"".join(b'{"user_id": "%s", "n": 1}\n' % OWN.encode() for _ in range(size // 34))
        return lines, b"1\n" * (size // 2), lines, plain
    if name == "untyped-spaces":
        return [], b" " * (size - 2) + b"{}", [], _records(size)
    if name == "gzip-members":
        member = gzip.compress(b"[", mtime=0)
        body = member + b"".join(gzip.compress(b" ", mtime=0) for _ in range(size // 2 // 21)) + gzip.compress(b"]")
        encoded = [*json_type, (b"content-encoding", b"gzip")]
        return encoded, body, encoded, gzip.compress(_records(size), mtime=0)
    if name == "html-meta-late":
        html = [(b"content-type", b"text/html")]
        page = b"<p>\xc3\xa9 " + b"<span>text</span> " * (size // 19) + b'<meta charset="shift_jis">'
        plain = b'<meta charset="utf-8">' + (b'<p data-owner="%s">text</p>' % OWN.encode()) * (size // 34)
        return html, page, [(b"content-type", b"text/html; charset=utf-8")], plain
    if name == "emails-crafted":
        text = [(b"content-type", b"text/plain; charset=utf-8")]
        crafted = (b"a@" * 32 + b"." * 64 + b"b" * 64 + b"\n") * (size // 257)
        plain = (b"Dear customer, your order has shipped. " * 40 + b"\n") * (size // 1561)
        return text, crafted, text, plain
    raise ValueError(name)


SHAPES = ("sse-event-lines", "sse-cr-lines", "jsonl-tiny", "untyped-spaces", "gzip-members", "html-meta-late",
          "emails-crafted")  # fmt: skip


def _app(headers: list[tuple[bytes, bytes]], body: bytes, chunk: int) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        respguard.set_requester(scope, OWN)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for start in range(0, len(body), chunk):
            await send({"type": "http.response.body", "body": body[start : start + chunk], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def _once(guard: respguard.Guard, headers: list[tuple[bytes, bytes]], body: bytes, chunk: int) -> float:
    app = respguard.ASGIMiddleware(_app(headers, body, chunk), guard)
    scope = {"type": "http", "method": "GET", "path": "/worst", "scheme": "http", "headers": [], "query_string": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    loop = asyncio.new_event_loop()
    try:
        start = time.perf_counter()
        loop.run_until_complete(app(scope, receive, send))
        return time.perf_counter() - start
    finally:
        loop.close()


def run_worst(quick: bool, log: Callable[[str], None] = lambda s: None) -> list[dict[str, object]]:
    """One row per shape, size and chunk size: the median ratio of worst to plain, and the plain time."""
    sizes = SIZES[:1] if quick else SIZES
    rounds = 1 if quick else 3
    guard = _guard()
    rows: list[dict[str, object]] = []
    began = time.monotonic()
    for name in SHAPES:
        for size in sizes:
            headers, body, plain_headers, plain = _shape(name, size)
            for chunk in CHUNKS:
                if time.monotonic() - began > BUDGET:
                    log(f"  {name} {size // MIB} MiB /{chunk} B: skipped (past the {BUDGET:.0f} s budget)")
                    continue
                ratios, plains = [], []
                for _ in range(rounds):
                    plain_time = _once(guard, plain_headers, plain, chunk)
                    worst_time = _once(guard, headers, body, chunk)
                    ratios.append(worst_time / plain_time)
                    plains.append(plain_time)
                ratio = statistics.median(ratios)
                row = {
                    "shape": name,
                    "size_mib": size // MIB,
                    "chunk": chunk,
                    "ratio_to_plain": round(ratio, 2),
                    "plain_ms": round(statistics.median(plains) * 1e3, 1),
                    "goal_met": ratio <= GOAL,
                }
                rows.append(row)
                log(f"  {name:16} {size // MIB} MiB /{chunk:4} B  {ratio:5.2f}x  (plain {row['plain_ms']} ms)")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worst", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 MiB rows, one round")
    args = parser.parse_args(argv)
    rows = run_worst(args.quick, log=lambda s: print(s, flush=True))
    missed = [r for r in rows if not r["goal_met"]]
    print(f"{len(rows) - len(missed)} of {len(rows)} rows within {GOAL}x of a plain body")
    return 0


if __name__ == "__main__":
    sys.exit(main())
