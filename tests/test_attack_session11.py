"""Adversarial findings, session 11: the pages a browser builds inside a page (frames, foreign
content, shadow roots), judged by Chromium's DOM.

1. **A feed or a stylesheet in a data: URL is an XML page.** :func:`~respguard._markup.data_url_page`
   read a framed ``data:`` URL as a page only for ``text/html``, XHTML, SVG, ``text/xml`` and
   ``application/xml``. Chromium renders an ``<iframe>``, ``<object>`` or ``<embed>`` of
   ``data:application/atom+xml;base64,...`` (and ``application/rss+xml``, ``text/xsl``) as an XML
   document: its elements' ``data-owner`` attributes are in the frame's DOM (a script of the
   frame's own reads ``querySelectorAll('[data-owner]')`` and gets bob's). Base64 hid the
   attribute from the outer page's bytes; a page the byte proof can't pass (here its own row's
   attribute is unquoted) is read exactly, frames decoded, but not these: it went out (200). Fixed: every XML MIME type
   (``*/*+xml``, as MIME Sniffing names them: a superset, this Chromium downloads some, such as
   ``application/mathml+xml``) and ``text/xsl`` is a page.
2. **An XML page styled by XSLT.** Chromium (150) still applies an ``<?xml-stylesheet
   type="text/xsl"?>`` processing instruction: the transform's output is the page's DOM, and it
   builds attributes respguard never sees (``<xsl:attribute name="{concat('data-','owner')}">``
   over ``<o>bob</o>``; Chromium's DOM showed ``<div data-owner="bob-9c2e">``). A framed
   ``data:text/xml`` page with a ``data:text/xsl`` stylesheet went out (200), and so did an XML
   response whose stylesheet is another URL. Fixed: an XML page (served, or framed) with a
   stylesheet instruction of any type but CSS is refused (``scan_error``), as one with entity or
   attribute declarations is.
3. **A frame that navigates on.** A ``<meta http-equiv="refresh" content="0;url=data:...">`` in
   a frame's page (an ``<iframe srcdoc>``, a ``data:text/html`` frame) navigates the frame to
   its ``data:`` URL, and Chromium rendered the base64 page there with bob's ``<div
   data-owner>``; respguard read only ``srcdoc``, ``src`` and ``data``: 200. Fixed: a
   ``content`` attribute that names a ``data:`` URL is read as a frame's.
4. **A ``javascript:`` URL frame.** ``<iframe src="javascript:'%3Cdiv%20data%2Downer=bob%3E'">``:
   the frame's document is the string the URL's (percent-decoded) script gives, and Chromium's
   frame DOM held bob's div; 200. Fixed: a framed ``javascript:`` URL's percent-decoded source
   is read as a page (a superset of a literal string; a script that computes markup is no more
   read here than an inline ``<script>`` is).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from urllib.parse import quote

import pytest
from _attacks import assert_blocked, assert_refused, guarded
from conftest import GuardedStack, Reply
from ids import ALICE, BOB

from respguard import AuditEvent
from respguard._markup import pages_within

HTML_CT = ("Content-Type", "text/html; charset=utf-8")


def _framed(mime: str, owner: str, tag: str = "iframe", attribute: str = "src") -> bytes:
    inner = f"<feed xmlns='http://www.w3.org/2005/Atom'><entry data-owner='{owner}'/></feed>"
    url = f"data:{mime};base64," + base64.b64encode(inner.encode()).decode()
    # The page's own row is written unquoted: no byte-search proof, the page is read exactly (a
    # page the proof passes is not decoded: a documented limit, README "Proofs and pages in pages").
    return f'<!doctype html><p data-owner={ALICE}>hi</p><{tag} {attribute}="{url}"></{tag}>'.encode()


@pytest.mark.parametrize("mime", ["application/atom+xml", "application/rss+xml", "text/xsl", "application/foo+xml"])
@pytest.mark.parametrize(("tag", "attribute"), [("iframe", "src"), ("object", "data"), ("embed", "src")])
def test_an_xml_feed_in_a_data_url_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], mime: str, tag: str, attribute: str
) -> None:
    assert_blocked(guarded(make_stack, events), events, _framed(mime, BOB, tag, attribute))


def test_control_an_own_xml_feed_in_a_data_url_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    page = _framed("application/atom+xml", ALICE)
    got = guarded(make_stack, events).send(Reply(headers=[HTML_CT], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []


_XSL = (
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
    '<xsl:template match="/"><html xmlns="http://www.w3.org/1999/xhtml"><body><div>'
    "<xsl:attribute name=\"{concat('data-','owner')}\"><xsl:value-of select=\"/r/o\"/></xsl:attribute>"
    "x</div></body></html></xsl:template></xsl:stylesheet>"
)
XSLT_REFUSED = "html:data-owner: XML page with an XSLT stylesheet"


def _styled(kind: str, href: str) -> str:
    return f'<?xml version="1.0"?><?xml-stylesheet type="{kind}" href="{href}"?><r><o>{BOB}</o></r>'


def _b64(mime: str, text: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(text.encode()).decode()


def test_a_framed_xml_page_styled_by_xslt_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """Chromium's frame DOM (a script of the transform's output posting
    ``querySelectorAll('[data-owner]')``): ``div=bob-9c2e``."""
    xml = _styled("text/xsl", _b64("text/xsl", _XSL))
    page = f'<!doctype html><p data-owner={ALICE}>hi</p><iframe src="{_b64("text/xml", xml)}"></iframe>'
    assert_refused(make_stack, events, page.encode(), XSLT_REFUSED)


@pytest.mark.parametrize("kind", ["text/xsl", "application/xml", "text/xml", "application/xslt+xml", "TEXT/XSL"])
def test_an_xml_page_styled_by_xslt_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], kind: str
) -> None:
    page = _styled(kind, "/static/feed.xsl").encode()
    assert_refused(make_stack, events, page, XSLT_REFUSED, headers=[("Content-Type", "application/xml")])


@pytest.mark.parametrize(
    "instruction",
    ['<?xml-stylesheet type="text/css" href="/s.css"?>', '<?xml-stylesheet href="/s.css"?>', ""],
)
def test_control_an_xml_page_styled_by_css_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], instruction: str
) -> None:
    page = f'<?xml version="1.0"?>{instruction}<r><o data-owner="{ALICE}">x</o></r>'.encode()
    got = guarded(make_stack, events).send(Reply(headers=[("Content-Type", "application/xml")], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []


def test_control_an_html_page_naming_an_xslt_instruction_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """In HTML ``<?xml-stylesheet ...?>`` is a bogus comment: nothing is applied."""
    page = f'<!doctype html><?xml-stylesheet type="text/xsl" href="/t.xsl"?><p data-owner={ALICE}>x</p>'.encode()
    got = guarded(make_stack, events).send(Reply(headers=[HTML_CT], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []


def test_xslt_instructions_read() -> None:
    from respguard._markup import Page, UnreadableFrame

    for refused in ('<?xml-stylesheet type="text/xsl"?>', "<?xml-stylesheet href='x' type='text/xml'?>"):
        with pytest.raises(UnreadableFrame):
            pages_within(Page(refused + "<r/>", True))
    for read in ('<?xml-stylesheet type="text/css"?>', '<?xml-stylesheet type=""?>', '<?other type="text/xsl"?>'):
        assert len(pages_within(Page(read + "<r/>", True))) == 1


_POSTS = "<div data-owner='" + BOB + "'>x</div>"
_OWN_ROW = f"<!doctype html><p data-owner={ALICE}>hi</p>"


def _refresh(url: str) -> str:
    return f"<meta http-equiv=refresh content='0;url={url}'>"


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(
            '<iframe srcdoc="' + html.escape(_refresh(_b64("text/html", _POSTS))) + '"></iframe>', id="srcdoc"
        ),
        pytest.param(
            '<iframe src="data:text/html,' + quote(_refresh(_b64("text/html", _POSTS)), safe="") + '"></iframe>',
            id="data-url",
        ),
        pytest.param(
            "<iframe srcdoc=\"<meta http-equiv=refresh content='0; URL=&quot;"
            + _b64("text/html", _POSTS)
            + "&quot;'>\"></iframe>",
            id="quoted-url",
        ),
    ],
)
def test_a_frame_refreshed_to_a_data_url_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], frame: str
) -> None:
    """Chromium's frame DOM (the data: page posting ``querySelectorAll('[data-owner]')``): bob's div."""
    assert_blocked(guarded(make_stack, events), events, (_OWN_ROW + frame).encode())


@pytest.mark.parametrize(
    "src",
    [
        "javascript:'%3Cdiv%20data%2Downer=" + BOB + "%3Ex%3C/div%3E'",
        " JavaScript:'<div data-owner=" + BOB + ">x</div>'",
    ],
)
def test_a_javascript_url_frame_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], src: str
) -> None:
    """Chromium's frame DOM (the parent walking ``contentDocument``): ``div=bob-9c2e``."""
    page = _OWN_ROW + f'<iframe src="{src}"></iframe>'
    assert_blocked(guarded(make_stack, events), events, page.encode())


@pytest.mark.parametrize(
    "extra",
    [
        '<iframe src="javascript:void(0)"></iframe>',
        "<meta http-equiv=refresh content='30;url=/next'>",
        '<iframe srcdoc="' + html.escape(_refresh(_b64("text/html", f"<p data-owner='{ALICE}'>x</p>"))) + '"></iframe>',
    ],
)
def test_control_own_frames_that_navigate_pass(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], extra: str
) -> None:
    page = (_OWN_ROW + extra).encode()
    got = guarded(make_stack, events).send(Reply(headers=[HTML_CT], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []
