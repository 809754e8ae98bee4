"""Adversarial findings, session 6: the write side, audit events, streams and linear time, as a
hostile client or a buggy app would find them, on both stacks.

1. **A trailing line feed after a routed path** (``POST /api/customers/bob/card%0A``). The
   server decodes ``%0A`` into ``scope["path"]``; Starlette compiles its routes with ``$``, which
   also matches before a final ``\\n``, so the route runs with ``customer_id="bob"``.
   ``PathOwner``'s pattern ended with ``\\Z``, matched nothing, and the write ran (ASGI, and the
   in-app FastAPI check, which reads the router's parameter only where the pattern matches).
   Werkzeug's rules end with ``\\Z`` (a 404), but the WSGI check now refuses it the same way.
2. **Writes refused as ambiguous carried the owner they named**: a repeated owner key, a list
   holding a float, a repeated form field or query parameter naming ``bob``. The refusal is a
   ``cross_owner_write`` event, yet its path (``/api/customers/bob-9c2e/notes``) and request id
   (``req-bob-9c2e``) kept bob's raw id: only the owners of a readable write were redacted.
3. **Digits of other scripts**: Werkzeug's ``<int:...>`` converter is ``\\d+`` and ``int()``, so
   ``/users/\\u0669`` (ARABIC-INDIC DIGIT NINE) is user 9; the event logged the path unredacted.
4. **Quadratic redaction**: a short numeric id (``0``) in a path of zeros walked back over every
   leading zero at each occurrence: a 16,000-character path took 10.8 s per event (``%30``
   spelt, 64 KB: 38 s). Any write naming ``customer_id=0`` in its query triggers it.
5. **WSGI ``wsgi.input_terminated`` set to ``False``**: Werkzeug reads the whole stream when the
   key is present (``"wsgi.input_terminated" in environ``); respguard read nothing without a
   ``Content-Length`` unless the value was true, so the app parsed a body nobody checked.

Left, and documented (README, "Streams"): an event's ``data`` is not read as HTML, so an HTML
fragment that htmx's ``sse-swap`` puts into the page is not read by ``HtmlAttribute`` (a strict
xfail below).
"""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from conftest import BLOCK_BODY, Reply, asgi_call, header_list, kinds
from flask import Flask, request
from ids import ALICE, BOB
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from test_write_middleware import SECRET, send_write
from werkzeug.routing import Map, Rule
from werkzeug.test import create_environ

from respguard import AuditEvent, FormOwner, JsonBodyOwner, JsonKeys, PathOwner, QueryOwner, WSGIMiddleware

CARD = "/api/customers/{customer_id}/card"
FOREIGN_WRITE = "request names another owner's record"


def _rules() -> list[Any]:
    return [PathOwner(CARD), JsonBodyOwner("customer_id"), FormOwner("customer_id"), QueryOwner("customer_id")]


class Shop:
    """A real Starlette app (ASGI) and a real Flask app (WSGI) with the card route; ``writes``
    records every customer whose card the route changed."""

    def __init__(self) -> None:
        self.writes: list[str] = []

        async def card(request: Request) -> JSONResponse:
            self.writes.append(request.path_params["customer_id"])
            return JSONResponse({"ok": True})

        self.asgi = Starlette(routes=[Route(CARD, card, methods=["POST"])])
        flask = Flask(__name__)

        @flask.post("/api/customers/<customer_id>/card")
        def change_card(customer_id: str) -> dict[str, bool]:
            self.writes.append(customer_id)
            return {"ok": True}

        self.wsgi = flask.wsgi_app


def _refused(got: tuple[int, list[tuple[str, str]], bytes, list[AuditEvent]], reason: str, path: str) -> None:
    status, _, body, events = got
    assert (status, body) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert (events[0].reason, events[0].path) == (reason, path)
    assert BOB not in events[0].to_json()


# ------------------------------------------------------------------ 1. a trailing line feed


