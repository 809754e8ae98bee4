"""respguard's configuration: every option, checked once at start-up.

The decision for each request lives in :mod:`respguard._exchange`; what it
answers (verdict, block page) in :mod:`respguard._verdict`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from ._binding import BindingCodec
from ._events import AuditEvent, EventSink, OwnerHasher
from ._extractors import Extractor, HtmlAttribute, JsonKeys, OwnerHeader, as_extractor
from ._identity import Identity, RequesterLike
from ._inbound import FormOwner, InboundRule, JsonBodyOwner, PathOwner, QueryOwner
from ._pii import BulkPII
from ._plan import Planner
from ._routes import (
    INHERIT,
    Route,
    Router,
    covers_every_path,
    exempt_path_tokens,
    patterns_overlap,
    placeholder_tokens,
    route_tokens,
)
from ._scan import RequestInfo
from ._session import BindingMemory
from ._verdict import BlockPage, Owner, valid_page

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024  # 4 MiB
DEFAULT_BINDING_MAX_AGE = 14 * 24 * 60 * 60  # 14 days, in seconds

#: E-mail addresses only, more than 20 distinct ones blocks (phones/cards are opt-in).
DEFAULT_BULK_PII = BulkPII()

#: The methods HTTP defines as safe (RFC 9110, 9.2.1): by default every other method is a write.
#: A router takes any method it is given: Django runs a function view for ``SAVE`` or ``MERGE``
#: as for ``POST``, and Flask or Starlette a route that lists a method of its own.
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
#: Request headers a method-override middleware routes a request by (Flask's documented
#: ``HTTPMethodOverrideMiddleware``, OData's ``X-HTTP-Method``, Express's ``method-override``):
#: inside respguard, it turns a GET into the write they name.
_OVERRIDE_HEADERS = frozenset((b"x-http-method-override", b"x-http-method", b"x-method-override"))
_OVERRIDE_LENGTHS = frozenset(len(name) for name in _OVERRIDE_HEADERS)
_OVERRIDE_KEYS = ("HTTP_X_HTTP_METHOD_OVERRIDE", "HTTP_X_HTTP_METHOD", "HTTP_X_METHOD_OVERRIDE")


def overridden_methods(raw: Mapping[str, Any]) -> list[str]:
    """The methods a request's override headers name (an ASGI scope's, or a WSGI environ's and
    Django's ``META``), each comma-separated item upper-cased as the overrides read it."""
    values: list[str] = []
    headers = raw.get("headers") if "type" in raw else None
    if isinstance(headers, (list, tuple)):  # an ASGI scope
        for pair in headers:
            name = pair[0]
            if len(name) in _OVERRIDE_LENGTHS and name.lower() in _OVERRIDE_HEADERS:
                values.append(bytes(pair[1]).decode("latin-1"))
    else:
        for key in _OVERRIDE_KEYS:
            value = raw.get(key)
            if isinstance(value, str):
                values.append(value)
    return [item.strip(" \t").upper() for value in values for item in value.split(",")]


def _inbound_methods(methods: Iterable[str]) -> frozenset[str]:
    """The methods an ``inbound_methods`` list names, upper-cased; one naming ``GET`` names
    ``HEAD`` too: every router runs a ``GET`` route's code for a ``HEAD`` (Flask's and Starlette's
    add it to the route, Django's ``View`` makes ``head`` its ``get``), so a route that writes on a
    ``GET`` writes on a ``HEAD``."""
    named = frozenset(method.upper() for method in methods)
    return named | {"HEAD"} if "GET" in named else named


DEFAULT_BLOCK_PAGE = BlockPage()
_COOKIE_PATH = re.compile(r"/[\x21-\x3a\x3c-\x7e]*")
_COOKIE_DOMAIN = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")

Policy = Callable[[Identity | None, Owner, RequestInfo], bool]
RequesterFunction = Callable[[RequestInfo], RequesterLike]


