"""Adversarial findings, session 5: responses, writes and events where respguard and the real reader disagree.

Each test is an attack (or a buggy app) against an app guarded as the README integrates it, on
both stacks where it applies (``make_stack``: the raw ASGI and WSGI middlewares; Flask's
``RespGuard`` and Starlette's ``TestClient`` for the write tests). Each one asserts what
respguard must give (the block page, a stream cut before the record, or the own response
unchanged). The outside pass found nine disagreements; eight are fixed, and the ninth (a number
a script rounds onto the requester's) is kept as a block on purpose (see its test). Where a
browser decides, the reading was checked with headless Chromium (``chromium --headless
--dump-dom``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from _attacks import LIMIT, assert_refused, guarded
from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply, asgi_scope, kinds
from flask import Flask
from flask import request as flask_request
from ids import ALICE, BOB, NUMERIC
from werkzeug.test import create_environ, run_wsgi_app

from respguard import (
    ASGIMiddleware,
    AuditEvent,
    FormOwner,
    JsonBodyOwner,
    JsonKeys,
    PathOwner,
    QueryOwner,
    WSGIMiddleware,
    set_requester,
)
from respguard.flask import RespGuard

JSON_CT = ("Content-Type", "application/json")







def emails(count: int, template: str = "person{n}@example.com") -> list[str]:
    return [template.format(n=n) for n in range(count)]


# ------------------------------------------------------------------ 1. bulk e-mails in an event stream / JSON lines


@pytest.mark.parametrize(
    ("media_type", "body"),
    [
        ("text/event-stream", ("data: " + " ".join(emails(25)) + "\n\n").encode()),
        ("application/x-ndjson", (json.dumps({"contacts": emails(25)}) + "\n").encode()),
    ],
    ids=["event-stream", "ndjson"],
)
def test_many_addresses_in_one_streamed_record_are_withheld(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], media_type: str, body: bytes
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", media_type)], chunks=[body], content_length=False))
    # The 200 went out with the head; the record with the addresses must not.
    assert (got.status, got.body) == (200, b"")
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert dict(events[0].counts) == {"email": 25}


@pytest.mark.parametrize("media_type", ["text/event-stream", "application/x-ndjson"])
def test_addresses_spread_over_a_stream_add_up(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], media_type: str
) -> None:
    """A stream is one response: 25 records of one address each carry 25 people's addresses; the
    record that makes it 21 and every one after it stay out."""
    if media_type == "text/event-stream":
        records = [f"data: {e}\n\n".encode() for e in emails(25)]
    else:
        records = [(json.dumps({"email": e}) + "\n").encode() for e in emails(25)]
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", media_type)], chunks=records, content_length=False))
    assert (got.status, got.body) == (200, b"".join(records[:20]))
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert dict(events[0].counts) == {"email": 21}


def test_report_only_reports_a_stream_of_many_addresses_once(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    records = [f"data: {e}\n\n".encode() for e in emails(30)]
    stack = guarded(make_stack, events, mode="report")
    got = stack.send(Reply(headers=[("Content-Type", "text/event-stream")], chunks=records, content_length=False))
    assert (got.status, got.body) == (200, b"".join(records))
    assert kinds(events) == [("bulk_personal_data", "reported")]


def test_a_stream_of_a_few_addresses_and_the_requesters_own_goes_out_whole(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    records = [f"data: {e}\n\n".encode() for e in emails(20)] * 3  # 20 people, each named three times
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/event-stream")], chunks=records, content_length=False))
    assert (got.status, got.body) == (200, b"".join(records))
    assert events == []


def test_control_many_addresses_in_a_text_document_are_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/plain")], chunks=[" ".join(emails(25)).encode()]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]


# ------------------------------------------------------------------ 2. UTF-16 pages that open with an XML declaration

XML_DECL_PAGE = '<?xml version="1.0" encoding="UTF-16"?><html><body><p data-owner="bob-9c2e">x</p></body></html>'
XHTML_PAGE = (
    '<?xml version="1.0" encoding="UTF-16"?><html xmlns="http://www.w3.org/1999/xhtml">'
    '<body><p data-owner="bob-9c2e">x</p></body></html>'
)
SVG_PAGE = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" data-owner="bob-9c2e"></svg>'


@pytest.mark.parametrize(
    ("media_type", "page", "codec"),
    [
        ("text/html", XML_DECL_PAGE, "utf-16-le"),
        ("text/html", XML_DECL_PAGE, "utf-16-be"),
        ("application/xhtml+xml", XHTML_PAGE, "utf-16-le"),
        ("image/svg+xml", SVG_PAGE, "utf-16-le"),
    ],
    ids=["html-le", "html-be", "xhtml-le", "svg-le"],
)
def test_bomless_utf16_page_with_an_xml_declaration_is_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], media_type: str, page: str, codec: str
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", media_type)], chunks=[page.encode(codec)]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_bomless_utf16_page_of_addresses_is_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    page = '<?xml version="1.0"?><ul>' + "".join(f"<li>{e}</li>" for e in emails(25)) + "</ul>"
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/html")], chunks=[page.encode("utf-16-le")]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]


def test_control_utf16_page_with_a_bom_is_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(
        Reply(headers=[("Content-Type", "text/html")], chunks=[b"\xff\xfe" + XML_DECL_PAGE.encode("utf-16-le")])
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ 3. a JSON data island in a page

DATA_ISLAND = (
    b'<!doctype html><html><body><div id="app"></div>'
    b'<script id="__NEXT_DATA__" type="application/json">{"props": {"user_id": "bob-9c2e", "card_last4": "1881"}}'
    b"</script></body></html>"
)


def test_json_data_island_naming_another_owner_is_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[DATA_ISLAND]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


OWN_ISLAND = DATA_ISLAND.replace(b"bob-9c2e", b"alice-7f3a")


@pytest.mark.parametrize(
    ("page", "verdict"),
    [
        (OWN_ISLAND, None),  # the requester's own state
        (DATA_ISLAND.replace(b'type="application/json"', b"type=APPLICATION/LD+JSON "), "owner_mismatch"),
        (DATA_ISLAND.replace(b'type="application/json"', b'type="text/javascript"'), None),  # a script: not read
        (DATA_ISLAND.replace(b'type="application/json"', b'src="a>b" type="application/json"'), "owner_mismatch"),
        (b'<script type="application/json">{"user_id": "bob-9c2e"}', "owner_mismatch"),  # no end tag: to the end
        (b'<script type="application/json">{"user_id": ["bob-9c2e"</script>', "scan_error"),  # names it, no parse
        (b'<script type="text/x-template"><li data-owner="{{ owner }}"></li></script>', None),
        (b'<script type="application/json">{"\\u0075ser_id": "bob-9c2e"}</script>', "owner_mismatch"),  # escaped key
    ],
    ids=["own", "ld-json-upper", "javascript", "gt-in-src", "unterminated", "malformed", "template", "escaped-key"],
)
def test_data_blocks_are_read_as_scripts_read_them(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: bytes, verdict: str | None
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[page]))
    if verdict is None:
        assert (got.status, got.body) == (200, page)
        assert events == []
    else:
        assert (got.status, got.body) == (403, BLOCK_BODY)
        assert kinds(events) == [(verdict, "blocked")]


# ------------------------------------------------------------------ 4. filter mode and JSON that Python can't re-encode


def test_filter_mode_with_a_lone_surrogate_escape_does_not_crash(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = guarded(make_stack, events, on_foreign_records="filter")
    body = b'[{"user_id": "alice-7f3a", "note": "\\ud800"}, {"user_id": "bob-9c2e"}]'
    got = stack.send(Reply(headers=[JSON_CT], chunks=[body]))
    assert got.status == 200
    assert json.loads(got.body) == [{"user_id": ALICE, "note": "\ud800"}]
    assert kinds(events) == [("filtered", "filtered")]


def test_filter_mode_never_writes_a_number_as_infinity(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """``1e400`` is Infinity to JSON.parse and to Python; written back it would be ``Infinity``, which
    is not JSON (the script's ``.json()`` would throw on the user's own records): not filtered, blocked."""
    stack = guarded(make_stack, events, on_foreign_records="filter")
    body = b'[{"user_id": "alice-7f3a", "score": 1e400}, {"user_id": "bob-9c2e"}]'
    got = stack.send(Reply(headers=[JSON_CT], chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ 5. numbers JSON.parse rounds onto the requester's


@pytest.mark.parametrize(
    ("literal", "requester"),
    [("8812345.0000000000000001", NUMERIC), ("9007199254740993", "9007199254740992")],
    ids=["fraction", "above-2**53"],
)
def test_a_number_a_script_rounds_onto_the_requester_is_still_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], literal: str, requester: str
) -> None:
    """JSON.parse reads both literals as the requester's number (the nearest double), but the
    server wrote another value: 9007199254740993 is another customer's id, whose record a script
    would show as the requester's. Owners compare by their exact value (a false block on the
    contrived fraction, never a leak on the large id)."""
    body = b'{"user_id": ' + literal.encode() + b', "name": "me"}'
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[JSON_CT], chunks=[body], requester=requester))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ 6. refused writes log raw ids

INBOUND = [
    PathOwner("/c/{customer_id}/card"),
    FormOwner("customer_id"),
    JsonBodyOwner("customer_id"),
    QueryOwner("customer_id"),
]


def _write_middleware(kind: str, events: list[AuditEvent], **options: Any) -> Any:
    """A raw ASGI or WSGI app guarded by the middleware, the requester from ``requester=`` (known
    before the app runs, so the write is decided there)."""

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})

    guard_options: dict[str, Any] = {
        "secret_key": SECRET,
        "extractors": [JsonKeys("user_id")],
        "inbound": INBOUND,
        "requester": lambda request: ALICE,
        "bind_sessions": False,
        "on_event": events.append,
        **options,
    }
    if kind == "asgi":
        return ASGIMiddleware(asgi_app, **guard_options)
    return WSGIMiddleware(wsgi_app, **guard_options)


def _post(kind: str, app: Any, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    if kind == "wsgi":
        environ = create_environ(path, method="POST", data=body, headers=[("Content-Type", content_type)])
        chunks, status, _ = run_wsgi_app(app, environ, buffered=True)
        return int(status[:3]), b"".join(chunks)
    scope = asgi_scope(
        method="POST",
        path=path,
        headers=[(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())],
    )
    sent: list[dict[str, Any]] = []
    given = [False]

    async def receive() -> dict[str, Any]:
        if not given[0]:
            given[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"]), b"".join(m.get("body", b"") for m in sent[1:])


REFUSALS = [
    ("repeated-field", b"customer_id=a&customer_id=b", "application/x-www-form-urlencoded", {}, "cross_owner_write"),
    ("malformed-json", b'{"customer_id": ', "application/json", {}, "scan_error"),
    ("oversize", b'{"note": "' + b"x" * 200 + b'"}', "application/json", {"max_body_bytes": 64}, "oversize"),
]


@pytest.mark.parametrize("owner_in_path", [BOB, ALICE], ids=["path-owner", "requester"])
@pytest.mark.parametrize(
    ("body", "content_type", "options", "kind"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
@pytest.mark.parametrize("stack_kind", ["asgi", "wsgi"])
def test_refused_unreadable_write_logs_no_raw_id(
    stack_kind: str, owner_in_path: str, body: bytes, content_type: str, options: dict[str, Any], kind: str
) -> None:
    events: list[AuditEvent] = []
    app = _write_middleware(stack_kind, events, **options)
    status, sent = _post(stack_kind, app, f"/c/{owner_in_path}/card", body, content_type)
    assert (status, sent) == (403, BLOCK_BODY)
    assert kinds(events) == [(kind, "blocked")]
    (event,) = events
    assert event.path == "/c/{id}/card"
    assert ALICE not in event.to_json() and BOB not in event.to_json()


def test_flask_refused_ambiguous_write_logs_no_raw_id() -> None:
    events: list[AuditEvent] = []
    app = Flask(__name__)
    app.secret_key = SECRET
    RespGuard(app, extractors=[JsonKeys("user_id")], inbound=INBOUND, bind_sessions=False, on_event=events.append)

    @app.before_request
    def log_in() -> None:
        set_requester(flask_request, ALICE)

    @app.post("/c/<customer_id>/card")
    def card(customer_id: str) -> dict[str, bool]:
        return {"ok": True}

    response = app.test_client().post(
        f"/c/{BOB}/card", data=b"customer_id=a&customer_id=b", content_type="application/x-www-form-urlencoded"
    )
    assert (response.status_code, response.get_data()) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].path == "/c/{id}/card"


@pytest.mark.parametrize("stack_kind", ["asgi", "wsgi"])
def test_control_refused_foreign_write_logs_the_path_redacted(stack_kind: str) -> None:
    events: list[AuditEvent] = []
    app = _write_middleware(stack_kind, events)
    status, sent = _post(
        stack_kind, app, f"/c/{BOB}/card", b"customer_id=" + BOB.encode(), "application/x-www-form-urlencoded"
    )
    assert (status, sent) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].path == "/c/{id}/card"


# ------------------------------------------------------------------ 7. a form Werkzeug reads, refused as malformed

MIXED_CASE_FORM = "Application/X-WWW-Form-Urlencoded"


def _flask_card_app(guard: str, events: list[AuditEvent], ran: list[object]) -> Flask:
    app = Flask(__name__)
    app.secret_key = SECRET

    @app.post("/c/<customer_id>/card")
    def card(customer_id: str) -> dict[str, bool]:
        ran.append(flask_request.form.get("customer_id"))
        return {"ok": True}

    options: dict[str, Any] = {
        "extractors": [JsonKeys("user_id")],
        "inbound": INBOUND,
        "requester": lambda request: ALICE,
        "bind_sessions": False,
        "on_event": events.append,
    }
    if guard == "extension":
        RespGuard(app, **options)
    elif guard == "middleware":
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, secret_key=SECRET, **options)  # type: ignore[method-assign]
    return app


def test_control_flask_reads_a_mixed_case_form_type() -> None:
    ran: list[object] = []
    app = _flask_card_app("none", [], ran)
    response = app.test_client().post(f"/c/{ALICE}/card", data=f"customer_id={ALICE}", content_type=MIXED_CASE_FORM)
    assert response.status_code == 200
    assert ran == [ALICE]  # request.mimetype is lower-cased: Werkzeug parses the form


@pytest.mark.parametrize("guard", ["extension", "middleware"])
def test_own_form_write_with_a_mixed_case_type_passes(guard: str) -> None:
    events: list[AuditEvent] = []
    ran: list[object] = []
    app = _flask_card_app(guard, events, ran)
    response = app.test_client().post(f"/c/{ALICE}/card", data=f"customer_id={ALICE}", content_type=MIXED_CASE_FORM)
    assert (response.status_code, response.get_json()) == (200, {"ok": True})
    assert ran == [ALICE]
    assert events == []


def test_control_asgi_own_form_write_with_a_mixed_case_type_passes() -> None:
    events: list[AuditEvent] = []
    app = _write_middleware("asgi", events)
    status, sent = _post("asgi", app, f"/c/{ALICE}/card", f"customer_id={ALICE}".encode(), MIXED_CASE_FORM)
    assert (status, sent) == (200, b'{"ok": true}')
    assert events == []


# ------------------------------------------------------------------ 8. an attribute spelt with references, in srcdoc

SRCDOC_PAGES = [
    b'<!doctype html><p data-owner="alice-7f3a">me</p>'
    b'<iframe srcdoc="<p data&#45;owner=&quot;bob-9c2e&quot;>Bob</p>"></iframe>',
    b'<!doctype html><iframe srcdoc="<p &#100;ata-owner=bob-9c2e>Bob</p>"></iframe>',
]


@pytest.mark.xfail(
    strict=True,
    reason=LIMIT + "a page whose data-owner bytes are all the requester's is proved without reading its srcdoc pages",
)
@pytest.mark.parametrize("page", SRCDOC_PAGES, ids=["dash-reference", "letter-reference"])
def test_attribute_spelt_with_references_in_srcdoc_is_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: bytes
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[page]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_control_plain_srcdoc_attribute_is_blocked(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    page = b'<!doctype html><iframe srcdoc="<p data-owner=&quot;bob-9c2e&quot;>Bob</p>"></iframe>'
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[page]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_srcdoc_documents_nested_too_deeply_are_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """Each srcdoc level is decoded and read as a page of its own, eight deep at most; deeper,
    respguard can't tell what the innermost document names: refused (fail closed)."""
    import html

    page = '<p data-owner="bob-9c2e">Bob</p>'
    for _ in range(10):
        page = '<iframe srcdoc="' + html.escape(page) + '"></iframe>'
    assert_refused(make_stack, events, page.encode(), "html:data-owner: frames nested too deeply")


def test_a_page_whose_data_blocks_cannot_be_decoded_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """Found by the fuzz: an EUC-JP page holding bytes browsers read as characters respguard's
    codec does not know. Reading it for JSON data blocks can't be done as the browser does:
    refused, saying why (before, the decoding error escaped the scan)."""
    body = b'<p>\xf9= "user_id"</p>'
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", "text/html; charset=EUC-JP")], chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason.endswith("body has bytes browsers read as characters respguard does not know")
