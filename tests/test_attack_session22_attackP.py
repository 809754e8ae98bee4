"""Adversarial findings, session 22 (attackP): responses respguard and their real reader read apart.

1. **A Refresh header to a data: URL a frame shows as text.** Chromium navigates a frame whose
   response carries ``Refresh: 0;url=data:application/json,{"user_id": "bob-9c2e"}`` (or
   ``data:,{...}``, ``data:text/plain;base64,...``) to that URL and shows the record as text in
   the frame (headless Chromium's screenshot of a page framing it: ``{"user_id":"bob-9c2e"}``,
   the same as for a ``<meta http-equiv=refresh>`` with that content). respguard reads a meta
   refresh's text data: URL as the page of a ``<pre>`` (session 21), but refused a ``Refresh``
   header only for a data: URL of a page type: the response went out (200, no event) on both
   stacks, whatever its body. Fixed (``_markup.refresh_frames_a_page``): a Refresh header to a
   data: URL a frame shows as text is refused too where that text holds a ``{``, ``[`` or ``@``
   (a record or an address it may show); ``data:text/plain,hello`` still passes.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable

import pytest
from _attacks import HTML_CT, assert_refused, guarded
from conftest import GuardedStack, Reply
from ids import ALICE, BOB

from respguard import AuditEvent

_RECORD = f'{{"user_id": "{BOB}"}}'

# ------------------------------------------------------------------ 1. a Refresh header to a text data: URL

_REFRESH_REFUSED = "Refresh header names a data: URL page"


@pytest.mark.parametrize(
    "url",
    [
        "data:application/json," + urllib.parse.quote(_RECORD),
        "data:," + _RECORD,
        "data:text/plain;base64," + base64.b64encode(_RECORD.encode()).decode(),
        "data:application/problem+json," + urllib.parse.quote(_RECORD),
        "data:text/csv," + urllib.parse.quote(",".join(f"person{n}@example.com" for n in range(25))),
    ],
    ids=["json", "untyped", "text-base64", "problem-json", "csv-addresses"],
)
@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ([HTML_CT], b"<p>hi</p>"),
        ([("Content-Type", "application/json")], b"{}"),
        ([("Content-Type", "image/png")], b"\x89PNG"),
    ],
    ids=["page", "json", "image"],
)
def test_a_refresh_header_to_a_data_url_a_frame_shows_as_text_is_refused(
    make_stack: Callable[..., GuardedStack],
    events: list[AuditEvent],
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    assert_refused(make_stack, events, body, _REFRESH_REFUSED, [*headers, ("Refresh", "0;url=" + url)])
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize("url", ["data:text/plain,hello", "data:,Loading%20the%20next%20page"])
def test_control_a_refresh_header_to_a_text_data_url_without_a_record_passes(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], url: str
) -> None:
    page = f"<p data-owner={ALICE}>hi</p>".encode()
    got = guarded(make_stack, events).send(Reply(headers=[HTML_CT, ("Refresh", "0;url=" + url)], chunks=[page]))
    assert (got.status, got.body) == (200, page)
    assert events == []
