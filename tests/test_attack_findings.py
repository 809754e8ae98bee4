"""Adversarial findings: responses and events that get past respguard as the README integrates it.

Each test is an attack an outsider can mount against an app guarded exactly as the README
says: a Flask app with ``RespGuard(app, ...)`` and a Starlette app with
``RespGuardMiddleware``; the requester is set with ``set_requester`` in the view; the
extractors are ``JsonKeys("user_id", "owner_id")``, ``HtmlAttribute()`` and ``OwnerHeader()``.
Every finding was checked against an oracle before it was written down: headless Chromium
(``fetch().json()``, an iframe's DOM) through ``tests/test_browser_oracle.py``'s harness, and
the reader model (``tests/reader_model.py``), which each test also asks.

Each test asserts the result respguard must give (the block page, or a stream cut before the
foreign record). All are fixed; the last, an own page whose script or stylesheet names the
attribute (refused while respguard read attributes in all of the page text), by reading the page
as the tokenizer does (``respguard._markup``: comments and raw-text elements are not markup).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
import reader_model
from _django_stack import DJANGO_KINDS, enabled_stacks
from conftest import BLOCK_BODY, SECRET, asgi_call, kinds
from flask import Flask
from flask import Response as FlaskResponse
from flask import request as flask_request
from ids import ALICE, BOB, CAROL
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import create_environ, run_wsgi_app

from respguard import (
    ASGIMiddleware,
    AuditEvent,
    Guard,
    HtmlAttribute,
    Identity,
    JsonBodyOwner,
    JsonKeys,
    OwnerHeader,
    PathOwner,
    WSGIMiddleware,
    set_requester,
)
from respguard.flask import RespGuard
from respguard.starlette import RespGuardMiddleware

FOREIGN_JSON = json.dumps({"user_id": BOB, "name": "Bob", "card_last4": "1881"}).encode()
FOREIGN_PAGE = b'<html><body><p data-owner="bob-9c2e">Bob\'s card ends 1881</p></body></html>'


def readme_extractors() -> list[Any]:
    return [JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()]


@dataclass
class Got:
    status: int
    headers: dict[str, str]
    body: bytes
    events: list[AuditEvent]


@dataclass(frozen=True)
class Answer:
    """What the (buggy) view answers: headers, body chunks, and whether it streams (no length)."""

    headers: tuple[tuple[str, str], ...]
    chunks: tuple[bytes, ...]
    stream: bool = False


Fetch = Callable[[Answer], Got]


def flask_stack(requester: Any = ALICE, extractors: list[Any] | None = None, **options: Any) -> Fetch:
    """Flask, as the Quickstart: ``RespGuard(app, ...)``, ``set_requester`` in the view."""
    events: list[AuditEvent] = []
    extractors = readme_extractors() if extractors is None else extractors
    app = Flask(__name__)
    app.secret_key = SECRET
    RespGuard(app, extractors=extractors, login_paths=["/login"], on_event=events.append, **options)
    current: list[Answer] = []

    @app.get("/api/thing")
    def thing() -> FlaskResponse:
        set_requester(flask_request, requester)
        answer = current[0]
        body: Any = iter(answer.chunks) if answer.stream else b"".join(answer.chunks)
        return FlaskResponse(body, headers=list(answer.headers))

    client = app.test_client()

    def fetch(answer: Answer) -> Got:
        current[:] = [answer]
        events.clear()
        response = client.get("/api/thing")
        return Got(response.status_code, dict(response.headers), response.get_data(), list(events))

    return fetch


def starlette_stack(requester: Any = ALICE, extractors: list[Any] | None = None, **options: Any) -> Fetch:
    """Starlette, as the Quickstart: ``add_middleware(RespGuardMiddleware, guard=...)``."""
    events: list[AuditEvent] = []
    extractors = readme_extractors() if extractors is None else extractors
    current: list[Answer] = []

    async def thing(request: Request) -> Response:
        set_requester(request, requester)
        answer = current[0]
        if answer.stream:

            async def chunks() -> Any:
                for chunk in answer.chunks:
                    yield chunk

            return StreamingResponse(chunks(), headers=dict(answer.headers))
        response = Response(b"".join(answer.chunks))
        for name, value in answer.headers:
            response.headers.append(name, value)
        return response

    app = Starlette(routes=[Route("/api/thing", thing)])
    guard = Guard(secret_key=SECRET, extractors=extractors, login_paths=["/login"], on_event=events.append, **options)
    app.add_middleware(RespGuardMiddleware, guard=guard)
    client = TestClient(app)

    def fetch(answer: Answer) -> Got:
        current[:] = [answer]
        events.clear()
        response = client.get("/api/thing")
        return Got(response.status_code, dict(response.headers), response.content, list(events))

    return fetch


def django_stack(kind: str) -> Callable[..., Fetch]:
    """Django, as the Quickstart (opt-in, ``RESPGUARD_TEST_STACKS``): ``settings.RESPGUARD`` and the
    README's ``MIDDLEWARE``; ``set_requester`` in the view; ``kind``: its WSGI or ASGI handler."""

    def make(requester: Any = ALICE, extractors: list[Any] | None = None, **options: Any) -> Fetch:
        from _django_stack import DjangoApp, django_response

        events: list[AuditEvent] = []
        extractors = readme_extractors() if extractors is None else extractors
        app = DjangoApp(
            secret_key=SECRET, extractors=extractors, login_paths=["/login"], on_event=events.append, **options
        )

        def fetch(answer: Answer) -> Got:
            def view(request: Any) -> Any:
                set_requester(request, requester)
                return django_response(
                    200,
                    answer.headers,
                    answer.chunks,
                    content_length=not answer.stream,
                    streaming=answer.stream,
                    asynchronous=kind == "django-asgi",
                )

            events.clear()
            status, headers, body = app.request(kind, view, path="/api/thing")
            return Got(status, dict(headers), body, list(events))

        return fetch

    return make


