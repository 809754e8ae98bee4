"""Identities: who is asking, and the text form owner ids are compared in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: The kind every owner and requester id has unless an extractor says otherwise.
ID = "id"


def owner_text(value: object) -> str | None:
    """Return the text an owner value is compared as, or ``None`` for "no owner".

    Strings and numbers compare as the same text (``7`` == ``"7"``); ``None``,
    empty strings and containers are not owners.
    """
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        text = value.decode("utf-8", "surrogateescape")
        return text or None
    return None


#: The one character outside ASCII that ``lower()`` turns into ASCII: KELVIN SIGN to ``k``.
_KELVIN = "\u212a"


def normalise(kind: str, text: str) -> str:
    """Fold what should compare equal: e-mail addresses are case-insensitive."""
    if kind == "email":
        # lower(), not casefold(): "straße" and "strasse" are two mailboxes. Nor is a Kelvin sign
        # a "k": Django's EmailValidator takes "\u212aim@" (its IGNORECASE [A-Z] matches it) as a
        # mailbox of its own, which lower() would make kim@'s.
        text = text.strip()
        if _KELVIN in text:
            return _KELVIN.join(part.lower() for part in text.split(_KELVIN))
        return text.lower()
    return text


@dataclass(frozen=True)
class Identity:
    """An authenticated requester: its id plus optional second identifiers.

    Facets (``email``, ``customer_no``, ...) let owners of other kinds be
    compared too, so two people who were issued the same id still differ.
    """

    id: str
    facets: Mapping[str, str] = field(default_factory=dict)

    def __init__(self, id: object, **facets: object) -> None:  # noqa: A002
        text = owner_text(id)
        if text is None:
            raise ValueError("Identity id must be a non-empty string or a number")
        object.__setattr__(self, "id", text)
        clean: dict[str, str] = {}
        for kind, value in facets.items():
            facet = owner_text(value)
            if facet is not None:
                clean[kind] = normalise(kind, facet)
        object.__setattr__(self, "facets", clean)

    def value(self, kind: str) -> str | None:
        """The requester's value for owners of ``kind``, if it has one."""
        if kind == ID:
            return self.id
        return self.facets.get(kind)

    def __hash__(self) -> int:
        return hash((self.id, tuple(sorted(self.facets.items()))))


RequesterLike = Identity | str | int | None


_IDENTITIES: dict[str | int, Identity] = {}  # plain ids seen lately: identities are immutable


def as_identity(value: object) -> Identity | None:
    """Coerce what an app hands us (an ``Identity``, a str or an int) to an identity."""
    key = value if type(value) is str or type(value) is int else None  # never bool: True == 1
    if key is not None:
        cached = _IDENTITIES.get(key)
        if cached is not None:
            return cached  # (first: the app's plain id, on every request)
    elif value is None or isinstance(value, Identity):
        return value
    if owner_text(value) is None:
        return None
    identity = Identity(value)
    if key is not None:
        if len(_IDENTITIES) >= 4096:
            _IDENTITIES.clear()
        _IDENTITIES[key] = identity
    return identity
