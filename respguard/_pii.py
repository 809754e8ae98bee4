"""Bulk personal data: one response carrying data of many distinct people (incident 3).

Counts distinct e-mail addresses, phone numbers (including Japanese formats) and
Luhn-valid card numbers in a body. The counts go into the event; the values never do.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping

EMAIL = "email"
PHONE = "phone"
CARD = "card"
KINDS = (EMAIL, PHONE, CARD)

_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")
_PHONE = re.compile(
    rb"(?<![\d+])(?<!\d[- ])(?:"
    rb"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)|\d{1,4})[ .-]?\d{1,4}[ .-]?\d{3,4}"  # +81-90-1234-5678, +1 415 555 0100
    rb"|0\d{1,4}-\d{1,4}-\d{3,4}"  # 03-1234-5678, 090-1234-5678
    rb"|\(0\d{1,4}\)\s?\d{1,4}-\d{3,4}"  # (03) 1234-5678
    rb"|0[5789]0\d{8}|0[1-9]\d{8}"  # 09012345678, 0312345678
    rb")(?!\d)(?![- ]\d)"  # not a slice of a longer digit group (a card number)
)
_CARD = re.compile(rb"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_NOT_DIGITS = bytes(c for c in range(256) if not 48 <= c <= 57)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _digits(raw: bytes) -> str:
    return raw.translate(None, _NOT_DIGITS).decode("ascii")


def _json_strings(body: bytes) -> bytes:
    """The string values of a JSON body, unescaped, so ``\\u0040`` can't hide an ``@``."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                out.append(key)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    try:
        walk(json.loads(body))
    except (ValueError, RecursionError):
        return body
    return "\n".join(out).encode("utf-8", "surrogatepass")


class BulkPII:
    """Block a response that carries more than ``threshold`` distinct values of a kind.

    :param kinds: which detectors run: ``"email"`` (default), ``"phone"``, ``"card"``.
        Phone and card detectors scan every digit-heavy body with a regex, so they
        are opt-in; e-mail detection is nearly free (it counts ``@`` first).
    :param threshold: more than this many distinct values of one kind blocks (default 20).
    :param limits: per-path overrides, ``{"/admin/mailing/*": 20000, "/export": None}``;
        ``None`` turns the check off for those paths. Exact paths, or prefixes ending in ``*``.
    """

    def __init__(
        self,
        kinds: Iterable[str] = (EMAIL,),
        *,
        threshold: int = 20,
        limits: Mapping[str, int | None] | None = None,
    ) -> None:
        kind_set = tuple(dict.fromkeys(kinds))
        unknown = set(kind_set) - set(KINDS)
        if unknown or not kind_set:
            raise ValueError(f"BulkPII(kinds=...) must be some of {KINDS}, got {sorted(unknown) or 'nothing'}")
        if not isinstance(threshold, int) or threshold < 1:
            raise ValueError("BulkPII(threshold=...) must be a positive int")
        self.kinds = kind_set
        self.threshold = threshold
        self._exact: dict[str, int | None] = {}
        self._prefixes: list[tuple[str, int | None]] = []
        for path, limit in (limits or {}).items():
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"BulkPII(limits=...): {path!r} must be a path starting with '/'")
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise ValueError(f"BulkPII(limits=...): limit for {path!r} must be a positive int or None")
            if path.endswith("*"):
                self._prefixes.append((path[:-1], limit))
            else:
                self._exact[path] = limit
        self._prefixes.sort(key=lambda item: -len(item[0]))
        self._uniform = not self._exact and not self._prefixes  # one threshold for every path
        self._email_only = self.kinds == (EMAIL,)

    def threshold_for(self, path: str) -> int | None:
        if path in self._exact:
            return self._exact[path]
        for prefix, limit in self._prefixes:
            if path.startswith(prefix):
                return limit
        return self.threshold

    def over(self, body: bytes, media: str, path: str, own: Callable[[str, str], bool]) -> dict[str, int]:
        """Kinds whose distinct foreign values exceed the path's threshold, with their counts."""
        threshold = self.threshold_for(path)
        if threshold is None or not body:
            return {}
        found: dict[str, int] = {}
        text = body
        unescaped = False
        for kind in self.kinds:
            if _surely_under(kind, body, media, threshold):
                continue
            if not unescaped:
                text = _unescape(body, media)
                unescaped = True
            count = _count(kind, text, own, threshold)
            if count > threshold:
                found[kind] = count
        return found

    def surely_under(self, body: bytes, media: str, path: str) -> bool:
        """Speed only: ``True`` when :meth:`over` is sure to find nothing, proved without counting."""
        threshold = self.threshold if self._uniform else self.threshold_for(path)
        if threshold is None or not body:
            return True
        if self._email_only and media == "json" and b"\\" not in body:
            # The common case, inlined: no escape can hide an '@', so at most ``threshold`` of them is enough.
            if len(body) <= 8192:
                return body.count(b"@") <= threshold or _one_address(body)
            return _at_most(body, b"@", threshold) or _one_address(body)
        for kind in self.kinds:
            if not _surely_under(kind, body, media, threshold):
                return False
        return True