def _secret_keys(secret_key: object) -> list[bytes]:
    items = [secret_key] if isinstance(secret_key, (str, bytes)) else secret_key
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError("secret_key must be a non-empty str/bytes, or a list of them (oldest first)")
    keys = []
    for item in items:
        if isinstance(item, str):
            item = item.encode("utf-8")
        if not isinstance(item, bytes) or not item:
            raise ValueError("secret_key must not be empty")
        keys.append(item)
    return keys


def _path_rule(paths: Iterable[str], option: str) -> Callable[[str], bool]:
    exact: set[str] = set()
    prefixes: list[str] = []
    if isinstance(paths, str):
        raise ValueError(f"{option} must be a list of paths, not a single string")
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"{option}: {path!r} must be a path starting with '/'")
        if path.endswith("*"):
            prefixes.append(path[:-1])
        else:
            exact.add(path)
    prefix_tuple = tuple(prefixes)
    return lambda p: p in exact or (bool(prefix_tuple) and p.startswith(prefix_tuple))


class Rules:
    """What the response check reads on one route (the guard's own, or a ``Route``'s): one of
    these is resolved per request, and the plan and the decision read it."""

    __slots__ = ("planner", "policy", "bulk_pii", "exempt", "json_keys", "header_extractors")

    def __init__(
        self,
        extractors: Sequence[Extractor],
        policy: Policy | None,
        bulk_pii: BulkPII | None,
        strict_json: bool,
        exempt: bool,
        strip: frozenset[bytes],
    ) -> None:
        self.planner = Planner(extractors, bulk_pii is not None, strict_json, strip)
        self.policy = policy
        self.bulk_pii = bulk_pii
        self.exempt = exempt
        self.json_keys: dict[str, str] = {}  # owner keys of this route's JSON, for filter mode
        for extractor in extractors:
            if isinstance(extractor, JsonKeys):
                self.json_keys.update(dict.fromkeys(extractor.keys, extractor.kind))
        self.header_extractors = tuple(e for e in extractors if isinstance(e, OwnerHeader))


def _without_public(extractors: Sequence[Extractor], route: Route) -> tuple[Extractor, ...]:
    """The route's extractors less those reading its public keys; a key no extractor reads, or one
    read by an extractor respguard can't narrow (a subclass, a custom one), raises ``ValueError``."""
    if not route.public_keys:
        return tuple(extractors)
    kept: list[Extractor] = []
    unused = set(route.public_keys)
    for extractor in extractors:
        if isinstance(extractor, JsonKeys) and extractor.keys & route.public_keys:
            if type(extractor) is not JsonKeys:
                raise ValueError(f"routes: {route!r} public_keys can't narrow {extractor.name} (a JsonKeys subclass)")
            unused -= extractor.keys
            rest = extractor.keys - route.public_keys
            if rest:
                kept.append(JsonKeys(*sorted(rest), kind=extractor.kind))
            continue
        attributes = {k for k in route.public_keys if k.lower() == getattr(extractor, "attribute", None)}
        if isinstance(extractor, HtmlAttribute) and attributes:
            if type(extractor) is not HtmlAttribute:
                raise ValueError(f"routes: {route!r} public_keys can't drop {extractor.name} (a subclass)")
            unused -= attributes
            continue
        kept.append(extractor)
    if unused:
        raise ValueError(f"routes: {route!r} public_keys {sorted(unused)} are read by no JsonKeys or HtmlAttribute")
    return tuple(kept)


