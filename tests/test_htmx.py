"""htmx swaps the answer to its request into the page as HTML, whatever its type.

Chromium with htmx 2.0.11: ``<div hx-get=... hx-trigger=load>`` holds bob's div whatever the
answer's type (``text/plain``, ``application/octet-stream``, ``application/json``, ``text/csv``,
``image/png``, none): htmx takes ``xhr.responseText`` and parses it as a fragment. Every htmx
request carries ``HX-Request: true``; respguard reads the answer to such a request as a page of
its type (session 17 had it as a documented limit: only HTML types were read as markup).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from _attacks import guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, kinds
from ids import ALICE, BOB

from respguard import AuditEvent

HTMX = [("HX-Request", "true")]
TYPES = ["text/plain", "application/octet-stream", "application/json", "text/csv", "image/png", None]


def _reply(content_type: str | None, body: str) -> Reply:
    return Reply(headers=[] if content_type is None else [("Content-Type", content_type)], chunks=[body.encode()])


@pytest.mark.parametrize("content_type", TYPES)
def test_a_fragment_htmx_swaps_is_read_as_a_page_whatever_its_type(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str | None
) -> None:
    got = guarded(make_stack, events).send(_reply(content_type, f'<div data-owner="{BOB}">Bob</div>'), headers=HTMX)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize(
    "body",
    [
        f'\x89PNG\r\n\x1a\n<div data-owner="{BOB}">',  # a binary file's magic first: its text is still swapped
        f'{{"html": "<div data-owner=\\"{BOB}\\">"}}',  # JSON text: htmx swaps the text, quotes and all
        f"name,owner\nBob,<p data-owner={BOB}>",
    ],
    ids=["png-magic", "json-text", "csv"],
)
def test_markup_anywhere_in_the_text_htmx_swaps_is_read(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], body: str
) -> None:
    got = guarded(make_stack, events).send(_reply("application/octet-stream", body), headers=HTMX)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_any_spelling_or_value_of_the_header_is_htmx(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    # (A client that sends HX-Request is read as htmx whatever its value: a stricter reading, never a looser one.)
    got = guarded(make_stack, events).send(
        _reply("text/plain", f'<div data-owner="{BOB}">'), headers=[("hx-REQUEST", "1")]
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize("content_type", TYPES)
def test_the_requesters_own_fragment_passes_as_sent(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str | None
) -> None:
    body = f'<div data-owner="{ALICE}">Alice</div>'
    got = guarded(make_stack, events).send(_reply(content_type, body), headers=HTMX)
    assert (got.status, got.body) == (200, body.encode())
    assert events == []


def test_json_an_htmx_request_gets_is_still_read_as_json(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    got = guarded(make_stack, events).send(_reply("application/json", f'{{"user_id": "{BOB}"}}'), headers=HTMX)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", "image/png"])
def test_control_markup_in_a_type_no_reader_renders_passes_without_htmx(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    # fetch().text() shows it as text, a browser as text or a download: no element is made of it.
    body = f'<div data-owner="{BOB}">Bob</div>'
    got = guarded(make_stack, events).send(_reply(content_type, body))
    assert (got.status, got.body) == (200, body.encode())
    assert events == []


def test_an_event_stream_htmx_requests_is_still_read_event_by_event(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    reply = Reply(
        headers=[("Content-Type", "text/event-stream")],
        chunks=[b"data: <p>ok</p>\n\n", f'data: <div data-owner="{BOB}">\n\n'.encode()],
        content_length=False,
    )
    got = guarded(make_stack, events).send(reply, headers=HTMX)
    assert (got.status, got.body) == (200, b"data: <p>ok</p>\n\n")  # cut before bob's event
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.xfail(
    strict=True,
    reason="documented limit (README, 'Scripts and styles are not markup'): an event stream or JSON lines "
    "answering an htmx request is read record by record, though htmx swaps the whole text in as HTML",
)
def test_limit_markup_outside_an_events_data_in_an_htmx_answer(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    # (session 19 attackT) htmx's XHR gets the whole stream and swaps it in: a comment line's markup is an element.
    reply = Reply(
        headers=[("Content-Type", "text/event-stream")],
        chunks=[f': <div data-owner="{BOB}">\n\ndata: ok\n\n'.encode()],
        content_length=False,
    )
    got = guarded(make_stack, events).send(reply, headers=HTMX)
    assert got.status == 403 or got.body == b""
