"""Worst-case bodies for the bulk-PII counter: ``python -m benchmarks.pii_worst [--quick]``.

Each row is crafted to make a pattern or the HTML reader work hardest (runs of
local-part characters with no '@', one '@' every other byte, endless dotted domains,
digits with separators, tags and attributes back to back, escapes and references).
It is timed beside a plain body of the same media and size that the counter must read
too (a page listing ordinary people with their addresses): ``ratio`` is crafted time
over plain time, median of interleaved rounds. The goal is a ratio of at most 3.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from respguard._pii import BulkPII

MIB = 1 << 20


def _fill(unit: bytes, size: int) -> bytes:
    return (unit * (size // len(unit) + 1))[:size]


def _plain(media: str, size: int) -> bytes:
    """An ordinary body: people with addresses and phone numbers, as an app would list them."""
    rows: list[bytes] = []
    total = n = 0
    while total < size:
        if media == "json":
            row = b'{"id":%d,"name":"User %d","email":"user%d@example.com","tel":"090-1234-%04d"},' % (
                n,
                n,
                n,
                n % 10000,
            )
        elif media == "html":
            row = b'<tr><td>User %d</td><td><a href="mailto:user%d@example.com">user%d@example.com</a></td></tr>\n' % (
                n,
                n,
                n,
            )
        else:
            row = b"User %d <user%d@example.com>, tel 090-1234-%04d\n" % (n, n, n % 10000)
        rows.append(row)
        total += len(row)
        n += 1
    body = b"".join(rows)[:size]
    return b"[" + body[1:-1] + b"]" if media == "json" else body


#: (name, media, kinds, unit repeated to the size)
WORST: list[tuple[str, str, tuple[str, ...], bytes]] = [
    ("a@a@a@", "text", ("email",), b"a@"),
    ("a.a.a. (no @)", "text", ("email",), b"a."),
    ("64-char runs before @", "text", ("email",), b"a" * 64 + b"@"),
    ("65-char runs, no @", "text", ("email",), b"a" * 65 + b" "),
    ("@ then many dots", "text", ("email",), b"x@" + b"a." * 120 + b" "),
    ("@ then long labels", "text", ("email",), b"@" + b"a" * 70 + b".b"),
    ("@ then dashes", "text", ("email",), b"@a" + b"-" * 61),
    ("distinct a1@a.a", "text", ("email",), b""),  # filled below: every address differs
    ("digits 1-1-1", "text", ("email", "phone", "card"), b"1-"),
    ("digits 1 1 1", "text", ("email", "phone", "card"), b"1 "),
    ("digit runs", "text", ("email", "phone", "card"), b"0901234567890 "),
    ("\\u0040 in JSON", "json", ("email",), b'"a\\u0040b.c",'),
    ("\\u0061 in bad JSON", "text", ("email",), b"\\u0061\\u0040b.c,"),
    ("&#64; in HTML", "html", ("email",), b"a&#64;b.c "),
    ("<wbr> between", "html", ("email",), b"a<wbr>@<wbr>b.c "),
    ("<a a a a", "html", ("email",), b" a"),
    ('<a a="" a=""', "html", ("email",), b' a=""'),
    ("<b> back to back", "html", ("email",), b"<b>@"),
    ("comments <!---->", "html", ("email",), b"<!---->@"),
    ("\\x40 in a page", "html", ("email",), b"a\\x40b.c "),
    ("\\u0061 escapes", "html", ("email",), b"\\u0061\\u0040b.c "),
    ("&shy; soft hyphens", "html", ("email",), b"a&shy;"),
    ("zero-width then @", "html", ("email",), "\u200b@".encode()),
    ("full-width @", "html", ("email",), "\uff20a".encode()),
    ("UTF-16 a@a@", "html", ("email",), "a@".encode("utf-16-le")),
]


def _distinct(size: int) -> bytes:
    out = bytearray()
    n = 0
    while len(out) < size:
        out += b"a%d@a.a " % n
        n += 1
    return bytes(out[:size])


#: Enough '@' up front that no shortcut proves the body harmless: every row is really read.
_AT_SIGNS = b"@ " * 25


def _body(name: str, media: str, unit: bytes, size: int) -> bytes:
    if name.startswith("distinct"):
        return _distinct(size)
    if name.startswith("UTF-16"):
        return _fill(unit, size)
    size -= len(_AT_SIGNS)
    if name.startswith("<a a"):
        return _AT_SIGNS + b"<a" + _fill(unit, size - 3) + b">"
    if media == "json":  # valid JSON: whole units only
        return b'["' + _AT_SIGNS + b'",' + unit * ((size - 6) // len(unit)) + b'""]'
    return _AT_SIGNS + _fill(unit, size)


def _timer(bulk: BulkPII, body: bytes, media: str, charset: str | None) -> Callable[[], float]:
    def once() -> float:
        start = time.perf_counter()
        bulk.over(body, media, "/", lambda kind, value: False, charset=charset)
        return time.perf_counter() - start

    return once


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sizes = [MIB] if quick else [MIB, 4 * MIB]
    rounds = 1 if quick else 3
    print(f"{'body':<24} {'size':>5} {'crafted ms':>11} {'plain ms':>9} {'ratio':>6}")
    worst = 0.0
    for size in sizes:
        plains: dict[tuple[str, tuple[str, ...]], bytes] = {}
        for name, media, kinds, unit in WORST:
            bulk = BulkPII(kinds, threshold=20)
            charset = "utf-16-le" if name.startswith("UTF-16") else "utf-8"
            crafted = _timer(bulk, _body(name, media, unit, size), media, charset)
            plain_body = plains.setdefault((media, kinds), _plain(media, size))
            plain = _timer(bulk, plain_body, media, "utf-8")
            ratios, crafted_times, plain_times = [], [], []
            for _ in range(rounds):
                c, p = crafted(), plain()
                crafted_times.append(c)
                plain_times.append(p)
                ratios.append(c / p)
            ratio = statistics.median(ratios)
            worst = max(worst, ratio)
            print(
                f"{name:<24} {size // MIB:>4}M {statistics.median(crafted_times) * 1000:>11.1f}"
                f" {statistics.median(plain_times) * 1000:>9.1f} {ratio:>6.2f}"
            )
    print(f"worst ratio: {worst:.2f} (goal: at most 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
