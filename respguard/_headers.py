"""Raw header lists: ``list[(bytes, bytes)]``, duplicates kept, names compared lower-case."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import cast

RawHeaders = list[tuple[bytes, bytes]]


def as_raw_headers(headers: Iterable[Sequence[bytes]]) -> RawHeaders:
    """ASGI headers as the core reads them: a list of ``(name, value)`` tuples. The spec allows any
    iterable of two-item sequences (lists too, which the compiled core would refuse as tuples); a
    list of tuples, what servers send, is returned as it is."""
    if type(headers) is list:
        for pair in headers:  # (a loop beats all(map(...)) on the few headers a response has)
            if type(pair) is not tuple:
                break
        else:
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


def _spellings(name: str) -> frozenset[bytes]:
    """Every spelling of a header name in upper and lower case (ASGI servers lower-case names,
    but need not)."""
    return frozenset(
        "".join(c.upper() if (i >> n) & 1 else c for n, c in enumerate(name)).encode() for i in range(1 << len(name))
    )


COOKIE_NAMES = _spellings("cookie")
#: ``HX-Request``: htmx sends it on every request it makes, and swaps the answer into the page as HTML.
HX_REQUEST_NAMES = _spellings("hx-request")
_NOTED = COOKIE_NAMES | HX_REQUEST_NAMES


def request_headers(raw: Iterable[Sequence[bytes]]) -> tuple[list[Sequence[bytes]], str | None, bool]:
    """A request's headers as a list (read once: a generator would be spent), its Cookie
    headers joined with ``"; "`` (``None`` if there is none), and whether it is htmx's (an
    ``HX-Request`` header, any value), in one pass.

    HTTP/2 sends cookies as several Cookie fields and ASGI servers pass them on as
    repeated headers: a binding in any of them must be seen (RFC 9113 8.2.3). A name
    spelt in any case is a Cookie header (ASGI servers lower-case names, but need not).
    The pairs are left as the server sent them: :func:`as_raw_headers` reads them as tuples
    where the core reads them as a header list.
    """
    items: list[Sequence[bytes]]
    if type(raw) is list:
        items = cast("list[Sequence[bytes]]", raw)
    else:
        items = [(name, value) for name, value in raw]
    cookie: str | None = None
    more: list[str] | None = None  # a second Cookie header and after
    htmx = False
    for pair in items:
        if pair[0] in _NOTED:  # (one lookup for every other header)
            if pair[0] in HX_REQUEST_NAMES:
                htmx = True
                continue
            value = pair[1].decode("latin-1")
            if cookie is None:
                cookie = value
            elif more is None:
                more = [cookie, value]
            else:
                more.append(value)
    return items, "; ".join(more) if more is not None else cookie, htmx


def cookie_header(raw: Iterable[Sequence[bytes]]) -> str | None:
    """The request's Cookie headers joined with ``"; "`` (``None`` if there is none)."""
    return request_headers(raw)[1]


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