def test_control_starlette_routes_a_path_with_a_trailing_line_feed() -> None:
    """Starlette's route regex ends with ``$``: ``.../card\\n`` is the card route."""
    route = Route(CARD, lambda request: None, methods=["POST"])
    assert route.path_regex.match("/api/customers/bob/card\n") is not None


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_trailing_line_feed_does_not_hide_the_path_owner(kind: str) -> None:
    """``POST /api/customers/bob-9c2e/card%0A`` by alice: Starlette ran the route for bob (200);
    refused before the app runs, on both stacks."""
    shop = Shop()
    path = f"/api/customers/{BOB}/card\n" if kind == "asgi" else f"/api/customers/{BOB}/card%0A"
    got = send_write(kind, shop, body=b"", content_type=None, path=path, requester=lambda r: ALICE, bind_sessions=False)
    _refused(got, FOREIGN_WRITE, "/api/customers/{id}/card%0A")
    assert shop.writes == []


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_requesters_own_write_with_a_trailing_line_feed_still_runs(kind: str) -> None:
    """alice's own card, with the line feed: the route runs (Starlette), or 404 (Werkzeug)."""
    shop = Shop()
    path = f"/api/customers/{ALICE}/card" + ("\n" if kind == "asgi" else "%0A")
    status, _, body, events = send_write(
        kind, shop, body=b"", content_type=None, path=path, requester=lambda r: ALICE, bind_sessions=False
    )
    assert events == []
    if kind == "asgi":
        assert (status, json.loads(body), shop.writes) == (200, {"ok": True}, [ALICE])
    else:
        assert (status, shop.writes) == (404, [])


def test_fastapi_in_app_check_reads_the_routed_owner_behind_a_trailing_line_feed() -> None:
    """FastAPI with ``write_check="app"``: the dependency's check reads ``path_params`` only where
    the pattern matches the path; with ``\\n`` after it, bob's card was written."""
    from fastapi import Depends, FastAPI

    from respguard import Guard
    from respguard.starlette import RespGuardMiddleware, requester_dependency

    writes: list[str] = []
    events: list[AuditEvent] = []
    app = FastAPI()
    guard = Guard(
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=_rules(),
        on_event=events.append,
        bind_sessions=False,
    )
    app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")

    def login() -> str:
        return ALICE

    @app.post(CARD)
    def card(customer_id: str, customer: str = Depends(requester_dependency(login))) -> dict[str, bool]:  # noqa: B008
        writes.append(customer_id)
        return {"ok": True}

    got = asgi_call(app, method="POST", path=f"/api/customers/{BOB}/card\n")
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].reason == FOREIGN_WRITE
    assert writes == []


# ------------------------------------------------------------------ 2. ambiguous refusals name their owner

_B = BOB.encode()

AMBIGUOUS: list[tuple[str, bytes, str | None, str, str]] = [
    (
        "json-repeated-key",
        b'{"customer_id": "' + _B + b'", "customer_id": "' + _B + b'"}',
        "application/json",
        "",
        "owner field repeated",
    ),
    (
        "json-repeated-nested",
        b'{"a": {"b": [{"customer_id": "' + _B + b'", "customer_id": "x"}]}}',
        None,
        "",
        "owner field repeated",
    ),
    (
        "json-list-with-a-float",
        b'{"customer_id": ["' + _B + b'", 1.5]}',
        "application/json",
        "",
        "owner field holds a value that is not a plain id",
    ),
    (
        "form-repeated",
        b"customer_id=" + _B + b"&customer_id=" + _B,
        "application/x-www-form-urlencoded",
        "",
        "owner field repeated",
    ),
    ("query-repeated", b"", "application/json", f"customer_id={BOB}&customer_id={BOB}", "owner field repeated"),
]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(
    ("row", "body", "content_type", "query", "reason"), AMBIGUOUS, ids=[row[0] for row in AMBIGUOUS]
)
def test_an_ambiguous_write_event_redacts_the_owners_it_names(
    kind: str, row: str, body: bytes, content_type: str | None, query: str, reason: str
) -> None:
    """alice writes to ``/api/customers/bob-9c2e/notes`` (no path rule there), naming bob in a way
    two readers read differently, with ``X-Request-ID: req-bob-9c2e``: refused, and the event's
    path and request id show bob's id no more (they did: only readable owners were redacted)."""
    from test_write_middleware import WriteApp

    app = WriteApp()
    got = send_write(
        kind,
        app,
        body=body,
        content_type=content_type,
        path=f"/api/customers/{BOB}/notes",
        query=query,
        requester=lambda r: ALICE,
        bind_sessions=False,
        extra_headers=[("X-Request-ID", f"req-{BOB}")],
    )
    _refused(got, reason, "/api/customers/{id}/notes")
    assert got[3][0].request_id is None
    assert app.writes == []


