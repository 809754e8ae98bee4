"""The one decision, unit by unit: every owner is the requester, or a policy says so, or it is a violation."""

from __future__ import annotations

from typing import Any

import pytest

from respguard import Guard, Identity, JsonKeys, Owner, RequestInfo
from respguard._binding import Binding
from respguard._decide import ALLOW, decide, foreign_owners, is_own
from respguard._events import EventKind

GUARD = Guard(secret_key="decide-secret", extractors=[JsonKeys("user_id")])
CODEC = GUARD.codec
REQUEST = RequestInfo("GET", "/orders", "http", {}, lambda raw: [])
ALICE = Identity("alice-7f3a", email="alice@example.test")


def bound(identity: Identity) -> Binding:
    return CODEC.loads(CODEC.dumps(identity))


def test_no_owners_and_own_owners_allow() -> None:
    assert decide(ALICE, [], [], CODEC, None, REQUEST) is ALLOW
    assert decide(ALICE, [("id", "alice-7f3a"), ("email", "alice@example.test")], [], CODEC, None, REQUEST) is ALLOW
    assert decide(None, [], [], CODEC, None, REQUEST) is ALLOW


@pytest.mark.parametrize(
    ("requester", "write", "kind", "reason"),
    [
        (ALICE, False, EventKind.OWNER_MISMATCH, "response carries another owner's data"),
        (None, False, EventKind.ANONYMOUS_PERSONAL_DATA, "personal data in a response to nobody"),
        (ALICE, True, EventKind.CROSS_OWNER_WRITE, "request names another owner's record"),
        (None, True, EventKind.CROSS_OWNER_WRITE, "request names another owner's record"),
    ],
)
def test_a_foreign_owner_is_a_violation(requester: Identity | None, write: bool, kind: EventKind, reason: str) -> None:
    decision = decide(requester, [("id", "bob-9c2e"), ("id", "alice-7f3a")], [], CODEC, None, REQUEST, write=write)
    assert (decision.kind, decision.reason) == (kind, reason)
    expected = [("id", "alice-7f3a"), ("id", "bob-9c2e")] if requester is None else [("id", "bob-9c2e")]
    assert decision.foreign == expected


def test_the_policy_must_allow_every_foreign_owner() -> None:
    asked: list[tuple[Any, Owner, str]] = []

    def only_bob(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        asked.append((requester, owner, request.path))
        return owner.id == "bob-9c2e"

    two = [("id", "bob-9c2e"), ("id", "carol-51d0"), ("id", "alice-7f3a")]
    decision = decide(ALICE, two, [], CODEC, only_bob, REQUEST)
    assert (decision.kind, decision.foreign) == (EventKind.OWNER_MISMATCH, [("id", "bob-9c2e"), ("id", "carol-51d0")])
    assert asked == [(ALICE, Owner("id", "bob-9c2e"), "/orders"), (ALICE, Owner("id", "carol-51d0"), "/orders")]
    allowed = decide(ALICE, [("id", "bob-9c2e")], [], CODEC, only_bob, REQUEST)
    assert (allowed.kind, allowed.reason) == (EventKind.CROSS_OWNER_VIEW, "policy allowed a cross-owner view")
    write = decide(ALICE, [("id", "bob-9c2e")], [], CODEC, only_bob, REQUEST, write=True)
    assert (write.kind, write.reason) == (EventKind.CROSS_OWNER_VIEW, "policy allowed a cross-owner write")


@pytest.mark.parametrize("answer", [False, None, 1, "yes", [True]])
def test_only_true_from_a_policy_allows(answer: Any) -> None:
    decision = decide(ALICE, [("id", "bob-9c2e")], [], CODEC, lambda r, o, q: answer, REQUEST)
    assert decision.kind is EventKind.OWNER_MISMATCH


def test_a_raising_policy_fails_closed() -> None:
    def broken(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        raise LookupError(owner.id)

    decision = decide(ALICE, [("id", "bob-9c2e")], [], CODEC, broken, REQUEST)
    assert (decision.kind, decision.reason, decision.foreign) == (
        EventKind.SCAN_ERROR,
        "policy raised",
        [("id", "bob-9c2e")],
    )


def test_owners_compare_with_the_binding_where_the_requester_has_no_value() -> None:
    bindings = [bound(ALICE)]
    # no requester known (a write before the app ran): the binding's hashes decide
    assert is_own(None, bindings, CODEC, "id", "alice-7f3a")
    assert not is_own(None, bindings, CODEC, "id", "bob-9c2e")
    assert is_own(None, bindings, CODEC, "email", "alice@example.test")
    assert not is_own(None, bindings, CODEC, "email", "bob@example.test")
    # a facet the requester does not carry: the bound one decides; a kind nobody bound is foreign
    plain = Identity("alice-7f3a")
    assert is_own(plain, bindings, CODEC, "email", "alice@example.test")
    assert not is_own(plain, bindings, CODEC, "phone", "0312345678")
    assert not is_own(plain, [], CODEC, "email", "alice@example.test")
    # every binding must agree (two cookies in one browser)
    assert not is_own(None, [*bindings, bound(Identity("bob-9c2e"))], CODEC, "id", "alice-7f3a")
    assert not is_own(None, [], CODEC, "id", "alice-7f3a")


def test_foreign_owners_are_sorted_and_distinct() -> None:
    owners = [("id", "carol-51d0"), ("id", "bob-9c2e"), ("id", "carol-51d0"), ("id", "alice-7f3a")]
    assert foreign_owners(ALICE, owners, [], CODEC) == [("id", "bob-9c2e"), ("id", "carol-51d0")]
