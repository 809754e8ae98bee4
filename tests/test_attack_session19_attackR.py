"""Adversarial findings, session 19 (attackR): responses their real reader reads otherwise than
respguard did (each confirmed with headless Chromium 156 or the reader's own source).

1. **A data: URL's fragment.** Fetch's data: URL processor reads the URL serialized *without its
   fragment*: ``<iframe src="data:text/html;base64,PGRpdi...#top">`` is bob's page to Chromium
   (``chromium --dump-dom 'data:text/html;base64,...#frag'`` renders ``<div data-owner="bob-9c2e">``).
   respguard base64-decoded the ``#top`` with the body, which no forgiving-base64 decode takes,
   so the frame held no page: 200 (a page the proof can't pass whole, its frames read exactly).
   The same for a ``<meta http-equiv=refresh>`` and a ``Refresh`` header to such a URL. Fixed
   (``_markup.data_url_page``): the fragment is dropped before the body is read.
2. **Chromium's Content-Type parser.** Chromium does not read a Content-Type with the MIME
   Sniffing standard's parser but with ``HttpUtil::ParseContentType``: the type runs to the first
   space, tab, ``;`` or ``(`` (a "media-type comment"), its code points unchecked. So
   ``text/html (x); charset=utf-16le`` and ``text/html x; charset=utf-16le`` are UTF-16 pages to
   Chromium (bob's ``<div data-owner>`` in the DOM), ``application/xhtml+xml (c)`` an XHTML
   page (where ``<title>`` holds elements), and ``text/event-stream (x)`` an ``EventSource``'s
   stream (its ``onmessage`` got ``{"user_id":"bob-9c2e"}``). Fetch's parser rejects all of them:
   respguard sniffed the body (read in windows-1252, as HTML, or as nothing it reads) and let
   each through (200). Fixed (``_mime.chromium_mime_type``, ``_plan.ContentPlan.conflict``):
   where Chromium reads another type or charset than Fetch, and one respguard scans, the response
   is refused (``scan_error``, ``conflicting Content-Type values``), as other readers' readings
   of conflicting values already were.
3. **``Cache-Control: Private`` to Fastly.** respguard keeps an app's bare ``private`` policy
   because Fastly's generated VCL passes a response on ``beresp.http.Cache-Control ~ "private"``
   (so does Magento's Varnish VCL); that match is case-sensitive, and RFC 9111's case-insensitive
   ``Private``, ``PRIVATE`` went out as the app wrote it: Fastly stores such a personal page for
   its default TTL and serves it to the next user. Fixed (``_cache.personal_headers``): only a
   ``private`` spelt in lower case is trusted; any other spelling is replaced by
   ``private, no-store``.
4. **A coding browsers undo that respguard can't.** Chromium undoes ``br`` (``zstd``, and
   Compression Dictionary Transport's ``dcb``/``dcz``) whatever the body's type, and
   ``fetch().json()`` gave ``bob-9c2e`` from a br-compressed record served untyped, as
   ``application/octet-stream`` or as ``image/png``. respguard, where the optional ``brotli`` (or
   ``zstandard``) package is not installed, or for ``dcb``/``dcz`` always, sniffed the raw bytes,
   as browsers read a coding they don't know, found no ``{`` and let it through (200). Fixed
   (``_content.browser_only_codings``, ``_bodies``' sniffer): such a body is held whole and
   refused (``scan_error``); a coding browsers don't know (``identity``, ``foo``) is still read raw.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable

import pytest
from _attacks import HTML_CT, blocked, guarded, passes
from conftest import GuardedStack, Reply
from ids import ALICE, BOB

import respguard._content
from respguard import AuditEvent
from respguard._markup import data_url_page
from respguard._mime import chromium_mime_type, extract_mime_type

CONFLICT = "conflicting Content-Type values"


# ------------------------------------------------------------------ 1. a data: URL's fragment

_BOB_PAGE = base64.b64encode(f'<div data-owner="{BOB}">x</div>'.encode()).decode()
#: An own element whose value the byte-search proof can't pass (a character reference): the page
#: is read exactly, its frames too.
_OWN_UNPROVED = '<div data-owner="alice&#45;7f3a">mine</div>'


@pytest.mark.parametrize(
    "frame",
    [
        f'<iframe src="data:text/html;base64,{_BOB_PAGE}#top"></iframe>',
        f'<iframe src="data:text/html;base64,{_BOB_PAGE}#"></iframe>',
        f"<object data='data:text/html;base64,{_BOB_PAGE}#x=1,2'></object>",
        f'<meta http-equiv="refresh" content="0; url=data:text/html;base64,{_BOB_PAGE}#top">',
    ],
    ids=["iframe", "empty-fragment", "object-comma-in-fragment", "meta-refresh"],
)
def test_a_base64_frame_followed_by_a_fragment_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], frame: str
) -> None:
    """Chromium renders the frame's page: the fragment is no part of a data: URL's body."""
    page = (_OWN_UNPROVED + frame).encode()
    blocked(guarded(make_stack, events), events, Reply(headers=[HTML_CT], chunks=[page]))


def test_a_refresh_header_to_a_base64_page_with_a_fragment_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    reply = Reply(
        headers=[HTML_CT, ("Refresh", f"0; url=data:text/html;base64,{_BOB_PAGE}#top")], chunks=[b"<p>ok</p>"]
    )
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == "Refresh header names a data: URL page"


def test_data_url_page_reads_the_url_without_its_fragment() -> None:
    page = data_url_page(f"data:text/html;base64,{_BOB_PAGE}#top")
    assert page is not None and BOB in page.text
    # a percent-encoded page ends at its fragment too: what follows is no part of the page
    cut = data_url_page("data:text/html,<p style='color:#fff' data-owner=x>")
    assert cut is not None and "data-owner" not in cut.text
    assert data_url_page("data:text/html,%23<div>") is not None  # %23 is a "#" of the body


def test_control_an_own_page_with_a_base64_frame_and_a_fragment_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    own = base64.b64encode(f'<div data-owner="{ALICE}">x</div>'.encode()).decode()
    page = (_OWN_UNPROVED + f'<iframe src="data:text/html;base64,{own}#top"></iframe>').encode()
    passes(guarded(make_stack, events), events, Reply(headers=[HTML_CT], chunks=[page]))


# ------------------------------------------------------------------ 2. Chromium's Content-Type parser

_UTF16_DIV = f'<div data-owner="{BOB}">x</div>'.encode("utf-16-le")
_XHTML = (
    f'<html xmlns="http://www.w3.org/1999/xhtml"><head><title><div data-owner="{BOB}"/></title></head>'
    "<body>b</body></html>"
).encode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html (x); charset=utf-16le", _UTF16_DIV),
        ("text/html(x);charset=utf-16le", _UTF16_DIV),
        ("text/html x; charset=utf-16le", _UTF16_DIV),
        ("text/html\t(x);charset=UTF-16LE", _UTF16_DIV),
        ("application/xhtml+xml (c)", _XHTML),
        ("text/event-stream (x)", f'data: {{"user_id":"{BOB}"}}\n\n'.encode()),
        ("text/event-stream x", f'data: {{"user_id":"{BOB}"}}\n\n'.encode()),
    ],
    ids=["comment", "comment-no-space", "word-after-type", "tab-comment", "xhtml", "event-stream", "event-stream-word"],
)
@pytest.mark.parametrize("length", [True, False], ids=["length", "streamed"])
def test_a_type_only_chromium_parses_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, body: bytes, length: bool
) -> None:
    """Chromium 156 shows bob's ``data-owner`` (``--dump-dom``), or its ``EventSource`` gets
    bob's event; Fetch's parser rejects the type, and respguard had sniffed the body: 200."""
    reply = Reply(headers=[("Content-Type", content_type)], chunks=[body], content_length=length)
    blocked(guarded(make_stack, events), events, reply, "scan_error")
    assert events[0].reason == CONFLICT


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html; charset=utf-8",
        "text/html;charset=UTF-8",
        'text/html; charset="utf-8"',
        "text/html ; charset=utf-8",
        "text/html; charset= utf-8",
        "Text/HTML; Charset=utf8",
        "text/html, */*",
        "text/html; charset=utf-8; charset=utf-16le",
    ],
)
def test_control_a_type_both_parsers_read_alike_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    page = f'<div data-owner="{ALICE}">mine</div>'.encode()
    passes(guarded(make_stack, events), events, Reply(headers=[("Content-Type", content_type)], chunks=[page]))


@pytest.mark.parametrize(
    ("values", "essence", "charset"),
    [
        ([b"text/html (x); charset=utf-16le"], "text/html", "utf-16le"),
        ([b"text/html x;charset= utf-16le "], "text/html", "utf-16le"),
        ([b'text/html; charset="utf-16le"; charset=utf-8'], "text/html", "utf-16le"),  # the first, as Chromium
        ([b"text/html; charset=utf-16le", b"text/html"], "text/html", "utf-16le"),  # same type: kept
        ([b"text/html; charset=utf-16le", b"text/plain"], "text/plain", None),  # another type: dropped
        ([b"text/html; charset=utf-16le, bogus"], "text/html", "utf-16le"),  # no "/": rejected
        ([b"text/html", b"*/*"], "text/html", None),
        ([b"bogus"], None, None),
    ],
)
def test_chromium_mime_type_reads_as_chromium(values: list[bytes], essence: str | None, charset: str | None) -> None:
    got = chromium_mime_type([(b"content-type", v) for v in values])
    assert (got.essence if got else None, got.charset if got else None) == (essence, charset)


def test_chromium_and_fetch_agree_on_every_value_fetch_parses() -> None:
    for value in (b"application/json", b"text/html;charset=utf-8", b'text/plain; x="a;b"; charset=latin1', b"A/B ;c=d"):
        fetch = extract_mime_type([(b"content-type", value)])
        chromium = chromium_mime_type([(b"content-type", value)])
        assert fetch is not None and chromium is not None
        assert (fetch.essence, fetch.charset) == (chromium.essence, chromium.charset)


# ------------------------------------------------------------------ 3. Cache-Control: Private


@pytest.mark.parametrize("policy", ["Private", "PRIVATE", "Private, max-age=60"])
def test_a_private_policy_not_spelt_as_fastly_matches_it_is_replaced(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], policy: str
) -> None:
    """Fastly's VCL: ``if (beresp.http.Cache-Control ~ "private") { return(pass); }``, case-sensitive."""
    body = f'{{"user_id": "{ALICE}"}}'.encode()
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", "application/json"), ("Cache-Control", policy)], chunks=[body])
    )
    assert (got.status, got.body) == (200, body)
    assert [v for k, v in got.headers if k == "cache-control"] == ["private, no-store"]
    assert events == []


