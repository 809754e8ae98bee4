"""Outside review of session 7 (e47992b..50ecbbf): what it found; each test failed before its fix.

1. **The framework write checks rebuilt an ambiguous write's event from its path and JSON only.**
   Django's ``process_view`` and Flask's in-app check read the JSON body first; a repeated owner
   key raised :class:`Ambiguous` before the query and form were read, so the event redacted the
   ids of the path rule and the JSON document alone: ``POST /api/customers/bob-9c2e/notes/
   ?customer_id=bob-9c2e`` with ``{"customer_id": "alice-7f3a", "customer_id": "alice-7f3a"}``
   and ``X-Request-ID: req-bob-9c2e`` was refused, and its event showed bob's raw id in its path
   and request id (Django, under its WSGI and its ASGI handler; the same with a urlencoded form
   whose body also parses as JSON). Flask's in-app check had the same flaw; its middleware's own
   parse refuses such a body first, so it showed only where the in-app check is the one that
   refuses (tested on its parse).
2. **JSON inside JavaScript white space.** Session 7 reads JSON behind the XSSI prefix that
   AngularJS's ``$http`` strips, but ``defaultHttpResponseTransform`` then ``trim()``s the text
   (NBSP, U+FEFF, U+2028, U+3000, U+1680, U+2009, VT...) and parses it where it opens and ends
   like JSON, whatever the type. ``\u00a0{"user_id": "bob-9c2e"}`` (or the record followed by
   such a character, or the prefix then one) as ``text/plain``, ``text/html`` or untyped went
   out, 200: the sniffer and ``looks_like_json`` skipped JSON's white space only, and no reading
   trimmed it. Fixed: both skip JavaScript's white space (a character split over chunks is held),
   and the JSON extractors read the trimmed text too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import BLOCK_BODY, SECRET, kinds
from ids import ALICE, BOB
from test_write_middleware import rules

from respguard import AuditEvent, JsonKeys

pytest.importorskip("django")

import test_django  # noqa: E402,F401  (configures Django once per process)
from asgiref.sync import async_to_sync  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402

REPEATED = "owner field repeated"
NOTES = f"/api/customers/{BOB}/notes/"
REDACTED_NOTES = "/api/customers/{id}/notes/"
WRITES: list[str] = []


def notes(request: Any, customer_id: str) -> HttpResponse:
    WRITES.append(customer_id)
    return HttpResponse("written")


urlpatterns = [path("api/customers/<str:customer_id>/notes/", notes)]

_JSON_TWICE = json.dumps({"customer_id": ALICE})[:-1] + f', "customer_id": "{ALICE}"}}'
#: A urlencoded body that is also JSON: Django's request.POST reads ``customer_id=bob-9c2e``.
_FORM_AND_JSON = _JSON_TWICE[:-1] + f', "x": "&customer_id={BOB}&"}}'

#: (row, query, body, content type): each names bob only where the JSON is not.
AMBIGUOUS_JSON_WITH_BOB_ELSEWHERE = [
    ("query", f"customer_id={BOB}", _JSON_TWICE, "application/json"),
    ("query-text-plain", f"customer_id={BOB}", _JSON_TWICE, "text/plain"),
    ("form", "", _FORM_AND_JSON, "application/x-www-form-urlencoded"),
]
EACH_WRITE = pytest.mark.parametrize(
    ("row", "query", "body", "content_type"),
    AMBIGUOUS_JSON_WITH_BOB_ELSEWHERE,
    ids=[row[0] for row in AMBIGUOUS_JSON_WITH_BOB_ELSEWHERE],
)


def assert_refused_unnamed(status: int, body: bytes, events: list[AuditEvent], reason: str = REPEATED) -> None:
    """The block page, one ``cross_owner_write`` event, bob's id nowhere in it (path, request id)."""
    assert (status, body) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert (events[0].reason, events[0].path, events[0].request_id) == (reason, REDACTED_NOTES, None)
    assert BOB not in events[0].to_json()


