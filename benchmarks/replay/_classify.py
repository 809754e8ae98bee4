"""Classify every response from the client's side, which knows the truth.

Each simulated browser knows who it is (its :class:`Person`), and the
:class:`World` knows every person the replay made (the 200 customers and every
member signed up during the run). A response is:

- ``leak``: it carries an id or e-mail address of a known person other than the
  browser's own (or, for a cross-owner write, the write's side effect happened);
- ``blocked``: respguard's block page, and what it withheld really was someone
  else's data (or a write to someone else's record);
- ``false_block``: respguard's block page over the browser's own data;
- ``server_error``: a 5xx other than the block page, or no complete response;
- ``correct``: anything else the browser expected (its own data, an app's own
  refusal of an attack...);
- ``other``: an unexpected 4xx from the app (e.g. "login required" for a browser
  that believes it is logged in): neither a leak nor the guard's doing, reported
  so that nothing is hidden.

The block page says nothing about what it withheld, so a block is resolved with
the audit event respguard logged for the same ``X-Request-Id``: its owners are
keyed hashes, and the client, which knows every id and the secret, recomputes
them. A block without an event counts as a false block (the conservative side).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from respguard import BlockPage
from respguard._events import OwnerHasher

from ._http import Response

BLOCK_STATUS = BlockPage().status
BLOCK_BODY = BlockPage().body

_ID = re.compile(rb"\b[cm]\d{4}\b")
_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


class Outcome(str, Enum):
    CORRECT = "correct"
    LEAK = "leaks"
    BLOCKED = "blocked"
    FALSE_BLOCK = "false_blocks"
    SERVER_ERROR = "server_errors"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


#: The order of the counters in the JSON rows and the table.
COUNTERS = tuple(o.value for o in Outcome)


@dataclass(frozen=True)
class Person:
    """Who a simulated browser is: its id and e-mail (lower case)."""

    id: str
    email: str


@dataclass
class World:
    """Every person the replay knows, and the secret that keys respguard's event hashes."""

    secret: str
    emails: set[bytes] = field(default_factory=set)
    #: ids that more than one person holds (``shared-id``): an event's requester hash can't tell them apart
    shared_ids: set[str] = field(default_factory=set)
    _holders: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hasher = OwnerHasher(self.secret.encode("utf-8"))

    def add(self, person: Person) -> None:
        self.emails.add(person.email.encode())
        holders = self._holders.setdefault(person.id, set())
        holders.add(person.email)
        if len(holders) > 1:
            self.shared_ids.add(person.id)

    def foreign(self, body: bytes, me: Person | None) -> list[str]:
        """Ids and known e-mail addresses in ``body`` that are not ``me``'s."""
        found: set[str] = set()
        my_id = me.id.encode() if me else None
        my_email = me.email.encode() if me else None
        for match in _ID.finditer(body):
            token = match.group()
            if token != my_id:
                found.add(token.decode())
        for match in _EMAIL.finditer(body):
            token = match.group().lower()
            if token != my_email and token in self.emails:
                found.add(token.decode())
        return sorted(found)

    def my_hashes(self, me: Person) -> set[str]:
        """The hashes respguard's events give ``me``'s id and e-mail owner."""
        return {self.hasher(me.id), self.hasher("email:" + me.email)}


def is_block(response: Response | None) -> bool:
    """Is this respguard's block page?"""
    return response is not None and response.status == BLOCK_STATUS and response.body == BLOCK_BODY


def classify(
    response: Response | None,
    me: Person | None,
    world: World,
    *,
    expected: Iterable[int] = (200, 201, 204),
) -> Outcome | None:
    """Classify one response; ``None`` means "a block, resolve it with its event"."""
    if response is None or response.status >= 500:
        return Outcome.SERVER_ERROR
    if is_block(response):
        return None
    if world.foreign(response.body, me):
        return Outcome.LEAK
    if response.status in expected:
        return Outcome.CORRECT
    return Outcome.OTHER


def classify_record(response: Response | None, me: Person, world: World) -> Outcome | None:
    """``GET /api/me``: as :func:`classify`, and a 200 must be exactly ``me``'s record."""
    outcome = classify(response, me, world, expected=(200,))
    if outcome is Outcome.CORRECT and response is not None:
        try:
            record = response.json()
        except ValueError:
            return Outcome.OTHER
        if not isinstance(record, dict) or record.get("customer_id") != me.id:
            return Outcome.OTHER
        if str(record.get("email", "")).lower() != me.email:
            return Outcome.LEAK  # the same id but another person's record (shared-id)
    return outcome


def resolve_block(events: Sequence[Mapping[str, Any]], me: Person, world: World) -> Outcome:
    """A block: was what respguard withheld someone else's data (``blocked``) or ``me``'s own?"""
    blocking = [e for e in events if e.get("action") == "blocked"]
    if not blocking:
        return Outcome.FALSE_BLOCK  # no event to prove it withheld anyone else's data
    event = blocking[-1]
    kind = event.get("kind")
    if kind in ("bulk_personal_data", "shared_cache"):
        # Many people's data in one response; or a personal response marked for a shared
        # cache, which would have reached the next browser (see the README).
        return Outcome.BLOCKED
    if kind == "session_drift":
        requester = event.get("requester")
        if requester is not None and requester != world.hasher(me.id):
            return Outcome.BLOCKED  # the app took this browser for someone else
        if me.id in world.shared_ids:
            return Outcome.BLOCKED  # same id, another person's facets
        return Outcome.FALSE_BLOCK
    owners = event.get("owners") or []
    mine = world.my_hashes(me)
    if any(owner not in mine for owner in owners):
        return Outcome.BLOCKED
    return Outcome.FALSE_BLOCK


@dataclass
class Tally:
    """The counters of one run."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    #: a few examples per outcome other than ``correct``, for the diagnostics
    samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, outcome: Outcome, note: str = "") -> None:
        self.counts[outcome.value] += 1
        if outcome is not Outcome.CORRECT and note:
            examples = self.samples.setdefault(outcome.value, [])
            if len(examples) < 5:
                examples.append(note)

    @property
    def requests(self) -> int:
        return sum(self.counts.values())