# ------------------------------------------------------------------ 3. digits of other scripts


def test_control_werkzeug_reads_an_arabic_indic_nine_as_nine() -> None:
    urls = Map([Rule("/users/<int:user_id>", endpoint="user")]).bind("x")
    assert urls.match("/users/\u0669") == ("user", {"user_id": 9})
    assert urls.match("/users/\u0966\u0669") == ("user", {"user_id": 9})


@pytest.mark.parametrize(
    "digits", ["\u0669", "\u0966\u0669", "\u09ef"], ids=["arabic-indic", "devanagari-09", "bengali"]
)
def test_a_path_id_in_digits_of_another_script_is_redacted(
    make_stack: Any, stack_kind: str, events: list[AuditEvent], digits: str
) -> None:
    """``GET /users/\\u0669`` answered with user 9's record: blocked, and the event's path does not
    show the id the router read (``/users/{id}``)."""
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("user_id")], bind_sessions=False, on_event=events.append)
    stack.inner_lint = False
    path = "/users/" + (digits if stack_kind == "asgi" else "".join(f"%{b:02X}" for b in digits.encode()))
    got = stack.send(Reply(chunks=[b'{"user_id": 9}'], requester=ALICE), path=path)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].path == "/users/{id}"


# ------------------------------------------------------------------ 4. linear redaction


def _refuse_zeros(kind: str, spelling: str, count: int) -> float:
    """``POST /`` + ``spelling`` * ``count`` ``?customer_id=0``: refused, its event's path
    ``/{id}``; the CPU time it took (this process's, whatever else the machine runs)."""
    from test_write_middleware import WriteApp

    path = "/" + spelling * count  # on ASGI, "%30" in the decoded path: the client sent "%2530"
    started = time.process_time()
    got = send_write(
        kind, WriteApp(), body=b"", path=path, query="customer_id=0", requester=lambda r: ALICE, bind_sessions=False
    )
    elapsed = time.process_time() - started
    status, _, body, events = got
    assert (status, body) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].path == "/{id}"
    return elapsed


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("spelling", ["0", "%30"])
def test_redacting_a_short_numeric_id_is_linear(kind: str, spelling: str) -> None:
    """``POST /000...0?customer_id=0`` (16,000 zeros; or ``%30`` spelt): refused at once (it took
    10.8 s, and 38 s spelt with ``%30``, to redact the event's path: every occurrence walked
    back over all the zeros before it).

    Linear is checked as linear, not against a clock: eight times the zeros take less than 20
    times the CPU time (linear: at most 8 times; the quadratic walk took 52 times). A bound in
    seconds failed where the interpreter is slower, not the code: in mutmut's ``mutants/`` copy
    every call into the mutated modules goes through a trampoline (about 10 times slower), and
    on a loaded machine 16,000 zeros took over a second there (mutmut's stats run stopped)."""
    eighth = _refuse_zeros(kind, spelling, 2000)  # first: it bears the one-time costs, if any
    full = _refuse_zeros(kind, spelling, 16000)
    assert full < 20 * eighth, (full, eighth)


# ------------------------------------------------------------------ 5. wsgi.input_terminated = False


def _flask_shop(writes: list[object]) -> Flask:
    app = Flask(__name__)

    @app.post("/api/notes")
    def notes() -> dict[str, bool]:
        writes.append((request.get_json(force=True, silent=True) or {}).get("customer_id"))
        return {"ok": True}

    return app


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_body_without_a_length_the_framework_reads_is_checked(kind: str) -> None:
    """A JSON body naming bob, sent without a ``Content-Length``: on ASGI the messages are read
    whatever their length; on WSGI a server that sets ``wsgi.input_terminated`` (even to
    ``False``) gives Werkzeug the whole stream, and Flask wrote bob's note."""
    body = json.dumps({"customer_id": BOB}).encode()
    if kind == "asgi":
        from test_write_middleware import WriteApp

        app = WriteApp()
        got = send_write(
            kind, app, body=body, path="/api/notes", chunks=3, requester=lambda r: ALICE, bind_sessions=False
        )
        _refused(got, FOREIGN_WRITE, "/api/notes")
        assert app.writes == []
        return
    writes: list[object] = []
    events: list[AuditEvent] = []
    guarded = WSGIMiddleware(
        _flask_shop(writes).wsgi_app,
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=_rules(),
        requester=lambda r: ALICE,
        bind_sessions=False,
        on_event=events.append,
    )
    environ = create_environ("/api/notes", method="POST", headers=[("Content-Type", "application/json")])
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = False
    captured: list[Any] = []
    result = guarded(environ, lambda status, headers, exc_info=None: captured.extend([status, headers]))
    out = b"".join(result)
    getattr(result, "close", lambda: None)()
    _refused((int(captured[0][:3]), header_list(captured[1]), out, events), FOREIGN_WRITE, "/api/notes")
    assert writes == []


