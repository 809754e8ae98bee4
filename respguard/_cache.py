"""Personal pages must not be stored by shared caches (CDN, reverse proxy)."""

from __future__ import annotations

from ._headers import RawHeaders

PRIVATE = b"private, no-store"


def personal_headers(headers: RawHeaders, vary_cookie: bool, *, rewrite_shared: bool = False) -> RawHeaders | None:
    """Headers for a response that carried personal data, in one pass over them.

    ``Cache-Control: private, no-store`` unless the app set an explicit private
    policy (``private`` or ``no-store``), and ``Vary: Cookie`` when cookies say who
    the user is. ``None`` when the app explicitly allowed shared caches (``public``
    or ``s-maxage``) — a misconfiguration the caller decides on — unless
    ``rewrite_shared``, which overrides that policy too.
    """
    cache_control: list[bytes] = []
    vary: list[bytes] = []
    for key, value in headers:
        name = key.lower()
        if name == b"cache-control":
            cache_control.append(value)
        elif name == b"vary":
            vary.append(value)
    directives = {
        part.split("=", 1)[0].strip().lower() for value in cache_control for part in value.decode("latin-1").split(",")
    }
    private = bool(directives & {"private", "no-store"})
    if not private and directives & {"public", "s-maxage"} and not rewrite_shared:
        return None
    out = headers
    if not private:
        out = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
        out.append((b"cache-control", PRIVATE))
    if vary_cookie:
        varies = {v.strip().lower() for value in vary for v in value.decode("latin-1").split(",")}
        if "*" not in varies and "cookie" not in varies:
            if out is headers:
                out = list(headers)
            out.append((b"vary", b"Cookie"))
    return out
