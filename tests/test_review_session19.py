"""Review of session 19 (reviewT): findings as exact tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _attacks import guarded
from conftest import BINDING, BLOCK_BODY, SECRET, GuardedStack, Reply, asgi_scope, guard_options, kinds
from ids import ALICE, BOB

from respguard import (
    ASGIMiddleware,
    AuditEvent,
    CustomExtractor,
    HtmlAttribute,
    WSGIMiddleware,
    set_requester,
)

HTMX = [("HX-Request", "true")]


def _json(body: str) -> Reply:
    return Reply(headers=[("Content-Type", "application/json")], chunks=[body.encode()])


@pytest.mark.parametrize(
    "body",
    [
        f'{{"bio": "<!--", "user_id": "{BOB}"}}',
        f'{{"bio": "<script>", "user_id": "{BOB}"}}',
        f'{{"bio": "<textarea>", "user_id": "{BOB}"}}',
        f'{{"bio": "<b title=\'", "user_id": "{BOB}", "x": "\'>"}}',
    ],
    ids=["comment", "script", "textarea", "attribute"],
)
def test_an_hx_request_header_does_not_stop_a_json_body_being_read_as_json(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], body: str
) -> None:
    """HX-Request is the client's word: any client (curl, fetch) may send it to a JSON API and read
    the body with JSON.parse. Reading the answer as a page must add to its reading as JSON, not
    replace it (a string holding ``<!--`` hid every later key from the page reading)."""
    got = guarded(make_stack, events).send(_json(body), headers=HTMX)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


EMAILS = [f"person{i}@example.com" for i in range(30)]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"bio": "<!--", "people": EMAILS})),
        ("text/plain", "<!--\n" + "\n".join(EMAILS)),
    ],
    ids=["json", "text"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_hx_request_header_does_not_turn_the_bulk_check_of_its_type_off(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, body: str, htmx: bool
) -> None:
    """30 people's e-mails in a JSON or text body are blocked; with ``HX-Request: true`` (any
    client may send it, and read the body with curl) they were read as a page only, where a
    ``<!--`` hides every later one: 200, the whole list."""
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[body.encode()])
    got = guarded(make_stack, events).send(reply, headers=HTMX if htmx else [])
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert "person0@example.com" not in events[0].to_json()


@pytest.mark.parametrize(("media", "content_type"), [("text", "text/plain"), ("other", "image/png")])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_hx_request_header_does_not_turn_a_text_or_binary_extractor_off(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], media: str, content_type: str, htmx: bool
) -> None:
    """A ``CustomExtractor(media=("text",))`` (or ``("other",)``) beside ``HtmlAttribute``: the
    answer to an htmx request was read as HTML only, so that extractor never ran (200, bob's file)."""

    def owners(body: bytes, headers: object, context: object) -> list[str]:
        return [BOB] if b"OWNER" in body else []

    stack = make_stack(
        secret_key=SECRET,
        extractors=[CustomExtractor(owners, media=(media,)), HtmlAttribute()],
        bind_sessions=False,
        on_event=events.append,
    )
    stack.inner_lint = False
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[b"OWNER <!-- x"])
    got = stack.send(reply, headers=HTMX if htmx else [])
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


# ------------------------------------------------------------------ a pending binding_rejected is never lost


def _stream_cut_asgi(events: list[AuditEvent]) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": True})
        raise ConnectionResetError("the client went away")

    async def receive() -> Any:
        return {"type": "http.disconnect"}

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    middleware = ASGIMiddleware(app, **guard_options(events))
    scope = asgi_scope(headers=[(b"cookie", f"{BINDING}=tampered".encode())])
    with pytest.raises(ConnectionResetError):
        asyncio.run(middleware(scope, receive, send))
    assert [m.get("body") for m in sent[1:]] == [b"data: {}\n\n"]


def _stream_cut_wsgi(events: list[AuditEvent]) -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        set_requester(environ, ALICE)
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        yield b"data: {}\n\n"
        yield b"data: {}\n\n"

    middleware = WSGIMiddleware(app, **guard_options(events))
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "test",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "HTTP_COOKIE": f"{BINDING}=tampered",
    }
    body = middleware(environ, lambda status, headers, exc_info=None: None)
    chunks = iter(body)
    assert next(chunks) == b"data: {}\n\n"
    assert events == []  # undecided: the stream goes on
    body.close()  # the client went away: the server closes the response


@pytest.mark.parametrize("cut", [_stream_cut_asgi, _stream_cut_wsgi], ids=["asgi", "wsgi"])
def test_a_bad_binding_cookies_event_is_logged_when_a_stream_is_cut_short(
    events: list[AuditEvent], cut: Callable[[list[AuditEvent]], None]
) -> None:
    """The event waits until the response is decided; a stream is decided at its end, and one
    cut short (the client went away, the app raised) never got there: no event at all for a
    tampered binding cookie."""
    cut(events)
    assert kinds(events) == [("binding_rejected", "ignored")]
    assert (events[0].reason, events[0].path) == ("binding cookie bad signature", "/")
    assert "tampered" not in events[0].to_json()


@pytest.mark.parametrize("asynchronous", [False, True])
def test_django_a_stream_cut_short_still_logs_the_pending_rejection(asynchronous: bool) -> None:
    """Django's streaming response, closed after its first event (the client went away): its
    pending ``binding_rejected`` event is logged when the stream's generator is closed."""
    from respguard import Guard, HtmlAttribute
    from respguard._context import RequestContext
    from respguard._exchange import Exchange
    from respguard._scan import RequestInfo
    from respguard.django import _ascanned, _scanned

    events: list[AuditEvent] = []
    guard = Guard(secret_key=SECRET, extractors=[HtmlAttribute()], on_event=events.append)
    exchange = Exchange(guard, RequestInfo("GET", "/events", "http", {}, lambda raw: []), RequestContext())
    exchange.rejected = "binding cookie bad signature"  # as a bad cookie read by the write check leaves it
    exchange.start(200, [(b"content-type", b"text/event-stream")])
    chunks = [b"data: <p>1</p>\n\n", b"data: <p>2</p>\n\n"]
    if asynchronous:

        async def source() -> Any:
            for chunk in chunks:
                yield chunk

        async def first_then_close() -> bytes:
            stream = _ascanned(exchange, source())
            first = await stream.__anext__()
            await stream.aclose()
            return first

        first = asyncio.run(first_then_close())
    else:
        stream = _scanned(exchange, iter(chunks))
        first = next(stream)
        stream.close()
    assert first == chunks[0]
    assert [(e.kind.value, e.action.value, e.reason) for e in events] == [
        ("binding_rejected", "ignored", "binding cookie bad signature")
    ]
