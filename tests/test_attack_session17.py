"""Adversarial findings, attack session 17: the response-side readers of session 13, read as their
clients read them (each leak confirmed with headless Chromium 156 or the client library named).

1. **A repeated response header is one value to a script.** ``fetch().headers.get()`` and
   ``XMLHttpRequest.getResponseHeader()`` (htmx's ``handleTriggerHeader``) give a header sent
   more than once as its values, each trimmed of white space, joined by ``", "``; so do httpx and
   requests. ``HX-Trigger: {"loaded": 1`` then ``HX-Trigger: "user_id": "bob-9c2e"}`` is
   ``{"loaded": 1, "user_id": "bob-9c2e"}`` to Chromium's ``JSON.parse``; respguard read each
   value alone (the first does not parse, the second does not open like JSON): 200, on a page and
   on htmx's 204. Fixed (``_plan.Planner._read_head``): a name whose value opens like JSON is also
   read as its values combined, as Fetch combines them.
2. **A refresh URL quoted with white space before it.** The HTML standard's shared declarative
   refresh steps take the URL after ``url=`` to the closing quote, and the URL parser drops the
   C0 controls and spaces around it: Chromium navigates ``Refresh: 0; url=' data:text/html;base64,...'``
   (a space, a form feed, a U+0001 after the quote) to the page, as it does a ``<meta
   http-equiv=refresh>`` with that content. respguard looked for the quote only right before
   ``data:``, so it read the URL to the end of the value, the closing quote included, which a
   base64 body does not survive: no page (200). Fixed (``_markup._refresh_url``, which reads a
   ``<meta http-equiv=refresh>``'s content too): the quote is looked for past the characters the
   URL parser strips. (A meta refresh to a base64 page is the page proof's documented limit.)
3. **A stream in ``charset=raw-unicode-escape``.** httpx decodes a stream in its charset with
   Python's codec, and ``raw_unicode_escape`` turns ``\\U00000075`` into ``u``: httpx-sse read
   ``{"user_id": "bob-9c2e"}`` from ``data: {"\\U00000075ser_id": "bob-9c2e"}`` (so did httpx's
   ``iter_lines`` from JSON lines), where respguard's UTF-8 reading holds no key (JSON has no
   ``\\U`` escape), and its probe of the charset (ASCII text encoded) found nothing hidden.
   Fixed (``_plan._hides_ascii``): a charset hides ASCII too where its codec decodes ASCII bytes,
   escapes included, as other text.
4. **JSON requests decodes in its charset.** requests' ``Response.json()`` parses
   ``Response.text``, the body decoded in its Content-Type's charset by Python's codec:
   ``{"user_id": "bob-9c2e"}`` in ``application/json; charset=cp037`` (EBCDIC), in
   ``charset=utf-7`` as ``{"user+AF8-id": ...}``, in ``raw-unicode-escape`` as
   ``{"\\U00000075ser_id": ...}``, all gave requests 2.34 bob's record. respguard read the body
   as ``fetch().json()`` reads it (UTF-8, whatever the charset): no key, 200. Fixed (``_plan``,
   ``ContentPlan.misread``): a JSON body whose charset hides ASCII to Python's codecs, but
   UTF-16/32 (read as ``json.loads`` detects them), is refused (``scan_error``) where a JSON
   extractor reads. The same bytes served as a page, text or an image are a documented limit
   (strict xfail): browsers ignore the label, and respguard reads them as browsers do.
5. **A charset only a Python client's parser reads.** respguard took the label as Fetch's MIME
   parser reads it, but httpx reads the Content-Type with the standard library's e-mail parser
   (white space around ``=``, RFC 2231's ``charset*0=utf-16; charset*1=-le``, repeated headers
   joined by ``", "``) and requests splits it at every ``;`` (inside quotes too) and keeps the last
   ``charset``: httpx-sse read bob's UTF-16 event under ``text/event-stream; charset =utf-16-le``
   and the continuation, and requests' ``.json()`` bob's EBCDIC record under ``application/json;
   charset=utf-8; charset=cp037`` and ``x="y;charset=cp037"``, all of which Fetch reads as no
   label or UTF-8 (200). Fixed (``_plan._client_labels``): every label a client reads (Fetch's,
   httpx's, requests') is checked.
6. **A record shown after a no-break space.** respguard reads a record a page shows where a run
   of its text opens like JSON after white space, but only JSON's and HTML's white space:
   ``<pre>&nbsp;{"user_id": "bob-9c2e"}</pre>`` (or U+3000, an em space, a BOM; a ``<textarea>``'s
   or ``<title>``'s ``&nbsp;`` too) shows bob's record, and Chromium's
   ``JSON.parse(pre.textContent.trim())`` gives ``bob-9c2e``: 200. Fixed (``_markup``): the white
   space before a shown record is what ``String.prototype.trim`` trims (``_content.JS_SPACE``).
7. **A Turbo Stream is a page's markup.** Turbo 8 (Hotwire) takes every ``text/*html`` type for
   HTML (``FetchResponse.isHTML``: ``^text/([^\\s;,]+\\b)?html\\b``): a form's answer in its own
   ``text/vnd.turbo-stream.html`` appended ``<template><div data-owner="bob-9c2e">`` to the page's
   ``#cards``, and a ``<turbo-frame>`` loaded from ``text/x-html`` rendered bob's div in the frame
   (Chromium, ``querySelectorAll('[data-owner]')``). respguard had them as plain text, which
   ``HtmlAttribute`` does not read: 200. Fixed (``_mime.is_html_essence``): those types are HTML
   pages (parsed as HTML, not XML).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from _attacks import HTML_CT, blocked, guarded, passes
from conftest import GuardedStack, Reply
from ids import ALICE, BOB

from respguard import AuditEvent

# ------------------------------------------------------------------ 1. a repeated header, combined

_PAGE = b"<p>ok</p>"


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        pytest.param(
            200,
            [HTML_CT, ("HX-Trigger", '{"loaded": 1'), ("HX-Trigger", f'"user_id": "{BOB}"}}')],
            id="object-split",
        ),
        pytest.param(
            200,
            [HTML_CT, ("HX-Trigger", '  {"loaded": 1  '), ("hx-trigger", f' "user_id": "{BOB}"}}\t')],
            id="names-spelt-apart-white-space",
        ),
        pytest.param(
            200, [HTML_CT, ("X-Up-Context", "[1"), ("X-Up-Context", f'{{"owner_id": "{BOB}"}}]')], id="array-split"
        ),
        pytest.param(
            200,
            [HTML_CT, ("HX-Trigger", '{"a": 1'), ("X-Other", "x"), ("HX-Trigger", f'"user_id": "{BOB}"}}')],
            id="apart",
        ),
        pytest.param(204, [("HX-Trigger", '{"saved": {"n": 1'), ("HX-Trigger", f'"user_id": "{BOB}"}}}}')], id="204"),
    ],
)
def test_a_repeated_header_is_read_combined(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], status: int, headers: list[tuple[str, str]]
) -> None:
    """Chromium: ``JSON.parse(xhr.getResponseHeader("HX-Trigger")).user_id == "bob-9c2e"``."""
    chunks = [_PAGE] if status == 200 else []
    blocked(guarded(make_stack, events), events, Reply(status=status, headers=headers, chunks=chunks))


@pytest.mark.parametrize(
    "headers",
    [
        [("HX-Trigger", "loaded"), ("HX-Trigger", "saved")],
        [
            ("HX-Trigger", f'{{"loaded": {{"user_id": "{ALICE}"}}'),
            ("HX-Trigger", f'"saved": {{"user_id": "{ALICE}"}}}}'),
        ],
        [("HX-Trigger", "x"), ("HX-Trigger", '{"user_id": 1'), ("HX-Trigger", f'"user_id": "{BOB}"}}')],
    ],
    ids=["plain-names", "own-object-split", "first-value-plain"],
)
def test_control_a_repeated_header_naming_no_foreign_owner_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], headers: list[tuple[str, str]]
) -> None:
    """(The third combines to ``x, {"user_id": 1, "user_id": "bob-9c2e"}``: no JSON to a script,
    and no value of it parses alone.)"""
    passes(guarded(make_stack, events), events, Reply(headers=[HTML_CT, *headers], chunks=[_PAGE]))


# ------------------------------------------------------------------ 2. a quoted refresh URL

_POSTS = f"<div data-owner='{BOB}'>x</div>"
_DATA_PAGE = "data:text/html;base64," + base64.b64encode(_POSTS.encode()).decode()
REFRESH_REFUSED = "Refresh header names a data: URL page"


@pytest.mark.parametrize(
    "refresh",
    [
        f"0; url=' {_DATA_PAGE}'",
        f'0; url=" {_DATA_PAGE}"',
        f"0; url='\x0c{_DATA_PAGE}'",
        f"0; url='\x01{_DATA_PAGE}'",
        f"0;  ' \t {_DATA_PAGE} '",
    ],
    ids=["space", "double-quote", "form-feed", "control", "no-url-tab"],
)
def test_a_refresh_header_with_space_inside_its_quote_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], refresh: str
) -> None:
    """Chromium: the frame's data: page posts ``["bob-9c2e"]``."""
    reply = Reply(headers=[HTML_CT, ("Refresh", refresh)], chunks=[_PAGE])
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == REFRESH_REFUSED


