"""Adversarial findings, session 22 (mine): what a head says there is to read.

1. **A body on a response that has none.** A ``204 No Content`` or ``304 Not Modified`` is
   decided on its head (RFC 9110: neither has a body, and a client stops reading at its head).
   An app that sends bytes after it anyway (bob's record, say) had them passed through
   untouched on both stacks, and servers differ on them: Werkzeug 3.1's development server
   writes them on the wire after the 204's head; uvicorn 0.55 (h11 and httptools) raises on them
   and drops the keep-alive connection; gunicorn's gthread worker drops them. Fixed
   (``Exchange.start``): in enforce mode such a response ends with its head and the app's body
   is dropped, unread and unlogged (then each server answers a second request on the
   connection); report mode still changes nothing.
2. **An id spelt with a character no reader draws, in an event's path.** The bulk check drops
   every default-ignorable code point before it counts (session 21); event redaction folded
   away only the format controls, marks and Hangul fillers, not the unassigned ones the list
   holds (U+2065, U+FFF0-FFF8, the tag plane beyond U+E007F), which HarfBuzz draws as nothing:
   ``/contacts/al\ufff0ice-7f3a.vcf`` reached the log as it was, on both stacks. Fixed
   (``_redact._fold_char``): redaction drops the one list the bulk check drops
   (``_pii.INVISIBLE``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from _attacks import guarded
from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply, assert_block, kinds
from ids import ALICE, BOB

from respguard import AuditEvent, JsonKeys

JSON_CT = ("Content-Type", "application/json")
HTML_CT = ("Content-Type", "text/html; charset=utf-8")
BOB_RECORD = json.dumps({"user_id": BOB, "email": "bob@example.com"})


# ------------------------------------------------------------------ 1. a body on a response that has none


@pytest.mark.parametrize("status", [204, 304])
@pytest.mark.parametrize("content_length", [False, True], ids=["no-length", "length"])
@pytest.mark.parametrize(
    "chunks", [[BOB_RECORD.encode()], [b'{"user_id": ', f'"{BOB}"}}'.encode()]], ids=["one", "two"]
)
def test_a_body_on_a_response_without_one_is_dropped(
    make_stack: Callable[..., GuardedStack],
    events: list[AuditEvent],
    status: int,
    content_length: bool,
    chunks: list[bytes],
) -> None:
    got = guarded(make_stack, events).send(
        Reply(status=status, headers=[JSON_CT], chunks=chunks, content_length=content_length), outer_lint=False
    )
    assert (got.status, got.body) == (status, b"")
    assert events == []


@pytest.mark.parametrize("status", [204, 304])
def test_control_a_response_without_a_body_still_reads_its_head(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], status: int
) -> None:
    """The head is read as before: an owner header naming bob blocks."""
    got = guarded(make_stack, events).send(
        Reply(status=status, headers=[("X-Data-Owner", BOB)], chunks=[BOB_RECORD.encode()], content_length=False)
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize("status", [204, 304])
def test_control_report_mode_leaves_a_bodiless_response_as_sent(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], status: int
) -> None:
    body = BOB_RECORD.encode()
    got = guarded(make_stack, events, mode="report").send(
        Reply(status=status, headers=[JSON_CT], chunks=[body], content_length=False), outer_lint=False
    )
    assert (got.status, got.body) == (status, body)
    assert events == []


# ------------------------------------------------------------------ 2. an id spelt with a character no reader draws


@pytest.mark.parametrize("invisible", ["\u2065", "\ufff0", "\ufff8", "\U000e0080", "\U000e0fff", "\u3164"])
def test_an_id_spelt_with_an_undrawn_character_is_redacted_from_the_path(
    make_stack: Callable[..., GuardedStack], invisible: str
) -> None:
    events: list[AuditEvent] = []
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("customer_id")], on_event=events.append)
    reply = Reply(headers=[JSON_CT], chunks=[json.dumps({"customer_id": BOB}).encode()], requester=ALICE)
    spelt = ALICE[:2] + invisible + ALICE[2:]
    got = stack.send(reply, path=f"/contacts/{spelt}.vcf", cookie="")
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].path == "/contacts/{id}.vcf"
    text = events[0].to_json()
    assert ALICE not in text and BOB not in text and spelt not in json.loads(text)["path"]
