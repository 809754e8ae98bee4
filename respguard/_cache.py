"""Personal pages must not be stored by shared caches (CDN, reverse proxy).

Two kinds of fields decide whether a shared cache stores a response:

- ``Cache-Control`` (RFC 9111), read here as RFC 9111 section 5.2 says: a comma-separated
  list of ``name[=token|"quoted string"]`` directives, names case-insensitive, repeated
  fields combined. ``private="Set-Cookie"`` (the qualified form) is *not* private for the
  whole response, and ``no-cache`` still lets a cache store it.
- Targeted fields, which a CDN or reverse proxy obeys *instead of* ``Cache-Control``:
  ``CDN-Cache-Control`` (RFC 9213: Cloudflare, Fastly, Akamai, Vercel, Netlify...), every
  ``<target>-Cache-Control`` (``Cloudflare-CDN-Cache-Control``, ``Vercel-CDN-Cache-Control``,
  ``Netlify-CDN-Cache-Control``: the RFC 9213 naming convention), ``Surrogate-Control``
  (W3C Edge Architecture: Fastly, Varnish set-ups), ``Edge-Control`` (Akamai) and nginx's
  ``X-Accel-Expires`` (a positive value overrides ``Cache-Control`` in ``proxy_cache``).

A field is only trusted to keep a response out of shared caches when two readings agree
(the RFC parse and a naive split on commas, since some caches split naively); it marks
the response for shared caches when either reading says so. In ``Cache-Control`` only a
bare ``private`` is trusted (Fastly's generated VCL passes on ``private`` alone and stores a
``no-store`` response), spelt in lower case (its match is case-sensitive), and a policy kept
over several lines is written as one (Fastly's VCL reads a field's first line only).
"""

from __future__ import annotations

from ._headers import RawHeaders

PRIVATE = b"private, no-store"
NO_STORE = b"no-store"

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_OWS = " \t"
_NAMED_TARGETS = frozenset({b"surrogate-control", b"edge-control", b"x-accel-expires"})

Directives = dict[str, list[str | None]]


def targeted_field(name: bytes) -> bool:
    """Is ``name`` (lower-case) a field some shared cache obeys over ``Cache-Control``?"""
    return name.endswith(b"-cache-control") or name in _NAMED_TARGETS


def is_cache_field(name: bytes) -> bool:
    """Does a response header named ``name`` (lower-case) bear on shared caching (the app set a policy)?"""
    return name == b"cache-control" or name == b"vary" or targeted_field(name)


def parse_directives(value: str) -> tuple[Directives, bool]:
    """RFC 9111 section 5.2: each directive name (lower-case) with its arguments, and whether
    the whole field was well-formed. A quoted argument may hold commas."""
    found: Directives = {}
    ok = True
    i, size = 0, len(value)
    while i < size:
        if value[i] in _OWS or value[i] == ",":
            i += 1
            continue
        start = i
        while i < size and value[i] in _TCHAR:
            i += 1
        name = value[start:i].lower()
        argument: str | None = None
        if i < size and value[i] == "=":
            i += 1
            if i < size and value[i] == '"':
                i += 1
                chars: list[str] = []
                closed = False
                while i < size:
                    ch = value[i]
                    if ch == "\\" and i + 1 < size:
                        chars.append(value[i + 1])
                        i += 2
                    elif ch == '"':
                        closed = True
                        i += 1
                        break
                    else:
                        chars.append(ch)
                        i += 1
                ok = ok and closed
                argument = "".join(chars)
            else:
                start = i
                while i < size and value[i] in _TCHAR:
                    i += 1
                argument = value[start:i]
        while i < size and value[i] in _OWS:
            i += 1
        if not name or (i < size and value[i] != ","):
            ok = False  # not a directive: skip to the next comma
            comma = value.find(",", i)
            i = size if comma < 0 else comma
        if name:
            found.setdefault(name, []).append(argument)
    return found, ok


def naive_directives(value: str) -> Directives:
    """The reading of a cache that splits on every comma, quotes or not."""
    found: Directives = {}
    for part in value.split(","):
        name, eq, argument = part.partition("=")
        name = name.strip(' \t"').lower()
        if name:
            found.setdefault(name, []).append(argument.strip() if eq else None)
    return found


def _bare(directives: Directives, name: str) -> bool:
    """Is ``name`` present without an argument (``private``, not ``private="Set-Cookie"``)?"""
    return any(argument is None for argument in directives.get(name, ()))


def _private(directives: Directives) -> bool:
    """Does one reading of ``Cache-Control`` keep the whole response out of shared caches? Only a
    bare ``private`` does for every cache: Fastly's generated VCL passes a response on ``private``
    and caches one with ``no-store`` alone (a directive it leaves to browsers)."""
    # ``private`` next to ``public`` or ``s-maxage`` contradicts itself: not trusted.
    return _bare(directives, "private") and "public" not in directives and "s-maxage" not in directives


