"""Adversarial findings, session 13: what a page's type and its raw text mean to Chromium, judged
by Chromium's DOM (each attack below was served to headless Chromium 150 raw, and the leak read
from the frame's ``querySelectorAll('[data-owner]')``, an element's ``value`` or ``textContent``).

1. **An untyped page that opens with an XML declaration is XML.** Chromium sniffs a body served
   without a Content-Type (or with one that does not parse, such as ``bogus``) that opens with
   ``<?xml`` as ``text/xml`` (MIME Sniffing's rules for an unknown type) and renders it with its
   XML parser: ``<title><div data-owner="bob"/></title>`` is a div element, and a DOCTYPE's
   ``<!ENTITY e "<div data-owner='bob'/>">`` is expanded into the DOM. respguard read every
   sniffed page as HTML (its view's type was the header's, none): the title's content was cut as
   RCDATA, the DOCTYPE as a token, and the XML page's checks (entities, XSLT) never ran: 200.
   Fixed: a sniffed page's type is the one the browser sniffs (``_content.sniffed_page_type``):
   ``text/xml`` after ``<?xml``, else ``text/html``.
2. **``text/xsl`` is an XML document.** Blink renders a ``text/xsl`` response as an XML document
   (``DOMImplementation::IsXMLMIMEType``), served or framed; respguard had it as plain text,
   which ``HtmlAttribute`` does not read: ``<r><div data-owner="bob"/></r>`` went out (200).
   (Session 11 read it only as a framed ``data:`` URL's type, in a copy of the XML type test.)
   Fixed: ``_mime.is_xml_essence`` is the one XML type test (``*/*+xml``, ``text/xml``,
   ``application/xml``, ``text/xsl``), and the data: URL reader asks it.
3. **JSON a raw-text element shows.** A ``<textarea>`` holding a record (a pre-filled edit form,
   Django REST Framework's raw-data form) shows it in its box and gives it to a script's
   ``JSON.parse(el.value)``; ``<xmp>`` and ``<plaintext>`` show their text as ``<pre>`` does, and
   ``<title>`` in the tab. respguard reads the JSON a page shows in its text, but cut those
   elements' text out first: 200. Fixed: ``_markup.shown_raw_texts`` gives their text as shown
   (a textarea's and a title's character references decoded), and each that opens like JSON is
   read. (``<noembed>``, ``<noframes>``, ``<style>`` and ``<iframe>`` show nothing: not read.)
4. **The text after a page's last tag.** A page's text runs that open like JSON were read only
   when one of them came before the last tag (the last run was added after an early return):
   ``<p>hi</p>{"user_id": "bob"}`` and an unclosed ``<pre>{"user_id": "bob"}`` went out (200),
   shown by Chromium as the page's text. Fixed: the last run is a run too.
5. **A Refresh header that navigates to a data: URL.** Chromium honours a ``Refresh: 0;url=data:...``
   response header as it does a ``<meta http-equiv=refresh>``: a frame loading the response
   navigates to the data: URL and renders its page (bob's div posted by the frame's own script,
   whatever the response's body: a page, nothing, an image). respguard read a meta refresh's URL
   (session 11) but never the header: 200. Fixed: a response whose ``Refresh`` header names a
   data: URL of a page type (or one respguard can't decode) is refused (``scan_error``), where an
   HTML or JSON extractor reads pages; the header's page is no body respguard reads.
6. **A CDATA section's text.** In an XML page (XHTML, SVG) and in ``<svg>`` in HTML, a CDATA
   section is text, to its ``]]>``: ``<pre><![CDATA[{"user_id": "bob"}]]></pre>`` shows the record
   (Chromium's ``textContent`` and ``innerText``). respguard's reading of the text a page shows
   dropped it as a bogus comment (to its first ``>``): 200. Fixed: a CDATA section's text is text
   there (in HTML outside foreign content it is a comment the cut already dropped).
7. **JSON in a response header that a page's scripts parse.** htmx parses a
   response's ``HX-Trigger`` (``HX-Trigger-After-Swap``, ``-After-Settle``) and ``HX-Location``
   headers into the details of the events it fires; django-htmx's ``trigger_client_event(response,
   "loaded", {"user_id": ...})`` writes them. Chromium with htmx 2.0.11: the page's listener read
   ``e.detail.user_id == "bob-9c2e"`` from ``HX-Trigger: {"loaded": {"user_id": "bob-9c2e"}}`` on a
   page, or on a 204 (htmx's usual answer to a form). respguard read no header but its
   ``OwnerHeader``: 200 (204). Fixed: the JSON extractors read every other response header value
   that opens like JSON (``{``, ``[``) where it parses (``_bodies.scan_header_json``), as
   ``getResponseHeader`` gives it (Latin-1).
8. **A UTF-16 or UTF-32 JSON-lines stream with a byte-order mark.** requests' ``iter_lines()``
   gives each line's bytes, and ``json.loads(line)`` reads the first,
   ``\ufeff{"user_id": "bob"}`` in UTF-16, as JSON. respguard read the stream's lines as UTF-8 only (the
   byte-order mark replaced), and its batch proof searched that text, where the key's letters are
   apart: bob's line streamed out (200, whole), while the same line without a byte-order mark,
   and the whole body held, were read as ``json.loads`` detects them. Fixed: a line that is no
   UTF-8 is also read as ``json.loads`` reads its bytes (``Record.wide``, by
   ``_content.wide_json_encoding``), and the batch proof searches that reading too.
9. **An event stream or JSON lines in a charset that hides ASCII.** EventSource reads UTF-8
   whatever the charset; httpx-sse reads the stream in its declared charset (httpx's
   ``iter_lines``): on ``text/event-stream; charset=utf-16`` with UTF-16 bytes it gave
   ``['{"user_id": "bob-9c2e"}']``, and on ``charset=iso-2022-jp`` the same from
   ``da<ESC>(Bta: {"user_<ESC>(Bid": "bob-9c2e"}`` (an escape decodes to nothing).
   respguard read the events as the standard does (UTF-8: no ``data`` field at all, no key): the
   streams went out whole; so did UTF-16BE JSON lines without a byte-order mark, and every line
   after the first of UTF-16LE ones (each line's bytes start or end inside a character: read
   alone, they are no JSON), which httpx's ``iter_lines`` read whole. Fixed: an event stream or JSON
   lines whose charset hides ASCII to Python's codecs (UTF-16/32, EBCDIC; ISO-2022, HZ, UTF-7)
   are refused (``scan_error``) where their records are read: no browser reads them, and
   respguard can't read them as httpx does.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable

import pytest
from _attacks import FOREIGN_DIV, assert_blocked, assert_refused, guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, kinds
from ids import ALICE, BOB

from respguard import AuditEvent

XHTML = "http://www.w3.org/1999/xhtml"


def _passes(stack: GuardedStack, events: list[AuditEvent], page: bytes, headers: list[tuple[str, str]]) -> None:
    got = stack.send(Reply(headers=headers, chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []


# ------------------------------------------------------------------ 1. a sniffed XML page

_UNTYPED = [
    pytest.param([], id="no-type"),
    pytest.param([("Content-Type", "bogus")], id="invalid-type"),
    pytest.param([("Content-Type", "application/unknown")], id="unknown-type"),
]


def _xml(inner: str, prolog: str = "") -> bytes:
    return f'<?xml version="1.0"?>{prolog}<r xmlns="{XHTML}">{inner}</r>'.encode()


@pytest.mark.parametrize("headers", _UNTYPED)
@pytest.mark.parametrize("element", ["title", "textarea", "script", "style"])
def test_an_untyped_xml_page_has_no_raw_text(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], headers: list[tuple[str, str]], element: str
) -> None:
    """Chromium (no type): ``type=text/xml owners=["bob-9c2e"]`` for the div in the title."""
    page = _xml(f"<{element}>{FOREIGN_DIV}</{element}>")
    assert_blocked(guarded(make_stack, events), events, page, headers)


@pytest.mark.parametrize("headers", _UNTYPED)
def test_an_untyped_xml_pages_entities_are_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], headers: list[tuple[str, str]]
) -> None:
    """Chromium expands the entity: ``type=text/xml owners=["bob-9c2e"]``; no byte of the page's
    markup outside its DOCTYPE names the attribute."""
    entity = f"<!DOCTYPE r [<!ENTITY e \"<div xmlns='{XHTML}' data-owner='{BOB}'>x</div>\">]>"
    page = f'<?xml version="1.0"?>{entity}<r>&e;</r>'.encode()
    assert_refused(make_stack, events, page, "html:data-owner: XML entity or attribute declarations", headers)


def test_an_untyped_xml_pages_xslt_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    page = _xml(f"<o>{BOB}</o>", '<?xml-stylesheet type="text/xsl" href="/t.xsl"?>')
    assert_refused(make_stack, events, page, "html:data-owner: XML page with an XSLT stylesheet", [])


@pytest.mark.parametrize("headers", _UNTYPED)
def test_control_an_untyped_own_xml_page_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], headers: list[tuple[str, str]]
) -> None:
    page = _xml(f'<title><div data-owner="{ALICE}">x</div></title>')
    _passes(guarded(make_stack, events), events, page, headers)


@pytest.mark.parametrize("headers", _UNTYPED)
def test_control_an_untyped_html_page_is_still_cut(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], headers: list[tuple[str, str]]
) -> None:
    """Chromium sniffs it as HTML: the title's text holds no element."""
    page = f"<!doctype html><title>{FOREIGN_DIV}</title><p data-owner={ALICE}>hi</p>".encode()
    _passes(guarded(make_stack, events), events, page, headers)