def _django_post(handler: str, query: str, body: str, content_type: str) -> tuple[Any, list[AuditEvent]]:
    events: list[AuditEvent] = []
    options = {
        "secret_key": SECRET,
        "extractors": [JsonKeys("customer_id")],
        "inbound": rules(),
        "requester": lambda r: ALICE,
        "bind_sessions": False,
        "on_event": events.append,
    }
    url = NOTES + ("?" + query if query else "")
    headers = {"X-Request-ID": f"req-{BOB}"}
    with override_settings(ROOT_URLCONF=__name__, RESPGUARD=options):
        if handler == "wsgi":
            response = Client().post(url, body, content_type=content_type, headers=headers)
        else:

            async def post() -> Any:
                return await AsyncClient().post(url, body, content_type=content_type, headers=headers)

            response = async_to_sync(post)()
    return response, events


@pytest.mark.parametrize("handler", ["asgi", "wsgi"])
@EACH_WRITE
def test_django_an_ambiguous_json_write_event_redacts_the_query_and_form(
    handler: str, row: str, query: str, body: str, content_type: str
) -> None:
    """alice's repeated JSON key, bob named in the query or the form, bob's id in the path and the
    request id: refused before the view, and the event shows bob's id nowhere (it showed it in
    ``path`` and ``request_id``)."""
    WRITES.clear()
    response, events = _django_post(handler, query, body, content_type)
    assert_refused_unnamed(response.status_code, response.content, events)
    assert WRITES == []


@pytest.mark.parametrize("handler", ["asgi", "wsgi"])
def test_django_control_the_same_write_without_the_repeat_is_refused_for_bob(handler: str) -> None:
    """Without the repeated key, the query names bob: a plain cross-owner write, bob redacted."""
    WRITES.clear()
    body = json.dumps({"customer_id": ALICE})
    response, events = _django_post(handler, f"customer_id={BOB}", body, "application/json")
    assert_refused_unnamed(response.status_code, response.content, events, "request names another owner's record")
    assert WRITES == []


# ------------------------------------------------------------------ Flask's in-app parse


def _flask_app(events: list[AuditEvent], write_check: str) -> Any:
    from flask import Flask, request

    from respguard import set_requester
    from respguard.flask import RespGuard

    app = Flask(__name__)
    RespGuard(
        app,
        write_check=write_check,  # type: ignore[arg-type]
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=rules(),
        bind_sessions=False,
        on_event=events.append,
    )

    @app.before_request
    def log_in() -> None:
        set_requester(request, ALICE)

    @app.post("/api/customers/<customer_id>/notes/")
    def flask_notes(customer_id: str) -> str:
        WRITES.append(customer_id)
        return "written"

    return app


@EACH_WRITE
def test_flask_in_app_parse_of_an_ambiguous_json_write_redacts_the_query_and_form(
    row: str, query: str, body: str, content_type: str
) -> None:
    """Flask's in-app check (``_flask_named``, the view's parse) on the same writes: its refusal's
    event redacts what ``request.args`` and ``request.form`` name (it redacted the JSON only)."""
    from respguard._context import RequestContext
    from respguard._exchange import Exchange
    from respguard._scan import RequestInfo
    from respguard._write import WRITE_KEY, Unreadable, WriteCheck, read_owners
    from respguard.flask import _flask_named
    from respguard.wsgi import environ_headers

    events: list[AuditEvent] = []
    app = _flask_app(events, "app")
    guard = app.extensions["respguard"]
    url = NOTES + ("?" + query if query else "")
    with app.test_request_context(
        url, method="POST", data=body, content_type=content_type, headers={"X-Request-ID": f"req-{BOB}"}
    ) as ctx:
        environ = ctx.request.environ
        environ[WRITE_KEY] = WriteCheck([], body_read=True)  # the middleware read (and replays) the body
        exchange = Exchange(guard, RequestInfo("POST", NOTES, "http", environ, environ_headers), RequestContext())
        exchange.requester = None
        refused = read_owners(exchange, lambda: _flask_named(guard))
    assert isinstance(refused, Unreadable) and refused.verdict is not None
    assert_refused_unnamed(refused.verdict.status, refused.verdict.body or b"", events)


@pytest.mark.parametrize("write_check", ["app", "middleware"])
@EACH_WRITE
def test_flask_an_ambiguous_json_write_is_refused_with_bob_redacted(
    write_check: str, row: str, query: str, body: str, content_type: str
) -> None:
    """The same writes through the whole Flask extension: refused before the view, bob nowhere
    in the event (the middleware's parse refuses them first)."""
    WRITES.clear()
    events: list[AuditEvent] = []
    client = _flask_app(events, write_check).test_client()
    url = NOTES + ("?" + query if query else "")
    response = client.post(url, data=body, content_type=content_type, headers={"X-Request-ID": f"req-{BOB}"})
    assert_refused_unnamed(response.status_code, response.data, events)
    assert WRITES == []


