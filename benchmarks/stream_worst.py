"""``python -m benchmarks.stream_worst [--quick]``: worst-case streamed bodies beside a plain scan.

Each row feeds one worst-case body, of 1 and 4 MiB, to the stream reader (or the streaming
decoder) in 1 KB and 100 B chunks, and prints its time as a ratio to scanning a plain body of
the same size: a JSON array of records decoded from UTF-8 and parsed with ``json.loads``, the
least any JSON scan of that body does. The goal is at most 3x. Shapes:

- ``event-lines``: one event of 80-byte ``data`` lines (the issue's 1.5 MiB event, line by line);
- ``event-one-line``: one event that is a single ``data`` line;
- ``cr-lines``: one event of lines that end at a CR, each chunk ending with that CR (so each
  chunk leaves the reader unsure whether an LF follows);
- ``gzip-members``: a gzip body of one-byte members, through ``StreamDecoder``;
- ``jsonl-1-byte``: JSON lines of one-byte records (``1\\n``), the most records per byte.

Three rounds per 1 MiB row and one per 4 MiB row, each round's ratio against a plain scan run
just before it (the machine is shared: only ratios measured side by side mean anything); about
ten seconds in all, and it stops by itself (rows past a 30 s budget are skipped, saying so).
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Callable

from respguard._content import StreamDecoder
from respguard._streams import EventStreamReader, JsonLinesReader

MIB = 1 << 20
SIZES = (1 * MIB, 4 * MIB)
CHUNKS = (1024, 100)
GOAL = 3.0
BUDGET = 30.0  # seconds


def plain_body(size: int) -> bytes:
    """A plain JSON body of ``size`` bytes: an array of small records."""
    record = b'{"id": 12345, "name": "Person Name", "email": "person@example.com"}'
    count = size // (len(record) + 2)
    return b"[" + b", ".join([record] * count) + b"]"


def plain_scan(body: bytes) -> None:
    json.loads(body.decode("utf-8"))


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def event_lines(size: int, chunk: int) -> list[bytes]:
    line = b"data: " + b"x" * 73 + b"\n"
    return _chunks(line * (size // len(line)) + b"\n", chunk)


def event_one_line(size: int, chunk: int) -> list[bytes]:
    return _chunks(b"data: " + b"x" * size + b"\n\n", chunk)


def cr_lines(size: int, chunk: int) -> list[bytes]:
    line = b"data: " + b"x" * (chunk - 7) + b"\r"  # each chunk is one line and ends with its CR
    return [line] * (size // chunk) + [b"\r"]


def gzip_members(size: int, chunk: int) -> list[bytes]:
    member = gzip.compress(b"x", mtime=0)
    return _chunks(member * (size // len(member)), chunk)


def jsonl_one_byte(size: int, chunk: int) -> list[bytes]:
    return _chunks(b"1\n" * (size // 2), chunk)


def _events(chunks: list[bytes]) -> int:
    reader = EventStreamReader(8 * MIB)
    found = sum(len(reader.feed(c)) for c in chunks)
    return found + len(reader.end())


def _lines(chunks: list[bytes]) -> int:
    reader = JsonLinesReader(8 * MIB)
    found = sum(len(reader.feed(c)) for c in chunks)
    return found + len(reader.end())


def _gunzip(chunks: list[bytes]) -> int:
    decoder = StreamDecoder("gzip", 8 * MIB)
    size = sum(len(decoder.feed(c)) for c in chunks)
    return size + len(decoder.end())


SHAPES: dict[str, tuple[Callable[[int, int], list[bytes]], Callable[[list[bytes]], int]]] = {
    "event-lines": (event_lines, _events),
    "event-one-line": (event_one_line, _events),
    "cr-lines": (cr_lines, _events),
    "gzip-members": (gzip_members, _gunzip),
    "jsonl-1-byte": (jsonl_one_byte, _lines),
}


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream_worst", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 MiB rows only")
    args = parser.parse_args(argv)
    sizes = SIZES[:1] if args.quick else SIZES
    started = time.monotonic()
    print(f"{'shape':<16}{'size':>6}{'chunk':>7}{'ms':>9}{'plain ms':>10}{'ratio':>8}")
    over = 0
    for size in sizes:
        plain = plain_body(size)
        rounds = 3 if size <= MIB else 1  # each round's ratio against a plain scan in the same round
        for name, (make, run) in SHAPES.items():
            for chunk in CHUNKS:
                if time.monotonic() - started > BUDGET:
                    print(f"{name:<16}{size // MIB:>5}M{chunk:>7}  skipped: over the {BUDGET:.0f} s budget")
                    continue
                chunks = make(size, chunk)
                figures = []
                for _ in range(rounds):
                    base = _timed(lambda plain=plain: plain_scan(plain))  # type: ignore[misc]
                    took = _timed(lambda chunks=chunks, run=run: run(chunks))  # type: ignore[misc]
                    figures.append((took / base, took, base))
                ratio, took, base = sorted(figures)[len(figures) // 2]  # the median round
                over += ratio > GOAL
                flag = "" if ratio <= GOAL else f"  over {GOAL:.0f}x"
                print(
                    f"{name:<16}{size // MIB:>5}M{chunk:>7}{took * 1000:>9.0f}{base * 1000:>10.0f}{ratio:>7.1f}x{flag}"
                )
    print(f"{over} row(s) over the {GOAL:.0f}x goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
