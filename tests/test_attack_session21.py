"""Session 21: a block must not loosen the binding it stands on.

Tried as an attacker would (a buggy app, incident 2's shared state under concurrency): Alice's
browser is bound to Alice. One of her pages carries Bob's record and is blocked, which cleared
her binding cookie. Her next request finds the app's session swapped to Bob's: with no binding
left, respguard bound the browser to Bob and served Bob's page whole, with no event, where
without the earlier block the same request was a ``session_drift``. Every block but a drift or a
refused write cleared the binding, on both stacks.

A block now carries the binding cookie a pass would have carried, and no other: the binding
respguard sets (a first visit, a log-in or ``rebind``, a rejected cookie replaced), refreshes, or
clears (``unbind``). Else it sends no ``Set-Cookie``, and the browser keeps the binding it holds.
(A first fix cleared the binding at a login path's block, which left the same swap open there:
review 21's finding.)
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from _attacks import extractors
from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply, assert_block, binding_cookies, kinds
from ids import ALICE, BOB, CAROL, CROWD

from respguard import AuditEvent, PathOwner, rebind, unbind


def _page(owner: str, requester: str | None = ALICE, status: int = 200, **extra: object) -> Reply:
    body = json.dumps({"user_id": owner, **extra}).encode()
    return Reply(status=status, headers=[("Content-Type", "application/json")], chunks=[body], requester=requester)


def _bound(make_stack: Callable[..., GuardedStack], events: list[AuditEvent]) -> GuardedStack:
    """Alice's browser, bound to Alice by pages of her own."""
    stack = make_stack(
        secret_key=SECRET,
        extractors=extractors(),
        login_paths=["/login"],
        inbound=[PathOwner("/records/{owner_id}")],
        on_event=events.append,
    )
    stack.inner_lint = False
    got = stack.send(_page(ALICE))
    assert got.status == 200 and len(binding_cookies(got.headers)) == 1
    for _ in range(2):  # verified, then remembered (the binding memory's path is the one taken next)
        assert stack.send(_page(ALICE)).status == 200
    events.clear()
    return stack


def _swapped_session_is_a_drift(stack: GuardedStack, events: list[AuditEvent]) -> None:
    """The app now says Bob is asking, from Alice's browser: refused as a drift, the binding kept."""
    events.clear()
    bobs = _page(BOB, requester=BOB)
    got = stack.send(bobs)
    assert_block(got.status, got.headers, got.body, original=bobs.chunks[0])
    assert kinds(events) == [("session_drift", "blocked")]


def _a_foreign_page(stack: GuardedStack) -> tuple[str, object]:
    return "owner_mismatch", stack.send(_page(BOB))


def _a_range_of_a_foreign_page(stack: GuardedStack) -> tuple[str, object]:
    reply = _page(BOB, status=206)
    reply.headers = [*reply.headers, ("Content-Range", "bytes 0-20/40")]
    return "scan_error", stack.send(reply)


def _a_mailing_list(stack: GuardedStack) -> tuple[str, object]:
    crowd = [f"{name}@example.test" for name in CROWD[:30]]
    return "bulk_personal_data", stack.send(_page(ALICE, to=crowd))


def _a_foreign_page_to_nobody(stack: GuardedStack) -> tuple[str, object]:
    # the app lost the session for one request: a page of Bob's, and nobody asking
    return "anonymous_personal_data", stack.send(_page(BOB, requester=None))


def _a_refused_write(stack: GuardedStack) -> tuple[str, object]:
    return "cross_owner_write", stack.send(_page(ALICE), method="POST", path=f"/records/{BOB}")


BLOCKS = {
    "foreign page": _a_foreign_page,
    "206 of a foreign page": _a_range_of_a_foreign_page,
    "mailing list": _a_mailing_list,
    "foreign page, requester lost": _a_foreign_page_to_nobody,
    "refused write": _a_refused_write,
}


@pytest.mark.parametrize("block", list(BLOCKS))
def test_a_block_keeps_the_binding_so_a_session_swapped_next_is_still_a_drift(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], block: str
) -> None:
    stack = _bound(make_stack, events)
    held = stack.jar
    kind, got = BLOCKS[block](stack)
    assert (got.status, got.body) == (403, BLOCK_BODY)  # type: ignore[attr-defined]
    assert binding_cookies(got.headers) == []  # type: ignore[attr-defined]
    assert [k for k, _ in kinds(events)] == [kind]
    assert stack.jar == held
    _swapped_session_is_a_drift(stack, events)


def test_a_block_at_a_login_path_binds_the_browser_to_who_logged_in(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = _bound(make_stack, events)
    got = stack.send(_page(BOB, requester=CAROL), path="/login")  # Carol logs in; her first page is Bob's
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    events.clear()
    got = stack.send(_page(CAROL, requester=CAROL))  # Carol's own page: bound to her, no drift
    assert (got.status, binding_cookies(got.headers), events) == (200, [], [])
    _swapped_session_is_a_drift(stack, events)  # and a session swapped to Bob's is one


def test_a_block_where_the_app_rebinds_binds_the_browser_to_the_new_user(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = _bound(make_stack, events)
    reply = _page(BOB, requester=CAROL)
    reply.hook = lambda request: rebind(request, CAROL)
    got = stack.send(reply)
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    _swapped_session_is_a_drift(stack, events)


def test_a_block_where_the_app_unbinds_clears_the_binding(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = _bound(make_stack, events)
    reply = _page(BOB)
    reply.hook = unbind
    got = stack.send(reply)
    assert_block(got.status, got.headers, got.body, clears_binding=True)
    assert kinds(events) == [("anonymous_personal_data", "blocked")]  # (logged out: nobody asks)
    assert stack.jar is None


def test_a_blocked_first_visit_binds_the_browser(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = make_stack(secret_key=SECRET, extractors=extractors(), on_event=events.append)
    stack.inner_lint = False
    got = stack.send(_page(BOB))
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    _swapped_session_is_a_drift(stack, events)


def test_a_block_replaces_a_binding_cookie_that_was_rejected(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    stack = _bound(make_stack, events)
    got = stack.send(_page(BOB), cookie="eyJ1IjoieCJ9.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb")
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("binding_rejected", "ignored"), ("owner_mismatch", "blocked")]
    _swapped_session_is_a_drift(stack, events)
