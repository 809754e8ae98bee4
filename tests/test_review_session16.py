"""Review session 16: findings in the day's work (streams' charsets, ...).

1. **A stream's charset whose decoder reads escapes.** httpx's ``iter_lines`` (under httpx-sse)
   decodes a stream in its declared charset; Python's ``raw_unicode_escape`` decodes
   ``da\\u0074a: {"user_\\u0069d": "bob"}`` into ``data: {"user_id": "bob"}``, an event (or a JSON
   line) respguard's UTF-8 reading never saw: ``_plan._hides_ascii`` compared only the probe's
   encoding, which ``raw_unicode_escape`` leaves as it is (200, bob's record). Fixed: the probe's
   decoding is compared too (its backslash escapes included).
2. **``charset=utf-8-sig`` is UTF-8.** The same test encoded the probe with a byte-order mark in
   front and took UTF-8 for a charset that hides ASCII: an own event stream was refused (403).
3. **An owner key spelt with character references.** A page's JSON attribute values, the text it
   shows and its ``<textarea>``/``<title>`` are read with their character references decoded, but
   the speed-only gate before them (``JsonKeys.may_name_in_page``) searched the page's bytes for
   the bare key: ``<div data-page="{&quot;user&#95;id&quot;: &quot;bob&quot;}">`` (Inertia's
   ``JSON.parse(el.dataset.page)`` reads ``user_id``), ``<pre>{"user&lowbar;id": "bob"}</pre>``
   were never read: 200 (a documented limit of the proof, README "Proofs and pages in pages",
   that today's new readers of a page's ``<textarea>`` and ``<title>`` inherited). Lifted: where a
   reference could spell a key's character (``&#95;``, ``&#x5F;``, ``&lowbar;``: not ``&#39;`` or
   ``&amp;``, which most pages hold), the gate searches the page with its references decoded (and
   the JSON escapes a reference may spell: ``&#92;u005f``).
4. **Quadratic time in ``_markup._may_show_json``.** The speed-only check whether a ``<title>``,
   ``<textarea>``, ``<xmp>`` or ``<plaintext>`` may open like JSON matched a start tag from every
   ``<title`` in the page, and in ``<title a=x<title a=x...`` (no ``>``) each match runs to the
   page's end: 100 KB of it took 15 s of CPU on each stack (a page that names an owner key, as a
   user's comment may). Fixed: an opening inside the start tag last matched answers "maybe" at
   once (the cuts then read the page in linear time).
5. **FastAPI: a ``Json[...]`` query parameter.** ``meta: Annotated[Json[Meta], Query()]`` is
   parsed by Pydantic from the query string's value: ``?meta={"customer_id": <bob's>}`` wrote
   bob's record (200, no event), where the same field in a form or a JSON body is read (attack
   14, finding 8). Fixed: a route's ``Json[...]`` query parameter makes its query values read as
   the documents they hold, as its form's are.
6. **JSON split over a repeated response header.** ``getResponseHeader`` (htmx's reading of
   ``HX-Trigger``) gives a repeated header's values combined with ``", "``:
   ``HX-Trigger: {"loaded": {"user_id": "bob"`` then ``HX-Trigger: "x": 1}}`` is one JSON
   document to htmx, and neither line alone parses: respguard read each value on its own (200).
   Fixed: a repeated header's combined value is read too, where it opens like JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import pytest
from _attacks import cpu_to_pass, guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, kinds
from fastapi import FastAPI, Query
from ids import ALICE, BOB
from pydantic import BaseModel, Json
from starlette.testclient import TestClient
from test_attack_session10 import BOB_ID, OWN, TOKEN
from test_write_apps import SECRET, CurrentCustomer, Customer, assert_refused, rules

from respguard import AuditEvent, Guard, JsonKeys
from respguard.starlette import RespGuardMiddleware

EVENT = 'data: {"user_id": "%s"}\n\n'
NDJSON_LINE = '{"user_id": "%s", "name": "x"}\n'


@pytest.mark.parametrize("charset", ["raw-unicode-escape", "raw_unicode_escape", "unicode-escape"])
@pytest.mark.parametrize("length", [False, True], ids=["stream", "with-length"])
def test_an_event_stream_in_an_escaping_charset_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str, length: bool
) -> None:
    """httpx-sse over ``charset=raw-unicode-escape``: ``['{"user_id": "bob-9c2e"}']``."""
    body = b'da\\u0074a: {"user_\\u0069d": "' + BOB.encode() + b'"}\n\n'
    assert body.decode(charset) == EVENT % BOB
    headers = [("Content-Type", f"text/event-stream; charset={charset}")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=length))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "event stream in a charset that hides ASCII"


@pytest.mark.parametrize("length", [False, True], ids=["stream", "with-length"])
def test_json_lines_in_an_escaping_charset_are_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], length: bool
) -> None:
    """httpx's ``iter_lines`` on ``charset=raw-unicode-escape``: alice's line, then bob's."""
    body = (NDJSON_LINE % ALICE).encode() + b'{"a": "\\u0022, \\u0022user_id\\u0022: \\u0022' + BOB.encode() + b'"}\n'
    assert '"user_id": "' + BOB in body.decode("raw-unicode-escape")
    headers = [("Content-Type", "application/x-ndjson; charset=raw-unicode-escape")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=length))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "JSON lines in a charset that hides ASCII"


