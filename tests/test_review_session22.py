"""Review 22p of attackP's merge (responses): what it found, each written as the attack first.

1. **An XML page's comment or processing instruction between the halves of an address.** attackP
   showed an XML page's comments and processing instructions, inline: ``person0@exa<!---->mple.com``
   in a feed's ``<author>`` (or an SVG ``<text>``), which a feed reader, ``textContent`` and
   Chromium's rendering all read as ``person0@example.com``, counted as two halves: 25 such
   authors went out (before attackP they were blocked). Fixed (``_pii.render_html``): their text is
   read apart, and the text around them joins; an element that is not inline (a feed's
   ``<item>``) is a line of its own in an XML page, as a feed reader shows it.
2. **``<![CDATA[`` in an HTML page.** HTML makes it a bogus comment to its first ``>``; attackP read
   it as text to its ``]]>``, raw (references undecoded, tags kept), so a list of 25 addresses after
   ``<![CDATA[>`` counted none. Fixed: a CDATA section is text in an XML page only; in HTML the
   flow resumes at the first ``>`` and the section's text is read apart too (inside ``<svg>`` it is
   text).
3. **A log's indented continuation lines are no folds (a false block).** Unfolding every text
   joined ``notifications@example.com`` to the word on the next, tab-indented line: 22 lines were 22
   foreign addresses (403). Fixed (``_pii._unfolded``): only an iCalendar or vCard text
   (``BEGIN:VCALENDAR``, ``BEGIN:VCARD``) is unfolded.
4. **Folds its readers take that respguard didn't.** The ``icalendar`` library unfolds
   ``(\\r?\\n)+[ \\t]``, vobject a bare CR too: 25 attendees folded by ``\\r\\n\\r\\n ``, ``\\n\\n `` or
   ``\\r `` went out. Fixed (``_pii._FOLD``), linear in a body of line breaks.
5. **A Refresh header's text data: URL: phone numbers, and a guard with the bulk check alone.**
   attackP's refusal looked for ``{``, ``[`` or ``@`` and only where a page or JSON extractor reads:
   25 phone numbers (``BulkPII(kinds=("email", "phone"))``), or 25 addresses under a guard whose
   only extractor is an ``OwnerHeader``, went out. Fixed (``_markup.refresh_frames_a_page``,
   ``_plan.plan_response``): a digit counts too, and the bulk check is a reader.
(6, the Content-Length spellings servers read, 5, a Content-Length of thousands of digits, and 8,
the UTF-8 reading of a page under the replacement decoder for any request, are in
tests/test_attack_session22_attackP.py.)

Review 22r, on those fixes:

6. **The fold's alternatives were exponential.** ``(?:\r\n|\r|\n)+[ \t]`` reads a CRLF two ways:
   24 CRLFs not followed by a space, in a text holding ``BEGIN:VCARD`` and 30 ``@``, took 2.7 s, each
   two more four times that (a stall of the app). Fixed: one character class, ``[\r\n]+``.
7. **Every element of an XML page was a line of its own.** ``person0@exa<x/>mple.com`` in a feed's
   ``<author>`` (one address to ``textContent``) and XHTML's ``<label>``, ``<big>``, ``<button>``
   split 25 addresses (blocked before review 22p). Fixed: in an XML page an element is apart only
   from a sibling that follows it (an end tag, then a start tag); one within a run of text joins it;
   XHTML's inline names are those Chromium's stylesheet shows inline.
8. **A folded ``BEGIN:VCARD``** (``BEGIN:VC`` CRLF `` ARD``) turned unfolding off: the text is
   unfolded first, then looked at, as its readers do.
9. **A NUL in a response's charset** (``text/plain; charset="a\x00b"``) raised ``ValueError`` out
   of the middleware: one ``_encoding.python_codec`` lookup for every charset label, requests and
   responses.
10. **A calendar of one person's events was bulk data (a false block).** Each event's
    ``UID:...@google.com`` counted as an address: 25 standups were 25 people. An iCalendar text's
    ``UID`` and ``RELATED-TO`` lines (an event's id) are not counted.
12. **WSGI: header lines Django reads where Werkzeug sees none.** Django cuts a multipart body at
    its boundary wherever it stands and reads a header block after it: the rest of a delimiter line
    (``--XyZ Content-Disposition: form-data; name="customer_id"``, led by a tab, ``\x0b``, U+00A0, or
    after ``x`` CRLF), a block after the close (``--XyZ--`` CRLF ``Content-Disposition...``), a block
    in the preamble. Werkzeug read a note, and a Django app under ``WSGIMiddleware`` wrote bob's
    record. Fixed (``_write._refuse_django_header_lines``): refused as ambiguous.
Review 22s, on those:

13. **Prose around a multipart body is no part (false refusals).** Item 12 refused any CRLF CRLF
    in the preamble or after the close: ``--XyZ--`` CRLF CRLF, an epilogue of paragraphs, a blank
    preamble, ``email.mime``'s "This is a multi-part message in MIME format." (RFC 2046: both are
    ignored). Fixed (``_write._django_reads_a_part``): refused only where the text Django cuts
    out has a header block with a ``Content-Disposition`` line, as Django's
    ``parse_boundary_stream`` reads a part.
14. **XML siblings within a run of text.** ``person0@<e>exa</e><f>mple.com</f>`` in an
    ``<email>`` (its ``textContent`` is the address) was split between the siblings: an XML element
    is apart from its sibling only where their parent holds no text of its own (each open
    element is followed); a prefixed name (``h:b``) is looked up by its local name.
15. **A calendar's folded UID** (RFC 5545 folds at 75 octets: ``UID:`` and 70 characters, then
    `` ...@calendar.example.com``) still counted its continuation line: 25 events of one person
    were bulk data. The id's continuation lines go with it.
16. **A text that only mentions BEGIN:VCALENDAR** had its ``uid:`` lines (an LDIF export's
    addresses) dropped: only a text that opens as a calendar is one.
Review 22t, on those:

17. **A part after the close.** Item 13 sent only the text right after ``--XyZ--`` to the part
    test; a later ``--XyZ`` CRLF part (bob's ``customer_id``, which Django reads and Werkzeug
    never does) took the ordinary path and the write ran on WSGI. Fixed: everything after the
    close goes to the part test.
18. **A page's text-holding parent hid its children's addresses.** With the sibling rule, an
    element holding text of its own (``<contacts>Team:<m>p0@...</m>...``), or one a block name
    (``<summary>``) had marked so, joined all its children: 30 addresses counted none. Fixed: an
    XML page is read twice, as its ``textContent`` joins it and as its tree shows it (every element
    apart), the larger count being its count; block names take part in the element stack too.
11. **A bodiless write under a wildcard type** (``DELETE`` with ``Content-Type: */*``) was refused:
    an empty body is no body to any parser (the wildcard refusal is in
    tests/test_attack_session22_review.py).
"""