@pytest.mark.parametrize(
    "refresh",
    ["0; url=' data:text/plain,hello'", "0; url=' /next'", f"0; url=' {_DATA_PAGE[:-8]}!'"],
    ids=["text", "path", "bad-base64"],
)
def test_control_a_quoted_refresh_to_no_page_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], refresh: str
) -> None:
    """(The last one's base64 is no forgiving-base64: the frame gets no page. It ended in ``#``
    before session 19, which starts the URL's fragment: the data: URL processor reads the URL
    without it, and the base64 before it, cut at a multiple of four, is a page.)"""
    passes(guarded(make_stack, events), events, Reply(headers=[HTML_CT, ("Refresh", refresh)], chunks=[_PAGE]))


# ------------------------------------------------------------------ 3. raw-unicode-escape streams

_ESCAPED_EVENT = 'data: {"\\U00000075ser_id": "%s"}\n\n'
_ESCAPED_LINE = '{"\\U00000075ser_id": "%s"}\n'


@pytest.mark.parametrize("charset", ["raw-unicode-escape", "raw_unicode_escape", "RAW-UNICODE-ESCAPE"])
@pytest.mark.parametrize("length", [False, True], ids=["stream", "with-length"])
def test_an_event_stream_in_raw_unicode_escape_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str, length: bool
) -> None:
    """httpx-sse 0.4 over httpx 0.29: ``['{"user_id": "bob-9c2e"}']``."""
    headers = [("Content-Type", f"text/event-stream; charset={charset}")]
    reply = Reply(headers=headers, chunks=[(_ESCAPED_EVENT % BOB).encode()], content_length=length)
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == "event stream in a charset that hides ASCII"