def test_control_werkzeug_reads_the_stream_when_input_terminated_is_false() -> None:
    writes: list[object] = []
    environ = create_environ("/api/notes", method="POST", headers=[("Content-Type", "application/json")])
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(json.dumps({"customer_id": BOB}).encode())
    environ["wsgi.input_terminated"] = False
    b"".join(_flask_shop(writes).wsgi_app(environ, lambda *a: None))
    assert writes == [BOB]


# ------------------------------------------------------------------ 6. HTML in an event's data

SSE = [("Content-Type", "text/event-stream")]


def test_an_html_fragment_in_an_event_is_read_by_html_attribute(make_stack: Any, events: list[AuditEvent]) -> None:
    """``data: <div data-owner="bob-9c2e">...</div>`` in an event stream: htmx's ``sse-swap``
    inserts the event's data as HTML, so a browser builds bob's div. The README guard's
    ``HtmlAttribute`` reads an event's data as that fragment: the stream is cut before it."""
    from _attacks import FOREIGN_DIV, guarded

    stack = guarded(make_stack, events)
    body = b"data: " + FOREIGN_DIV.encode() + b"\n\n"
    got = stack.send(Reply(headers=[("Content-Type", "text/event-stream")], chunks=[body], content_length=False))
    assert (got.status, got.body) == (200, b"")  # the stream cut before bob's event
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize(
    "event",
    [
        b'data: <div\ndata: data-owner="bob-9c2e">x</div>\n\n',  # the tag over two data lines
        b'data: <p data-owner="&#98;ob-9c2e">x</p>\n\n',  # a reference the tokenizer decodes
        b'data: <P DATA-OWNER=bob-9c2e>x</P>\r\n\r\n',  # unquoted, upper case, CRLF
        b'event: update\ndata: <li data-owner="alice-7f3a">a</li><li data-owner="bob-9c2e">b</li>\n\n',
    ],
)
def test_a_foreign_fragment_in_an_event_cuts_the_stream_before_it(
    make_stack: Any, events: list[AuditEvent], event: bytes
) -> None:
    """Each spelling of bob's fragment that a browser builds from ``innerHTML``: the own event
    before it goes out, the stream ends before bob's."""
    from _attacks import guarded

    own = b'data: <div data-owner="alice-7f3a">mine</div>\n\n'
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=SSE, chunks=[own, event, b"data: after\n\n"], content_length=False))
    assert (got.status, got.body) == (200, own)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


def test_own_fragments_in_events_stream_whole(make_stack: Any, events: list[AuditEvent]) -> None:
    """Alice's own fragments (one naming her with a non-ASCII text beside it, read as UTF-8 as a
    script's string is) go out whole, with no event."""
    from _attacks import guarded

    body = b"".join(
        b'data: <div data-owner="alice-7f3a">\xc3\xa4 ' + str(i).encode() + b"</div>\n\n" for i in range(40)
    )
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=SSE, chunks=[body[:100], body[100:]], content_length=False))
    assert (got.status, got.body) == (200, body)
    assert events == []


def test_json_lines_are_not_read_as_html(make_stack: Any, events: list[AuditEvent]) -> None:
    """A JSON line is a document, not a fragment: its string naming bob's attribute is text to
    the page that shows it (no ``JsonKeys`` key in it), so it streams."""
    from _attacks import guarded

    line = json.dumps({"note": '<div data-owner="bob-9c2e">'}).encode() + b"\n"
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "application/x-ndjson")], chunks=[line], content_length=False))
    assert (got.status, got.body) == (200, line)
    assert events == []