# ------------------------------------------------------------------ 2. JSON inside JavaScript white space

#: AngularJS's ``$http`` (``defaultHttpResponseTransform``) strips the XSSI prefix, then
#: ``.trim()``s the text (JavaScript white space: NBSP, U+FEFF, U+2028, U+3000...) and parses it
#: when it opens and ends like JSON, whatever the type. ``JSON.parse`` alone refuses them.
_JS_SPACES = ["\u00a0", "\ufeff\ufeff", "\u2028", "\u3000", "\u1680", "\u2009", "\x0b"]
_FOREIGN_JSON = json.dumps({"user_id": BOB, "name": "Bob"})


def _spaced_bodies() -> list[tuple[str, bytes]]:
    rows: list[tuple[str, bytes]] = []
    for space in _JS_SPACES:
        name = "-".join(f"U+{ord(c):04X}" for c in space)
        rows.append((f"{name}-before", (space + _FOREIGN_JSON).encode()))
        rows.append((f"{name}-after", (_FOREIGN_JSON + space).encode()))
        rows.append((f"{name}-after-xssi", (")]}',\n" + space + _FOREIGN_JSON).encode()))
    return rows


SPACED = _spaced_bodies()
#: ECMAScript's WhiteSpace and LineTerminator: what ``String.prototype.trim`` strips.
JS_SPACE = " \t\n\x0b\x0c\r\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
JS_SPACE += "\u2028\u2029\u202f\u205f\u3000\ufeff"


def angularjs_reads(body: bytes) -> object:
    """AngularJS's ``defaultHttpResponseTransform`` of a text response (no JSON type), in Python:
    the prefix stripped, JavaScript's ``trim()``, then ``JSON.parse`` where it is JSON-like."""
    import re

    text = re.sub(r"^\)\]\}',?\n", "", body.decode("utf-8").removeprefix("\ufeff"), count=1)
    trimmed = text.strip(JS_SPACE)
    opens = trimmed[:1] == "[" or (trimmed[:1] == "{" and trimmed[1:2] != "{")
    closes = trimmed.endswith("]" if trimmed[:1] == "[" else "}")
    return json.loads(trimmed) if opens and closes else text


@pytest.mark.parametrize(("row", "body"), SPACED, ids=[row[0] for row in SPACED])
def test_control_angularjs_reads_json_inside_javascript_white_space(row: str, body: bytes) -> None:
    assert angularjs_reads(body) == {"user_id": BOB, "name": "Bob"}
    with pytest.raises(ValueError):
        json.loads(body)  # Python's (and JSON.parse's) white space is four characters only


@pytest.mark.parametrize("content_type", ["text/plain", "text/html; charset=utf-8", None])
@pytest.mark.parametrize(("row", "body"), SPACED, ids=[row[0] for row in SPACED])
def test_json_inside_javascript_white_space_is_read(
    make_stack: Any, events: list[AuditEvent], row: str, body: bytes, content_type: str | None
) -> None:
    """bob's record behind an NBSP (or U+FEFF, U+2028, U+3000...; before it, after it, after the
    XSSI prefix), as text, a page or untyped: AngularJS's ``$http`` reads it; it went out, 200."""
    from _attacks import guarded
    from conftest import Reply

    headers = [("Content-Type", content_type)] if content_type else []
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize(("row", "body"), SPACED, ids=[row[0] for row in SPACED])
def test_untyped_json_inside_javascript_white_space_in_one_byte_chunks(
    make_stack: Any, events: list[AuditEvent], row: str, body: bytes
) -> None:
    """The same untyped bodies a byte at a time: a white-space character split over chunks."""
    from _attacks import guarded
    from conftest import Reply

    got = guarded(make_stack, events).send(Reply(headers=[], chunks=[body[i : i + 1] for i in range(len(body))]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_own_json_inside_javascript_white_space_passes(
    make_stack: Any, events: list[AuditEvent], content_type: str | None
) -> None:
    from _attacks import guarded
    from conftest import Reply

    body = ("\u00a0" + json.dumps({"user_id": ALICE}) + "\u3000").encode()
    headers = [("Content-Type", content_type)] if content_type else []
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body[:1], body[1:]]))
    assert (got.status, got.body) == (200, body)
    assert events == []