from __future__ import annotations

import codecs
import urllib.parse
from collections.abc import Callable

import pytest
from _attacks import HTML_CT, guarded
from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply, assert_block, kinds
from ids import BOB
from test_write_middleware import WriteApp, login_cookie, send_write

from respguard import AuditEvent, BulkPII, OwnerHeader

BULK = [("bulk_personal_data", "blocked")]


def _blocked(stack: GuardedStack, events: list[AuditEvent], content_type: str, body: bytes) -> None:
    got = stack.send(Reply(headers=[("Content-Type", content_type)], chunks=[body]))
    assert_block(got.status, got.headers, got.body, original=body)
    assert kinds(events) == BULK


def _passes(stack: GuardedStack, events: list[AuditEvent], content_type: str, body: bytes) -> None:
    got = stack.send(Reply(headers=[("Content-Type", content_type)], chunks=[body]))
    assert (got.status, got.body) == (200, body)
    assert events == []


# ------------------------------------------------------------------ 1. a comment between an address's halves


def _feed(separator: str) -> bytes:
    items = "".join(
        f"<item><title>Post {n}</title><author>person{n}@exa{separator}mple.com</author></item>" for n in range(25)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>news</title>{items}</channel></rss>'.encode()


@pytest.mark.parametrize("separator", ["<!---->", "<!-- x -->", "<?x?>", "<?x y?>", ""])
@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/xml", "image/svg+xml"])
def test_an_address_split_by_an_xml_comment_is_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], separator: str, content_type: str
) -> None:
    _blocked(guarded(make_stack, events), events, content_type, _feed(separator))


def test_control_a_feed_of_15_authors_in_cdata_and_comments_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    items = "".join(
        f"<item><!-- by person{n}@example.com --><author><![CDATA[person{n}@example.com]]></author></item>"
        for n in range(15)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet type="text/css" href="/feed.css"?>'
        f'<rss version="2.0"><channel>{items}</channel></rss>'
    ).encode()
    _passes(guarded(make_stack, events), events, "application/rss+xml; charset=utf-8", body)


# ------------------------------------------------------------------ 2. <![CDATA[ in an HTML page


