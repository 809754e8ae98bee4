"""An event stream with a Content-Length is a finite document: held whole, blocked whole.

Found by the opt-in Django stack (attack pass 8d): a view that answers an event stream whole
(``HttpResponse``, given a length by ``CommonMiddleware``) was cut before its foreign event, and
went out shorter than the length its head declared; a client waits for the missing bytes and
h11 refuses to send it. Cut after the head, the same body is short on ASGI and WSGI too. Held
whole like JSON lines of a known length, one foreign event blocks the whole response with the
block page, and its many people's addresses are counted over every event, as a stream's are.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from _attacks import guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, assert_no_raw_ids, kinds, values
from ids import ALICE, BOB

from respguard import AuditEvent

SSE = ("Content-Type", "text/event-stream")


def event(data: object) -> bytes:
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def addresses(count: int) -> list[str]:
    return [f"person{n}@example.com" for n in range(count)]


def test_a_foreign_event_blocks_the_whole_sized_stream(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    chunks = [event({"user_id": ALICE}), event({"user_id": BOB, "card_last4": "1881"})]
    got = guarded(make_stack, events).send(Reply(headers=[SSE], chunks=chunks))
    assert (got.status, got.body) == (403, BLOCK_BODY)  # no byte of the own event either
    assert values(got.headers, "content-length") == [str(len(BLOCK_BODY))]
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events, "1881")


def test_without_a_length_the_stream_is_still_cut_before_the_foreign_event(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    chunks = [event({"user_id": ALICE}), event({"user_id": BOB})]
    got = guarded(make_stack, events).send(Reply(headers=[SSE], chunks=chunks, content_length=False))
    assert (got.status, got.body) == (200, chunks[0])
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_an_own_sized_stream_goes_out_whole_with_its_length(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    chunks = [event({"user_id": ALICE}), event({"user_id": ALICE})]
    got = guarded(make_stack, events).send(Reply(headers=[SSE], chunks=chunks))
    assert (got.status, got.body) == (200, b"".join(chunks))
    assert values(got.headers, "content-length") == [str(len(b"".join(chunks)))]
    assert values(got.headers, "cache-control") == ["private, no-store"]
    assert events == []


@pytest.mark.parametrize(
    "spell",
    [
        lambda a: f"data: {a}\n\n".encode(),
        lambda a: b'data: {"email": "' + a.replace("@", "\\u0040").encode() + b'"}\n\n',
    ],
    ids=["as-text", "escaped-in-json-data"],
)
def test_addresses_spread_over_a_sized_stream_add_up(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], spell: Callable[[str], bytes]
) -> None:
    """25 events of one address each: 25 people's addresses in one response (the default
    threshold is 20), withheld whole; ``\\u0040`` is an '@' to the script that parses the data."""
    chunks = [spell(address) for address in addresses(25)]
    got = guarded(make_stack, events).send(Reply(headers=[SSE], chunks=chunks))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert dict(events[0].counts) == {"email": 25}


def test_a_few_addresses_in_a_sized_stream_pass(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    chunks = [f"data: {address}\n\n".encode() for address in addresses(20)]
    got = guarded(make_stack, events).send(Reply(headers=[SSE], chunks=chunks))
    assert (got.status, got.body) == (200, b"".join(chunks))
    assert events == []


def test_report_mode_reports_the_sized_stream_and_lets_it_out_whole(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    chunks = [event({"user_id": ALICE}), event({"user_id": BOB})]
    got = guarded(make_stack, events, mode="report").send(Reply(headers=[SSE], chunks=chunks))
    assert (got.status, got.body) == (200, b"".join(chunks))
    assert values(got.headers, "content-length") == [str(len(b"".join(chunks)))]
    assert kinds(events) == [("owner_mismatch", "reported")]
