"""Adversarial findings, session 21 (attackY): responses respguard and their real reader read apart.

1. **A streamed body that is one JSON document, split over its records.** ``fetch().json()``
   (and a Python client's ``.json()``) reads a body whole whatever its type. JSON lines ``{``,
   ``"user_id"``, ``:``, ``"bob"``, ``}`` (or the same as events, split by blank lines) are, line
   by line, nothing a record reader refuses: a bare string is a JSON text, and the others name no
   key. Read whole, they are ``{"user_id": "bob"}``. Sent without a ``Content-Length`` (streamed:
   no whole-body reading), the stream went out whole on both stacks, with no event. Fixed
   (``RecordStream.one_document``, ``scan_record``): a stream whose first record opens a JSON
   document it does not close is one document to such a reader, and a record of it that names an
   owner key and holds none cuts the stream before it (``scan_error``). (The XSSI prefix Angular
   strips, and the white space AngularJS trims, may come before it.)
2. **A multipart body whose parts a client reads.** A GraphQL ``@defer`` or subscription answer
   is ``multipart/mixed`` (Strawberry's, on Starlette, Django and Flask), whose JSON parts Apollo
   Client parses; Firefox renders each HTML part of ``multipart/x-mixed-replace`` as the page. Of
   a type nothing reads, sniffed (its first bytes are a boundary line, no JSON), Bob's part went
   out on both stacks, with no event. Fixed (``_plan_body``): such a multipart body is refused
   (``scan_error``, "multipart body cannot be scanned") wherever something reads JSON, pages or
   the bulk check.
3. **A bulk event showed one of the addresses it counted.** ``GET /contacts/carol@example.com/friends``
   (request id ``carol-example.com``) answered with 25 addresses, carol's among them: blocked, and
   its event (which "counts the addresses and never stores them") logged
   ``"path": "/contacts/carol@example.com/friends"`` and the request id, raw, on both stacks, for
   a document and for a stream. Fixed (``Exchange._count_people``): the values a bulk event
   counts are redacted from its path and request id, as an owner's id is.
4. **Addresses split by characters browsers don't draw.** 25 addresses on a page (or in
   ``text/plain``), each with a tag character (U+E0020), a variation selector of the supplement
   (U+E0101), a shorthand format control (U+1BCA0) or a musical formatting control (U+1D173)
   before its ``@``: Unicode's Default_Ignorable_Code_Point, which HarfBuzz renders as nothing,
   so the reader sees ``person0@example.com``. respguard dropped only some of them, counted no
   address, and the list went out on both stacks. Fixed (``_pii.INVISIBLE``): every
   default-ignorable code point is dropped before counting.
5. **Addresses a URL percent-encodes.** 25 ``<a href="mailto:person0%40example.com">`` links
   (Django's ``urlencode`` filter writes an address so): a mail client opens each one with its
   address, and a percent-encoded ``data:text/html,`` frame shows them all. respguard counted no
   ``@`` (the cheap proof saw none) and the page went out on both stacks. Fixed
   (``_pii.render_html``, ``_hides_at``, ``_at_bound``): attribute values are counted
   percent-decoded too.
6. **A record a frame shows as text.** ``<iframe src="data:application/json,{bob's record}">``
   (or ``data:text/plain,``, ``data:,``, an ``<object data>`` or ``<embed src>``): Chromium shows
   the record as text in the frame, as a page shows a ``<pre>`` (a record a page shows as text is
   read: the README's JsonKeys). respguard read only ``data:`` frames of page types, and the page
   went out on both stacks. Fixed (``_markup.data_url_page``, ``pages_within``): a framed
   ``data:`` URL of a text or JSON type, or none, is read as the page of a ``<pre>`` holding its
   text. (The ``Refresh`` header's refusal still names page types only.)
7. **A record a client joins from several events (left, a strict xfail).** The Vercel AI SDK's
   ``useObject`` (``streamObject`` answered by a FastAPI backend) joins the ``delta`` of
   successive ``text-delta`` events and parses the JSON they spell: ``{"user_``, ``id": "``,
   ``bob"}`` is bob's record in the page. Each event alone names no owner key: the stream goes
   out whole on both stacks. Not fixed: the join is the app protocol's, not the event stream's;
   the README documents it as a limit ("Streams are personal").
8. **An HTML template kept in a script, filled by the server (left, a strict xfail).** Vue's
   ``<script type="text/x-template">``, Knockout's ``text/html``, AngularJS's
   ``text/ng-template``: the framework renders the template's markup into the page, here
   ``<div data-owner="bob">``. A script's text is no markup to the tokenizer, and respguard cut it:
   the page went out on both stacks. Not fixed: read as markup, a client template's placeholders
   (``data-owner="{{ owner }}"``) block the user's own pages (tests/test_attack_findings.py keeps
   those passing); the README documents the limit ("Scripts and styles are not markup").
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable

import pytest
from _attacks import guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, kinds
from ids import ALICE, BOB

from respguard import AuditEvent

# ------------------------------------------------------------------ 1. one JSON document, split over records

_KEY_IN_DOCUMENT = "json:owner_id,user_id: owner key in a stream that is one JSON document"


@pytest.mark.parametrize(
    ("content_type", "body", "sent"),
    [
        ("application/x-ndjson", f'{{\n"user_id"\n:\n"{BOB}"\n}}\n'.encode(), b"{\n"),
        ("application/jsonl", f'[\n{{\n"owner_id"\n:\n"{BOB}"\n}}\n]\n'.encode(), b"[\n{\n"),
        ("text/event-stream", f'{{\n\n"user_id"\n\n:\n\n"{BOB}"\n\n}}\n\n'.encode(), b"{\n\n"),
        # The XSSI prefix Angular strips before it parses the body whole.
        ("application/x-ndjson", f')]}}\',\n{{\n"user_id"\n:\n"{BOB}"\n}}\n'.encode(), b")]}',\n{\n"),
        # A no-break space AngularJS trims before it parses (a line of its own: no JSON white space).
        ("application/x-ndjson", f'\u00a0\n{{\n"user_id"\n:\n"{BOB}"\n}}\n'.encode(), "\u00a0\n{\n".encode()),
    ],
)
def test_a_stream_that_is_one_json_document_is_cut_before_an_owner_key(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, body: bytes, sent: bytes
) -> None:
    stack = guarded(make_stack, events)
    got = stack.send(Reply(headers=[("Content-Type", content_type)], chunks=[body], content_length=False))
    assert (got.status, got.body) == (200, sent)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == _KEY_IN_DOCUMENT
    assert BOB not in events[0].to_json()


def test_control_a_stream_whose_first_record_is_whole_passes_strings_that_spell_a_key(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    # Its first line is a whole document: read whole, the body is no JSON (two documents).
    body = f'{{"user_id": "{ALICE}"}}\n"user_id"\n"{BOB}"\n'.encode()
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", "application/x-ndjson")], chunks=[body], content_length=False)
    )
    assert (got.status, got.body) == (200, body)
    assert events == []


def test_control_a_json_text_sequence_is_never_one_document(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    # RS is no JSON white space: no client parses such a body whole.
    body = f'\x1e{{\n\x1e"user_id"\n\x1e:\n\x1e"{BOB}"\n\x1e}}\n'.encode()
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", "application/json-seq")], chunks=[body], content_length=False)
    )
    assert (got.status, got.body) == (200, body)
    assert events == []


# ------------------------------------------------------------------ 2. multipart parts a client reads

#: Strawberry's incremental answer to a ``@defer`` query (Apollo Client's multipart/mixed reader).
_DEFER = (
    "\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
    f'{{"data": {{"me": {{"user_id": "{BOB}"}}}}, "hasNext": false}}\r\n-----\r\n'
).encode()
_REPLACE = f'--frame\r\nContent-Type: text/html\r\n\r\n<div data-owner="{BOB}">Bob</div>\r\n--frame--\r\n'.encode()


@pytest.mark.parametrize("length", [True, False], ids=["with-length", "streamed"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ('multipart/mixed; boundary="-"; deferSpec=20220824', _DEFER),
        ('multipart/mixed;boundary="graphql";subscriptionSpec="1.0"', _DEFER.replace(b"---", b"--graphql")),
        pytest.param(
            "multipart/x-mixed-replace; boundary=frame",
            _REPLACE,
            marks=pytest.mark.xfail(
                strict=True,
                reason="documented limit (README, 'Fail closed'): multipart/x-mixed-replace is sniffed as any body "
                "(its usual parts are JPEG frames); an HTML part, which Firefox renders, is not read",
            ),
        ),
    ],
    ids=["graphql-defer", "graphql-subscription", "x-mixed-replace"],
)
def test_a_multipart_body_whose_parts_a_client_reads_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, body: bytes, length: bool
) -> None:
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", content_type)], chunks=[body], content_length=length)
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "multipart body cannot be scanned"
    assert BOB not in events[0].to_json()


# ------------------------------------------------------------------ 3. a bulk event's path shows an address it counted

_PEOPLE = ["carol@example.com"] + [f"person{i}@example.com" for i in range(24)]
_CAROL_PATH = "/contacts/carol@example.com/friends"


@pytest.mark.parametrize("streamed", [False, True], ids=["document", "json-lines-stream"])
def test_a_bulk_event_redacts_the_addresses_it_counted_from_its_path(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], streamed: bool
) -> None:
    if streamed:
        lines = [json.dumps({"email": email}).encode() + b"\n" for email in _PEOPLE]
        reply = Reply(
            headers=[("Content-Type", "application/x-ndjson")], chunks=[b"".join(lines)], content_length=False
        )
    else:
        reply = Reply(
            headers=[("Content-Type", "application/json")], chunks=[json.dumps({"friends": _PEOPLE}).encode()]
        )
    got = guarded(make_stack, events).send(reply, path=_CAROL_PATH, headers=[("X-Request-ID", "carol-example.com")])
    if streamed:  # cut before the line that takes the stream over 20 people
        assert (got.status, got.body) == (200, b"".join(lines[:20]))
    else:
        assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert (events[0].path, events[0].request_id) == ("/contacts/{id}/friends", None)
    assert "carol" not in events[0].to_json()


# ------------------------------------------------------------------ 4. addresses split by what browsers do not draw


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/plain; charset=utf-8"])
@pytest.mark.parametrize("invisible", ["\U000e0020", "\U000e0101", "\U0001bca0", "\U0001d173", "\u2065", "\ufff0"])
def test_addresses_split_by_a_default_ignorable_character_are_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], invisible: str, content_type: str
) -> None:
    body = "".join(f"<p>person{i}{invisible}@example.com</p>\n" for i in range(25)).encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", content_type)], chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert events[0].counts == (("email", 25),)
    assert "example.com" not in events[0].to_json()


# ------------------------------------------------------------------ 5. addresses a URL percent-encodes


@pytest.mark.parametrize(
    "template",
    [
        '<a href="mailto:person{i}%40example.com">Mail</a>',
        '<a href="mailto:person{i}%40example%2Ecom">Mail</a>',
        '<a href="mailto:person{i}&#37;40example.com">Mail</a>',
        '<iframe src="data:text/html,person{i}%40example.com"></iframe>',
    ],
    ids=["mailto", "mailto-dot", "mailto-reference", "data-url"],
)
def test_addresses_a_url_percent_encodes_are_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], template: str
) -> None:
    body = ("<!doctype html>" + "".join(f"<p>{template.format(i=i)}</p>" for i in range(25))).encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert events[0].counts == (("email", 25),)
    assert "example.com" not in events[0].to_json()


def test_control_a_few_percent_encoded_addresses_pass(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    body = "".join(f'<a href="mailto:person{i}%40example.com">Mail</a>' for i in range(20)).encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body]))
    assert (got.status, got.body) == (200, body)
    assert events == []


# ------------------------------------------------------------------ 6. a record a frame shows as text

_RECORD = urllib.parse.quote(json.dumps({"user_id": BOB}))


@pytest.mark.parametrize(
    "frame",
    [
        f'<iframe src="data:application/json,{_RECORD}"></iframe>',
        f'<iframe src="data:text/plain;charset=utf-8,{_RECORD}"></iframe>',
        f'<iframe src="data:,{_RECORD}"></iframe>',
        f'<object data="data:application/vnd.api+json,{_RECORD}"></object>',
        f'<embed src="data:text/plain,{_RECORD}">',
    ],
    ids=["json", "text", "no-type", "object", "embed"],
)
def test_a_record_a_data_url_frame_shows_as_text_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], frame: str
) -> None:
    body = f"<!doctype html><p>Your account</p>{frame}".encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


def test_control_an_own_record_a_frame_shows_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    own = urllib.parse.quote(json.dumps({"user_id": ALICE}))
    body = f'<iframe src="data:application/json,{own}"></iframe><iframe src="data:text/plain,hello"></iframe>'.encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body]))
    assert (got.status, got.body) == (200, body)
    assert events == []


# ------------------------------------------------------------------ 7. a record joined from several events (limit)


@pytest.mark.xfail(
    strict=True,
    reason="documented limit (README, 'Streams are personal'): a record a client joins from several events' text",
)
def test_limit_a_record_a_client_joins_from_several_events(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    deltas = ['{"user_', 'id": "', f'{BOB}"}}']
    text = "".join(f"data: {json.dumps({'type': 'text-delta', 'id': '0', 'delta': d})}\n\n" for d in deltas)
    assert json.loads("".join(deltas)) == {"user_id": BOB}  # what useObject shows
    headers = [("Content-Type", "text/event-stream"), ("x-vercel-ai-ui-message-stream", "v1")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[text.encode()], content_length=False))
    assert got.status == 200 and BOB.encode() not in got.body
    assert kinds(events) == [("scan_error", "blocked")]


# ------------------------------------------------------------------ 8. a server-filled template in a script (limit)


@pytest.mark.xfail(
    strict=True,
    reason="documented limit (README, 'Scripts and styles are not markup'): an HTML template kept in a script",
)
@pytest.mark.parametrize("script_type", ["text/x-template", "text/html", "text/ng-template"])
def test_limit_a_template_the_server_filled_in_a_script_is_not_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], script_type: str
) -> None:
    template = f'<div data-owner="{BOB}">Bob</div>'
    body = f'<!doctype html><div id="app"></div><script type="{script_type}" id="row">{template}</script>'
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[body.encode()])
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)


# ------------------------------------------------------------------ review 21b: finding 5's edges


def _links(template: str) -> bytes:
    return ("<ul>" + "".join("<li>" + template.format(i=i) + "</li>" for i in range(25)) + "</ul>").encode()


@pytest.mark.parametrize(
    "template",
    [
        '<a href="mailto:person{i}%&#52;0example.com">Mail</a>',  # a reference makes the 4 of %40
        '<a href="mailto:person{i}%4&#48;example.com">Mail</a>',  # ... or its 0
        '<a href="MAILTO:person{i}%40example.com">Mail</a>',  # the scheme in any case
    ],
)
def test_mailto_links_percent_encoded_with_references_are_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], template: str
) -> None:
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html")], chunks=[_links(template)]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert events[0].counts == (("email", 25),)


@pytest.mark.parametrize(
    "template",
    ['<img src="/static/icon{i}%402x.png">', '<script src="/npm/pkg{i}%401.2.3/dist/x.js"></script>'],
)
def test_percent_encoded_at_signs_of_asset_urls_are_no_addresses(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], template: str
) -> None:
    body = _links(template)
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "text/html")], chunks=[body]))
    assert (got.status, got.body, events) == (200, body, [])


def test_a_cameras_mjpeg_stream_passes(make_stack: Callable[..., GuardedStack], events: list[AuditEvent]) -> None:
    """Flask's usual camera stream: ``multipart/x-mixed-replace`` of JPEG frames (review 21b)."""
    frame = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
    part = b"--frame\r\nContent-Type: image/jpeg\r\n\r\n" + frame + b"\r\n"
    chunks = [part, part, part]
    mjpeg = [("Content-Type", "multipart/x-mixed-replace; boundary=frame")]
    got = guarded(make_stack, events).send(Reply(headers=mjpeg, chunks=chunks, content_length=False))
    assert (got.status, got.body, events) == (200, b"".join(chunks), [])


@pytest.mark.parametrize(
    "records",
    [[b"[", b'{"user_id": null, "t": 1}', b"]"], [b"[", b'{"event": "user_id"}', b"]"]],
    ids=["null-owner", "key-as-a-value"],
)
def test_a_streamed_json_array_of_ordinary_records_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], records: list[bytes]
) -> None:
    """A streamed JSON array (JSONStream's layout) is one document, and its whole records hold
    their keys as it does: only a bare string naming a key cuts it (review 21b)."""
    chunks = [record + b"\n" for record in records]
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", "application/x-ndjson")], chunks=chunks, content_length=False)
    )
    assert (got.status, got.body, events) == (200, b"".join(chunks), [])