def test_sniffed_page_types() -> None:
    from respguard._content import sniffed_page_type

    assert sniffed_page_type(b'<?xml version="1.0"?><r/>') == "text/xml"
    assert sniffed_page_type(b'\xef\xbb\xbf \n<?xml version="1.0"?><r/>') == "text/xml"
    assert sniffed_page_type(b"<!doctype html><p>") == "text/html"
    assert sniffed_page_type(b"<?XML version='1.0'?>") == "text/html"  # (Chromium: text/plain, no DOM)


# ------------------------------------------------------------------ 2. text/xsl


@pytest.mark.parametrize("content_type", ["text/xsl", "TEXT/XSL; charset=utf-8"])
def test_a_text_xsl_response_is_an_xml_page(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    """Chromium: ``type=text/xsl owners=["bob-9c2e"]``."""
    page = f'<?xml version="1.0"?><r xmlns="{XHTML}">{FOREIGN_DIV}</r>'.encode()
    assert_blocked(guarded(make_stack, events), events, page, [("Content-Type", content_type)])


def test_control_an_own_text_xsl_response_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    page = f'<?xml version="1.0"?><r xmlns="{XHTML}"><div data-owner="{ALICE}">x</div></r>'.encode()
    _passes(guarded(make_stack, events), events, page, [("Content-Type", "text/xsl")])


def test_xml_types() -> None:
    from respguard._mime import is_xml_essence, media_class, parse_mime_type

    for essence in ("text/xml", "application/xml", "text/xsl", "application/atom+xml", "image/svg+xml"):
        assert is_xml_essence(essence)
        assert media_class(parse_mime_type(essence)) == "html"
    for essence in ("text/html", "text/plain", "text/x-xsl", "application/xml-dtd"):
        assert not is_xml_essence(essence)


# ------------------------------------------------------------------ 3. JSON a raw-text element shows

_RECORD = '{"user_id": "' + BOB + '", "name": "Bob"}'
HTML_CT = [("Content-Type", "text/html; charset=utf-8")]


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(f"<textarea name=_content>{_RECORD}</textarea>", id="textarea"),
        pytest.param(f"<textarea>\n{html.escape(_RECORD)}</textarea>", id="textarea-references"),
        pytest.param(f"<TEXTAREA rows=10>{_RECORD}</TEXTAREA >", id="textarea-upper-case"),
        pytest.param(f"<xmp>{_RECORD}</xmp>", id="xmp"),
        pytest.param(f"<plaintext>{_RECORD}", id="plaintext"),
        pytest.param(f"<title>{html.escape(_RECORD)}</title>", id="title"),
        pytest.param(f"<select><option>x</option></select><textarea>{_RECORD}</textarea>", id="after-select"),
        pytest.param(f'<textarea>{_RECORD[:-1]}, "note": "<b>"}}</textarea>', id="textarea-holding-a-tag"),
    ],
)
def test_json_a_raw_text_element_shows_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], shown: str
) -> None:
    """Chromium: ``JSON.parse(el.value)`` (``el.textContent`` for xmp, title) gives ``bob-9c2e``."""
    page = f"<!doctype html><form>{shown}</form>".encode()
    assert_blocked(guarded(make_stack, events), events, page, HTML_CT)