@pytest.mark.parametrize("charset", ["utf-8-sig", "UTF_8_SIG"])
def test_control_an_own_event_stream_in_utf_8_sig_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str
) -> None:
    body = (EVENT % ALICE).encode()
    headers = [("Content-Type", f"text/event-stream; charset={charset}")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=False))
    assert (got.status, got.body) == (200, body)
    assert events == []


_SPELT = [
    pytest.param('<div data-page="{&quot;user&#95;id&quot;: &quot;%s&quot;}">x</div>', id="attribute-decimal"),
    pytest.param('<div data-page="{&quot;&#x75;ser_id&quot;: &quot;%s&quot;}">x</div>', id="attribute-hex"),
    pytest.param('<div data-page="{&quot;user&lowbar;id&quot;: &quot;%s&quot;}">x</div>', id="attribute-named"),
    pytest.param('<div data-page=\'{"user&#92;u005fid": "%s"}\'>x</div>', id="attribute-escape"),
    pytest.param('<div data-page=\'{"user\\u00&#53;fid": "%s"}\'>x</div>', id="escape-digit"),
    pytest.param('<div data-page=\'{"user\\&#117;005fid": "%s"}\'>x</div>', id="escape-u"),
    pytest.param('<pre>{"user&UnderBar;id": "%s"}</pre>', id="text"),
    pytest.param('<textarea>{"user&#95;id": "%s"}</textarea>', id="textarea"),
    pytest.param('<title>{"user&#x5f;id": "%s"}</title>', id="title"),
]


@pytest.mark.parametrize("page", _SPELT)
def test_an_owner_key_spelt_with_references_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str
) -> None:
    """Chromium: ``JSON.parse(el.dataset.page).user_id``, the ``<pre>``'s text, the textarea's value."""
    body = (page % BOB).encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize("page", _SPELT)
def test_control_an_own_key_spelt_with_references_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str
) -> None:
    body = (page % ALICE).encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body]))
    assert (got.status, got.body) == (200, body)
    assert events == []


def test_may_name_in_page_reads_references() -> None:
    keys = JsonKeys("user_id")
    assert keys.may_name_in_page(b'<b x="{&quot;user&#95;id&quot;: 1}">', "utf-8")
    assert keys.may_name_in_page(b"<b>user&lowbar;id</b>", "utf-8")
    assert keys.may_name_in_page(b"<b>user&#92;u005fid</b>", "utf-8")
    # references and escapes that spell no key: the page's JSON is not read (speed only)
    assert not keys.may_name_in_page(b"<b title='it&#39;s'>a &amp; b &#x27; user-id \\u0041</b>", "utf-8")
    assert not keys.may_name_in_page(b"<b>&#950; &#x5f0; &#1170; usr&lowbar;id</b>", "utf-8")
    assert not keys.may_name_in_page(b"<b>&notuser&#95;idx</b>".replace(b"user&#95;id", b"usr"), "utf-8")


