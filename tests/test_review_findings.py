"""Findings of the sans-IO core review, each a test of what the contract promises.

Every test states the attack or the misuse, then asserts the exact result. All are fixed but
one, kept as a strict xfail until its fix lands.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import ALICE, BOB, JSON, SECRET, asgi_call

from respguard import ASGIMiddleware, AuditEvent, CustomExtractor, JsonKeys, Route, set_requester

FOREIGN = json.dumps({"user_id": BOB}).encode()


def _app(headers: list[tuple[bytes, bytes]], chunks: list[bytes], then: dict[str, Any] | None = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for index, chunk in enumerate(chunks):
            more = index < len(chunks) - 1 or then is not None
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
        if then is not None:
            await send(then)

    return app


def _body(result: Any) -> bytes:
    return b"".join(m.get("body", b"") for m in result.messages if m["type"] == "http.response.body")


def test_a_route_s_own_extractor_is_not_skipped_on_an_event_stream() -> None:
    # The guard reads owner_id; the /feed route reads user_id instead. The batch proof of the
    # guard's planner finds no owner_id and calls every record clean: Bob's event goes out.
    events: list[AuditEvent] = []
    guard_app = ASGIMiddleware(
        _app([(b"content-type", b"text/event-stream")], [b"data: " + FOREIGN + b"\n\n"]),
        secret_key=SECRET,
        extractors=[JsonKeys("owner_id")],
        routes=[Route("/feed", extractors=[JsonKeys("user_id")])],
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/feed")
    assert BOB.encode() not in _body(result)
    assert [e.kind.value for e in events] == ["owner_mismatch"]


def _numbers(body: bytes, headers: Any, view: Any) -> list[str]:
    """A custom extractor: owners named in "owner_ref" strings anywhere (not a JsonKeys key)."""
    document = json.loads(body)
    return [document["owner_ref"]] if isinstance(document, dict) and "owner_ref" in document else []


def test_filter_mode_does_not_forget_a_foreign_owner_it_could_not_filter() -> None:
    # A list item with Bob's user_id is filterable; Bob's owner_ref (a custom extractor's) is not.
    # After the filter removes the item, the exchange forgets Bob altogether and sends owner_ref.
    events: list[AuditEvent] = []
    body = json.dumps({"owner_ref": BOB, "items": [{"user_id": ALICE}, {"user_id": BOB}]}).encode()
    guard_app = ASGIMiddleware(
        _app([JSON, (b"content-length", str(len(body)).encode())], [body]),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id"), CustomExtractor(_numbers, media=["json"])],
        on_foreign_records="filter",
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/items")
    assert BOB.encode() not in _body(result)
    assert result.start["status"] == 403


def test_report_mode_json_lines_document_with_foreign_data_never_goes_to_a_shared_cache() -> None:
    # README: report-only lets a violating response out, "but never to a shared cache". A held
    # JSON-lines document (Content-Length) whose first line is Bob's goes out with no Cache-Control.
    events: list[AuditEvent] = []
    body = FOREIGN + b"\n"
    guard_app = ASGIMiddleware(
        _app([(b"content-type", b"application/x-ndjson"), (b"content-length", str(len(body)).encode())], [body]),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        mode="report",
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/lines")
    assert [e.kind.value for e in events] == ["owner_mismatch"]
    headers = dict(result.start["headers"])
    assert b"private" in headers.get(b"cache-control", b"")


def test_report_mode_json_document_with_foreign_data_gets_private() -> None:
    # The same body as a plain JSON document: the DOCUMENT path does add it (the asymmetry above).
    events: list[AuditEvent] = []
    guard_app = ASGIMiddleware(
        _app([JSON, (b"content-length", str(len(FOREIGN)).encode())], [FOREIGN]),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        mode="report",
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/doc")
    assert [e.kind.value for e in events] == ["owner_mismatch"]
    assert b"private" in dict(result.start["headers"]).get(b"cache-control", b"")


def test_report_mode_unreadable_message_keeps_the_response_well_formed() -> None:
    # Report-only must not break the app's response. A held JSON body followed by a message
    # respguard can't read goes out as the app's head (Content-Length: 2) and zero body bytes.
    events: list[AuditEvent] = []
    zerocopy = {"type": "http.response.zerocopysend", "file": 3, "more_body": False}
    guard_app = ASGIMiddleware(
        _app([JSON, (b"content-length", b"2")], [], then=zerocopy),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        mode="report",
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/file")
    assert [e.kind.value for e in events] == ["scan_error"]
    declared = int(dict(result.start["headers"])[b"content-length"])
    sent_bytes = len(_body(result))
    # The app's head, then its message as it sent it: the server sends the file.
    assert (declared, sent_bytes) == (2, 0)
    assert result.messages[-1] == zerocopy
    assert result.start["status"] == 200


def test_a_tampered_binding_is_reported_once_per_request() -> None:
    from respguard import JsonBodyOwner

    events: list[AuditEvent] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [JSON]})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})

    guard_app = ASGIMiddleware(
        app,
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        inbound=[JsonBodyOwner("user_id")],
        requester=lambda request: ALICE,
        on_event=events.append,
    )
    body = json.dumps({"user_id": ALICE}).encode()
    sent: list[dict[str, Any]] = []
    import asyncio

    from conftest import asgi_scope

    scope = asgi_scope(method="POST", path="/w", headers=[JSON, (b"cookie", b"respguard_bind=forged.value")])
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(guard_app(scope, receive, send))
    assert [e.kind.value for e in events] == ["binding_rejected"]


def test_requester_function_is_called_once_a_request_in_in_app_write_mode() -> None:
    import asyncio

    from conftest import asgi_scope

    from respguard import JsonBodyOwner

    calls: list[str] = []

    def requester(request: Any) -> str:
        calls.append(request.path)
        return ALICE

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [JSON]})
        await send({"type": "http.response.body", "body": b"{}", "more_body": False})

    inner = ASGIMiddleware(
        app,
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        inbound=[JsonBodyOwner("user_id")],
        requester=requester,
    )

    async def in_app_mode(scope: Any, receive: Any, send: Any) -> None:
        scope["respguard.write_check"] = "app"  # what RespGuardMiddleware(write_check="app") sets
        await inner(scope, receive, send)

    messages = [{"type": "http.request", "body": json.dumps({"user_id": ALICE}).encode(), "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(in_app_mode(asgi_scope(method="POST", path="/w", headers=[JSON]), receive, send))
    assert calls == ["/w"]


def _names_bob(body: bytes, headers: Any, view: Any) -> list[str]:
    """A custom extractor for binary bodies ("other"): the owner a file's trailer names."""
    return [BOB] if BOB.encode() in body else []