@pytest.mark.parametrize(
    "hidden",
    [
        pytest.param(f"<xmp>{html.escape(_RECORD)}</xmp>", id="xmp-references-are-text"),
        pytest.param(f"<noembed>{_RECORD}</noembed>", id="noembed"),
        pytest.param(f"<style>{_RECORD}</style>", id="style"),
        pytest.param(f"<!-- <textarea>{_RECORD}</textarea> -->", id="comment"),
        pytest.param(f"<textarea>Saved: {_RECORD}</textarea>", id="not-opening-like-json"),
        pytest.param('<textarea>{"user_id": "' + ALICE + '"}</textarea>', id="own"),
    ],
)
def test_control_raw_text_that_shows_no_foreign_json_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], hidden: str
) -> None:
    page = f"<!doctype html><p data-owner={ALICE}>hi</p>{hidden}".encode()
    _passes(guarded(make_stack, events), events, page, HTML_CT)


def test_shown_raw_texts() -> None:
    from respguard._markup import shown_raw_texts

    page = "<title>a&amp;b</title><textarea>&lt;x</textarea><xmp>&lt;y</xmp><style>s</style><plaintext>z"
    assert shown_raw_texts(page) == ["a&b", "<x", "&lt;y", "z"]
    assert shown_raw_texts("<p>no raw text</p>") == []
    assert shown_raw_texts("<!-- <textarea>x</textarea> -->") == []
    # (Speed: only a page where one of them may open like JSON is read for them.)
    assert shown_raw_texts("<title>My page</title><textarea>x</textarea>") == []
    assert shown_raw_texts('<title>t</title><textarea title="a>b">\n {"a": 1}</textarea>') == ["t", '\n {"a": 1}']


