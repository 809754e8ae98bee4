"""Raw header lists: ``list[(bytes, bytes)]``, duplicates kept, names compared lower-case."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import cast

RawHeaders = list[tuple[bytes, bytes]]


_IS_TUPLE = tuple.__instancecheck__


def as_raw_headers(headers: Iterable[Sequence[bytes]]) -> RawHeaders:
    """ASGI headers as the core reads them: a list of ``(name, value)`` tuples. The spec allows any
    iterable of two-item sequences (lists too, which the compiled core would refuse as tuples); a
    list of tuples, what servers send, is returned as it is."""
    if type(headers) is list and all(map(_IS_TUPLE, headers)):  # (map: the check runs in C)
        return cast(RawHeaders, headers)
    return [(name, value) for name, value in headers]


class Headers:
    """A case-insensitive, read-only view over a raw header list (duplicates survive)."""

    __slots__ = ("raw",)

    def __init__(self, raw: RawHeaders) -> None:
        self.raw = raw

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.lower().encode("latin-1")
        for k, v in self.raw:
            if k.lower() == key:
                return v.decode("latin-1")
        return default

    def get_all(self, name: str) -> list[str]:
        key = name.lower().encode("latin-1")
        return [v.decode("latin-1") for k, v in self.raw if k.lower() == key]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for k, v in self.raw:
            yield k.decode("latin-1").lower(), v.decode("latin-1")


#: Every spelling of the header name ``cookie`` (ASGI servers lower-case names, but need not).
COOKIE_NAMES = frozenset(
    "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate("cookie")).encode() for i in range(64)
)
#: Every spelling but the one servers use.
_ODD_COOKIE_NAMES = COOKIE_NAMES - {b"cookie"}


def cookie_header(raw: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The request's Cookie headers joined with ``"; "`` (``None`` if there is none).

    HTTP/2 sends cookies as several Cookie fields and ASGI servers pass them on as
    repeated headers: a binding in any of them must be seen (RFC 9113 8.2.3).
    """
    if type(raw) is list:
        # The common case without a loop: one field of each name, none spelt oddly.
        by_name = dict(raw)
        if len(by_name) == len(raw) and _ODD_COOKIE_NAMES.isdisjoint(by_name):
            value = by_name.get(b"cookie")
            return None if value is None else value.decode("latin-1")
    values = [value.decode("latin-1") for key, value in raw if key in COOKIE_NAMES]
    return "; ".join(values) if values else None


def cookie_values(cookie_header: str, name: str) -> list[str]:
    """Every value the ``Cookie`` header gives ``name`` (browsers may send several)."""
    found: list[str] = []
    # Servers join repeated Cookie headers with ',' (gunicorn, werkzeug) or '; ': split on both.
    # A binding value (itsdangerous, URL-safe) never holds either.
    for part in cookie_header.replace(",", ";").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found.append(value)
    return found