def test_a_file_is_peeked_with_the_route_s_extractors(tmp_path: Any) -> None:
    # The route reads binary bodies ("other") with its own extractor; the guard doesn't. A file
    # sent by path is peeked with the guard's planner: "nothing reads binary", sent unscanned.
    events: list[AuditEvent] = []
    path = tmp_path / "export.bin"
    path.write_bytes(b"\x00\x01binary " + BOB.encode())

    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.pathsend", "path": str(path)})

    guard_app = ASGIMiddleware(
        app,
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        routes=[Route("/export", extractors=[JsonKeys("user_id"), CustomExtractor(_names_bob, media=["other"])])],
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/export")
    assert result.status == 403
    assert [e.kind.value for e in events] == ["owner_mismatch"]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2  # 520 bytes, binary: clients render it as an image


def _untyped_png(chunks: list[bytes]) -> tuple[int, list[str]]:
    events: list[AuditEvent] = []
    guard_app = ASGIMiddleware(
        _app([], chunks),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        max_body_bytes=256,
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/avatar")
    return result.status, [e.kind.value for e in events]


def test_an_untyped_binary_body_in_small_chunks_streams_through() -> None:
    assert _untyped_png([PNG[:100], PNG[100:]]) == (200, [])


def test_an_untyped_binary_body_is_decided_the_same_in_one_chunk() -> None:
    # The same bytes, one chunk over max_body_bytes: blocked as oversize. Chunking changes the verdict.
    assert _untyped_png([PNG]) == (200, [])


def test_on_oversize_pass_lets_an_oversize_event_through_as_it_does_a_document() -> None:
    # README: on_oversize="pass" sends oversize responses unscanned, with an oversize event
    # whose action is "passed". A held document does; an event stream with a big event is cut.
    events: list[AuditEvent] = []
    big = b"data: " + b"x" * 300 + b"\n\n"
    guard_app = ASGIMiddleware(
        _app([(b"content-type", b"text/event-stream")], [big]),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        max_body_bytes=256,
        on_oversize="pass",
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/feed")
    assert _body(result) == big
    assert [(e.kind.value, e.action.value) for e in events] == [("oversize", "passed")]


def test_report_mode_never_rewrites_the_body_in_filter_mode() -> None:
    # README: report-only "makes the same decisions and emits the same events with action
    # reported, but lets the response through". With on_foreign_records="filter" it rewrites it.
    events: list[AuditEvent] = []
    body = json.dumps({"items": [{"user_id": ALICE}, {"user_id": BOB}]}).encode()
    guard_app = ASGIMiddleware(
        _app([JSON, (b"content-length", str(len(body)).encode())], [body]),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        on_foreign_records="filter",
        mode="report",
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/items")
    assert _body(result) == body
    assert [(e.kind.value, e.action.value) for e in events] == [("filtered", "reported")]


def test_a_streamed_json_lines_response_of_own_records_is_not_left_to_shared_caches() -> None:
    # README: "A response that carried personal data and passed the guard gets Cache-Control:
    # private, no-store". Alice's own records, streamed (no Content-Length), go out cacheable;
    # held whole (with a Content-Length) they are marked private.
    own = json.dumps({"user_id": ALICE}).encode() + b"\n"
    guard_app = ASGIMiddleware(
        _app([(b"content-type", b"application/x-ndjson")], [own, own]),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
    )
    result = asgi_call(guard_app, path="/lines")
    assert _body(result) == own + own
    assert b"private" in dict(result.start["headers"]).get(b"cache-control", b"")


def test_a_blocked_peeked_file_emits_one_event(tmp_path: Any) -> None:
    from respguard import OwnerHeader

    events: list[AuditEvent] = []
    path = tmp_path / "avatar.png"
    path.write_bytes(PNG)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-data-owner", BOB.encode())]})
        await send({"type": "http.response.pathsend", "path": str(path)})

    guard_app = ASGIMiddleware(
        app, secret_key=SECRET, extractors=[JsonKeys("user_id"), OwnerHeader()], on_event=events.append
    )
    result = asgi_call(guard_app, path="/avatar")
    assert result.status == 403
    assert [e.kind.value for e in events] == ["owner_mismatch"]


@pytest.mark.parametrize("mode", ["enforce", "report"])
def test_a_message_respguard_cannot_read_on_a_stream_ends_it_or_goes_on_reported(mode: str) -> None:
    # An event stream of Alice's own events, then a message no record reader can read (a
    # zerocopysend could carry Bob's events). Enforced: the stream ends there, what went out was
    # scanned, and the event says why (it was dropped silently). Report-only: logged, and the
    # message goes on as the app sent it.
    events: list[AuditEvent] = []
    zerocopy = {"type": "http.response.zerocopysend", "file": 3, "more_body": False}
    own_event = b'data: {"user_id": "' + ALICE.encode() + b'"}\n\n'
    guard_app = ASGIMiddleware(
        _app([(b"content-type", b"text/event-stream")], [own_event], then=zerocopy),
        secret_key=SECRET,
        extractors=[JsonKeys("user_id")],
        mode=mode,
        on_event=events.append,
    )
    result = asgi_call(guard_app, path="/feed")
    assert result.start["status"] == 200
    assert [(e.kind.value, e.action.value, e.reason) for e in events] == [
        ("scan_error", "blocked" if mode == "enforce" else "reported", "response message respguard cannot scan")
    ]
    assert _body(result) == own_event
    if mode == "enforce":
        assert zerocopy not in result.messages
        assert result.messages[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    else:
        assert result.messages[-1] == zerocopy