def _check_exemptions(
    exempt_paths: Sequence[str],
    routes: Sequence[Route],
    inbound: Sequence[InboundRule],
    login_paths: Sequence[str] = (),
) -> None:
    """Exemption never silently switches off an inbound rule: an exempt pattern that covers a
    rule's path (a PathOwner's, or every path for a catch-all) is a configuration error. So is a
    login prefix that does (inbound rules skip login paths: ``"/auth/*"`` beside
    ``PathOwner("/auth/users/{user_id}/password")`` would let any user's password be written). An
    exact login path is one page, the app's log-in, not a record: ``"/accounts/login/"`` beside
    ``PathOwner("/accounts/{account_id}/")`` (Django's ``LOGIN_URL``) is no error."""
    exempts = [(f"exempt_paths {p!r}", exempt_path_tokens(p), "exemption") for p in exempt_paths]
    exempts += [(f"routes {r!r} (exempt=True)", route_tokens(r.segments), "exemption") for r in routes if r.exempt]
    exempts += [(f"login_paths {p!r}", exempt_path_tokens(p), "login prefix") for p in login_paths if p.endswith("*")]
    for where, tokens, what in exempts:
        for rule in inbound:
            if isinstance(rule, PathOwner):
                covered = any(
                    patterns_overlap(tokens, placeholder_tokens(rule.pattern, trailing_slash=slash))
                    for slash in (False, True)
                )
                name = f"PathOwner({rule.pattern!r})"
            else:
                covered = covers_every_path(tokens)
                name = f"{type(rule).__name__}(...)"
            if covered:
                login = what == "login prefix"
                skipped = "login paths skip inbound rules" if login else "inbound rules are never exempt"
                raise ValueError(
                    f"{where} covers the path of the inbound rule {name}: {skipped}; narrow the {what} or drop the rule"
                )