# ------------------------------------------------------------------ 4. the text after the last tag


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(f"<!doctype html><p>hi</p>{_RECORD}", id="after-the-last-tag"),
        pytest.param(f"<!doctype html><pre>{html.escape(_RECORD)}\n", id="unclosed-pre"),
        pytest.param(f"<p>hi</p>\n{_RECORD}\n", id="last-line"),
    ],
)
def test_json_after_a_pages_last_tag_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str
) -> None:
    assert_blocked(guarded(make_stack, events), events, page.encode(), HTML_CT)


# ------------------------------------------------------------------ 5. a Refresh header to a data: URL

_POSTS = f"<div data-owner='{BOB}'>x</div>"
REFRESH_REFUSED = "Refresh header names a data: URL page"


def _b64(mime: str, text: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("refresh", "headers", "body"),
    [
        pytest.param("0;url=" + _b64("text/html", _POSTS), HTML_CT, b"<p>hi</p>", id="page"),
        pytest.param("0; URL='" + _b64("text/html", _POSTS) + "'", [], b"", id="empty-body"),
        pytest.param("1;url=data:text/html," + _POSTS, [("Content-Type", "image/png")], b"\x89PNG", id="image"),
        pytest.param(
            "0;url=" + _b64("image/svg+xml", f"<svg xmlns='http://www.w3.org/2000/svg'>{_POSTS}</svg>"),
            [("Content-Type", "application/json")],
            b"{}",
            id="svg-page",
        ),
    ],
)
def test_a_refresh_header_to_a_data_url_page_is_refused(
    make_stack: Callable[..., GuardedStack],
    events: list[AuditEvent],
    refresh: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    """Chromium: the frame's data: page posts ``["bob-9c2e"]``."""
    assert_refused(make_stack, events, body, REFRESH_REFUSED, [*headers, ("Refresh", refresh)])


@pytest.mark.parametrize(
    "refresh", ["5;url=/next", "0", "0;url=data:text/plain,hello", "0;url=https://example.test/next"]
)
def test_control_a_refresh_header_to_another_url_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], refresh: str
) -> None:
    page = f"<p data-owner={ALICE}>hi</p>".encode()
    got = guarded(make_stack, events).send(Reply(headers=[*HTML_CT, ("Refresh", refresh)], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []


# ------------------------------------------------------------------ 6. a CDATA section's text

XHTML_CT = [("Content-Type", "application/xhtml+xml")]


@pytest.mark.parametrize(
    ("page", "headers"),
    [
        pytest.param(
            f'<html xmlns="{XHTML}"><body><pre><![CDATA[{_RECORD[:-1]}, "note": "<b>"}}]]></pre></body></html>',
            XHTML_CT,
            id="xhtml-pre",
        ),
        pytest.param(
            f'<html xmlns="{XHTML}"><body><pre>{{"user_id": <![CDATA["{BOB}"]]>}}</pre></body></html>',
            XHTML_CT,
            id="xhtml-part-of-a-record",
        ),
        pytest.param(f"<r><![CDATA[{_RECORD}]]></r>", [("Content-Type", "application/xml")], id="xml"),
        pytest.param(f"<!doctype html><svg><text><![CDATA[{_RECORD}]]></text></svg>", HTML_CT, id="svg-in-html"),
    ],
)
def test_json_a_cdata_section_shows_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str, headers: list[tuple[str, str]]
) -> None:
    """Chromium: the pre's (the svg text's) ``textContent`` is the record."""
    assert_blocked(guarded(make_stack, events), events, page.encode(), headers)


def test_control_a_cdata_bogus_comment_in_html_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """In HTML outside foreign content ``<![CDATA[...>`` is a bogus comment: nothing shows."""
    page = f"<!doctype html><p data-owner={ALICE}>hi</p><pre><![CDATA[{_RECORD}]]></pre>".encode()
    _passes(guarded(make_stack, events), events, page, HTML_CT)


# ------------------------------------------------------------------ 7. JSON in a response header


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        pytest.param(
            200, [*HTML_CT, ("HX-Trigger", json.dumps({"loaded": {"user_id": BOB}}))], b"<p>ok</p>", id="page"
        ),
        pytest.param(204, [("HX-Trigger", json.dumps({"saved": {"user_id": BOB}}))], b"", id="no-content"),
        pytest.param(
            200,
            [*HTML_CT, ("HX-Trigger-After-Swap", json.dumps({"shown": {"customer": {"owner_id": BOB}}}))],
            b"<p>ok</p>",
            id="after-swap-nested",
        ),
        pytest.param(
            200, [("HX-Location", json.dumps({"path": "/cards", "values": {"owner_id": [BOB]}}))], b"", id="location"
        ),
        pytest.param(
            200,
            [("Content-Type", "image/png"), ("X-Up-Context", '  {"user_id": "' + BOB + '"}')],
            b"\x89PNG",
            id="image",
        ),
    ],
)
def test_json_in_a_response_header_is_read(
    make_stack: Callable[..., GuardedStack],
    events: list[AuditEvent],
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    """Chromium with htmx: the event listener's ``e.detail.user_id`` is ``bob-9c2e``."""
    stack = guarded(make_stack, events)
    got = stack.send(Reply(status=status, headers=headers, chunks=[body] if body else []))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


def test_json_in_a_header_the_guard_saw_plain_before_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """The quiet-head shortcut (a head whose names mean nothing to the plan) still reads a value
    that opens like JSON, under a name the guard has seen before with a plain value."""
    stack = guarded(make_stack, events)
    page = f"<p data-owner={ALICE}>hi</p>".encode()
    for _ in range(2):  # the name is learned, then a head of the same names takes the shortcut
        got = stack.send(Reply(headers=[*HTML_CT, ("HX-Trigger", "loaded")], chunks=[page]))
        assert (got.status, got.body) == (200, page)
    assert events == []
    for value in (json.dumps({"loaded": {"user_id": BOB}}), "  " + json.dumps([{"user_id": BOB}])):
        got = stack.send(Reply(headers=[*HTML_CT, ("HX-Trigger", value)], chunks=[page]))
        assert (got.status, got.body) == (403, BLOCK_BODY)
        assert kinds(events) == [("owner_mismatch", "blocked")]
        events.clear()


@pytest.mark.parametrize(
    "header",
    [
        ("HX-Trigger", json.dumps({"loaded": {"user_id": ALICE}})),
        ("HX-Trigger", "loaded, saved"),
        ("HX-Trigger", '{"user_id": ' + BOB),  # (no JSON to htmx either: its parseJSON logs an error)
        ("Report-To", '{"group": "g", "max_age": 60, "endpoints": [{"url": "https://r.example.test"}]}'),
    ],
)
def test_control_a_header_naming_no_foreign_owner_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], header: tuple[str, str]
) -> None:
    page = f"<p data-owner={ALICE}>hi</p>".encode()
    got = guarded(make_stack, events).send(Reply(headers=[*HTML_CT, header], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []


# ------------------------------------------------------------------ 8. a wide JSON-lines stream

NDJSON_LINE = '{"user_id": "%s", "name": "x"}\n'


@pytest.mark.parametrize(
    ("charset", "codec"), [("utf-16", "utf-16"), ("utf-16be", "utf-16"), ("utf-32", "utf-32")], ids=str
)
def test_a_wide_json_lines_stream_with_a_byte_order_mark_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str, codec: str
) -> None:
    """requests: ``[json.loads(line) for line in response.iter_lines()]`` (its lines are bytes, and
    ``json.loads`` reads a UTF-16/32 byte-order mark) gives bob's record first."""
    body = (NDJSON_LINE % BOB).encode(codec)
    if charset == "utf-16be":
        body = (NDJSON_LINE % BOB).encode("utf-16-be")
        body = b"\xfe\xff" + body
    headers = [("Content-Type", "application/x-ndjson")]  # (with a UTF-16 charset: refused, 9.)
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=False))
    assert (got.status, got.body) == (200, b"")  # (the head went out; the line did not)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_control_an_own_wide_json_lines_stream_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    body = (NDJSON_LINE % ALICE).encode("utf-16")
    headers = [("Content-Type", "application/x-ndjson")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=False))
    assert (got.status, got.body) == (200, body)
    assert events == []