@pytest.mark.parametrize("length", [False, True], ids=["stream", "with-length"])
def test_json_lines_in_raw_unicode_escape_are_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], length: bool
) -> None:
    """httpx's ``iter_lines``: ``['{"user_id": "bob-9c2e"}']``."""
    headers = [("Content-Type", "application/x-ndjson; charset=raw-unicode-escape")]
    reply = Reply(headers=headers, chunks=[(_ESCAPED_LINE % BOB).encode()], content_length=length)
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == "JSON lines in a charset that hides ASCII"


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "shift_jis", "cp1252", "koi8-r", "ascii"])
def test_control_an_own_stream_in_an_ascii_charset_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], charset: str
) -> None:
    headers = [("Content-Type", f"text/event-stream; charset={charset}")]
    body = ("data: " + json.dumps({"user_id": ALICE}) + "\n\n").encode()
    passes(guarded(make_stack, events), events, Reply(headers=headers, chunks=[body], content_length=False))


# ------------------------------------------------------------------ 4. a body requests decodes in its charset

_RECORD = json.dumps({"user_id": BOB})
CHARSET_REFUSED = "JSON in a charset that hides ASCII"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/json; charset=cp037", _RECORD.encode("cp037"), id="ebcdic"),
        pytest.param("application/vnd.api+json; charset=cp500", _RECORD.encode("cp500"), id="json-suffix-ebcdic"),
        pytest.param("application/json; charset=utf-7", f'{{"user+AF8-id": "{BOB}"}}'.encode(), id="utf-7"),
        pytest.param(
            "text/json; charset=raw-unicode-escape",
            f'{{"\\U00000075ser_id": "{BOB}"}}'.encode(),
            id="raw-unicode-escape",
        ),
    ],
)
def test_json_in_a_charset_requests_reads_apart_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, body: bytes
) -> None:
    """requests 2.34: ``requests.get(url).json() == {"user_id": "bob-9c2e"}``."""
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[body])
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == CHARSET_REFUSED


