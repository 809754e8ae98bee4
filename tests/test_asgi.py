"""The pure ASGI middleware, driven by hand through scope/receive/send.

The TestClient buffers whole bodies; these tests see every message, so they can
assert chunking, what was (not) sent before a decision, and pass-through scopes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ALICE,
    BLOCK_BODY,
    BOB,
    HTML,
    JSON,
    NO_REQUESTER,
    AppError,
    asgi_call,
    asgi_reply,
    asgi_scope,
    assert_block,
    assert_no_raw_ids,
    assert_passed_headers,
    deflated,
    guard_options,
    gzipped,
    kinds,
    values,
)

from respguard import ASGIMiddleware, AuditEvent, Guard, JsonKeys, add_owner

OWN = b'{"user_id": "alice-7f3a", "name": "Alice", "card": "4242"}'
FOREIGN = b'{"user_id": "bob-9c2e", "name": "Bob", "card": "1881"}'


def guarded(app: Any, events: list[AuditEvent], **options: Any) -> ASGIMiddleware:
    return ASGIMiddleware(app, **guard_options(events, **options))


# ------------------------------------------------------------------ block and pass


def test_foreign_json_is_replaced_by_the_block_page(events: list[AuditEvent]) -> None:
    app = guarded(asgi_reply(headers=[JSON, (b"set-cookie", b"session=s3cr3t-bob")], chunks=[FOREIGN]), events)
    got = asgi_call(app)
    assert_block(got.status, got.headers, got.body, original=FOREIGN, sets_binding=True)
    assert [m["type"] for m in got.messages] == ["http.response.start", "http.response.body"]
    assert got.body_messages[0]["more_body"] is False
    assert "session=s3cr3t-bob" not in str(got.headers)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].owner_count == 1 and events[0].status == 200 and events[0].path == "/"
    assert_no_raw_ids(events)


def test_own_json_passes_byte_identical_with_its_headers(events: list[AuditEvent]) -> None:
    headers = [JSON, (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-custom", b"kept")]
    got = asgi_call(guarded(asgi_reply(headers=headers, chunks=[OWN]), events))
    assert got.status == 200
    assert got.body == OWN
    assert_passed_headers(got.headers, [*headers, (b"content-length", str(len(OWN)).encode())], binding=True)
    assert events == []


def test_blocked_while_streaming_nothing_of_the_held_chunks_leaves(events: list[AuditEvent]) -> None:
    chunks = [
        b'[{"user_id": "alice-7f3a", "n": 1},',
        b'{"user_id": "alice-7f3a", "n": 2},',
        b'{"user_id": "bob-9c2e"}]',
    ]
    got = asgi_call(guarded(asgi_reply(chunks=chunks), events))
    assert_block(got.status, got.headers, got.body, original=b"".join(chunks), sets_binding=True)
    assert len(got.body_messages) == 1
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_streamed_own_chunks_pass_complete(events: list[AuditEvent]) -> None:
    chunks = [b'[{"user_id": "alice-7f3a", "n": 1},', b"", b'{"user_id": "alice-7f3a", "n": 2}', b"]"]
    got = asgi_call(guarded(asgi_reply(chunks=chunks), events))
    assert got.status == 200
    assert got.body == b"".join(chunks)
    assert got.body_messages[-1]["more_body"] is False
    assert events == []


def test_unscanned_type_streams_chunk_by_chunk(events: list[AuditEvent]) -> None:
    chunks = [b"\x89PNG-1", b"bob-9c2e", b"-3"]
    app = guarded(asgi_reply(headers=[(b"content-type", b"image/png")], chunks=chunks), events)
    got = asgi_call(app)
    assert got.status == 200
    assert got.chunks == chunks
    assert [m["more_body"] for m in got.body_messages] == [True, True, False]
    assert events == []


def test_html_and_header_owners(events: list[AuditEvent]) -> None:
    page = b'<div data-owner="bob-9c2e">Bob</div>'
    got = asgi_call(guarded(asgi_reply(headers=[HTML], chunks=[page]), events))
    assert_block(got.status, got.headers, got.body, original=page, sets_binding=True)
    own = b"<p>plain</p>"
    got = asgi_call(guarded(asgi_reply(headers=[HTML, (b"x-data-owner", BOB.encode())], chunks=[own]), events))
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")] * 2
    assert_no_raw_ids(events)


def test_add_owner_declares_an_owner_no_extractor_sees(events: list[AuditEvent]) -> None:
    png = b"\x89PNG..."
    app = asgi_reply(headers=[(b"content-type", b"image/png")], chunks=[png], extra=lambda scope: add_owner(scope, BOB))
    got = asgi_call(guarded(app, events))
    assert_block(got.status, got.headers, got.body, original=png, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ compressed bodies


@pytest.mark.parametrize(
    ("coding", "encode"),
    [("gzip", gzipped), ("deflate", deflated), ("deflate", lambda b: deflated(b, raw=True))],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
def test_compressed_bodies_are_scanned_and_sent_as_they_were(
    events: list[AuditEvent], coding: str, encode: Any
) -> None:
    headers = [JSON, (b"content-encoding", coding.encode()), (b"vary", b"Accept-Encoding")]
    own = encode(OWN)
    got = asgi_call(guarded(asgi_reply(headers=headers, chunks=[own[:5], own[5:]]), events))
    assert got.status == 200
    assert got.body == own
    assert values(got.headers, "content-encoding") == [coding]
    assert values(got.headers, "content-length") == [str(len(own))]

    foreign = encode(FOREIGN)
    got = asgi_call(guarded(asgi_reply(headers=headers, chunks=[foreign]), events))
    assert_block(got.status, got.headers, got.body, original=foreign, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_corrupt_gzip_is_a_scan_error(events: list[AuditEvent]) -> None:
    broken = gzipped(FOREIGN)[:-12]
    headers = [JSON, (b"content-encoding", b"gzip")]
    got = asgi_call(guarded(asgi_reply(headers=headers, chunks=[broken]), events))
    assert_block(got.status, got.headers, got.body, original=broken, sets_binding=True)
    assert kinds(events) == [("scan_error", "blocked")]


def test_decompression_bomb_is_oversize(events: list[AuditEvent]) -> None:
    bomb = gzipped(b'{"user_id": "alice-7f3a", "pad": "' + b" " * 10_000 + b'"}')
    headers = [JSON, (b"content-encoding", b"gzip")]
    got = asgi_call(guarded(asgi_reply(headers=headers, chunks=[bomb]), events, max_body_bytes=1024))
    assert len(bomb) < 1024
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("oversize", "blocked")]


# ------------------------------------------------------------------ body limit


@pytest.mark.parametrize("split", [1, 3])
def test_body_at_the_limit_is_scanned_and_one_byte_over_is_oversize(events: list[AuditEvent], split: int) -> None:
    body = b'{"user_id": "alice-7f3a", "pad": "' + b"x" * 30 + b'"}'
    limit = len(body)
    step = -(-len(body) // split)
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    got = asgi_call(guarded(asgi_reply(chunks=chunks), events, max_body_bytes=limit))
    assert got.status == 200 and got.body == body

    over = body[:-2] + b' "}'
    chunks = [over[i : i + step] for i in range(0, len(over), step)]
    got = asgi_call(guarded(asgi_reply(chunks=chunks), events, max_body_bytes=limit))
    assert_block(got.status, got.headers, got.body, original=over, sets_binding=True)
    assert kinds(events) == [("oversize", "blocked")]


def test_on_oversize_pass_streams_everything_unscanned(events: list[AuditEvent]) -> None:
    chunks = [b'[{"user_id": "alice-7f3a"},', b'{"user_id": "alice-7f3a"},', b'{"user_id": "alice-7f3a"}]']
    app = guarded(asgi_reply(chunks=chunks), events, max_body_bytes=40, on_oversize="pass")
    got = asgi_call(app)
    assert got.status == 200
    assert got.body == b"".join(chunks)
    assert got.body_messages[-1]["more_body"] is False
    assert values(got.headers, "content-length") == [str(len(b"".join(chunks)))]
    assert kinds(events) == [("oversize", "passed")]
    assert_no_raw_ids(events)


# ------------------------------------------------------------------ no body, other scopes


def test_head_is_decided_on_headers_and_gets_an_empty_block(events: list[AuditEvent]) -> None:
    app = guarded(asgi_reply(headers=[JSON, (b"x-data-owner", BOB.encode())], chunks=[b""]), events)
    got = asgi_call(app, method="HEAD")
    assert_block(got.status, got.headers, got.body, head=True, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]

    events.clear()
    headers = [JSON, (b"content-length", b"55")]
    got = asgi_call(guarded(asgi_reply(headers=headers, chunks=[b""], content_length=False), events), method="HEAD")
    assert got.status == 200 and got.body == b""
    assert values(got.headers, "content-length") == ["55"]
    assert events == []


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_pass_untouched(events: list[AuditEvent], status: int) -> None:
    headers = [(b"etag", b'"v1"')]
    app = guarded(asgi_reply(status=status, headers=headers, chunks=[], requester=NO_REQUESTER), events)
    got = asgi_call(app)
    assert got.status == status
    assert got.body == b""
    assert got.start["headers"] == [*headers, (b"content-length", b"0")]
    assert events == []


def test_no_body_status_with_a_foreign_owner_header_is_blocked(events: list[AuditEvent]) -> None:
    app = guarded(asgi_reply(status=204, headers=[(b"x-data-owner", BOB.encode())], chunks=[]), events)
    got = asgi_call(app)
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize("scope_type", ["websocket", "lifespan"])
def test_other_scopes_pass_through_untouched(events: list[AuditEvent], scope_type: str) -> None:
    seen: list[tuple[Any, Any, Any]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))
        await send({"type": "marker", "value": FOREIGN})

    app = guarded(inner, events)
    scope = asgi_scope(type=scope_type)
    before = dict(scope)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "never"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert seen == [(scope, receive, send)]
    assert scope == before
    assert sent == [{"type": "marker", "value": FOREIGN}]
    assert events == []


def test_pathsend_file_is_scanned(events: list[AuditEvent], tmp_path: Path) -> None:
    path = tmp_path / "me.json"

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        from respguard import set_requester

        set_requester(scope, ALICE)
        size = str(path.stat().st_size if path.exists() else 0).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [JSON, (b"content-length", size)]})
        await send({"type": "http.response.pathsend", "path": str(path)})

    path.write_bytes(OWN)
    got = asgi_call(guarded(inner, events))
    assert got.status == 200 and got.body == OWN
    path.write_bytes(FOREIGN)
    got = asgi_call(guarded(inner, events))
    assert_block(got.status, got.headers, got.body, original=FOREIGN, sets_binding=True)
    path.unlink()
    got = asgi_call(guarded(inner, events))
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked"), ("scan_error", "blocked")]


# ------------------------------------------------------------------ the app's own exceptions


def test_exception_before_the_response_propagates(events: list[AuditEvent]) -> None:
    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AppError("before start")

    with pytest.raises(AppError, match="before start"):
        asgi_call(guarded(inner, events))
    assert events == []


def test_exception_while_the_body_is_held_propagates_and_nothing_is_sent(events: list[AuditEvent]) -> None:
    sent_types: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [JSON]})
        await send({"type": "http.response.body", "body": FOREIGN[:10], "more_body": True})
        raise AppError("mid-stream")

    app = guarded(inner, events)

    async def run() -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            sent_types.append(message["type"])

        await app(asgi_scope(), receive, send)

    with pytest.raises(AppError, match="mid-stream"):
        asyncio.run(run())
    assert sent_types == []
    assert events == []


def test_exception_is_identical_to_the_unguarded_one(events: list[AuditEvent]) -> None:
    error = AppError("same object")

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise error

    with pytest.raises(AppError) as raised:
        asgi_call(guarded(inner, events))
    assert raised.value is error


# ------------------------------------------------------------------ middleware construction


def test_guard_or_options_not_both() -> None:
    guard = Guard(**guard_options())
    assert ASGIMiddleware(asgi_reply(), guard).guard is guard
    with pytest.raises(ValueError, match="either guard"):
        ASGIMiddleware(asgi_reply(), guard, mode="report")


def test_one_guard_serves_concurrent_requests_without_sharing_state(events: list[AuditEvent]) -> None:
    guard = Guard(**guard_options(events))
    apps = [ASGIMiddleware(asgi_reply(chunks=[body]), guard) for body in (OWN, FOREIGN, OWN)]
    sent: list[list[Any]] = [[] for _ in apps]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    def sender(box: list[Any]) -> Any:
        async def send(message: Any) -> None:
            box.append(message)
            await asyncio.sleep(0)

        return send

    async def run_all() -> None:
        await asyncio.gather(*(app(asgi_scope(), receive, sender(box)) for app, box in zip(apps, sent, strict=True)))

    asyncio.run(run_all())
    bodies = [b"".join(m.get("body", b"") for m in box if m["type"] == "http.response.body") for box in sent]
    assert bodies == [OWN, BLOCK_BODY, OWN]
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_path_is_the_full_path_under_a_root_path(events: list[AuditEvent]) -> None:
    """ASGI servers put the root path in ``path`` too (uvicorn --root-path): no double prefix."""
    app = guarded(asgi_reply(chunks=[FOREIGN]), events, exempt_paths=["/api/health"])
    scope = asgi_scope(path="/api/health")
    scope["root_path"] = "/api"
    assert asgi_call(app, scope=scope).body == FOREIGN
    scope = asgi_scope(path="/api/me")
    scope["root_path"] = "/api"
    assert asgi_call(app, scope=scope).body == BLOCK_BODY
    assert [(e.kind.value, e.path) for e in events] == [("owner_mismatch", "/api/me")]


def test_a_guarded_request_leaves_no_reference_cycle() -> None:
    """The scope holds the context, the context the exchange, the exchange the request and the
    request the scope: unless the exchange is detached after the app, every request's objects wait
    for the cyclic GC (memory and GC pauses growing with the load)."""
    import gc

    body = b'{"user_id": "alice-7f3a"}'

    async def app(scope: Any, receive: Any, send: Any) -> None:
        from respguard import set_requester

        set_requester(scope, "alice-7f3a")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    guarded = ASGIMiddleware(app, secret_key="k" * 32, extractors=[JsonKeys("user_id")])
    for _ in range(3):
        asgi_call(guarded)
    gc.collect()
    gc.disable()
    try:
        statuses = [asgi_call(guarded).status for _ in range(10)]  # each result (and its scope) dropped
        assert statuses == [200] * 10
        assert gc.collect() == 0
    finally:
        gc.enable()
