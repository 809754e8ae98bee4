"""Filter instead of block (opt-in): drop the list items a requester does not own.

Like Spring Security's ``@PostFilter``: in a JSON body, an object inside an array
that carries a foreign owner (at any depth) is removed. Anything else foreign
(an owner outside such an array) cannot be filtered, and the response is blocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from ._extractors import canonical_number

_REMOVE = object()


class _Number:
    """A JSON number as written (``json.loads``' float would round ``9007199254740993.0`` to
    another customer's ``...992``): compared by its exact value, written back as ``json.loads``
    would have read it (an int, or a float)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _as_read(value: object) -> int | float:
    if isinstance(value, _Number):
        text = value.text
        return float(text) if "." in text or "e" in text or "E" in text else int(text)
    raise TypeError(f"{type(value).__name__} is not JSON")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys repeat can't be filtered: json.loads would keep only the last
    value, so a record naming another owner first and the requester last would pass, relabelled."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _DuplicateKey
    return document


def filter_records(
    body: bytes, keys: Mapping[str, str], is_own: Callable[[str, str], bool]
) -> tuple[bytes, int] | None:
    """Return ``(new body, records removed)``, or ``None`` if the body can't be made clean.

    ``keys`` maps each owner key to its kind.
    """
    try:
        document = json.loads(body, object_pairs_hook=_unique_keys, parse_float=_Number, parse_int=_Number)
    except (ValueError, RecursionError):  # _DuplicateKey is a ValueError
        return None
    removed = 0

    def foreign_owner(kind: str, value: object) -> bool:
        """Does a value under an owner key name another owner? Every string and number in it,
        at any depth, is an owner, a number by its exact value (``8.0`` is ``8``), as
        ``json_owner_values`` reads them."""
        if isinstance(value, list):
            return any(foreign_owner(kind, item) for item in value)
        if isinstance(value, dict):
            return any(foreign_owner(kind, item) for item in value.values())
        if isinstance(value, _Number):
            try:
                return not is_own(kind, canonical_number(value.text))
            except ValueError:  # an exponent too long to write out: no owner it could be proved to be
                return True
        if isinstance(value, str):
            return bool(value) and not is_own(kind, value)
        return False

    def foreign_in(node: object) -> bool:
        if isinstance(node, dict):
            for key, value in node.items():
                kind = keys.get(key)
                if kind is not None and foreign_owner(kind, value):
                    return True
                if foreign_in(value):
                    return True
        elif isinstance(node, list):
            return any(foreign_in(item) for item in node)
        return False

    def prune(node: object) -> object:
        nonlocal removed
        if isinstance(node, list):
            kept = []
            for item in node:
                if isinstance(item, dict) and foreign_in(item):
                    removed += 1
                    continue
                kept.append(prune(item))
            return kept
        if isinstance(node, dict):
            return {key: prune(value) for key, value in node.items()}
        return node

    try:
        pruned = prune(document)
        if foreign_in(pruned):
            return None
    except RecursionError:
        return None
    try:
        # A number JSON.parse reads and Python can't write back (1e400 is Infinity to both, and
        # Infinity is not JSON): not filtered, blocked.
        text = json.dumps(pruned, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_as_read)
    except ValueError:
        return None
    try:
        return text.encode("utf-8"), removed
    except UnicodeEncodeError:  # a lone surrogate escape ("\ud800", which JSON.parse takes): kept escaped
        return json.dumps(pruned, separators=(",", ":"), default=_as_read).encode("ascii"), removed