@pytest.mark.parametrize(
    "address",
    ["person{n}&#64;example.com", "person{n}@<b></b>example.com", "person{n}@exa<!---->mple.com"],
    ids=["reference", "tag-inside", "comment-inside"],
)
def test_a_cdata_opening_in_html_hides_no_address(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], address: str
) -> None:
    """Chromium's DOM: ``<!--[CDATA[--><ul><li>person0@example.com</li>...``."""
    items = "".join("<li>" + address.format(n=n) + "</li>" for n in range(25))
    body = f"<!DOCTYPE html><html><body><![CDATA[><ul>{items}</ul><!-- ]]> --></body></html>".encode()
    _blocked(guarded(make_stack, events), events, "text/html; charset=utf-8", body)


# ------------------------------------------------------------------ 3, 4. folded lines


def test_control_a_log_with_indented_continuation_lines_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    words = "opened closed merged assigned reopened labelled commented mentioned pinned locked unlocked renamed"
    words += " moved starred watched forked tagged released reviewed approved dismissed requested"
    body = "".join(f"notifications@example.com\n\t{w} issue #{n}\n" for n, w in enumerate(words.split())).encode()
    _passes(guarded(make_stack, events), events, "text/plain; charset=utf-8", body)


def test_control_one_persons_folded_vcard_and_a_19_address_utf16_export_pass(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    card = (
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Carol Example\r\nEMAIL;TYPE=work:carol.example.long@ex\r\n"
        b" ample.com\r\nEMAIL;TYPE=home:carol@example.org\r\nNOTE:a line long enough to be folded at\r\n"
        b"  seventy five octets\r\nEND:VCARD\r\n"
    )
    stack = guarded(make_stack, events)
    _passes(stack, events, "text/vcard", card)
    csv = "name,email\r\n" + "".join(f"Pérson {n},person{n}@example.com\r\n" for n in range(19))
    _passes(stack, events, "text/csv; charset=utf-16", codecs.BOM_UTF16_LE + csv.encode("utf-16-le"))


@pytest.mark.parametrize(
    "fold", [b"\r\n ", b"\n\t", b"\r\n\r\n ", b"\n\n ", b"\r "], ids=["crlf", "lf-tab", "crlf-crlf", "lf-lf", "cr"]
)
def test_a_calendar_folded_as_its_readers_unfold_is_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], fold: bytes
) -> None:
    lines = [f"ATTENDEE;CN=P{n}:mailto:person{n}@".encode() + fold + b"example.com" for n in range(25)]
    body = b"\r\n".join([b"BEGIN:VCALENDAR", b"BEGIN:VEVENT", *lines, b"END:VEVENT", b"END:VCALENDAR", b""])
    _blocked(guarded(make_stack, events), events, "text/calendar", body)


# ------------------------------------------------------------------ 5. a Refresh header's text data: URL

REFRESH_REFUSED = "Refresh header names a data: URL page"


def test_a_refresh_to_a_list_of_phone_numbers_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    phones = "\n".join(f"+1 415 555 {1000 + n:04d}" for n in range(25))
    stack = guarded(make_stack, events, bulk_pii=BulkPII(kinds=("email", "phone")))
    refresh = ("Refresh", "0;url=data:text/plain," + urllib.parse.quote(phones))
    got = stack.send(Reply(headers=[HTML_CT, refresh], chunks=[b"<p>hi</p>"]))
    assert_block(got.status, got.headers, got.body, original=b"<p>hi</p>")
    assert kinds(events) == [("scan_error", "blocked")] and events[0].reason == REFRESH_REFUSED


