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
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from _attacks import assert_blocked, guarded
from conftest import GuardedStack, Reply
from ids import ALICE, BOB

from respguard import AuditEvent

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
