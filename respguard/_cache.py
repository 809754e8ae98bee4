"""Personal pages must not be stored by shared caches (CDN, reverse proxy)."""

from __future__ import annotations

from ._headers import RawHeaders

PRIVATE = b"private, no-store"


def _directives(headers: RawHeaders) -> set[str]:
    found: set[str] = set()
    for key, value in headers:
        if key.lower() == b"cache-control":
            for part in value.decode("latin-1").split(","):
                name = part.split("=", 1)[0].strip().lower()
                if name:
                    found.add(name)
    return found


def shared_cacheable(headers: RawHeaders) -> bool:
    """Did the app explicitly allow shared caches (``public`` or ``s-maxage``)?"""
    directives = _directives(headers)
    return bool(directives & {"public", "s-maxage"}) and not directives & {"private", "no-store"}


def private_headers(headers: RawHeaders, vary_cookie: bool) -> RawHeaders:
    """Headers for a response that carried personal data.

    ``Cache-Control: private, no-store`` unless the app set an explicit private
    policy (``private`` or ``no-store``), and ``Vary: Cookie`` when cookies say who
    the user is.
    """
    directives = _directives(headers)
    out = headers
    if not directives & {"private", "no-store"}:
        out = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
        out.append((b"cache-control", PRIVATE))
    if vary_cookie:
        varies: set[str] = set()
        for key, value in out:
            if key.lower() == b"vary":
                varies.update(v.strip().lower() for v in value.decode("latin-1").split(","))
        if "*" not in varies and "cookie" not in varies:
            if out is headers:
                out = list(headers)
            out.append((b"vary", b"Cookie"))
    return out