STACKS = {"flask": flask_stack, "starlette": starlette_stack}
STACKS.update({kind: django_stack(kind) for kind in enabled_stacks() if kind in DJANGO_KINDS})


@pytest.fixture(params=sorted(STACKS))
def stack(request: pytest.FixtureRequest) -> Iterator[Callable[..., Fetch]]:
    yield STACKS[request.param]


def model_foreign(answer: Answer) -> set[str]:
    """The owners other than the requester that a script or a browser reads (the reader model)."""
    headers = list(answer.headers)
    body = b"".join(answer.chunks)
    if not answer.stream:
        headers.append(("Content-Length", str(len(body))))
    return reader_model.read(200, headers, body).foreign(ALICE)


def assert_blocked_page(got: Got, kind: str = "owner_mismatch") -> None:
    """The whole response replaced by the block page, with one blocked event of ``kind``."""
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(got.events) == [(kind, "blocked")]


def assert_withheld(got: Got) -> None:
    """Bob's record never reaches the client: the block page, or (a stream whose 200 went out)
    the stream cut before the record; either way one ``owner_mismatch`` blocked event."""
    assert (got.status, got.body) in ((403, BLOCK_BODY), (200, b""))
    assert kinds(got.events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ 1. an event stream that is one JSON document


SSE_JSON = Answer((("Content-Type", "text/event-stream"),), (FOREIGN_JSON,))
SSE_JSON_STREAMED = Answer((("Content-Type", "text/event-stream"),), (FOREIGN_JSON[:20], FOREIGN_JSON[20:]), True)


@pytest.mark.parametrize("answer", [SSE_JSON, SSE_JSON_STREAMED], ids=["with-length", "streamed"])
def test_event_stream_holding_a_json_document_is_withheld(stack: Callable[..., Fetch], answer: Answer) -> None:
    """``Content-Type: text/event-stream``, body ``{"user_id": "bob-9c2e", ...}``. An EventSource
    sees no event (the line is a field named ``{"user_id"``), but ``fetch(url).then(r => r.json())``
    parses the whole body whatever its type: Chromium's harness reads ``user_id: bob-9c2e``."""
    assert model_foreign(answer) == {BOB}
    assert_withheld(stack()(answer))


# ------------------------------------------------------------------ 2. JSON lines that are one pretty-printed document

PRETTY = json.dumps({"user_id": BOB, "name": "Bob", "card_last4": "1881"}, indent=2).encode() + b"\n"


@pytest.mark.parametrize("stream", [False, True], ids=["with-length", "streamed"])
@pytest.mark.parametrize("media_type", ["application/x-ndjson", "application/jsonl"])
def test_json_lines_holding_a_pretty_document_are_withheld(
    stack: Callable[..., Fetch], media_type: str, stream: bool
) -> None:
    """Every line of ``{\\n  "user_id": "bob-9c2e",\\n ...}`` alone is not JSON, so respguard
    finds no key in any line; ``fetch().json()`` parses the body as one document."""
    answer = Answer((("Content-Type", media_type),), (PRETTY,), stream)
    assert model_foreign(answer) == {BOB}
    got = stack()(answer)
    if stream:
        # Streamed, each line is judged as it completes: the line naming the owner key is no JSON
        # by itself, so the stream is cut before it (scan_error); nothing of Bob's reached the client.
        assert got.status == 200 and BOB.encode() not in got.body and b"1881" not in got.body
        assert kinds(got.events) == [("scan_error", "blocked")]
    else:
        assert_blocked_page(got)


# ------------------------------------------------------------------ 3. types browsers sniff as HTML


@pytest.mark.parametrize("media_type", ["application/unknown", "unknown/unknown"])
def test_unknown_type_page_is_blocked(stack: Callable[..., Fetch], media_type: str) -> None:
    """MIME Sniffing §7.1: a supplied type of ``unknown/unknown``, ``application/unknown`` or
    ``*/*`` is sniffed like no type at all. respguard handles ``*/*`` but not the other two:
    Chromium renders the page and its DOM holds ``data-owner="bob-9c2e"``."""
    answer = Answer((("Content-Type", media_type),), (FOREIGN_PAGE,))
    assert model_foreign(answer) == {BOB}
    assert_blocked_page(stack()(answer))


# ------------------------------------------------------------------ 4. an unknown Content-Encoding on a sniffed type


@pytest.mark.parametrize("encoding", ["compress", "bogus"])
@pytest.mark.parametrize("media_type", ["image/png", "application/octet-stream"])
def test_unknown_encoding_on_a_sniffed_type_is_blocked(
    stack: Callable[..., Fetch], media_type: str, encoding: str
) -> None:
    """``Content-Type: image/png``, ``Content-Encoding: compress``, the body plain JSON. respguard
    sniffs such a type for JSON (fetch().json() parses any type), yet with an encoding it can't
    decode it passes the body unread. Chromium passes an unknown coding through (it decodes only
    gzip/deflate/br/zstd and reads other values as no coding): ``fetch().json()`` gives Bob's
    record. A no-type body with the same encoding is blocked (``scan_error``); this must be too."""
    answer = Answer((("Content-Type", media_type), ("Content-Encoding", encoding)), (FOREIGN_JSON,))
    got = stack()(answer)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert [e.action.value for e in got.events] == ["blocked"]
    assert got.events[0].kind.value in ("scan_error", "owner_mismatch")


# ------------------------------------------------------------------ 5. filter mode keeps a nested-list owner

FILTER_LIST = json.dumps(
    [
        {"user_id": ALICE, "card_last4": "4242"},
        {"user_id": CAROL, "card_last4": "7777"},
        {"owner_id": [[BOB]], "card_last4": "1881"},
    ]
).encode()


def test_filter_mode_removes_a_record_owned_through_a_nested_list(stack: Callable[..., Fetch]) -> None:
    """``on_foreign_records="filter"``. The scan reads ``{"owner_id": [["bob-9c2e"]]}`` as owned
    by Bob (README: "a list under a key gives one owner per item, nested lists included"; block
    mode blocks it), but the filter only looks at a list's plain items: it drops Carol's record
    and sends Bob's card out as the requester's own (``filtered``, ``records_removed: 1``)."""
    answer = Answer((("Content-Type", "application/json"),), (FILTER_LIST,))
    assert model_foreign(answer) == {BOB, CAROL}
    got = stack(on_foreign_records="filter")(answer)
    assert BOB.encode() not in got.body
    if got.status == 403:
        assert_blocked_page(got)
    else:
        assert got.status == 200
        assert json.loads(got.body) == [{"user_id": ALICE, "card_last4": "4242"}]
        assert kinds(got.events) == [("filtered", "filtered")]
        assert dict(got.events[0].counts) == {"records_removed": 2}


# ------------------------------------------------------------------ 6. the request method is logged raw

OWNER_IN_METHOD = "ZELDA"  # a username that is also a valid HTTP method token (not in the raw-id registry)


def test_method_naming_the_owner_is_not_logged_raw() -> None:
    """The README checks ``path`` and ``request_id`` for every id the event is about; ``method``
    is copied as sent. A request ``ZELDA /x`` to a plain ASGI app answering every method,
    whose (foreign) response names owner ``ZELDA``: the blocked event says
    ``"method": "ZELDA"``, the owner's raw id."""
    events: list[AuditEvent] = []
    body = json.dumps({"user_id": OWNER_IN_METHOD}).encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    guarded = ASGIMiddleware(app, secret_key=SECRET, extractors=readme_extractors(), on_event=events.append)
    result = asgi_call(guarded, method=OWNER_IN_METHOD, path="/x")
    assert (result.status, result.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert OWNER_IN_METHOD.lower() not in events[0].to_json().lower()


# ------------------------------------------------------------------ 7. JSON lines split where Python clients split them

OWN_LINE = json.dumps({"user_id": ALICE, "card_last4": "4242"}).encode()


def httpx_lines_owners(body: bytes) -> set[str]:
    """What a Python script reads from JSON lines with httpx: ``for line in r.iter_lines(): json.loads(line)``."""
    owners: set[str] = set()
    for line in httpx2.Response(200, content=body).iter_lines():
        if line.strip():
            owners |= reader_model.json_owners(json.loads(line))
    return owners


@pytest.mark.parametrize("stream", [False, True], ids=["with-length", "streamed"])
@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d"])
def test_json_lines_split_as_python_clients_split_them(
    stack: Callable[..., Fetch], separator: str, stream: bool
) -> None:
    """``application/x-ndjson``, body ``{own}<U+2028>{"user_id": "bob-9c2e", ...}\\n``. respguard
    reads one line that is not JSON, so no owner; ``httpx.Response.iter_lines()`` (the documented
    way to read JSON lines with httpx, and what httpx-sse reads events with) splits at every
    ``str.splitlines`` boundary and hands the script Bob's record as a line of its own."""
    body = OWN_LINE + separator.encode() + FOREIGN_JSON + b"\n"
    assert httpx_lines_owners(body) == {ALICE, BOB}
    answer = Answer((("Content-Type", "application/x-ndjson"),), (body,), stream)
    got = stack()(answer)
    if stream:
        # the stream may go out up to the foreign record, never with it
        assert got.status == 200 and got.body in (b"", OWN_LINE, OWN_LINE + separator.encode())
        assert kinds(got.events) == [("owner_mismatch", "blocked")]
    else:
        assert_blocked_page(got)


# ------------------------------------------------------------------ 8. deep JSON outside JSON types

DEEP = b"[" * 1100 + FOREIGN_JSON + b"]" * 1100  # JSON.parse reads it (V8 parses far deeper); json.loads can't

DEEP_ANSWERS = {
    "html": Answer((("Content-Type", "text/html; charset=utf-8"),), (DEEP,)),
    "text": Answer((("Content-Type", "text/plain; charset=utf-8"),), (DEEP,)),
    "ndjson-with-length": Answer((("Content-Type", "application/x-ndjson"),), (DEEP + b"\n",)),
    "ndjson-streamed": Answer((("Content-Type", "application/x-ndjson"),), (DEEP + b"\n",), True),
    "json-seq-streamed": Answer((("Content-Type", "application/json-seq"),), (b"\x1e" + DEEP + b"\n",), True),
    "event-stream": Answer((("Content-Type", "text/event-stream"),), (b"data: " + DEEP + b"\n\n",), True),
}


@pytest.mark.parametrize("name", sorted(DEEP_ANSWERS))
def test_deep_json_outside_json_types_is_withheld(stack: Callable[..., Fetch], name: str) -> None:
    """``[[[...1100 levels...{"user_id": "bob-9c2e"}...]]]``. Under ``application/json`` (and no
    type) respguard blocks it with ``scan_error`` as the README's fail-closed table says. Under
    ``text/html`` (a Flask view returning ``json.dumps(...)``), ``text/plain``, JSON lines, JSON
    sequences or an event's ``data``, the failed parse means "not JSON" and the body goes out:
    Chromium's ``fetch().json()`` / ``JSON.parse(event.data)`` reads ``user_id: bob-9c2e``."""
    answer = DEEP_ANSWERS[name]
    got = stack()(answer)
    assert (got.status, got.body) == ((200, b"") if answer.stream else (403, BLOCK_BODY))
    assert [e.action.value for e in got.events] == ["blocked"]
    assert got.events[0].kind.value in ("scan_error", "owner_mismatch")


def test_control_deep_json_under_a_json_type_is_blocked(stack: Callable[..., Fetch]) -> None:
    got = stack()(Answer((("Content-Type", "application/json"),), (DEEP,)))
    assert_blocked_page(got, kind="scan_error")


# ------------------------------------------------------------------ 9. own page refused: the attribute named in scripts

OWN_MARKUP = b'<!doctype html><meta charset="utf-8"><ul id="cards"><li data-owner="alice-7f3a">Visa 4242</li></ul>'
SCRIPTED_PAGES = {
    # vanilla JS that finds the rows of the page by their owner
    "query-selector": OWN_MARKUP
    + b"<script>const mine = document.querySelectorAll('[data-owner=\"' + me + '\"]');</script>",
    # vanilla JS that renders a row with a template literal
    "template-literal": OWN_MARKUP
    + b'<script>list.insertAdjacentHTML("beforeend", `<li data-owner="${owner}">${label}</li>`);</script>',
    # a client-side template (Vue, Handlebars...) kept in a script element
    "x-template": OWN_MARKUP
    + b'<script type="text/x-template" id="row"><li data-owner="{{ owner }}">{{ label }}</li></script>',
    # a stylesheet that highlights the reader's own rows
    "style-selector": OWN_MARKUP
    + b'<style>li[data-owner="alice-7f3a"], li[data-owner="me"] { font-weight: bold }</style>',
}


@pytest.mark.parametrize("name", sorted(SCRIPTED_PAGES))
def test_own_page_whose_script_names_the_attribute_passes(stack: Callable[..., Fetch], name: str) -> None:
    """Alice's own page: its only element with ``data-owner`` is hers. A script on it selects
    or builds rows with the same attribute (``'[data-owner="' + me + '"]'``, a template
    literal, an ``x-template``), or a stylesheet selects them. No browser makes those strings
    attributes of any element (the reader model, html5lib, finds only ``alice-7f3a``), but
    respguard's regex finds ``' + me + '``, ``${owner}``, ``{{ owner }}``, ``me`` and blocks
    Alice's own page as ``owner_mismatch``."""
    page = SCRIPTED_PAGES[name]
    answer = Answer((("Content-Type", "text/html; charset=utf-8"),), (page,))
    assert reader_model.read(200, [("Content-Type", "text/html; charset=utf-8")], page).html == [ALICE]
    got = stack()(answer)
    assert (got.status, got.body) == (200, page)
    assert kinds(got.events) == []


# ------------------------------------------------------------------ 10. e-mail facets compared by casefold


@pytest.mark.parametrize(
    "foreign_email",
    ["stra\u00dfe@example.test", "\ufb01ona@example.test"],
    ids=["sharp-s", "fi-ligature"],
)
def test_email_facet_is_not_matched_by_casefold(stack: Callable[..., Fetch], foreign_email: str) -> None:
    """Incident 4 (two people issued one id; the e-mail facet tells them apart). The requester
    is ``Identity(id, email="strasse@example.test")``; the page is the other holder's, whose
    address is ``straße@example.test`` (an SMTPUTF8 mailbox, RFC 6531: a different local part,
    not another case of the same one; ``"straße".lower()`` is ``"straße"``). respguard's
    ``normalise`` uses ``casefold()``, which maps ``ß`` to ``ss`` (and ``ﬁ`` to ``fi``), so the
    foreign address counts as the requester's own and the page passes."""
    own_email = foreign_email.replace("\u00df", "ss").replace("\ufb01", "fi")
    assert own_email.lower() != foreign_email.lower()
    body = json.dumps({"user_id": ALICE, "email": foreign_email, "card_last4": "1881"}).encode()
    fetch = stack(
        requester=Identity(ALICE, email=own_email),
        extractors=[JsonKeys("user_id"), JsonKeys("email", kind="email")],
    )
    assert_blocked_page(fetch(Answer((("Content-Type", "application/json"),), (body,))))


def test_control_email_facet_of_another_person_is_blocked(stack: Callable[..., Fetch]) -> None:
    body = json.dumps({"user_id": ALICE, "email": "Bob@Example.test"}).encode()
    fetch = stack(
        requester=Identity(ALICE, email="alice@example.test"),
        extractors=[JsonKeys("user_id"), JsonKeys("email", kind="email")],
    )
    assert_blocked_page(fetch(Answer((("Content-Type", "application/json"),), (body,))))
    own = json.dumps({"user_id": ALICE, "email": "ALICE@example.test"}).encode()
    got = fetch(Answer((("Content-Type", "application/json"),), (own,)))
    assert (got.status, got.body, kinds(got.events)) == (200, own, [])


# ------------------------------------------------------------------ 11. Django: a JSON write under a non-JSON type

NOTES: dict[str, str] = {}
DJANGO_EVENTS: list[AuditEvent] = []


def save_note(request: Any) -> Any:
    """A plain Django view, as Django's docs write one: ``json.loads(request.body)``, whatever the type."""
    from django.http import JsonResponse

    data = json.loads(request.body)
    NOTES[str(data["owner_id"])] = data["text"]
    return JsonResponse({"saved": True})


def _urlpatterns() -> list[Any]:
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    return [path("notes/", csrf_exempt(save_note))]


def __getattr__(name: str) -> Any:  # this module is the ROOT_URLCONF of the Django test below
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def django_options() -> dict[str, Any]:
    return {
        "extractors": [JsonKeys("owner_id")],
        "inbound": [JsonBodyOwner("owner_id")],
        "requester": lambda info: info.headers.get("x-user"),
        "on_event": DJANGO_EVENTS.append,
    }


def django_post(client_kind: str, content_type: str) -> tuple[int, bytes]:
    pytest.importorskip("django")
    import test_django  # noqa: F401  (configures Django once per process)
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient, Client, override_settings

    body = json.dumps({"owner_id": "8", "text": "written by 7"})
    with override_settings(ROOT_URLCONF=__name__, RESPGUARD=django_options()):
        if client_kind == "wsgi":
            response = Client().post("/notes/", data=body, content_type=content_type, HTTP_X_USER="7")
        else:
            response = async_to_sync(AsyncClient().post)(
                "/notes/", data=body, content_type=content_type, headers={"x-user": "7"}
            )
    return response.status_code, response.content


@pytest.mark.parametrize("client_kind", ["wsgi", "asgi"])
@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", ""])
def test_django_json_write_under_another_type_is_refused(client_kind: str, content_type: str) -> None:
    """Customer ``7`` posts ``{"owner_id": "8", "text": ...}`` with ``Content-Type:
    text/plain;charset=UTF-8``: what ``fetch(url, {method: "POST", body: JSON.stringify(...)})``
    sends. The view reads ``json.loads(request.body)`` (Django parses no JSON itself) and writes
    customer 8's note. The README: a body that parses as JSON is read as JSON whatever its
    Content-Type says; Flask (``get_json(force=True)``) and ASGI are, Django is not."""
    NOTES.clear()
    DJANGO_EVENTS.clear()
    status, body = django_post(client_kind, content_type)
    assert (status, body, NOTES) == (403, BLOCK_BODY, {})
    assert kinds(DJANGO_EVENTS) == [("cross_owner_write", "blocked")]


@pytest.mark.parametrize("client_kind", ["wsgi", "asgi"])
def test_control_django_json_write_is_refused(client_kind: str) -> None:
    NOTES.clear()
    DJANGO_EVENTS.clear()
    status, body = django_post(client_kind, "application/json")
    assert (status, body, NOTES) == (403, BLOCK_BODY, {})
    assert kinds(DJANGO_EVENTS) == [("cross_owner_write", "blocked")]


# ------------------------------------------------------------------ 12. Flask: a write whose method is not upper-case

CARDS: dict[str, str] = {}


def flask_card_app(mode: str, events: list[AuditEvent]) -> Any:
    """The README's write example (``PathOwner`` + ``JsonBodyOwner``), guarded three ways."""
    app = Flask(__name__)
    app.secret_key = SECRET

    @app.post("/api/customers/<customer_id>/card")
    def change_card(customer_id: str) -> dict[str, bool]:
        CARDS[customer_id] = flask_request.get_json(force=True)["card_last4"]
        return {"ok": True}

    options: dict[str, Any] = {
        "extractors": [JsonKeys("customer_id")],
        "inbound": [PathOwner("/api/customers/{customer_id}/card"), JsonBodyOwner("customer_id")],
        "requester": lambda info: "c-7",
        "on_event": events.append,
    }
    if mode == "wsgi-middleware":
        return WSGIMiddleware(app, secret_key=SECRET, **options)
    RespGuard(app, write_check="app" if mode == "extension" else "middleware", **options)
    return app


@pytest.mark.parametrize("method", ["post", "Post"])
@pytest.mark.parametrize("mode", ["extension", "extension-middleware-check", "wsgi-middleware"])
def test_flask_write_with_a_lower_case_method_is_refused(mode: str, method: str) -> None:
    """Customer ``c-7`` sends ``post /api/customers/c-8/card`` with ``{"customer_id": "c-8",
    "card_last4": "1111"}``. Werkzeug's own server (``flask run``) passes the method as sent
    (``REQUEST_METHOD=post``; checked over 127.0.0.1), and ``request.method`` upper-cases it, so
    Flask routes it to the POST view. respguard compares the raw method with its write methods
    (POST, PUT, PATCH, DELETE), finds no write, and neither the middleware check nor the Flask
    extension's in-app check runs: customer 8's card is changed. (gunicorn refuses such a method
    with 400; Starlette routes only upper-case methods, so the ASGI stack is not affected.)"""
    CARDS.clear()
    events: list[AuditEvent] = []
    app = flask_card_app(mode, events)
    body = json.dumps({"customer_id": "c-8", "card_last4": "1111"}).encode()
    environ = create_environ("/api/customers/c-8/card", method="POST", data=body, content_type="application/json")
    environ["REQUEST_METHOD"] = method  # as Werkzeug's server hands it over
    chunks, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert (int(status[:3]), b"".join(chunks), CARDS) == (403, BLOCK_BODY, {})
    assert kinds(events) == [("cross_owner_write", "blocked")]


@pytest.mark.parametrize("mode", ["extension", "extension-middleware-check", "wsgi-middleware"])
def test_control_flask_upper_case_write_is_refused(mode: str) -> None:
    CARDS.clear()
    events: list[AuditEvent] = []
    app = flask_card_app(mode, events)
    body = json.dumps({"customer_id": "c-8", "card_last4": "1111"}).encode()
    environ = create_environ("/api/customers/c-8/card", method="POST", data=body, content_type="application/json")
    chunks, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert (int(status[:3]), b"".join(chunks), CARDS) == (403, BLOCK_BODY, {})
    assert kinds(events) == [("cross_owner_write", "blocked")]


# ------------------------------------------------------------------ controls: the harness can see a block


def test_control_plain_json_and_page_are_blocked(stack: Callable[..., Fetch]) -> None:
    """The same record as ``application/json`` and the same page as ``text/html`` are blocked on
    both stacks: the assertions above ask for results respguard already gives elsewhere."""
    fetch = stack()
    assert_blocked_page(fetch(Answer((("Content-Type", "application/json"),), (FOREIGN_JSON,))))
    assert_blocked_page(fetch(Answer((("Content-Type", "text/html; charset=utf-8"),), (FOREIGN_PAGE,))))
    assert_blocked_page(fetch(Answer((("Content-Type", "*/*"),), (FOREIGN_PAGE,))))


def test_control_foreign_line_and_event_are_withheld(stack: Callable[..., Fetch]) -> None:
    fetch = stack()
    assert_withheld(fetch(Answer((("Content-Type", "application/x-ndjson"),), (FOREIGN_JSON + b"\n",), True)))
    assert_withheld(
        fetch(Answer((("Content-Type", "text/event-stream"),), (b"data: " + FOREIGN_JSON + b"\n\n",), True))
    )


def test_control_filter_removes_a_plain_foreign_record(stack: Callable[..., Fetch]) -> None:
    body = json.dumps([{"user_id": ALICE, "card_last4": "4242"}, {"user_id": CAROL, "card_last4": "7777"}]).encode()
    got = stack(on_foreign_records="filter")(Answer((("Content-Type", "application/json"),), (body,)))
    assert got.status == 200
    assert json.loads(got.body) == [{"user_id": ALICE, "card_last4": "4242"}]
    assert kinds(got.events) == [("filtered", "filtered")]
    assert dict(got.events[0].counts) == {"records_removed": 1}


def test_control_own_page_passes(stack: Callable[..., Fetch]) -> None:
    got = stack()(Answer((("Content-Type", "text/html; charset=utf-8"),), (OWN_MARKUP,)))
    assert (got.status, got.body) == (200, OWN_MARKUP)
    assert kinds(got.events) == []