def test_a_wide_json_line_reads_as_json_loads_reads_it() -> None:
    from respguard._streams import JsonLinesReader

    reader = JsonLinesReader(1 << 16)
    records = reader.feed((NDJSON_LINE % BOB).encode("utf-16")) + reader.end()
    assert records[0].wide == '{"user_id": "' + BOB + '", "name": "x"}'
    assert records[0].data.startswith("\ufffd\ufffd{")  # (its data and text: the UTF-8 reading)


# ------------------------------------------------------------------ 9. an event stream in a wide charset

EVENT = 'data: {"user_id": "%s"}\n\n'


@pytest.mark.parametrize(
    ("charset", "codec"),
    [("utf-16", "utf-16"), ("UTF-16LE", "utf-16-le"), ("utf-32", "utf-32"), ("iso-2022-jp", "escaped")],
)
@pytest.mark.parametrize("length", [False, True], ids=["stream", "with-length"])
def test_an_event_stream_in_a_wide_charset_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str, codec: str, length: bool
) -> None:
    """httpx-sse over ``text/event-stream; charset=utf-16``: ``['{"user_id": "bob-9c2e"}']``."""
    if codec == "escaped":
        body = b'da\x1b(Bta: {"user_\x1b(Bid": "' + BOB.encode() + b'"}\n\n'
    else:
        body = (EVENT % BOB).encode(codec)
    headers = [("Content-Type", f"text/event-stream; charset={charset}")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=length))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "event stream in a charset that hides ASCII"


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "shift_jis", "cp037-unknown"])
def test_control_an_own_event_stream_in_another_charset_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str
) -> None:
    body = (EVENT % ALICE).encode()
    headers = [("Content-Type", f"text/event-stream; charset={charset}")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=False))
    assert (got.status, got.body) == (200, body)
    assert events == []


@pytest.mark.parametrize("codec", ["utf-16-be", "utf-16-le", "utf-32-be", "cp037"])
@pytest.mark.parametrize("length", [False, True], ids=["stream", "with-length"])
def test_json_lines_in_a_wide_charset_are_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], codec: str, length: bool
) -> None:
    """httpx's ``iter_lines`` on ``charset=utf-16-be``: alice's line, then bob's."""
    body = (NDJSON_LINE % ALICE + NDJSON_LINE % BOB).encode(codec)
    headers = [("Content-Type", f"application/x-ndjson; charset={codec}")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[body], content_length=length))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "JSON lines in a charset that hides ASCII"