def test_control_a_lower_case_private_policy_is_kept(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    body = f'{{"user_id": "{ALICE}"}}'.encode()
    got = guarded(make_stack, events).send(
        Reply(headers=[("Content-Type", "application/json"), ("Cache-Control", "private, Max-Age=60")], chunks=[body])
    )
    assert (got.status, got.body) == (200, body)
    assert [v for k, v in got.headers if k == "cache-control"] == ["private, Max-Age=60"]


# ------------------------------------------------------------------ 4. a coding browsers undo and respguard can't

_BOB_JSON = f'{{"user_id": "{BOB}"}}'.encode()


@pytest.mark.parametrize(
    "headers",
    [
        [("Content-Encoding", "br")],
        [("Content-Type", "application/octet-stream"), ("Content-Encoding", "br")],
        [("Content-Type", "image/png"), ("Content-Encoding", "gzip, br")],
    ],
    ids=["untyped", "octet-stream", "image-gzip-br"],
)
@pytest.mark.parametrize("length", [True, False], ids=["length", "streamed"])
def test_a_sniffed_br_body_without_brotli_installed_is_refused(
    make_stack: Callable[..., GuardedStack],
    events: list[AuditEvent],
    monkeypatch: pytest.MonkeyPatch,
    headers: list[tuple[str, str]],
    length: bool,
) -> None:
    """Chromium 156 undoes ``br`` (over http:// too) and ``fetch(url).json()`` gave
    ``bob-9c2e`` for all three; respguard, without the optional ``brotli`` package, read the raw
    bytes as browsers read an unknown coding (no ``{``: nothing to read), 200."""
    import brotli

    body = brotli.compress(_BOB_JSON)
    if "gzip, br" in headers[-1][1]:
        body = brotli.compress(gzip.compress(_BOB_JSON, mtime=0))
    monkeypatch.delitem(respguard._content.DECODERS, "br")
    reply = Reply(headers=headers, chunks=[body[:3], body[3:]], content_length=length)
    blocked(guarded(make_stack, events), events, reply, "scan_error")


@pytest.mark.parametrize("coding", ["dcb", "dcz", "gzip, dcz"])
def test_a_sniffed_body_under_a_dictionary_coding_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], coding: str
) -> None:
    """Compression Dictionary Transport: Chromium undoes ``dcb``/``dcz`` with the dictionary it
    advertised; respguard has none (the raw bytes open with the coding's magic: no reading)."""
    reply = Reply(headers=[("Content-Encoding", coding)], chunks=[b"\x5e\x2a\x4d\x18" + bytes(32) + b"\x28\xb5"])
    blocked(guarded(make_stack, events), events, reply, "scan_error")


@pytest.mark.parametrize("coding", ["foo", "identity, br", "br, x-unknown"])
def test_control_a_coding_browsers_do_not_know_is_read_raw(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], monkeypatch: pytest.MonkeyPatch, coding: str
) -> None:
    """Chromium reads the raw bytes whenever one coding is none it knows (``identity`` too): an
    image's bytes, which stream through unread."""
    monkeypatch.delitem(respguard._content.DECODERS, "br")
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    reply = Reply(headers=[("Content-Type", "image/png"), ("Content-Encoding", coding)], chunks=[png])
    passes(guarded(make_stack, events), events, reply)
