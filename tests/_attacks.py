"""What the attack-pass files (``test_attack_session5*.py``) share: the README's guard, the block
assertion, the pages' parts, and why a known gap is a strict xfail."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply, kinds
from ids import BOB

from respguard import AuditEvent, HtmlAttribute, JsonKeys, OwnerHeader

HTML_CT = ("Content-Type", "text/html; charset=utf-8")
FOREIGN_DIV = f'<div data-owner="{BOB}">x</div>'
#: Why a known gap is a strict xfail: the README documents it.
LIMIT = "documented limit (README, 'Proofs and pages in pages'): "


def extractors() -> list[Any]:
    return [JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()]


def guarded(make_stack: Callable[..., GuardedStack], events: list[AuditEvent], **options: Any) -> GuardedStack:
    """The README's guard (token API: no binding across requests), events into ``events``."""
    stack = make_stack(
        secret_key=SECRET, extractors=extractors(), bind_sessions=False, on_event=events.append, **options
    )
    stack.inner_lint = False
    return stack


def assert_blocked(stack: GuardedStack, events: list[AuditEvent], page: bytes, headers: Any = (HTML_CT,)) -> None:
    """The page is refused with the block page and one ``owner_mismatch`` event that names no raw id."""
    got = stack.send(Reply(headers=list(headers), chunks=[page]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert BOB not in events[0].to_json()


def blocked(stack: GuardedStack, events: list[AuditEvent], reply: Reply, kind: str = "owner_mismatch") -> None:
    """The reply is refused with the block page and one blocking event of ``kind`` that names no raw id."""
    got = stack.send(reply)
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [(kind, "blocked")]
    assert BOB not in events[0].to_json()


def passes(stack: GuardedStack, events: list[AuditEvent], reply: Reply) -> None:
    """The reply goes out as the app sent it, with no event."""
    got = stack.send(reply)
    assert (got.status, got.body) == (200, b"".join(reply.chunks))
    assert events == []


def assert_refused(
    make_stack: Callable[..., GuardedStack],
    events: list[AuditEvent],
    page: bytes,
    reason: str,
    headers: Any = (HTML_CT,),
) -> None:
    """The page can't be read as the browser reads it: refused with the block page and one
    ``scan_error`` event giving ``reason``."""
    got = guarded(make_stack, events).send(Reply(headers=list(headers), chunks=[page]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == reason


def cpu_to_pass(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], page: bytes, runs: int = 3
) -> float:
    """The best CPU time of ``runs`` (this process's: the machine's load does not change it) the
    README's guard takes to let ``page`` out whole, with no event: linear-time tests compare two."""
    best = float("inf")
    for _ in range(runs):
        events.clear()
        started = time.process_time()
        got = guarded(make_stack, events).send(Reply(headers=[HTML_CT], chunks=[page]))
        best = min(best, time.process_time() - started)
        assert (got.status, got.body) == (200, page)
        assert events == []
    return best