def _surely_under(kind: str, body: bytes, media: str, threshold: int) -> bool:
    """Cheap proofs that a body can't hold more than ``threshold`` distinct values of ``kind``."""
    if kind != EMAIL:
        digits = len(body) - len(body.translate(None, _NOT_DIGITS))
        return digits <= threshold * (10 if kind == PHONE else 13)
    if _hides_at(body, media):
        return False  # an escaped '@' would be counted once unescaped
    # Every address has an '@': at most ``threshold`` of them can't exceed it.
    return _at_most(body, b"@", threshold) or (media == "json" and _one_address(body))


def _hides_at(body: bytes, media: str) -> bool:
    """Could unescaping (what :func:`_unescape` does for this media) turn something into an '@'?"""
    if media == "json":
        return b"\\" in body and b"\\u" in body
    if media == "html":  # numeric references ('#' first: one memchr, '&' is common in pages) and &commat;
        return b"&" in body and ((b"#" in body and b"&#" in body) or b"&commat;" in body)
    return False


def _at_most(body: bytes, byte: bytes, limit: int) -> bool:
    """Does ``byte`` occur at most ``limit`` times? (a few ``memchr`` calls, not a count of the body)."""
    find = body.find
    position = -1
    for _ in range(limit + 1):
        position = find(byte, position + 1)
        if position < 0:
            return True
    return False


def _one_address(body: bytes) -> bool:
    """Is every '@' of this JSON body inside a ``"..."`` copy of one same address?

    Then the e-mail pattern (no quote in it) matches that address at every '@' and
    nothing else: the body holds one distinct address. ``False``: can't tell.
    """
    if b"\\" in body:  # escapes: the count reads unescaped strings
        return False
    first = body.find(b"@")
    start = body.rfind(b'"', 0, first)
    end = body.find(b'"', first)
    if first < 0 or start < 0 or end < 0:
        return False
    address = body[start + 1 : end]
    if _EMAIL.fullmatch(address) is None:
        return False
    # Each quoted copy holds one '@': as many copies as '@' means no '@' elsewhere.
    return body.count(b'"' + address + b'"') == body.count(b"@")


def _unescape(body: bytes, media: str) -> bytes:
    if media == "json" and b"\\u" in body:
        return _json_strings(body)
    if media == "html" and b"&" in body:
        try:
            return html.unescape(body.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return body
    return body


def _count(kind: str, text: bytes, own: Callable[[str, str], bool], threshold: int) -> int:
    seen: set[str] = set()
    if kind == EMAIL:
        for match in _EMAIL.finditer(text):
            value = match.group().decode("ascii").casefold()
            if value not in seen and not own(EMAIL, value):
                seen.add(value)
    elif kind == PHONE:
        for match in _PHONE.finditer(text):
            value = _digits(match.group())
            if value not in seen and not own(PHONE, value):
                seen.add(value)
    else:
        for match in _CARD.finditer(text):
            value = _digits(match.group())
            if 13 <= len(value) <= 19 and value not in seen and luhn_valid(value) and not own(CARD, value):
                seen.add(value)
    return len(seen)
