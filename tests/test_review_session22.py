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
"""

from __future__ import annotations

import codecs
import urllib.parse
from collections.abc import Callable

import pytest
from _attacks import HTML_CT, guarded
from conftest import SECRET, GuardedStack, Reply, assert_block, kinds

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
