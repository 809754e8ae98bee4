"""Edge-case table (issue 4 §2), run through both the ASGI and the WSGI middleware.

Like ModSecurity's regression cases: each row is config + request + response +
expected status/headers/body/events. ``tests/_reflector.py`` answers what each row
asks for; ASGI is driven by hand (real chunking), WSGI under Werkzeug's lint
(inside and outside the middleware).

Behaviour decided here for ``text/event-stream``: with the default extractors (JSON,
HTML, header) an event stream is ``text/*``, which no JSON/HTML extractor reads, so
it is not body-scanned and streams through chunk by chunk; its headers are still
checked (an ``X-Data-Owner`` naming someone else blocks it). If a CustomExtractor
covers ``"text"``, the stream is buffered until it ends (or hits the body limit)
and scanned as one body.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import pytest
import zstandard
from _django_stack import DJANGO_KINDS, enabled_stacks
from _reflector import (
    BLOCK_BODY,
    DISCONNECT,
    FILE,
    PRIVATE,
    RAISE_AFTER,
    RAISE_BEFORE,
    WRITE,
    AppError,
    Case,
    check,
    check_django_500,
    django_case,
    django_skip,
    run,
    run_asgi,
    run_wsgi,
)
from ids import ALICE, BOB, CAROL, CROWD, NUMERIC, RENEE, SUZUKI, YAMADA

from respguard import CustomExtractor, JsonKeys, OwnerHeader

L = 64  # the body limit of the limit rows
LIMIT = {"max_body_bytes": L}
JSON_CT = ("Content-Type", "application/json")
HTML_CT = ("Content-Type", "text/html; charset=utf-8")
SSE_CT = ("Content-Type", "text/event-stream")


def jbody(n: int, owner: str, *, owner_last: bool = False) -> bytes:
    """A JSON body of exactly ``n`` bytes naming ``owner`` (first, or last: just before the end)."""
    if owner_last:
        head, tail = b'{"pad":"', b'","user_id":"' + owner.encode() + b'"}'
    else:
        head, tail = b'{"user_id":"' + owner.encode() + b'","pad":"', b'"}'
    pad = n - len(head) - len(tail)
    assert pad >= 0
    body = head + b"x" * pad + tail
    json.loads(body)
    return body


def thirds(body: bytes) -> tuple[bytes, ...]:
    a, b = len(body) // 3, 2 * len(body) // 3
    return body[:a], body[a:b], body[b:]


def owner_json(owner: str) -> bytes:
    return json.dumps({"user_id": owner, "name": "Alice Example", "card_last3": "417"}).encode()


OWN = owner_json(ALICE)
FOREIGN = owner_json(BOB)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def bomb(size: int = 2 * 1024 * 1024) -> bytes:
    """A JSON body of ``size`` bytes that compresses to almost nothing, with a foreign owner at the end."""
    return b'{"pad":"' + b" " * size + b'","user_id":"' + BOB.encode() + b'"}'


BOMB = bomb()
BOMB_LIMIT = {"max_body_bytes": 16 * 1024}


def html(owner: str, charset: str, meta: bool = False) -> bytes:
    head = f'<meta charset="{charset}">' if meta else ""
    return f'<html><head>{head}</head><body><div data-owner="{owner}">山田太郎 様 ご契約</div></body></html>'.encode(
        charset
    )


def sse(*owners: str) -> tuple[bytes, ...]:
    return tuple(f'event: account\ndata: {{"user_id": "{o}"}}\n\n'.encode() for o in owners)


def text_owners(body: bytes, headers: Any, view: Any) -> list[str]:
    """A CustomExtractor for event streams: owners of the JSON in every ``data:`` line."""
    found = []
    for line in body.decode("utf-8").splitlines():
        if line.startswith("data:"):
            found.append(json.loads(line[5:])["user_id"])
    return found


def ndjson(*owners: str) -> tuple[bytes, ...]:
    return tuple(f'{{"user_id": "{o}", "plan": "premium"}}\n'.encode() for o in owners)


NDJSON_CT = ("Content-Type", "application/x-ndjson")

SSE_SCAN = {"extractors": [JsonKeys("user_id"), OwnerHeader(), CustomExtractor(text_owners, media=["text"])]}


def deep(depth: int, owner: str) -> bytes:
    return b'{"user_id":"' + owner.encode() + b'","x":' + b"[" * depth + b"]" * depth + b"}"


def many(owners: list[str]) -> bytes:
    return json.dumps([{"user_id": o, "email": f"{o}@example.test"} for o in owners]).encode()


LIST = json.dumps(
    {"items": [{"user_id": ALICE, "name": "Alice"}, {"user_id": BOB, "name": "Bob", "card": "4111"}]}
).encode()
FILTERED = json.dumps({"items": [{"user_id": ALICE, "name": "Alice"}]}, separators=(",", ":")).encode()
# A record naming Bob first and Alice last: json.loads would keep only the last value.
DUPLICATE_KEY_LIST = (
    b'{"items":[{"user_id":"carol-51d0"},{"user_id":"bob-9c2e","name":"Bob","card":"4111","user_id":"alice-7f3a"}]}'
)


def file_chunks(body: bytes) -> tuple[bytes, ...]:
    return thirds(body)


CASES: list[Case] = [
    # ------------------------------------------------------------- body limit -1/0/+1, one write / three chunks
    Case("limit-1-own-one", chunks=(jbody(L - 1, ALICE),), options=LIMIT, personal=True),
    Case("limit-0-own-one", chunks=(jbody(L, ALICE),), options=LIMIT, personal=True),
    Case("limit+1-own-one", chunks=(jbody(L + 1, ALICE),), options=LIMIT, expect="block", events=("oversize",)),
    Case("limit-1-own-three", chunks=thirds(jbody(L - 1, ALICE)), options=LIMIT, personal=True, asgi_messages=1),
    Case("limit-0-own-three", chunks=thirds(jbody(L, ALICE)), options=LIMIT, personal=True, asgi_messages=1),
    Case("limit+1-own-three", chunks=thirds(jbody(L + 1, ALICE)), options=LIMIT, expect="block", events=("oversize",)),
    Case(
        "limit-1-foreign-last-one",
        chunks=(jbody(L - 1, BOB, owner_last=True),),
        options=LIMIT,
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "limit-0-foreign-last-three",
        chunks=thirds(jbody(L, BOB, owner_last=True)),
        options=LIMIT,
        expect="block",
        events=("owner_mismatch",),
    ),
    # A foreign owner placed just past the limit: the first L bytes are clean, it still blocks.
    Case(
        "limit+1-foreign-past-limit-one",
        chunks=(jbody(L + 1, BOB, owner_last=True),),
        options=LIMIT,
        expect="block",
        events=("oversize",),
    ),
    Case(
        "limit+1-foreign-past-limit-three",
        chunks=(jbody(L + 1, BOB, owner_last=True)[:L], jbody(L + 1, BOB, owner_last=True)[L:], b""),
        content_length=str(L + 1),
        options=LIMIT,
        expect="block",
        events=("oversize",),
    ),
    # The limit also holds for the decoded size of a compressed body (-1/0/+1 bytes after gunzip).
    Case(
        "limit-1-decoded-gzip",
        headers=(JSON_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(jbody(4 * L - 1, ALICE))),
        options={"max_body_bytes": 4 * L},
        personal=True,
    ),
    Case(
        "limit-0-decoded-gzip",
        headers=(JSON_CT, ("Content-Encoding", "gzip")),
        chunks=(gz(jbody(4 * L, ALICE)),),
        options={"max_body_bytes": 4 * L},
        personal=True,
    ),
    Case(
        "limit+1-decoded-gzip",
        headers=(JSON_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(jbody(4 * L + 1, ALICE))),
        options={"max_body_bytes": 4 * L},
        expect="block",
        events=("oversize",),
    ),
    # The documented fail-open option: over the limit passes unscanned, with an event.
    Case(
        "limit+1-on-oversize-pass",
        chunks=thirds(jbody(L + 1, BOB, owner_last=True)),
        options={**LIMIT, "on_oversize": "pass"},
        events=("oversize",),
        actions=("passed",),
    ),
    # ------------------------------------------------------------- content encodings
    Case("gzip-own", headers=(JSON_CT, ("Content-Encoding", "gzip")), chunks=(gz(OWN),), personal=True),
    Case(
        "gzip-foreign-three",
        headers=(JSON_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(FOREIGN)),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "deflate-zlib-foreign",
        headers=(JSON_CT, ("Content-Encoding", "deflate")),
        chunks=(zlib.compress(FOREIGN),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "deflate-raw-foreign",
        headers=(JSON_CT, ("Content-Encoding", "deflate")),
        chunks=(raw_deflate(FOREIGN),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("br-own", headers=(JSON_CT, ("Content-Encoding", "br")), chunks=(brotli.compress(OWN),), personal=True),
    Case(
        "br-foreign",
        headers=(JSON_CT, ("Content-Encoding", "br")),
        chunks=(brotli.compress(FOREIGN),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "zstd-foreign",
        headers=(JSON_CT, ("Content-Encoding", "zstd")),
        chunks=(zstandard.ZstdCompressor().compress(FOREIGN),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "gzip-twice-foreign",
        headers=(JSON_CT, ("Content-Encoding", "gzip, gzip")),
        chunks=(gz(gz(FOREIGN)),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "gzip-truncated",
        headers=(JSON_CT, ("Content-Encoding", "gzip")),
        chunks=(gz(OWN)[:-12],),
        expect="block",
        events=("scan_error",),
    ),
    Case(
        "unknown-encoding",
        headers=(JSON_CT, ("Content-Encoding", "compress")),
        chunks=(OWN,),
        expect="block",
        events=("scan_error",),
    ),
    # Several gzip members / zstd frames: decoders read them all, so the scan must too.
    Case(
        "gzip-two-members-foreign-second",
        headers=(HTML_CT, ("Content-Encoding", "gzip")),
        chunks=(gz(html(ALICE, "utf-8")) + gz(html(BOB, "utf-8")),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "gzip-two-members-own",
        headers=(HTML_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(html(ALICE, "utf-8")) + gz(html(ALICE, "utf-8"))),
        personal=True,
    ),
    Case(
        "gzip-trailing-plain-foreign",
        headers=(JSON_CT, ("Content-Encoding", "gzip")),
        chunks=(gz(OWN) + FOREIGN,),
        expect="block",
        events=("scan_error",),
    ),
    Case(
        "deflate-trailing-data",
        headers=(JSON_CT, ("Content-Encoding", "deflate")),
        chunks=(zlib.compress(OWN) + FOREIGN,),
        expect="block",
        events=("scan_error",),
    ),
    Case(
        "zstd-two-frames-foreign-second",
        headers=(HTML_CT, ("Content-Encoding", "zstd")),
        chunks=(
            zstandard.ZstdCompressor().compress(html(ALICE, "utf-8"))
            + zstandard.ZstdCompressor().compress(html(BOB, "utf-8")),
        ),
        expect="block",
        events=("owner_mismatch",),
    ),
    # Repeated Content-Encoding headers combine into one list, as clients decode them.
    *[
        Case(
            f"content-encoding-repeated-identity-then-{name}",
            headers=(HTML_CT, ("Content-Encoding", "identity"), ("Content-Encoding", name)),
            chunks=(pack(html(BOB, "utf-8")),),
            expect="block",
            events=("owner_mismatch",),
        )
        for name, pack in (("gzip", gz), ("br", brotli.compress), ("zstd", zstandard.ZstdCompressor().compress))
    ],
    Case(
        "content-encoding-repeated-gzip-then-br-own",
        headers=(HTML_CT, ("Content-Encoding", "gzip"), ("Content-Encoding", "br")),
        chunks=(brotli.compress(gz(html(ALICE, "utf-8"))),),
        personal=True,
    ),
    *[
        Case(
            f"bomb-{name}",
            headers=(JSON_CT, ("Content-Encoding", name)),
            chunks=(packed,),
            options=BOMB_LIMIT,
            expect="block",
            events=("oversize",),
        )
        for name, packed in (
            ("gzip", gz(BOMB)),
            ("deflate", zlib.compress(BOMB, 9)),
            ("br", brotli.compress(BOMB)),
            ("zstd", zstandard.ZstdCompressor(level=19).compress(BOMB)),
        )
    ],
    # ------------------------------------------------------------- HEAD, 204, 304, 1xx-free statuses
    Case("head-own", method="HEAD", chunks=(OWN,)),
    Case(
        "head-foreign-header",
        method="HEAD",
        headers=(JSON_CT, ("X-Data-Owner", BOB)),
        chunks=(OWN,),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("204-own-header", status=204, headers=(("X-Data-Owner", ALICE),), chunks=(), personal=True),
    Case(
        "204-foreign-header",
        status=204,
        headers=(("X-Data-Owner", BOB),),
        chunks=(),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("304-own", status=304, headers=(("ETag", '"v1"'),), chunks=(), content_length=False),
    Case(
        "304-foreign-header",
        status=304,
        headers=(("ETag", '"v1"'), ("X-Data-Owner", BOB)),
        chunks=(),
        content_length=False,
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("404-json-own", status=404, chunks=(OWN,), personal=True),
    Case("500-json-foreign", status=500, chunks=(FOREIGN,), expect="block", events=("owner_mismatch",)),
    # ------------------------------------------------------------- text/event-stream
    # An event stream is never buffered: each event is scanned as it comes and released; the first
    # event with another owner's data ends the stream there (the 200 already went out).
    Case(
        "sse-default-streams", headers=(SSE_CT,), chunks=sse(ALICE, ALICE, ALICE), content_length=False, asgi_messages=3
    ),
    Case(
        "sse-default-foreign-second-event-cuts",
        headers=(SSE_CT,),
        chunks=sse(ALICE, BOB, CAROL),
        content_length=False,
        events=("owner_mismatch",),
        pass_body=sse(ALICE)[0],
        asgi_messages=2,
    ),
    Case(
        "sse-events-split-across-chunks",
        headers=(SSE_CT,),
        chunks=(b'data: {"user_id": "' + ALICE.encode() + b'"}\n', b'\ndata: {"user_id": "', BOB.encode() + b'"}\n\n'),
        content_length=False,
        events=("owner_mismatch",),
        pass_body=b'data: {"user_id": "' + ALICE.encode() + b'"}\n\n',
    ),
    Case(
        "sse-non-json-data-passes",
        headers=(SSE_CT,),
        chunks=(b"data: tick 1\n\n", b": comment\n\n", b"data: tick 2\n\n"),
        content_length=False,
    ),
    Case(
        "sse-default-foreign-header",
        headers=(SSE_CT, ("X-Data-Owner", BOB)),
        chunks=sse(ALICE),
        content_length=False,
        expect="block",
        events=("owner_mismatch",),
    ),
    # A CustomExtractor on "text" reads each whole event.
    Case(
        "sse-custom-own-streams",
        headers=(SSE_CT,),
        chunks=sse(ALICE, ALICE, ALICE),
        content_length=False,
        options=SSE_SCAN,
        asgi_messages=3,
    ),
    Case(
        "sse-custom-foreign-in-third-event",
        headers=(SSE_CT,),
        chunks=sse(ALICE, ALICE, BOB),
        content_length=False,
        options=SSE_SCAN,
        events=("owner_mismatch",),
        pass_body=b"".join(sse(ALICE, ALICE)),
    ),
    Case(
        "sse-event-over-limit-ends-stream",
        headers=(SSE_CT,),
        chunks=(sse(ALICE)[0], b"data: " + b"x" * 100, b"x" * 10 + b"\n\n"),
        content_length=False,
        options={"max_body_bytes": 64},
        events=("oversize",),
        actions=("blocked",),
        pass_body=sse(ALICE)[0],
    ),
    Case(
        "sse-event-over-limit-report-passes",
        headers=(SSE_CT,),
        chunks=(sse(ALICE)[0], b"data: " + b"x" * 100, b"x" * 10 + b"\n\n"),
        content_length=False,
        options={"max_body_bytes": 64, "mode": "report"},
        events=("oversize",),
        actions=("reported",),
    ),
    Case(
        "sse-report-mode-passes-and-logs",
        headers=(SSE_CT,),
        chunks=sse(ALICE, BOB),
        content_length=False,
        options={"mode": "report"},
        events=("owner_mismatch",),
        actions=("reported",),
    ),
    # With a Content-Length an event stream is a finite document too: held whole, another owner's
    # event blocks it all (cut before that event, it would be shorter than its length).
    Case("sse-sized-own-passes", headers=(SSE_CT,), chunks=sse(ALICE, ALICE), personal=True),
    Case(
        "sse-sized-foreign-second-event-blocks",
        headers=(SSE_CT,),
        chunks=sse(ALICE, BOB),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "sse-sized-foreign-json-document-blocks",
        headers=(SSE_CT,),
        chunks=(b'{"user_id": "' + BOB.encode() + b'"}',),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "sse-sized-compressed-foreign-blocks",
        headers=(SSE_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(b"".join(sse(ALICE, BOB)))),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "sse-sized-compressed-own-passes",
        headers=(SSE_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(b"".join(sse(ALICE, ALICE)))),
        personal=True,
    ),
    Case(
        "sse-sized-foreign-header-blocks",
        headers=(SSE_CT, ("X-Data-Owner", BOB)),
        chunks=sse(ALICE),
        expect="block",
        events=("owner_mismatch",),
    ),
    # JSON lines (NDJSON, JSON text sequences) stream too, scanned line by line.
    Case(
        "ndjson-own-streams",
        headers=(NDJSON_CT,),
        chunks=ndjson(ALICE, ALICE, ALICE),
        content_length=False,
        asgi_messages=3,
    ),
    Case(
        "ndjson-foreign-second-line-cuts",
        headers=(NDJSON_CT,),
        chunks=ndjson(ALICE, BOB, ALICE),
        content_length=False,
        events=("owner_mismatch",),
        pass_body=ndjson(ALICE)[0],
        asgi_messages=2,
    ),
    Case(
        "ndjson-lines-split-across-chunks",
        headers=(NDJSON_CT,),
        chunks=(b'{"user_id": "' + ALICE.encode() + b'"}\n{"user', b'_id": "' + BOB.encode() + b'"}\n'),
        content_length=False,
        events=("owner_mismatch",),
        pass_body=b'{"user_id": "' + ALICE.encode() + b'"}\n',
    ),
    Case(
        "ndjson-last-line-without-newline-is-scanned",
        headers=(NDJSON_CT,),
        chunks=(ndjson(ALICE)[0], b'{"user_id": "' + BOB.encode() + b'"}'),
        content_length=False,
        events=("owner_mismatch",),
        pass_body=ndjson(ALICE)[0],
    ),
    Case(
        "json-seq-foreign-record-cuts",
        headers=(("Content-Type", "application/json-seq"),),
        chunks=tuple(b"\x1e" + line for line in ndjson(ALICE, BOB)),
        content_length=False,
        events=("owner_mismatch",),
        pass_body=b"\x1e" + ndjson(ALICE)[0],
    ),
    Case(
        "ndjson-non-json-line-passes",
        headers=(NDJSON_CT,),
        chunks=(b"not json\n", ndjson(ALICE)[0]),
        content_length=False,
    ),
    Case(
        "ndjson-compressed-stream-blocks",
        headers=(NDJSON_CT, ("Content-Encoding", "gzip")),
        chunks=(gz(b"".join(ndjson(ALICE))),),
        content_length=False,
        expect="block",
        events=("scan_error",),
        lint_inner=False,
    ),
    # With a Content-Length it is a finite document: held whole, another owner's line blocks it all.
    Case("ndjson-sized-own-passes", headers=(NDJSON_CT,), chunks=ndjson(ALICE, ALICE), personal=True),
    Case(
        "ndjson-sized-foreign-blocks",
        headers=(NDJSON_CT,),
        chunks=ndjson(ALICE, BOB),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "ndjson-sized-compressed-foreign-blocks",
        headers=(NDJSON_CT, ("Content-Encoding", "gzip")),
        chunks=thirds(gz(b"".join(ndjson(ALICE, BOB)))),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "ndjson-range-blocks",
        status=206,
        headers=(NDJSON_CT, ("Content-Range", "bytes 5-40/100")),
        chunks=(b'id": "' + BOB.encode() + b'"}\n',),
        expect="block",
        events=("scan_error",),
        lint_inner=False,
    ),
    # ------------------------------------------------------------- pathsend / file_wrapper / write()
    Case("file-own", how=FILE, chunks=file_chunks(OWN), personal=True),
    Case("file-foreign", how=FILE, chunks=file_chunks(FOREIGN), expect="block", events=("owner_mismatch",)),
    Case(
        "file-oversize",
        how=FILE,
        chunks=thirds(jbody(L + 1, ALICE)),
        options=LIMIT,
        expect="block",
        events=("oversize",),
    ),
    Case("file-image-unscanned", how=FILE, headers=(("Content-Type", "image/png"),), chunks=(b"\x89PNG" + b"b" * 20,)),
    Case("write-own", how=WRITE, chunks=thirds(OWN), personal=True, stacks=("wsgi",)),
    Case(
        "write-foreign", how=WRITE, chunks=thirds(FOREIGN), expect="block", events=("owner_mismatch",), stacks=("wsgi",)
    ),
    # ------------------------------------------------------------- the app raising
    Case("raise-before-start", how=RAISE_BEFORE, expect="raise"),
    Case("raise-after-start-foreign", how=RAISE_AFTER, chunks=thirds(FOREIGN), content_length=False, expect="raise"),
    Case("raise-after-start-own", how=RAISE_AFTER, chunks=thirds(OWN), content_length=False, expect="raise"),
    # ------------------------------------------------------------- Set-Cookie, stale Content-Length and ETag
    Case(
        "set-cookies-own",
        headers=(JSON_CT, ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"), ("Set-Cookie", "c=3")),
        chunks=(OWN,),
        personal=True,
    ),
    Case(
        "set-cookies-foreign",
        headers=(JSON_CT, ("Set-Cookie", "session=s3cr3t; HttpOnly"), ("Set-Cookie", "b=2")),
        chunks=(FOREIGN,),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "stale-length-etag-foreign",
        headers=(JSON_CT, ("ETag", '"abc123"'), ("Last-Modified", "Sat, 21 Nov 2026 00:00:00 GMT")),
        chunks=(FOREIGN,),
        content_length="9999",
        lint_inner=False,  # the app itself is wrong; the outer lint checks what respguard sends
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "stale-length-etag-foreign-gzip",
        headers=(JSON_CT, ("ETag", '"abc123"'), ("Content-Encoding", "gzip"), ("Content-MD5", "Zm9v")),
        chunks=thirds(gz(FOREIGN)),
        content_length="17",
        lint_inner=False,
        expect="block",
        events=("owner_mismatch",),
    ),
    # ------------------------------------------------------------- what the browser reads as the Content-Type
    # Repeated or comma-joined Content-Type values that disagree: browsers use the last valid one
    # (Fetch "extract a MIME type"), a scan would read the first. Refused: scan_error. (Decided at the
    # start, so the app's body is closed unread: the inner lint would call that a length mismatch.)
    Case(
        "content-type-repeated-last-is-html",
        headers=(("Content-Type", "image/png"), ("Content-Type", "text/html; charset=utf-8")),
        chunks=(b'<div data-owner="' + BOB.encode() + b'">x</div>',),
        expect="block",
        events=("scan_error",),
        lint_inner=False,
    ),
    Case(
        "content-type-comma-joined-last-is-json",
        headers=(("Content-Type", "text/plain, application/json"),),
        chunks=(FOREIGN,),
        expect="block",
        events=("scan_error",),
        lint_inner=False,
    ),
    Case(
        "content-type-repeated-last-is-png",
        headers=(("Content-Type", "application/json"), ("Content-Type", "image/png")),
        chunks=(OWN,),
        expect="block",
        events=("scan_error",),
        lint_inner=False,
    ),
    Case(
        # Fetch: the last valid type wins, and its charset is the one browsers decode with.
        "content-type-charsets-disagree",
        requester=YAMADA,
        headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Type", "text/html; charset=shift_jis")),
        chunks=(html(YAMADA, "shift_jis"),),
        personal=True,
        lint_inner=False,
    ),
    Case(
        "content-type-charsets-disagree-foreign",
        requester=YAMADA,
        headers=(("Content-Type", "text/html; charset=utf-8"), ("Content-Type", "text/html; charset=shift_jis")),
        chunks=(html(SUZUKI, "shift_jis"),),
        expect="block",
        events=("owner_mismatch",),
        lint_inner=False,
    ),
    # The same value twice is no conflict; nor are two types no extractor reads.
    Case(
        "content-type-repeated-same",
        headers=(JSON_CT, ("content-type", "application/json")),
        chunks=(OWN,),
        personal=True,
    ),
    Case(
        "content-type-two-image-types",
        headers=(("Content-Type", "image/png"), ("Content-Type", "image/webp")),
        chunks=(b"\x89PNG....",),
    ),
    # No Content-Type: clients sniff (scripts parse JSON whatever the type; browsers render a leading
    # tag as HTML), so respguard sniffs the first bytes too. Anything else streams unscanned.
    Case("no-content-type-json-foreign", headers=(), chunks=(FOREIGN,), expect="block", events=("owner_mismatch",)),
    Case("no-content-type-json-own", headers=(), chunks=(OWN,), personal=True),
    Case(
        "no-content-type-json-foreign-after-white-space",
        headers=(),
        chunks=(b"\n ", b"", b"  ", FOREIGN),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "no-content-type-json-foreign-bom",
        headers=(),
        chunks=(b"\xef\xbb", b"\xbf" + FOREIGN),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "no-content-type-html-foreign",
        headers=(),
        chunks=thirds(html(BOB, "utf-8")),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "no-content-type-gzip-json-foreign",
        headers=(("Content-Encoding", "gzip"),),
        chunks=thirds(gz(FOREIGN)),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "no-content-type-empty-type-json-foreign",
        headers=(("Content-Type", ""),),
        chunks=(FOREIGN,),
        expect="block",
        events=("owner_mismatch",),
    ),
    # A binary download without a type streams, chunk by chunk, however large.
    Case(
        "no-content-type-binary-streams",
        headers=(),
        chunks=(b"\x89PNG" + b"b" * 60, b"c" * 60, b"d" * 60),
        options=LIMIT,
        asgi_messages=3,
    ),
    Case("no-content-type-text-unscanned", headers=(), chunks=(b"user_id=" + BOB.encode(),)),
    # 206: a range of a document can cut an owner key in half, so a scanned type can't be proved clean.
    Case(
        "partial-content-json-blocks",
        status=206,
        headers=(JSON_CT, ("Content-Range", "bytes 0-9/100")),
        chunks=(b'id":"' + BOB.encode(),),
        expect="block",
        events=("scan_error",),
        lint_inner=False,  # decided on the headers: the body is never read
    ),
    Case(
        "partial-content-image-streams",
        status=206,
        headers=(("Content-Type", "image/png"), ("Content-Range", "bytes 0-9/100")),
        chunks=(b"\x89PNG" + b"b" * 6,),
    ),
    # WHATWG's JSON MIME types: application/json, text/json, */*+json.
    Case(
        "text-json-foreign",
        headers=(("Content-Type", "text/json; charset=utf-8"),),
        chunks=(FOREIGN,),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "vnd-api-json-foreign",
        headers=(("Content-Type", "application/vnd.api+json"),),
        chunks=(FOREIGN,),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("text-json-own", headers=(("Content-Type", "TEXT/JSON"),), chunks=(OWN,), personal=True),
    # ------------------------------------------------------------- charsets
    Case(
        "sjis-declared-own",
        headers=(("Content-Type", "text/html; charset=shift_jis"),),
        chunks=(html(ALICE, "shift_jis"),),
        personal=True,
    ),
    Case(
        "sjis-declared-foreign",
        headers=(("Content-Type", "text/html; charset=Shift_JIS"),),
        chunks=(html(BOB, "shift_jis"),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "sjis-meta-own",
        headers=(("Content-Type", "text/html"),),
        chunks=(html(ALICE, "shift_jis", meta=True),),
        personal=True,
    ),
    Case(
        "sjis-meta-foreign-three",
        headers=(("Content-Type", "text/html"),),
        chunks=thirds(html(BOB, "shift_jis", meta=True)),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "sjis-japanese-id-own",
        requester=YAMADA,
        headers=(("Content-Type", "text/html; charset=shift_jis"),),
        chunks=(html(YAMADA, "shift_jis"),),
        personal=True,
    ),
    Case(
        "sjis-japanese-id-foreign",
        requester=YAMADA,
        headers=(("Content-Type", "text/html; charset=shift_jis"),),
        chunks=(html(SUZUKI, "shift_jis"),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "eucjp-meta-foreign",
        requester=YAMADA,
        headers=(("Content-Type", "text/html"),),
        chunks=(html(SUZUKI, "euc_jp", meta=True),),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "utf16-declared-foreign",
        headers=(("Content-Type", "text/html; charset=utf-16"),),
        chunks=(html(BOB, "utf-16"),),
        expect="block",
        events=("owner_mismatch",),
    ),
    # A page with a byte-order mark: browsers read it in the BOM's encoding whatever the header
    # or <meta> says (WHATWG "decode"), and so does the scan.
    *[
        Case(
            f"bom-{name}-declared-{declared.split('=')[-1]}-foreign",
            headers=(("Content-Type", declared),),
            chunks=(bom + f'<div data-owner="{BOB}">x</div>'.encode(name),),
            expect="block",
            events=("owner_mismatch",),
        )
        for name, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"))
        for declared in (
            "text/html",
            "text/html; charset=utf-8",
            "text/html; charset=iso-8859-1",
            "text/html; charset=windows-1252",
            "text/html; charset=shift_jis",
        )
    ],
    Case(
        "bom-utf-16-own",
        headers=(("Content-Type", "text/html; charset=iso-8859-1"),),
        chunks=(html(ALICE, "utf-16"),),
        personal=True,
    ),
    Case(
        "bom-utf-8-declared-sjis-japanese-own",
        requester=YAMADA,
        headers=(("Content-Type", "text/html; charset=shift_jis"),),
        chunks=(b"\xef\xbb\xbf" + html(YAMADA, "utf-8"),),
        personal=True,
    ),
    Case(
        "bom-utf-8-meta-sjis-japanese-foreign",
        requester=YAMADA,
        headers=(("Content-Type", "text/html"),),
        chunks=(
            b"\xef\xbb\xbf" + html(SUZUKI, "utf-8", meta=False).replace(b"<head>", b'<head><meta charset="shift_jis">'),
        ),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "latin1-own",
        requester=RENEE,
        headers=(("Content-Type", "text/html; charset=iso-8859-1"),),
        chunks=(f'<p data-owner="{RENEE}">Ren&eacute;e</p>'.encode("latin-1"),),
        personal=True,
    ),
    Case(
        "latin1-foreign-entity",
        requester=RENEE,
        headers=(("Content-Type", "text/html; charset=iso-8859-1"),),
        chunks=(b'<p data-owner="ren&#233;e-93f1">x</p>',),
        expect="block",
        events=("owner_mismatch",),
    ),
    # A malformed data-owner marker is read as the browser's HTML parser reads it.
    Case(
        "html-unquoted-value-with-equals",
        headers=(HTML_CT,),
        chunks=(b"<div data-owner==" + BOB.encode() + b">card 417</div>",),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "html-unquoted-value-runs-into-a-tag",
        headers=(HTML_CT,),
        chunks=(b"<div data-owner=" + ALICE.encode() + b"<b>x</b>",),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "html-attribute-forms-own",
        headers=(HTML_CT,),
        chunks=(
            b"<div data-owner=alice-7f3a><p DATA-OWNER = 'alice-7f3a'/><i data-owner=\"&#97;lice-7f3a\"></i>"
            b"<b x=1 data-owner=\nalice-7f3a>",
        ),
        personal=True,
    ),
    # A <meta> naming UTF-16 in a page read as ASCII means UTF-8 (HTML's prescan), whatever its length.
    *[
        Case(
            f"meta-utf16-means-utf8-{parity}",
            headers=(("Content-Type", "text/html"),),
            chunks=(b'<meta charset="utf-16"><div data-owner="' + BOB.encode() + b'">Bob</div>' + pad,),
            expect="block",
            events=("owner_mismatch",),
        )
        for parity, pad in (("even", b""), ("odd", b" "))
    ],
    Case(
        # a bad byte reads as U+FFFD, as browsers read it: the owner is "x\ufffd", another owner
        "undecodable-declared-utf8",
        headers=(HTML_CT,),
        chunks=(b'<p data-owner="x\xff">',),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        # a charset label browsers don't know is ignored: the page reads as windows-1252
        "unknown-charset",
        headers=(("Content-Type", "text/html; charset=x-no-such-charset"),),
        chunks=(b'<p data-owner="alice-7f3a">',),
        personal=True,
    ),
    Case(
        "unknown-charset-foreign",
        headers=(("Content-Type", "text/html; charset=cp037"),),
        chunks=(b'<p data-owner="bob-9c2e">',),
        expect="block",
        events=("owner_mismatch",),
    ),
    # ------------------------------------------------------------- malformed / truncated JSON
    Case(
        "json-truncated-foreign",
        chunks=(FOREIGN[:-10],),
        expect="block",
        events=("scan_error",),
    ),
    Case(
        "json-malformed-foreign",
        chunks=(b'{"user_id": "' + BOB.encode() + b'",,}',),
        expect="block",
        events=("scan_error",),
    ),
    # Not strict: a truncated body that names only the requester is proved own by the byte search.
    Case("json-truncated-own", chunks=(OWN[:-10],), personal=True),
    Case(
        "json-truncated-own-strict",
        chunks=(OWN[:-10],),
        options={"strict_json": True},
        expect="block",
        events=("scan_error",),
    ),
    Case("json-no-key-malformed", chunks=(b'{"a": [1, 2',)),
    Case(
        "json-no-key-malformed-strict",
        chunks=(b'{"a": [1, 2',),
        options={"strict_json": True},
        expect="block",
        events=("scan_error",),
    ),
    Case(
        "json-escaped-key-foreign",
        chunks=(b'{"user\\u005fid": "' + BOB.encode() + b'"}',),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "json-utf16-foreign",
        chunks=(json.dumps({"user_id": BOB}).encode("utf-16"),),
        expect="block",
        events=("owner_mismatch",),
    ),
    # ------------------------------------------------------------- 123 vs "123"
    Case("number-own", requester=NUMERIC, chunks=(b'{"user_id": 8812345}',), personal=True),
    Case("string-number-own", requester=NUMERIC, chunks=(b'{"user_id": "8812345"}',), personal=True),
    Case("int-requester-number-own", requester=int(NUMERIC), chunks=(b'{"user_id":8812345,"n":1}',), personal=True),
    Case(
        "number-prefix-foreign",
        requester=NUMERIC,
        chunks=(b'{"user_id": 88123450}',),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "number-float-own",  # 8812345.0 is the number 8812345, to a script and to respguard
        requester=NUMERIC,
        chunks=(b'{"user_id": 8812345.0}',),
        personal=True,
    ),
    Case(
        "number-float-foreign",
        requester=NUMERIC,
        chunks=(b'{"user_id": 8812345.5}',),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case(
        "number-exponent-own",
        requester=NUMERIC,
        chunks=(b'{"user_id": 8812345e0}',),
        personal=True,
    ),
    Case(
        "number-exponent-foreign",
        requester=NUMERIC,
        chunks=(b'{"user_id": 8812345e1}',),
        expect="block",
        events=("owner_mismatch",),
    ),
    # ------------------------------------------------------------- very deep JSON
    # RecursionError in the parser is a scan_error, never a crash. (A body the byte search proves
    # own, or free of owner keys, is not parsed at all: deep-json-own-fast.)
    Case("deep-json-array-foreign", chunks=(deep(100_000, BOB),), expect="block", events=("scan_error",)),
    Case(
        "deep-json-array-own-strict",
        chunks=(deep(100_000, ALICE),),
        options={"strict_json": True},
        expect="block",
        events=("scan_error",),
    ),
    Case(
        "deep-json-object-foreign-inside",
        chunks=(b'{"x":' + b'{"a":' * 50_000 + b'{"user_id":"' + BOB.encode() + b'"}' + b"}" * 50_001,),
        expect="block",
        events=("scan_error",),
    ),
    Case("deep-json-own-fast", chunks=(deep(100_000, ALICE),), personal=True),
    Case("deep-json-own-moderate-strict", chunks=(deep(200, ALICE),), options={"strict_json": True}, personal=True),
    # ------------------------------------------------------------- huge numbers of owners
    Case(
        "crowd-foreign", chunks=(many(list(CROWD)),), expect="block", events=("owner_mismatch",), owner_count=len(CROWD)
    ),
    Case(
        "crowd-one-foreign-repeated",
        chunks=(many([ALICE] * 3000 + [BOB] * 3000),),
        expect="block",
        events=("owner_mismatch",),
        owner_count=1,
    ),
    Case("crowd-own-repeated", chunks=(many([ALICE] * 5000),), personal=True),
    Case(
        "crowd-header",
        headers=(JSON_CT, ("X-Data-Owner", ", ".join(CROWD[:25]))),
        chunks=(b"{}",),
        expect="block",
        events=("owner_mismatch",),
        owner_count=25,
    ),
    # ------------------------------------------------------------- filter mode: a replaced body
    Case(
        "filter-drops-foreign-records-and-stale-headers",
        headers=(
            JSON_CT,
            ("Content-Encoding", "gzip"),
            ("ETag", '"v7"'),
            ("Last-Modified", "Sat, 21 Nov 2026 00:00:00 GMT"),
        ),
        chunks=thirds(gz(LIST)),
        options={"on_foreign_records": "filter"},
        events=("filtered",),
        actions=("filtered",),
        pass_body=FILTERED,
        pass_headers=(("content-type", "application/json"), ("content-length", str(len(FILTERED))), PRIVATE),
    ),
    Case(
        "filter-duplicate-owner-key-blocks",
        chunks=(DUPLICATE_KEY_LIST,),
        options={"on_foreign_records": "filter"},
        expect="block",
        events=("owner_mismatch",),
    ),
    # ------------------------------------------------------------- owner header, anonymous, report-only
    Case("owner-header-own-stripped", headers=(JSON_CT, ("X-Data-Owner", ALICE)), chunks=(b"{}",), personal=True),
    Case(
        "owner-header-repeated-foreign",
        headers=(JSON_CT, ("X-Data-Owner", ALICE), ("x-data-owner", BOB)),
        chunks=(b"{}",),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("client-owner-header-ignored", request_headers=(("X-Data-Owner", BOB),), chunks=(OWN,), personal=True),
    Case(
        "client-owner-header-cannot-vouch",
        request_headers=(("X-Data-Owner", BOB),),
        chunks=(FOREIGN,),
        expect="block",
        events=("owner_mismatch",),
    ),
    Case("anonymous-personal", requester=None, chunks=(OWN,), expect="block", events=("anonymous_personal_data",)),
    Case("anonymous-no-owner", requester=None, chunks=(b'{"news": []}',)),
    Case(
        "report-only-foreign",
        chunks=(FOREIGN,),
        options={"mode": "report"},
        events=("owner_mismatch",),
        actions=("reported",),
        personal=True,
    ),
]


def _stack_cases() -> list[Any]:
    """Each row on its stacks; the Django stacks where ``RESPGUARD_TEST_STACKS`` asks for them
    (a row a Django view can't say is skipped there, saying why)."""
    enabled = enabled_stacks()
    params = [pytest.param(s, case, id=f"{s}-{case.id}") for case in CASES for s in case.stacks if s in enabled]
    for kind in (k for k in enabled if k in DJANGO_KINDS):
        for case in CASES:
            reason = django_skip(case)
            marks = [pytest.mark.skip(reason=reason)] if reason else []
            params.append(pytest.param(kind, case, id=f"{kind}-{case.id}", marks=marks))
    return params


STACK_CASES = _stack_cases()


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("stack", "case"), STACK_CASES)
def test_edge_case(stack: str, case: Case) -> None:
    if stack in DJANGO_KINDS:
        case = django_case(case)
    out = run(stack, case)
    if stack in DJANGO_KINDS and case.how == RAISE_AFTER:
        check_django_500(case, out)
        return
    check(case, out)
    if stack == "asgi" and case.asgi_messages is not None:
        assert out.body_messages == case.asgi_messages