def test_a_refresh_to_an_address_list_is_refused_by_the_bulk_check_alone(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = make_stack(secret_key=SECRET, extractors=[OwnerHeader()], bind_sessions=False, on_event=events.append)
    stack.inner_lint = False
    addresses = "\n".join(f"person{n}@example.com" for n in range(25))
    refresh = ("Refresh", "0;url=data:text/plain," + urllib.parse.quote(addresses))
    got = stack.send(Reply(headers=[HTML_CT, refresh], chunks=[b"<p>hi</p>"]))
    assert_block(got.status, got.headers, got.body, original=b"<p>hi</p>")
    assert kinds(events) == [("scan_error", "blocked")] and events[0].reason == REFRESH_REFUSED


# ------------------------------------------------------------------ review 22r


def test_a_run_of_crlfs_in_a_vcard_text_is_read_in_linear_time(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """(6.) With the old pattern this case took minutes (2^30 ways to read 30 CRLFs)."""
    people = "".join(f"EMAIL:person{n}@example.com\r\n" for n in range(25))
    body = ("BEGIN:VCARD\r\n" + people + "\r\n" * 30 + "x").encode()
    _blocked(guarded(make_stack, events), events, "text/vcard", body)


@pytest.mark.parametrize(
    ("content_type", "item"),
    [
        ("application/rss+xml", "<item><author>person{n}@exa<x/>mple.com</author></item>"),
        ("application/rss+xml", "<item><author>person{n}@exa<x></x>mple.com</author></item>"),
        ("application/xhtml+xml", "<li>person{n}@<label>example.com</label></li>"),
        ("application/xhtml+xml", "<li>person{n}@<big>example.com</big></li>"),
    ],
    ids=["empty-element", "empty-pair", "label", "big"],
)
def test_an_element_within_an_address_in_an_xml_page_joins_it(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, item: str
) -> None:
    """(7.)"""
    items = "".join(item.format(n=n) for n in range(25))
    body = f'<?xml version="1.0"?><rss version="2.0" xmlns="http://www.w3.org/1999/xhtml"><channel>{items}</channel></rss>'
    _blocked(guarded(make_stack, events), events, content_type, body.encode())


def test_a_vcard_list_whose_begin_line_is_folded_is_unfolded(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """(8.)"""
    cards = "".join(f"BEGIN:VC\r\n ARD\r\nEMAIL:person{n}@exa\r\n mple.com\r\nEND:VCARD\r\n" for n in range(25))
    _blocked(guarded(make_stack, events), events, "text/vcard", cards.encode())


@pytest.mark.parametrize(
    "content_type",
    ['text/plain; charset="a\x00b"', "text/csv; charset=a\x00b", "text/html; charset=a\x00b"],
    ids=["text", "csv", "html"],
)
def test_a_nul_in_a_response_charset_raises_nothing(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    """(9.) The label names no codec: read as none (UTF-8, windows-1252 for a page), and counted."""
    body = "".join(f"person{n}@example.com\n" for n in range(25)).encode()
    _blocked(guarded(make_stack, events), events, content_type, body)


def test_control_a_calendar_of_one_persons_events_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """(10.)"""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Google Inc//Google Calendar 70.9054//EN"]
    for n in range(25):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{n:04d}kukuqrfedlm2f9t0vinvmt3a1@google.com",
            f"RELATED-TO:{n:04d}parent@google.com",
            f"SUMMARY:Standup {n}",
            "ORGANIZER;CN=Me:mailto:me@example.com",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    body = ("\r\n".join(lines) + "\r\n").encode()
    _passes(guarded(make_stack, events), events, "text/calendar; charset=utf-8", body)


def test_a_calendar_of_25_attendees_is_still_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    lines = ["BEGIN:VCALENDAR", "BEGIN:VEVENT", "UID:1@google.com"]
    lines += [f"ATTENDEE;CN=P{n}:mailto:person{n}@example.com" for n in range(25)]
    body = ("\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])).encode()
    _blocked(guarded(make_stack, events), events, "text/calendar", body)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("content_type", ["*/*", "application/*"])
def test_a_bodiless_write_under_a_wildcard_type_runs(kind: str, content_type: str) -> None:
    """(11.)"""
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=b"", content_type=content_type, cookie=login_cookie())
    assert (status, out, events) == (200, b"written", [])


_NOTE = b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
_OWNER = b'Content-Disposition: form-data; name="customer_id"\r\n\r\n' + BOB.encode() + b"\r\n"
_WRITES = [
    *((f"line-rest-{n}", _NOTE + b"--XyZ" + sep + _OWNER + b"--XyZ--\r\n") for n, sep in
      enumerate([b" ", b"\t", b"\x0b", b"\xc2\xa0", b"x\r\n"])),
    ("after-the-close", _NOTE + b"--XyZ--\r\n" + _OWNER),
    ("preamble", _OWNER + _NOTE + b"--XyZ--\r\n"),
]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("body", [b for _, b in _WRITES], ids=[n for n, _ in _WRITES])
def test_a_header_block_django_reads_outside_werkzeugs_parts_is_refused(kind: str, body: bytes) -> None:
    """(12.) Django's MultiPartParser reads customer_id=bob in each (tests/test_attack_session22_review.py
    checks Django's reading of such bodies)."""
    app = WriteApp()
    options = {"content_type": "multipart/form-data; boundary=XyZ", "cookie": login_cookie()}
    status, headers, out, events = send_write(kind, app, body=body, **options)
    assert app.writes == []
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert BOB not in events[0].to_json()


# ------------------------------------------------------------------ review 22s

_PARTS = (
    b'--XyZ\r\nContent-Disposition: form-data; name="customer_id"\r\n\r\n'
    + b"alice-7f3a\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
)
_PROSE = [
    ("trailing-crlfs", _PARTS + b"--XyZ--\r\n\r\n"),
    ("epilogue", _PARTS + b"--XyZ--\r\nend of message\r\n\r\nsignature\r\n"),
    ("blank-preamble", b"\r\n\r\n" + _PARTS + b"--XyZ--\r\n"),
]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("body", [b for _, b in _PROSE], ids=[n for n, _ in _PROSE])
def test_control_prose_around_a_multipart_body_is_no_part(kind: str, body: bytes) -> None:
    """(13.)"""
    app = WriteApp()
    options = {"content_type": "multipart/form-data; boundary=XyZ", "cookie": login_cookie()}
    status, _, out, events = send_write(kind, app, body=body, **options)
    assert (status, out, events) == (200, b"written", [])


def test_control_a_prose_preamble_is_no_part_to_the_wsgi_check() -> None:
    """(13.) python-multipart refuses any preamble text on ASGI (as before); Werkzeug skips it."""
    body = b"This is a multi-part message in MIME format.\r\n\r\n" + _PARTS + b"--XyZ--\r\n"
    app = WriteApp()
    options = {"content_type": "multipart/form-data; boundary=XyZ", "cookie": login_cookie()}
    status, _, out, events = send_write("wsgi", app, body=body, **options)
    assert (status, out, events) == (200, b"written", [])


@pytest.mark.parametrize(
    "item",
    [
        "<entry><author><email>person{n}@<e>exa</e><f>mple.com</f></email></author></entry>",
        "<item><author>contact: person{n}@<d>example</d><t>.com</t></author></item>",
        "<item><author>person{n}@exa<x></x><y></y>mple.com</author></item>",
        '<item><author xmlns:h="http://www.w3.org/1999/xhtml">person{n}@<h:b>exa</h:b><h:i>mple.com</h:i></author></item>',
    ],
    ids=["nested-siblings", "after-text", "two-empty-pairs", "prefixed"],
)
def test_siblings_within_a_run_of_text_join_it(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], item: str
) -> None:
    """(14.)"""
    items = "".join(item.format(n=n) for n in range(25))
    body = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">{items}</feed>'.encode()
    _blocked(guarded(make_stack, events), events, "application/atom+xml", body)


def test_control_a_calendar_with_folded_long_uids_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """(15.)"""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0"]
    for n in range(25):
        uid = ["UID:" + "a" * 70, f" {n:04d}-event-series-recurrence-id@calendar.example.com"]
        lines += ["BEGIN:VEVENT", *uid, "ORGANIZER:mailto:me@example.com", "END:VEVENT"]
    body = ("\r\n".join([*lines, "END:VCALENDAR", ""])).encode()
    _passes(guarded(make_stack, events), events, "text/calendar", body)


def test_uid_lines_of_a_text_that_only_mentions_a_calendar_are_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """(16.)"""
    body = "see BEGIN:VCALENDAR docs\n" + "".join(f"uid: person{n}@example.com\n" for n in range(25))
    _blocked(guarded(make_stack, events), events, "text/plain", body.encode())


# ------------------------------------------------------------------ review 22t


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_part_after_the_close_is_refused(kind: str) -> None:
    """(17.) Django's request.POST: customer_id alice, then bob (the last wins)."""
    own = b'--XyZ\r\nContent-Disposition: form-data; name="customer_id"\r\n\r\nalice-7f3a\r\n--XyZ--\r\n'
    body = own + b"--XyZ\r\n" + _OWNER + b"--XyZ--\r\n"
    app = WriteApp()
    options = {"content_type": "multipart/form-data; boundary=XyZ", "cookie": login_cookie()}
    status, _, out, events = send_write(kind, app, body=body, **options)
    assert app.writes == []
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize(
    "page",
    [
        "<contacts><summary>Team list</summary>{items}</contacts>",
        "<contacts>Team:{items}</contacts>",
    ],
    ids=["block-name-sibling", "text-holding-parent"],
)
def test_children_of_a_text_holding_parent_are_counted_apart(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str
) -> None:
    """(18.)"""
    items = "".join(f"<email>person{n}@example.com</email>" for n in range(30))
    body = ('<?xml version="1.0"?>' + page.format(items=items)).encode()
    _blocked(guarded(make_stack, events), events, "application/xml", body)