def _shared(directives: Directives) -> bool:
    return "public" in directives or "s-maxage" in directives


def _targeted_reading_safe(name: bytes, directives: Directives) -> bool:
    if any(key.startswith("!") for key in directives):  # Edge-Control ``!no-store``: cache it anyway
        return False
    if _bare(directives, "no-store"):
        return True
    if name == b"edge-control" and _bare(directives, "bypass-cache"):
        return True
    return name.endswith(b"-cache-control") and _bare(directives, "private")


def targeted_safe(name: bytes, values: list[bytes]) -> bool:
    """Does this targeted field (all its lines) forbid storing the response?"""
    if name == b"x-accel-expires":
        return all(value.strip() == b"0" for value in values)
    text = ", ".join(value.decode("latin-1") for value in values)
    directives, ok = parse_directives(text)
    return ok and _targeted_reading_safe(name, directives) and _targeted_reading_safe(name, naive_directives(text))


def personal_headers(headers: RawHeaders, vary_cookie: bool, *, rewrite_shared: bool = False) -> RawHeaders | None:
    """Headers for a response that carried personal data, in one pass over them.

    ``Cache-Control: private, no-store`` unless the app set an explicit private policy
    (a bare ``private``, in both readings; written as one line), and ``Vary: Cookie`` when cookies
    say who the user is. ``None`` when the app allowed shared caches: ``public`` or
    ``s-maxage`` in ``Cache-Control``, or a targeted field (``CDN-Cache-Control``,
    ``Surrogate-Control``...) that lets its cache store the response (anything but
    ``no-store`` or ``private``), a misconfiguration the caller decides on. With
    ``rewrite_shared`` such a policy is overridden instead: ``Cache-Control`` is replaced
    and each such targeted field becomes ``no-store`` (``X-Accel-Expires: 0``).
    """
    cache_control: list[bytes] = []
    vary: list[bytes] = []
    targeted: dict[bytes, list[bytes]] = {}
    for key, value in headers:
        name = key.lower()
        if name == b"cache-control":
            cache_control.append(value)
        elif name == b"vary":
            vary.append(value)
        elif targeted_field(name):
            targeted.setdefault(name, []).append(value)
    text = ", ".join(value.decode("latin-1") for value in cache_control)
    directives, well_formed = parse_directives(text)
    naive = naive_directives(text)
    # Fastly's generated VCL (and Magento's Varnish VCL) pass on ``beresp.http.Cache-Control ~
    # "private"``, a case-sensitive match: ``Private`` is private to RFC 9111, not to them, and
    # they store the page for their default TTL. So the word must be spelt as they match it.
    private = well_formed and _private(directives) and _private(naive) and "private" in text
    shared = not private and (_shared(directives) or _shared(naive))
    unsafe = {name for name, values in targeted.items() if not targeted_safe(name, values)}
    if (shared or unsafe) and not rewrite_shared:
        return None
    out = headers
    # A policy kept over several lines is written as one: Fastly's VCL (``beresp.http``) reads a
    # field's first line only, where ``max-age=600`` may come before the ``private`` it has.
    spread = {
        name
        for name, values in targeted.items()
        if len(values) > 1 and name not in unsafe and name != b"x-accel-expires"
    }
    if private and len(cache_control) > 1:
        spread.add(b"cache-control")
    if spread:
        out = _one_line(headers, spread)
    if unsafe:
        kept = out
        out = []
        written: set[bytes] = set()
        for key, value in kept:
            name = key.lower()
            if name not in unsafe:
                out.append((key, value))
            elif name not in written:  # one line of each such field; its other lines go
                written.add(name)
                out.append((key, b"0" if name == b"x-accel-expires" else NO_STORE))
    if not private:
        out = [(k, v) for k, v in out if k.lower() != b"cache-control"]
        out.append((b"cache-control", PRIVATE))
    if vary_cookie:
        varies = {v.strip().lower() for value in vary for v in value.decode("latin-1").split(",")}
        if "*" not in varies and "cookie" not in varies:
            if out is headers:
                out = list(headers)
            out.append((b"vary", b"Cookie"))
    return out


def _one_line(headers: RawHeaders, names: set[bytes]) -> RawHeaders:
    """``headers`` with the lines of each field in ``names`` (lower-case) joined into its first."""
    joined: dict[bytes, list[bytes]] = {}
    for key, value in headers:
        name = key.lower()
        if name in names:
            joined.setdefault(name, []).append(value)
    out: RawHeaders = []
    for key, value in headers:
        name = key.lower()
        if name not in names:
            out.append((key, value))
        elif name in joined:
            out.append((key, b", ".join(joined.pop(name))))
    return out


__all__ = ["NO_STORE", "PRIVATE", "is_cache_field", "personal_headers", "targeted_field", "targeted_safe"]