@pytest.mark.parametrize(
    ("content_type", "codec"),
    [
        ("application/json; charset=utf-16", "utf-16"),
        ("application/json; charset=utf-32-be", "utf-32-be"),
        ("application/json; charset=latin-1", "latin-1"),
        ("application/json; charset=shift_jis", "shift_jis"),
        ("application/json; charset=nonsense", "utf-8"),
        ("text/html; charset=utf-16le", "utf-16-le"),
        ("text/plain; charset=koi8-r", "koi8-r"),
    ],
)
def test_control_an_own_body_in_a_charset_read_alike_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, codec: str
) -> None:
    body = json.dumps({"user_id": ALICE}).encode(codec)
    passes(guarded(make_stack, events), events, Reply(headers=[("Content-Type", content_type)], chunks=[body]))


@pytest.mark.xfail(
    strict=True,
    reason="documented limit (README, 'Bad bytes and unknown labels'): a page, text or other type in a "
    "charset browsers ignore is read as browsers read it, not as requests' .json() decodes it",
)
@pytest.mark.parametrize("content_type", ["text/html", "text/plain", "image/png"])
def test_limit_another_type_in_a_charset_requests_reads_apart(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    """requests 2.34: ``.json()`` of the EBCDIC bytes served as ``text/html; charset=cp037`` (or
    ``text/plain``, ``image/png``) is bob's record."""
    reply = Reply(headers=[("Content-Type", f"{content_type}; charset=cp037")], chunks=[_RECORD.encode("cp037")])
    blocked(guarded(make_stack, events), events, reply, "scan_error")


# ------------------------------------------------------------------ 5. a charset only a Python client reads

_WIDE_EVENT = ("data: " + json.dumps({"user_id": BOB}) + "\n\n").encode("utf-16-le")


@pytest.mark.parametrize(
    "headers",
    [
        [("Content-Type", "text/event-stream; charset =utf-16-le")],
        [("Content-Type", "text/event-stream; charset*0=utf-16; charset*1=-le")],
        [("Content-Type", "text/event-stream"), ("Content-Type", "text/event-stream; charset = utf-16-le")],
        [("Content-Type", "text/event-stream; charset=utf-8; charset=utf-16-le")],
        [("Content-Type", 'text/event-stream; x="y;charset=utf-16-le"')],
    ],
    ids=["space-before-equals", "rfc2231-continuation", "second-header", "repeated", "inside-quotes"],
)
def test_an_event_stream_in_a_charset_a_python_client_reads_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], headers: list[tuple[str, str]]
) -> None:
    """httpx-sse (the first three; requests' ``iter_lines(decode_unicode=True)`` all but the second):
    ``['{"user_id": "bob-9c2e"}']``."""
    reply = Reply(headers=headers, chunks=[_WIDE_EVENT], content_length=False)
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == "event stream in a charset that hides ASCII"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset =cp037",
        "application/json; charset=utf-8; charset=cp037",
        'application/json; x="y;charset=cp037"',
    ],
)
def test_json_in_a_charset_requests_parses_apart_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    """requests 2.34: ``.json() == {"user_id": "bob-9c2e"}``."""
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[_RECORD.encode("cp037")])
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == CHARSET_REFUSED


