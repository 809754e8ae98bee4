"""The binding memory and the binding cookies of a request (respguard._session), unit by unit.

The memory only saves work: on the stacks a miss is verified again and decides the same, so
every rule of it is pinned here, at its boundaries (the clock is set, not waited for).
"""

from __future__ import annotations

import time

import pytest
from conftest import ALICE, BINDING, BOB, OLD_SECRET, SECRET

from respguard import Identity
from respguard._binding import Binding, BindingCodec
from respguard._session import BindingMemory, load_bindings

MAX_AGE = 1000
T0 = 1_700_000_000.0


def codec(*keys: str) -> BindingCodec:
    return BindingCodec(
        [k.encode() for k in keys],
        cookie_name=BINDING,
        max_age=MAX_AGE,
        secure=None,
        path="/",
        domain=None,
        same_site="lax",
    )


def binding(issued_at: float = T0, key_index: int = 0) -> Binding:
    return Binding("0" * 32, {}, key_index, issued_at)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """``clock[0]`` is what ``time.time()`` returns."""
    now = [T0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def test_a_remembered_binding_is_recalled_for_an_equal_requester(clock: list[float]) -> None:
    memory = BindingMemory()
    bound = binding()
    assert memory.recall("c=1", Identity(ALICE)) is None
    memory.remember("c=1", Identity(ALICE), [bound], codec(SECRET))
    recalled = memory.recall("c=1", Identity(ALICE))  # an equal identity, not the same object
    assert recalled is not None and recalled[0] is bound and recalled[1] is False
    assert memory.recall("c=2", Identity(ALICE)) is None
    assert memory.recall("c=1", Identity(BOB)) is None
    assert memory.recall("c=1", Identity(ALICE, email="alice@example.test")) is None


def test_the_memory_ends_with_the_oldest_binding_and_refreshes_at_half_the_newest(clock: list[float]) -> None:
    memory = BindingMemory()
    older, newer = binding(T0 - 100), binding(T0)
    memory.remember("c", Identity(ALICE), [older, newer], codec(SECRET))
    expected = {
        T0 + MAX_AGE * 0.4: (newer, False),
        T0 + MAX_AGE / 2: (newer, False),  # exactly half its life: not yet
        T0 + MAX_AGE * 0.6: (newer, True),
        T0 - 100 + MAX_AGE: (newer, True),  # exactly the oldest one's end: still valid
    }
    for when, outcome in expected.items():
        clock[0] = when
        assert memory.recall("c", Identity(ALICE)) == outcome, when
    clock[0] = T0 - 100 + MAX_AGE + 0.001
    assert memory.recall("c", Identity(ALICE)) is None


def test_a_binding_signed_by_an_older_key_is_due_a_refresh_at_once(clock: list[float]) -> None:
    memory = BindingMemory()
    old = binding(key_index=1)
    memory.remember("c", Identity(ALICE), [old], codec(OLD_SECRET, SECRET))
    assert memory.recall("c", Identity(ALICE)) == (old, True)


def test_a_full_memory_starts_again(clock: list[float]) -> None:
    memory = BindingMemory()
    bound, c = binding(), codec(SECRET)
    for n in range(8192):
        memory.remember(f"c={n}", Identity(ALICE), [bound], c)
    assert memory.recall("c=8191", Identity(ALICE)) == (bound, False)
    memory.remember("c=new", Identity(ALICE), [bound], c)  # the 8193rd: the others go
    assert memory.recall("c=0", Identity(ALICE)) is None
    assert memory.recall("c=8191", Identity(ALICE)) is None
    assert memory.recall("c=new", Identity(ALICE)) == (bound, False)
    memory = BindingMemory()
    for n in range(8191):
        memory.remember(f"c={n}", Identity(ALICE), [bound], c)
    memory.remember("c=last", Identity(ALICE), [bound], c)  # the 8192nd still fits
    assert memory.recall("c=0", Identity(ALICE)) == (bound, False)


def test_load_bindings_reads_every_binding_cookie_and_reports_each_bad_one() -> None:
    c = codec(SECRET)
    good = c.dumps(Identity(ALICE))
    rejected: list[str] = []
    bindings, clean = load_bindings(f"a=1; {BINDING}={good}; {BINDING}=; {BINDING}=forged", c, rejected.append)
    assert [b.id_hash for b in bindings] == [c.hash(ALICE)]
    assert (clean, rejected) == (False, ["bad signature"])
    rejected.clear()
    assert load_bindings(f"{BINDING}={good}", c, rejected.append)[1] is True
    assert load_bindings(None, c, rejected.append) == ([], True)
    assert load_bindings("", c, rejected.append) == ([], True)
    assert load_bindings(f"{BINDING}=", c, rejected.append) == ([], True)  # a cleared cookie: nothing to reject
    assert rejected == []
