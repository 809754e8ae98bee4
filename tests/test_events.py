"""Audit events: kinds and actions for each decision, report-only mode, the policy hook,
and what an event may contain (keyed hashes, fixed phrases; never raw ids or body bytes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from conftest import (
    ALICE,
    BOB,
    CAROL,
    SECRET,
    GuardedStack,
    Reply,
    assert_block,
    assert_no_raw_ids,
    binding_cookies,
    guard_options,
    kinds,
)

from respguard import Action, AuditEvent, EventKind, Guard, Identity, Owner, RequestInfo
from respguard._events import MAX_EVENT_OWNERS, OwnerHasher

MakeStack = Callable[..., GuardedStack]
JSON_CT = (("Content-Type", "application/json"),)
FOREIGN_BODY = b'{"user_id": "bob-9c2e", "card": "1881"}'


def foreign(requester: object = ALICE) -> Reply:
    return Reply(requester=requester, headers=JSON_CT, chunks=[FOREIGN_BODY])


# ------------------------------------------------------------------ anonymous requests


def test_anonymous_with_personal_data_is_blocked(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    got = stack.send(foreign(requester=None))
    assert_block(got.status, got.headers, got.body, original=FOREIGN_BODY)
    assert kinds(events) == [("anonymous_personal_data", "blocked")]
    assert events[0].requester is None and events[0].owner_count == 1
    assert_no_raw_ids(events, "1881")


def test_anonymous_without_personal_data_passes(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    body = b'{"news": ["sale", "bob-9c2e is not an owner key here"]}'
    got = make_stack(**guard_options(events)).send(Reply(requester=None, headers=JSON_CT, chunks=[body]))
    assert got.status == 200 and got.body == body
    assert binding_cookies(got.headers) == []
    assert events == []


# ------------------------------------------------------------------ policy hook


def test_policy_allows_a_cross_owner_view_with_an_audit_event(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    calls: list[tuple[Identity | None, Owner, str]] = []

    def support_desk(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        calls.append((requester, owner, request.path))
        return requester is not None and requester.id == ALICE and request.path.startswith("/support/")

    stack = make_stack(**guard_options(events, policy=support_desk))
    got = stack.send(foreign(), path="/support/tickets/1")
    assert got.status == 200 and got.body == FOREIGN_BODY
    assert kinds(events) == [("cross_owner_view", "allowed")]
    assert calls == [(Identity(ALICE), Owner("id", BOB), "/support/tickets/1")]
    event = events[0]
    guard = stack.guard
    assert event.requester == guard.hasher(ALICE)
    assert event.owners == (guard.hasher(BOB),)
    assert event.owner_count == 1 and event.path == "/support/tickets/1"

    got = stack.send(foreign(), path="/account")
    assert_block(got.status, got.headers, got.body, original=FOREIGN_BODY)
    assert kinds(events)[1:] == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events, "1881")


def test_policy_must_allow_every_foreign_owner(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def only_bob(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        return owner.id == BOB

    stack = make_stack(**guard_options(events, policy=only_bob))
    body = b'[{"user_id": "bob-9c2e"}, {"user_id": "alice-7f3a"}]'
    assert stack.send(Reply(headers=JSON_CT, chunks=[body])).status == 200
    body = b'[{"user_id": "bob-9c2e"}, {"owner_id": "carol-51d0"}]'
    got = stack.send(Reply(headers=JSON_CT, chunks=[body]))
    assert_block(got.status, got.headers, got.body, original=body)
    assert kinds(events) == [("cross_owner_view", "allowed"), ("owner_mismatch", "blocked")]
    assert events[1].owner_count == 2


def test_policy_is_asked_for_anonymous_requests_too(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def public_profiles(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        return request.path.startswith("/public/")

    stack = make_stack(**guard_options(events, policy=public_profiles))
    assert stack.send(foreign(requester=None), path="/public/bob").status == 200
    assert stack.send(foreign(requester=None), path="/private/bob").status == 403
    assert kinds(events) == [("cross_owner_view", "allowed"), ("anonymous_personal_data", "blocked")]
    assert events[0].requester is None


def test_raising_policy_fails_closed(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def broken(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        raise LookupError(owner.id)

    got = make_stack(**guard_options(events, policy=broken)).send(foreign())
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "policy raised"
    assert_no_raw_ids(events)


# ------------------------------------------------------------------ report-only mode

REPORTED = {
    "owner_mismatch": (foreign(), {}),
    "anonymous_personal_data": (foreign(requester=None), {}),
    "scan_error": (Reply(headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"']), {}),
    "oversize": (Reply(headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"}' * 4]), {"max_body_bytes": 50}),
}


@pytest.mark.parametrize("kind", sorted(REPORTED))
def test_report_only_passes_byte_identical_and_logs(make_stack: MakeStack, events: list[AuditEvent], kind: str) -> None:
    reply, options = REPORTED[kind]
    stack = make_stack(**guard_options(events, mode="report", **options))
    got = stack.send(reply)
    body = b"".join(reply.chunks)
    assert got.status == 200 and got.body == body
    assert [v for k, v in got.headers if k == "content-length"] == [str(len(body))]
    assert kinds(events) == [(kind, "reported")]
    assert_no_raw_ids(events)


def test_report_only_drift_passes_and_keeps_the_binding(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, mode="report"))
    stack.send(Reply(requester=ALICE, headers=JSON_CT, chunks=[b"{}"]))
    bound = stack.jar
    got = stack.send(Reply(requester=BOB, headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"}']))
    assert got.status == 200 and got.body == b'{"user_id": "bob-9c2e"}'
    assert binding_cookies(got.headers) == []
    assert stack.jar == bound
    assert kinds(events) == [("session_drift", "reported")]


def test_report_only_drift_still_scans_and_reports_the_body(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, mode="report"))
    stack.send(Reply(requester=ALICE, headers=JSON_CT, chunks=[b"{}"]))
    body = b'{"user_id": "carol-51d0"}'
    got = stack.send(Reply(requester=BOB, headers=JSON_CT, chunks=[body]))
    assert got.status == 200 and got.body == body
    assert kinds(events) == [("session_drift", "reported"), ("owner_mismatch", "reported")]
    assert_no_raw_ids(events)


# ------------------------------------------------------------------ what an event holds


def test_event_fields_and_request_id(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    stack.send(foreign(), method="POST", path="/orders/9", headers=[("X-Request-ID", "req-42.a:b_c")])
    stack.send(foreign(), headers=[("X-Request-ID", "has spaces and alice-7f3a")])
    stack.send(foreign(), headers=[("X-Request-ID", "r" * 129)])
    first = events[0]
    assert first.as_dict() == {
        "kind": "owner_mismatch",
        "action": "blocked",
        "method": "POST",
        "path": "/orders/9",
        "status": 200,
        "reason": "response carries another owner's data",
        "requester": stack.guard.hasher(ALICE),
        "owners": [stack.guard.hasher(BOB)],
        "owner_count": 1,
        "request_id": "req-42.a:b_c",
        "extractor": None,
        "counts": {},
    }
    assert json.loads(first.to_json()) == first.as_dict()
    assert [e.request_id for e in events] == ["req-42.a:b_c", None, None]
    assert_no_raw_ids(events)


def test_request_id_header_is_configurable(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, request_id_header="X-Trace"))
    stack.send(foreign(), headers=[("X-Trace", "t-1"), ("X-Request-ID", "r-1")])
    off = make_stack(**guard_options(events, request_id_header=None))
    off.send(foreign(), headers=[("X-Request-ID", "r-2")])
    assert [e.request_id for e in events] == ["t-1", None]


def test_hashes_are_keyed_stable_and_not_the_ids() -> None:
    one = OwnerHasher(SECRET.encode())
    assert one(ALICE) == one(ALICE) == OwnerHasher(SECRET.encode())(ALICE)
    assert one(ALICE) != one(BOB)
    assert one(ALICE) != OwnerHasher(b"another secret")(ALICE)
    assert len(one(ALICE)) == 32 and ALICE not in one(ALICE)
    guard = Guard(**guard_options(secret_key=["old", SECRET]))
    assert guard.hasher(ALICE) == one(ALICE)  # the newest key


def test_many_owners_are_counted_but_capped(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    many = [f"member-{i:04d}" for i in range(MAX_EVENT_OWNERS + 15)]
    body = json.dumps([{"user_id": m} for m in many]).encode()
    got = make_stack(**guard_options(events)).send(Reply(headers=JSON_CT, chunks=[body]))
    assert got.status == 403
    (event,) = events
    assert event.owner_count == len(many)
    assert len(event.owners) == MAX_EVENT_OWNERS
    assert_no_raw_ids(events, *many)


def test_events_go_to_the_respguard_logger(
    make_stack: MakeStack, events: list[AuditEvent], caplog: pytest.LogCaptureFixture
) -> None:
    def allow_carol(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        return owner.id == CAROL

    stack = make_stack(**guard_options(events, policy=allow_carol))
    with caplog.at_level(logging.INFO, logger="respguard"):
        stack.send(foreign())
        stack.send(Reply(headers=JSON_CT, chunks=[b'{"user_id": "carol-51d0"}']), cookie="")
    records = [r for r in caplog.records if r.name == "respguard"]
    assert [(r.levelno, getattr(r, "respguard_event", None)) for r in records] == [
        (logging.WARNING, events[0]),
        (logging.INFO, events[1]),
    ]
    assert records[0].getMessage() == "respguard blocked " + events[0].to_json()
    for record in records:
        assert ALICE not in record.getMessage() and BOB not in record.getMessage()


def test_raising_on_event_callback_is_logged_and_swallowed(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: AuditEvent) -> None:
        raise RuntimeError("sink down")

    with caplog.at_level(logging.WARNING, logger="respguard"):
        got = make_stack(**guard_options(on_event=broken)).send(foreign())
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert "respguard on_event callback raised" in [r.getMessage() for r in caplog.records]


def test_kinds_and_actions_are_their_text() -> None:
    assert str(EventKind.OWNER_MISMATCH) == "owner_mismatch"
    assert str(Action.ALLOWED) == "allowed"
    assert {k.value for k in EventKind} >= {
        "owner_mismatch",
        "session_drift",
        "anonymous_personal_data",
        "cross_owner_view",
        "scan_error",
        "oversize",
        "binding_rejected",
    }