class Guard:
    """respguard's configuration and core, shared by every adapter.

    Every option is keyword-only and checked here, so a wrong configuration fails
    at start-up with the option's name. See the README for the full table.
    """

    def __init__(
        self,
        *,
        secret_key: str | bytes | Sequence[str | bytes],
        extractors: Sequence[Extractor | Callable[..., Iterable[object]]],
        mode: Literal["enforce", "report"] = "enforce",
        requester: RequesterFunction | None = None,
        policy: Policy | None = None,
        exempt_paths: Iterable[str] = (),
        exempt: Callable[[RequestInfo], bool] | None = None,
        login_paths: Iterable[str] = (),
        bind_sessions: bool = True,
        binding_cookie: str = "respguard_bind",
        binding_max_age: int = DEFAULT_BINDING_MAX_AGE,
        binding_secure: bool | None = None,
        binding_same_site: Literal["lax", "strict", "none"] = "lax",
        binding_path: str = "/",
        binding_domain: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        on_oversize: Literal["block", "pass"] = "block",
        strict_json: bool = False,
        block_page: BlockPage = DEFAULT_BLOCK_PAGE,
        block_response: Callable[[AuditEvent], BlockPage] | None = None,
        on_event: EventSink | None = None,
        request_id_header: str | None = "x-request-id",
        inbound: Sequence[InboundRule] = (),
        inbound_methods: Iterable[str] | None = None,
        bulk_pii: BulkPII | None = DEFAULT_BULK_PII,
        cache_control: Literal["private", "off"] = "private",
        on_shared_cache: Literal["block", "report"] = "block",
        on_foreign_records: Literal["block", "filter"] = "block",
        routes: Sequence[Route] = (),
    ) -> None:
        keys = _secret_keys(secret_key)
        if mode not in ("enforce", "report"):
            raise ValueError(f"mode must be 'enforce' or 'report', not {mode!r}")
        if isinstance(extractors, (str, bytes)) or not extractors:
            raise ValueError("extractors must list at least one extractor (JsonKeys, HtmlAttribute, OwnerHeader, ...)")
        self.extractors: tuple[Extractor, ...] = tuple(as_extractor(e) for e in extractors)
        for option, value in (
            ("requester", requester),
            ("policy", policy),
            ("exempt", exempt),
            ("block_response", block_response),
            ("on_event", on_event),
        ):
            if value is not None and not callable(value):
                raise ValueError(f"{option} must be callable")
        if not isinstance(max_body_bytes, int) or max_body_bytes <= 0:
            raise ValueError("max_body_bytes must be a positive int")
        if on_oversize not in ("block", "pass"):
            raise ValueError(f"on_oversize must be 'block' or 'pass', not {on_oversize!r}")
        if not isinstance(binding_max_age, int) or binding_max_age <= 0:
            raise ValueError("binding_max_age must be a positive int (seconds)")
        if binding_same_site not in ("lax", "strict", "none"):
            raise ValueError(f"binding_same_site must be 'lax', 'strict' or 'none', not {binding_same_site!r}")
        if not binding_cookie or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", binding_cookie):
            raise ValueError(f"binding_cookie {binding_cookie!r} is not a valid cookie name")
        # Browsers store a __Secure- or __Host- cookie only with Secure (and a __Host- one only
        # without Domain, on Path=/), the prefix matched in any case (RFC 6265bis 4.1.3): any
        # other, and no browser ever holds the binding (a swapped session is never a drift). The
        # name says HTTPS: it is Secure whatever the request's scheme (a TLS-terminating proxy).
        lowered = binding_cookie.lower()
        host_prefix = lowered.startswith("__host-")
        if host_prefix or lowered.startswith("__secure-"):
            if binding_secure is False:
                raise ValueError(
                    f"binding_cookie {binding_cookie!r} can't be binding_secure=False (browsers refuse it)"
                )
            binding_secure = True
            if host_prefix and (binding_domain is not None or binding_path != "/"):
                raise ValueError(
                    f"binding_cookie {binding_cookie!r} needs binding_path='/' and no binding_domain "
                    "(browsers refuse it)"
                )
        if binding_same_site == "none" and binding_secure is not True:  # (a prefix made it True above)
            raise ValueError("binding_same_site='none' needs binding_secure=True (browsers require it)")
        if not valid_page(block_page):
            raise ValueError(
                "block_page must be a BlockPage with a 4xx/5xx status, bytes body and a printable latin-1 content_type"
            )
        if not isinstance(binding_path, str) or not _COOKIE_PATH.fullmatch(binding_path):
            raise ValueError(f"binding_path {binding_path!r} must start with '/' and hold no ';', space or control")
        if binding_domain is not None and not _COOKIE_DOMAIN.fullmatch(binding_domain):
            raise ValueError(f"binding_domain {binding_domain!r} is not a valid cookie domain")

        if isinstance(inbound, (str, bytes)) or not all(
            isinstance(r, (PathOwner, JsonBodyOwner, FormOwner, QueryOwner)) for r in inbound
        ):
            raise ValueError("inbound must list PathOwner/JsonBodyOwner/FormOwner/QueryOwner rules")
        if isinstance(inbound_methods, str):
            raise ValueError("inbound_methods must be a list of HTTP methods, not a single string")
        if bulk_pii is not None and not isinstance(bulk_pii, BulkPII):
            raise ValueError("bulk_pii must be a BulkPII(...) or None")
        if cache_control not in ("private", "off"):
            raise ValueError(f"cache_control must be 'private' or 'off', not {cache_control!r}")
        if on_shared_cache not in ("block", "report"):
            raise ValueError(f"on_shared_cache must be 'block' or 'report', not {on_shared_cache!r}")
        if on_foreign_records not in ("block", "filter"):
            raise ValueError(f"on_foreign_records must be 'block' or 'filter', not {on_foreign_records!r}")
        self.inbound: tuple[InboundRule, ...] = tuple(inbound)
        #: the methods the inbound rules apply to; ``None``: every method but :data:`SAFE_METHODS`
        self.inbound_methods = None if inbound_methods is None else _inbound_methods(inbound_methods)
        self.bulk_pii = bulk_pii
        self.cache_control = cache_control == "private"
        self.on_shared_cache = on_shared_cache
        self.filter_records = on_foreign_records == "filter"

        self.mode = mode
        self.enforce = mode == "enforce"
        self.requester = requester
        self.policy = policy
        self.exempt = exempt
        if not isinstance(exempt_paths, str):
            exempt_paths = tuple(exempt_paths)
        if not isinstance(login_paths, str):
            login_paths = tuple(login_paths)
        self._exempt_path = _path_rule(exempt_paths, "exempt_paths")
        self._login_path = _path_rule(login_paths, "login_paths")
        #: ``is_login_path(path)``: do responses to this path re-bind the browser?
        self.is_login_path = self._login_path
        self.login_paths = bool(login_paths)
        self.bind_sessions = bind_sessions
        self.codec = BindingCodec(
            keys,
            cookie_name=binding_cookie,
            max_age=binding_max_age,
            secure=binding_secure,
            path=binding_path,
            domain=binding_domain,
            same_site=binding_same_site,
        )
        self.hasher = OwnerHasher(keys[-1])
        self.max_body_bytes = max_body_bytes
        self.on_oversize = on_oversize
        self.strict_json = strict_json
        self.block_page = block_page
        self.block_response = block_response
        self.on_event = on_event
        self.request_id_header = request_id_header.lower() if request_id_header else None

        # ------------------------------------------------------------ rules per route
        if isinstance(routes, (str, bytes, Route)) or not all(isinstance(r, Route) for r in routes):
            raise ValueError("routes must be a list of Route(...)")
        routes = tuple(routes)
        seen_patterns: set[tuple[tuple[int, str], ...]] = set()
        route_extractors: list[tuple[Extractor, ...]] = []
        for route in routes:
            if route.segments in seen_patterns:
                raise ValueError(f"routes: {route!r} is listed twice")
            seen_patterns.add(route.segments)
            own = self.extractors if route.extractors is None else tuple(as_extractor(e) for e in route.extractors)
            route_extractors.append(_without_public(own, route))
        _check_exemptions(exempt_paths, routes, self.inbound, login_paths)
        every = [*self.extractors, *(e for found in route_extractors for e in found)]
        #: Every owner header any route reads: stripped from every response, whichever route it is.
        self.strip_headers = frozenset(e.raw_name for e in every if isinstance(e, OwnerHeader))
        self.rules = Rules(self.extractors, policy, bulk_pii, strict_json, False, self.strip_headers)
        entries = []
        for route, found in zip(routes, route_extractors, strict=True):
            if route.bulk_limit is INHERIT:
                route_bulk = bulk_pii
            elif route.bulk_limit is None:
                route_bulk = None
            else:
                route_bulk = BulkPII(
                    bulk_pii.kinds if bulk_pii is not None else DEFAULT_BULK_PII.kinds, threshold=route.bulk_limit
                )
            rules = Rules(found, route.policy or policy, route_bulk, strict_json, route.exempt, self.strip_headers)
            entries.append((route.segments, rules))
        #: ``None`` without routes: every request gets :attr:`rules`, with no lookup.
        self.router = Router(entries) if entries else None
        self.exempt_rules = bool(exempt_paths) or exempt is not None
        #: Cookie header -> the binding verified for it: later requests skip the signature check.
        self.bindings = BindingMemory()

    def rules_for(self, path: str) -> Rules:
        """The rules of this path's route (the guard's own where no ``Route`` matches it exactly)."""
        router = self.router
        if router is None:
            return self.rules
        found = router.resolve(path)
        return found if isinstance(found, Rules) else self.rules

    def is_exempt(self, request: RequestInfo) -> bool:
        if self._exempt_path(request.path):
            return True
        return self.exempt is not None and bool(self.exempt(request))

    def checks_inbound(self, request: RequestInfo) -> bool:
        """Does this request get the inbound owner check before the app runs? (Exemption is for
        responses: it never switches the inbound rules off.)"""
        if not self.inbound or self._login_path(request.path):
            return False
        if self.is_write(request.method):
            return True
        # A method override inside respguard (a GET with X-HTTP-Method-Override: DELETE) is
        # routed as the write it names: checked as that write.
        return any(method and self.is_write(method) for method in overridden_methods(request.raw))

    def is_write(self, method: str) -> bool:
        """Do the inbound rules apply to this (upper-case) method?"""
        methods = self.inbound_methods
        return method not in SAFE_METHODS if methods is None else method in methods


#: The names of :class:`Guard`'s options, in its signature's order: the Flask extension and
#: Django's settings accept these. (This module stays pure Python in the compiled build, so the
#: signature is there to read.)
GUARD_OPTIONS: tuple[str, ...] = tuple(name for name in inspect.signature(Guard.__init__).parameters if name != "self")