# --------------------------------------------------------------------------- cases a row can't say


def test_asgi_pathsend_decided_at_start_is_forwarded_untouched() -> None:
    case = Case("png", how=FILE, headers=(("Content-Type", "image/png"),), chunks=(b"\x89PNG....",))
    out = run_asgi(case)
    assert [m["type"] for m in out.messages] == ["http.response.start", "http.response.pathsend"]


def test_asgi_pathsend_of_a_missing_file_blocks_with_a_scan_error(tmp_path: Any) -> None:
    from respguard import ASGIMiddleware

    events: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        from respguard import set_requester

        set_requester(scope, ALICE)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.pathsend", "path": str(tmp_path / "gone.json")})

    guarded = ASGIMiddleware(app, secret_key="k", extractors=[JsonKeys("user_id")], on_event=events.append)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    import asyncio

    asyncio.run(guarded({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send))
    assert sent[0]["status"] == 403
    assert sent[1] == {"type": "http.response.body", "body": BLOCK_BODY, "more_body": False}
    assert [(e.kind.value, e.reason) for e in events] == [("scan_error", "file to send cannot be read")]


def test_asgi_client_disconnect_mid_stream_sends_nothing_held() -> None:
    """The app stops at ``http.disconnect`` without finishing: nothing held is ever sent, no event."""
    for chunks in (thirds(FOREIGN), thirds(OWN)):
        out = run_asgi(Case("disc", how=DISCONNECT, chunks=chunks, content_length=False))
        assert out.raised is None
        assert out.messages == []
        assert out.events == []


def test_asgi_disconnect_on_an_unscanned_stream_stops_it() -> None:
    out = run_asgi(Case("disc-sse", how=DISCONNECT, headers=(SSE_CT,), chunks=sse(ALICE, BOB), content_length=False))
    assert out.raised is None
    assert [m["type"] for m in out.messages] == ["http.response.start", "http.response.body"]
    assert out.body == sse(ALICE, BOB)[0]


@pytest.mark.parametrize("chunks", [(OWN,), thirds(FOREIGN)], ids=["own", "foreign"])
def test_asgi_send_raising_oserror_reaches_the_server_unchanged(chunks: tuple[bytes, ...]) -> None:
    """The client went away (send raises): the server's error propagates as it would without respguard."""
    error = OSError(32, "Broken pipe")
    out = run_asgi(Case("gone", chunks=chunks), send_error=error)
    assert out.raised is error
    assert out.messages == []


def test_wsgi_client_gone_after_first_chunk_still_closes_once() -> None:
    """A WSGI server that stops iterating (client gone) still calls close(): the app's is called once."""
    case = Case("gone", headers=(SSE_CT,), chunks=sse(ALICE, BOB, CAROL), content_length=False)
    out = run_wsgi(case, stop_after=1)
    assert out.raised is None and out.closes == 1
    assert out.body == sse(ALICE)[0]


def test_wsgi_file_wrapper_decided_at_start_is_returned_untouched() -> None:
    """An unscanned response keeps the app's iterable (a server may still use sendfile)."""
    from werkzeug.test import create_environ
    from werkzeug.wsgi import FileWrapper

    from respguard import WSGIMiddleware

    returned: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", "8")])
        wrapper = FileWrapper(io.BytesIO(b"\x89PNG...."))
        returned.append(wrapper)
        return wrapper

    guarded = WSGIMiddleware(app, secret_key="k", extractors=[JsonKeys("user_id")])
    result = guarded(create_environ("/"), lambda status, headers, exc_info=None: None)
    assert result is returned[0]
    result.close()


@pytest.mark.parametrize("stack", ["asgi", "wsgi"])
def test_raise_after_start_sends_nothing_and_calls_close(stack: str) -> None:
    out = run(stack, Case("raise", how=RAISE_AFTER, chunks=thirds(FOREIGN), content_length=False, expect="raise"))
    assert isinstance(out.raised, AppError)
    assert str(out.raised) == "after the response started"
    assert out.status is None and out.events == []


@pytest.mark.parametrize("stack", ["asgi", "wsgi"])
def test_block_page_is_the_same_with_custom_page(stack: str) -> None:
    from respguard import BlockPage

    page = BlockPage(status=451, body=b"<p>withheld</p>", content_type="text/html; charset=utf-8")
    out = run(stack, Case("page", chunks=(FOREIGN,), options={"block_page": page}))
    assert out.status == 451 and out.body == b"<p>withheld</p>"
    assert ("content-length", "15") in out.headers and ("content-type", "text/html; charset=utf-8") in out.headers
    # the block page's own cache header, once, and none of a personal response's (Vary: Cookie)
    assert [v for k, v in out.headers if k == "cache-control"] == ["private, no-store"]
    assert [v for k, v in out.headers if k == "vary"] == []


@pytest.mark.parametrize("name", ["gzip", "deflate", "br", "zstd"])
def test_a_decompression_bomb_is_capped_in_memory_not_only_in_verdict(name: str) -> None:
    """64 MiB of zeros in a few hundred bytes: decoding stops near the 1 MiB limit (peak well under 64 MiB)."""
    import tracemalloc

    from respguard._content import DECODERS, DecodedTooLarge

    packers = {
        "gzip": gz,
        "deflate": lambda data: zlib.compress(data, 9),
        "br": lambda data: brotli.compress(data, quality=5),
        "zstd": zstandard.ZstdCompressor(level=3).compress,
    }
    packed = packers[name](bytes(64 * 1024 * 1024))
    assert len(packed) < 128 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(DecodedTooLarge):
            DECODERS[name](packed, 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{name}: {peak} bytes allocated for a 1 MiB limit"


def _wsgi_run(app: Any, **options: Any) -> tuple[str, list[tuple[str, str]], bytes, list[Any]]:
    """Call ``app`` under respguard with lint inside and outside; returns status, headers, body, events."""
    from werkzeug.middleware.lint import LintMiddleware
    from werkzeug.test import create_environ

    from respguard import WSGIMiddleware

    events: list[Any] = []
    guarded = LintMiddleware(
        WSGIMiddleware(LintMiddleware(app), secret_key="k", extractors=[JsonKeys("user_id")], on_event=events.append)
    )
    got: list[Any] = []
    result = guarded(create_environ("/"), lambda status, headers, exc_info=None: got.extend([status, headers]))
    try:
        body = b"".join(result)
    finally:
        result.close()
    return got[0], [(k.lower(), v) for k, v in got[1]], body, events


@pytest.mark.parametrize(("owner", "status"), [(ALICE, "200 OK"), (BOB, "403 Forbidden")])
def test_wsgi_lazy_generator_start_response_is_scanned(owner: str, status: str) -> None:
    """start_response called inside the generator (as Werkzeug's run_wsgi_app allows) is still scanned."""
    from respguard import set_requester

    body = owner_json(owner)

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        set_requester(environ, ALICE)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        yield body[:5]
        yield body[5:]

    got_status, _, got_body, events = _wsgi_run(app)
    assert got_status == status
    assert got_body == (body if owner == ALICE else BLOCK_BODY)
    assert [e.kind.value for e in events] == ([] if owner == ALICE else ["owner_mismatch"])


def test_wsgi_error_handler_start_response_with_exc_info_replaces_the_first() -> None:
    """An app that catches its own error and re-starts with exc_info before any byte went out."""
    import sys

    from respguard import set_requester

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        set_requester(environ, ALICE)
        start_response("200 OK", [("Content-Type", "application/json")])
        try:
            raise AppError("half-way")
        except AppError:
            start_response("500 Internal Server Error", [("Content-Type", "application/json")], sys.exc_info())
            return [FOREIGN]

    status, _, body, events = _wsgi_run(app)
    assert (status, body) == ("403 Forbidden", BLOCK_BODY)
    assert [e.kind.value for e in events] == ["owner_mismatch"]
    assert events[0].status == 500


def _asgi_messages(app: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    import asyncio

    from respguard import ASGIMiddleware

    events: list[Any] = []
    guarded = ASGIMiddleware(app, secret_key="k", extractors=[JsonKeys("user_id")], on_event=events.append)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "extensions": {"http.response.trailers": {}}}
    asyncio.run(guarded(scope, receive, send))
    return sent, events


def test_asgi_zerocopysend_while_undecided_blocks_instead_of_jumping_the_start() -> None:
    """A body-carrying message respguard can't read is never forwarded unscanned (nor before the start)."""
    from respguard import set_requester

    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.zerocopysend", "file": 99, "count": 10})
        await send({"type": "http.response.body", "body": FOREIGN})

    sent, events = _asgi_messages(app)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 403 and sent[1]["body"] == BLOCK_BODY
    assert [(e.kind.value, e.reason) for e in events] == [("scan_error", "response message respguard cannot scan")]


@pytest.mark.parametrize(("body", "blocked"), [(OWN, False), (FOREIGN, True)], ids=["own", "foreign"])
def test_asgi_trailers_follow_a_pass_and_are_dropped_with_a_block(body: bytes, blocked: bool) -> None:
    from respguard import set_requester

    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers, "trailers": True})
        await send({"type": "http.response.body", "body": body})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": False})

    sent, events = _asgi_messages(app)
    if blocked:
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
        assert "trailers" not in sent[0] and sent[1]["body"] == BLOCK_BODY
    else:
        assert [m["type"] for m in sent] == ["http.response.start", "http.response.body", "http.response.trailers"]
        assert sent[0]["trailers"] is True and sent[1]["body"] == OWN
    assert [e.kind.value for e in events] == (["owner_mismatch"] if blocked else [])