@pytest.mark.parametrize(
    "content_type",
    [
        "text/event-stream; charset = utf-8",
        'text/event-stream; x="y;charset=latin-1"',
        "text/event-stream; charset*=''utf-8",
        "text/event-stream; charset=utf-8; charset=nonsense",
    ],
)
def test_control_an_own_event_stream_any_client_reads_in_ascii_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    body = ("data: " + json.dumps({"user_id": ALICE}) + "\n\n").encode()
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[body], content_length=False)
    passes(guarded(make_stack, events), events, reply)


# ------------------------------------------------------------------ 6. a record shown after a no-break space


@pytest.mark.parametrize(
    "page",
    [
        f'<pre>&nbsp;{{"user_id": "{BOB}"}}</pre>',
        f'<pre>\u00a0\n{{"user_id": "{BOB}"}}</pre>',
        f'<p>\u3000[{{"owner_id": "{BOB}"}}]</p>',
        f'<pre>&emsp;&#xfeff;{{"user_id": "{BOB}"}}</pre>',
        f'<textarea>&nbsp;{{"user_id": "{BOB}"}}</textarea>',
        f'<title>\u00a0{{"user_id": "{BOB}"}}</title>',
    ],
    ids=["nbsp-reference", "nbsp", "ideographic-space", "em-space-bom", "textarea", "title"],
)
def test_a_record_shown_after_a_no_break_space_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str
) -> None:
    """Chromium: ``JSON.parse(el.textContent.trim()).user_id == "bob-9c2e"`` (``el.value`` for the textarea)."""
    reply = Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[page.encode()])
    blocked(guarded(make_stack, events), events, reply)


@pytest.mark.parametrize(
    "page",
    [
        f'<pre>&nbsp;{{"user_id": "{ALICE}"}}</pre>',
        f'<xmp>&nbsp;{{"user_id": "{BOB}"}}</xmp>',  # (raw text: it shows "&nbsp;{", no record)
        "<pre>&nbsp;{not json}</pre>",
    ],
    ids=["own", "xmp-reference", "no-json"],
)
def test_control_a_shown_text_after_a_no_break_space_naming_no_foreign_owner_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: str
) -> None:
    reply = Reply(headers=[("Content-Type", "text/html; charset=utf-8")], chunks=[page.encode()])
    passes(guarded(make_stack, events), events, reply)


# ------------------------------------------------------------------ 7. a Turbo Stream is markup

_STREAM = (
    '<turbo-stream action="append" target="cards">'
    f'<template><div data-owner="{BOB}">Bob</div></template></turbo-stream>'
)


@pytest.mark.parametrize(
    "content_type",
    ["text/vnd.turbo-stream.html", "text/vnd.turbo-stream.html; charset=utf-8", "text/x-html", "text/fragment+html"],
)
def test_a_turbo_stream_or_frame_type_is_read_as_a_page(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    """Chromium with Turbo 8.0.23: ``[["cards", "bob-9c2e"], ["f", "bob-9c2e"]]``."""
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[_STREAM.encode()])
    blocked(guarded(make_stack, events), events, reply)


def test_a_turbo_stream_is_read_as_html_not_xml(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """A script in a Turbo Stream that names the attribute is raw text, as in any HTML page."""
    page = (
        f"<turbo-stream action=append target=x><template><p data-owner={ALICE}>hi</p>"
        f"<script>q('[data-owner=\"{BOB}\"]')</script></template></turbo-stream>"
    )
    reply = Reply(headers=[("Content-Type", "text/vnd.turbo-stream.html")], chunks=[page.encode()])
    passes(guarded(make_stack, events), events, reply)


@pytest.mark.parametrize("content_type", ["text/xhtml", "text/htmlx", "text/plain", "application/x-html"])
def test_control_a_type_turbo_takes_for_no_html_is_not_a_page(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[_STREAM.encode()])
    passes(guarded(make_stack, events), events, reply)