_NAMES_A_KEY = b"<p>user_id</p>"  # the page's bytes name a key: its shown raw texts are read


@pytest.mark.parametrize("opening", [b"<title a=x", b"<textarea a=x", b"<xmp a='x' b=x"])
def test_start_tags_inside_a_start_tag_take_linear_time(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], opening: bytes
) -> None:
    """Openings of a shown element with no ``>`` (each matched to the page's end before: 100 KB
    took 15 s, 200 KB 58 s): twice as many cost about twice the CPU time (four times, when quadratic)."""
    once = cpu_to_pass(make_stack, events, _NAMES_A_KEY + opening * 40_000, runs=2)
    twice = cpu_to_pass(make_stack, events, _NAMES_A_KEY + opening * 80_000, runs=2)
    assert twice < 2.8 * once + 0.02, (twice, once)


# ------------------------------------------------------------------ 5. a Json[...] query parameter


class Meta(BaseModel):
    customer_id: int


def _json_query_app(events: list[AuditEvent]) -> tuple[Any, list[int]]:
    app = FastAPI()
    writes: list[int] = []

    @app.post("/api/tagged")
    def tagged(meta: Annotated[Json[Meta], Query()], customer: Customer = CurrentCustomer) -> dict[str, str]:
        writes.append(meta.customer_id)
        return {"ok": "written"}

    guard = Guard(secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append)
    app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")
    return app, writes


def test_fastapi_an_owner_in_a_json_query_parameter_is_read() -> None:
    events: list[AuditEvent] = []
    app, writes = _json_query_app(events)
    with TestClient(app) as client:
        response = client.post("/api/tagged", headers=TOKEN, params={"meta": json.dumps({"customer_id": int(BOB_ID)})})
    assert writes == []
    assert_refused(response.status_code, list(response.headers.multi_items()), response.content)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert BOB_ID not in events[0].to_json()


def test_fastapi_an_own_owner_in_a_json_query_parameter_runs() -> None:
    events: list[AuditEvent] = []
    app, writes = _json_query_app(events)
    with TestClient(app) as client:
        response = client.post("/api/tagged", headers=TOKEN, params={"meta": json.dumps({"customer_id": int(OWN)})})
    assert (response.status_code, response.json(), writes, events) == (200, {"ok": "written"}, [int(OWN)], [])


# ------------------------------------------------------------------ 6. JSON over a repeated header


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([("HX-Trigger", '{"loaded": {"user_id": "%s"'), ("HX-Trigger", '"x": 1}}')], id="same-case"),
        pytest.param([("HX-Trigger", '{"loaded": {"user_id": "%s"'), ("hx-trigger", '"x": 1}}')], id="two-cases"),
        pytest.param([("X-Up-Context", ' ["a"'), ("X-Up-Context", '{"user_id": "%s"}]')], id="array"),
    ],
)
def test_json_split_over_a_repeated_header_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], lines: list[tuple[str, str]]
) -> None:
    """Chromium with htmx: ``xhr.getResponseHeader("HX-Trigger")`` is the lines joined by ``", "``."""
    headers = [("Content-Type", "text/html"), *((name, value.replace("%s", BOB)) for name, value in lines)]
    combined = ", ".join(value for _, value in headers[1:])
    assert json.loads(combined)  # one document, where no line alone is one
    page = f"<p data-owner={ALICE}>hi</p>".encode()
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[page]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


def test_control_an_own_json_split_over_a_repeated_header_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    headers = [("Content-Type", "text/html"), ("HX-Trigger", '{"loaded": {"user_id": "' + ALICE + '"')]
    headers.append(("HX-Trigger", '"x": 1}}'))
    page = f"<p data-owner={ALICE}>hi</p>".encode()
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []
