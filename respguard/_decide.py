"""The decision: is every owner the requester, and if not, does a policy allow it?

One pure function serves responses and writes alike: :func:`decide`. It never
emits events or renders pages; the caller does both from the :class:`Decision`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._binding import Binding, BindingCodec
from ._events import EventKind
from ._identity import ID, Identity
from ._scan import RequestInfo
from ._verdict import Owner

Policy = Callable[[Identity | None, Owner, RequestInfo], bool]
OwnerText = tuple[str, str]  # (kind, normalised text)


class Decision:
    """What :func:`decide` found: ``kind`` is ``None`` (allow), ``CROSS_OWNER_VIEW`` (a policy
    allowed the foreign owners: audited), or the violation's kind, with its fixed reason."""

    __slots__ = ("kind", "reason", "foreign")

    def __init__(self, kind: EventKind | None, reason: str, foreign: list[OwnerText]) -> None:
        self.kind = kind
        self.reason = reason
        self.foreign = foreign


ALLOW = Decision(None, "", [])


def is_own(requester: Identity | None, bindings: Sequence[Binding], codec: BindingCodec, kind: str, text: str) -> bool:
    """Is this owner the requester: its value of that kind, else what every binding recorded at log-in?"""
    if requester is not None:
        value = requester.value(kind)
        if value is not None:
            return value == text
    if not bindings:
        return False
    if kind == ID:
        return all(codec.hash(text, b.key_index) == b.id_hash for b in bindings)
    return all(codec.facet_matches(b, kind, text) is True for b in bindings)


def foreign_owners(
    requester: Identity | None, owners: Sequence[OwnerText], bindings: Sequence[Binding], codec: BindingCodec
) -> list[OwnerText]:
    """The owners that are not the requester, sorted and distinct."""
    return sorted({o for o in owners if not is_own(requester, bindings, codec, o[0], o[1])})


def decide(
    requester: Identity | None,
    owners: Sequence[OwnerText],
    bindings: Sequence[Binding],
    codec: BindingCodec,
    policy: Policy | None,
    request: RequestInfo,
    *,
    write: bool = False,
) -> Decision:
    """Allow when every owner is the requester (or there is none); else the policy decides, and
    without one (or when it answers ``False`` for any foreign owner) it is a violation."""
    if not owners:
        return ALLOW
    foreign = foreign_owners(requester, owners, bindings, codec)
    if not foreign:
        return ALLOW
    if policy is not None:
        # The answer is read as what it is, not as what the type says it should be: only ``True``
        # allows, and a truthy answer by mistake ("no", 1, a response object) must not.
        ask: Callable[[Identity | None, Owner, RequestInfo], object] = policy
        try:
            allowed = all(ask(requester, Owner(kind, text), request) is True for kind, text in foreign)
        except Exception:
            return Decision(EventKind.SCAN_ERROR, "policy raised", foreign)
        if allowed:
            what = "write" if write else "view"
            return Decision(EventKind.CROSS_OWNER_VIEW, f"policy allowed a cross-owner {what}", foreign)
    if write:
        return Decision(EventKind.CROSS_OWNER_WRITE, "request names another owner's record", foreign)
    if requester is None:
        return Decision(EventKind.ANONYMOUS_PERSONAL_DATA, "personal data in a response to nobody", foreign)
    return Decision(EventKind.OWNER_MISMATCH, "response carries another owner's data", foreign)
