"""Speed only: the common response proved clean without a full :class:`~respguard._exchange.Exchange`.

Most responses carry the requester's own data (or none), to a browser whose
binding was verified before, in one plain body. :class:`FastPath` proves exactly
that with byte searches, or answers ``None``; the adapter then hands the response
to an Exchange, which decides from the start. The fast path has no side effect
(no event, no cache write), so falling back never changes a decision; the
equivalence tests run every case both ways.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from ._cache import PRIVATE, personal_headers
from ._content import (
    HTML,
    JSON,
    JSON_LINES,
    TEXT,
    TEXT_MEDIA,
    bom_charset,
    declared_charset,
    looks_like_json,
    sniff_html_charset,
)
from ._extractors import OWN, HtmlAttribute, JsonKeys
from ._headers import RawHeaders
from ._identity import ID, Identity

if TYPE_CHECKING:
    from ._binding import Binding
    from ._context import RequestContext
    from ._guard import Guard

NO_BODY_STATUSES = frozenset({204, 205, 304})
_BOM_FIRST_BYTES = frozenset(b"\xef\xff\xfe")
_VARY_COOKIE = (b"vary", b"Cookie")
_CACHE_CONTROL = (b"cache-control", PRIVATE)

Provable = JsonKeys | HtmlAttribute

# What a response header name means to the fast paths (``FastPath._names``).
_OTHER, _CONTENT_TYPE, _STRIPPED, _ENCODING, _CACHE = range(5)


class ContentPlan:
    """What one Content-Type value means to the guard, worked out once (``FastPath.content_plan``)."""

    __slots__ = ("media", "media_type", "extractors", "needs_body", "charset", "provable", "plain", "json_in_text")

    def __init__(self, guard: Guard, content_type: bytes) -> None:
        self.media, self.media_type, extractors, self.needs_body = guard.media_plan(content_type)
        self.extractors = cast("tuple[Provable, ...]", extractors)
        self.charset = declared_charset(content_type.decode("latin-1"))
        # Every body extractor has a byte-search proof (JsonKeys, HtmlAttribute).
        self.provable = all(
            (type(e) is JsonKeys and not guard.strict_json) or type(e) is HtmlAttribute for e in extractors
        )
        # One media type, not an event stream: what the fast paths take.
        self.plain = (
            b"," not in content_type and self.media_type != "text/event-stream" and self.media_type not in JSON_LINES
        )
        # HTML or text that opens like JSON is read as JSON too (Exchange.finish): not here.
        self.json_in_text = self.media in (HTML, TEXT) and bool(guard.body_extractors(JSON))


class BodyPlan:
    """What :meth:`FastPath.start` learnt, for :meth:`FastPath.finish` once the body is in."""

    __slots__ = ("requester", "path", "headers", "content", "binding_header", "cache_set", "cookie")

    def __init__(
        self,
        requester: Identity | None,
        path: str,
        headers: RawHeaders,
        content: ContentPlan,
        binding_header: bytes | None,
        cache_set: bool,
        cookie: bool,
    ) -> None:
        self.requester = requester
        self.path = path
        self.headers = headers
        self.content = content
        self.binding_header = binding_header
        self.cache_set = cache_set  # the app set Cache-Control or Vary itself
        self.cookie = cookie  # the request carried cookies


class FastPath:
    """The common case, decided as the Exchange would decide it, or ``None``.

    Built once per guard (``Guard.fast``), only when no option needs the full path
    on every response (exempt rules, header extractors other than ``OwnerHeader``).
    """

    __slots__ = ("guard", "_plans", "_names", "_plain_names")

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self._plans: dict[bytes, ContentPlan] = {}  # per Content-Type value
        # Response header name as the app spelt it -> what it means (_OTHER, _CONTENT_TYPE...)
        self._names: dict[bytes, int] = {}
        # Names (as spelt) that mean nothing to the fast paths, and b"content-type": a response
        # whose names are all in here, once each, is read without a loop.
        self._plain_names: set[bytes] = {b"content-type"}

    def _name(self, key: bytes) -> int:
        name = key.lower()
        if name == b"content-type":
            meaning = _CONTENT_TYPE
        elif name in self.guard.strip_headers:
            meaning = _STRIPPED
        elif name == b"content-encoding":
            meaning = _ENCODING
        elif name == b"cache-control" or name == b"vary":
            meaning = _CACHE
        else:
            meaning = _OTHER
        if len(self._names) < 512:
            self._names[key] = meaning
            if meaning == _OTHER:
                self._plain_names.add(key)
        return meaning

    def scan_headers(self, headers: RawHeaders) -> tuple[ContentPlan, bool, bool] | None:
        """(Content-Type plan, Content-Encoding set, Cache-Control or Vary set); ``None``: not for the fast paths.

        The fast paths take one plain Content-Type, not an event stream, and no header
        an extractor strips (an owner header).
        """
        content_type = None
        encoded = cache_set = False
        by_name = dict(headers)
        if len(by_name) == len(headers) and by_name.keys() <= self._plain_names:
            # The common case, without a loop: no repeated name, none that matters but Content-Type.
            content_type = by_name.get(b"content-type")
            if content_type is None:
                return None
            plan = self.content_plan(content_type)
            return (plan, False, False) if plan.plain else None
        names = self._names
        for key, value in headers:
            meaning = names.get(key)
            if meaning is None:
                meaning = self._name(key)
            if meaning:
                if meaning == _CONTENT_TYPE:
                    if content_type is not None:
                        return None
                    content_type = value
                elif meaning == _STRIPPED:
                    return None
                elif meaning == _ENCODING:
                    encoded = True
                else:
                    cache_set = True
        if content_type is None:
            return None
        plan = self.content_plan(content_type)
        return (plan, encoded, cache_set) if plan.plain else None

    def remembered(self, cookie: str, requester: Identity) -> tuple[Binding, bool] | None:
        """The binding verified before for this Cookie header and requester, and whether it is due a refresh.

        ``Exchange._check_binding`` remembers a binding once every binding cookie in the
        header verified and matched; later requests skip the signature check.
        """
        entry = self.guard._bound.get(cookie)
        if entry is None:
            return None
        bound_to, valid_until, binding, refresh_at = entry
        if bound_to is not requester and bound_to != requester:
            return None
        now = time.time()
        if now > valid_until:
            return None
        return binding, now > refresh_at

    def content_plan(self, content_type: bytes) -> ContentPlan:
        """The plan for one Content-Type value, worked out once."""
        plan = self._plans.get(content_type)
        if plan is None:
            plan = ContentPlan(self.guard, content_type)
            if len(self._plans) >= 256:
                self._plans.clear()
            self._plans[content_type] = plan
        return plan

    def start(
        self,
        requester: Identity | None,
        context: RequestContext,
        method: str,
        path: str,
        https: bool,
        cookie: str | None,
        status: int,
        headers: RawHeaders,
    ) -> BodyPlan | RawHeaders | None:
        """At ``http.response.start``: the headers to send now, a plan to finish with the body, or ``None``.

        It applies to a requester whose browser binding was verified before for this
        Cookie header (``cookie``: the request's Cookie headers joined with ``"; "``),
        or to nobody (``None``: a public page, proved to carry no owner), when the
        response has one plain Content-Type and no owner header.
        """
        if context.rebind or context.owners:
            return None
        if status < 200 or status in NO_BODY_STATUSES or status == 206 or method == "HEAD":
            return None
        scanned = self.scan_headers(headers)
        if scanned is None:
            return None
        content, encoded, cache_set = scanned
        if encoded:
            return None
        guard = self.guard
        binding_header = None
        if guard.bind_sessions:
            if guard._has_login_paths and guard._login_path(path):
                return None  # a login path (re-)binds: the Exchange sets or clears the cookie
            if requester is not None:  # nobody (a public page) has no binding to check
                remembered = self.remembered(cookie, requester) if cookie is not None else None
                if remembered is None:
                    return None
                if remembered[1]:
                    binding_header = guard.codec.set_cookie(requester, https)
        if not content.needs_body:  # nothing to scan: no owner, so no cache headers either
            return headers if binding_header is None else [*headers, (b"set-cookie", binding_header)]
        if not content.provable:
            return None
        return BodyPlan(requester, path, headers, content, binding_header, cache_set, cookie is not None)

    def finish(self, plan: BodyPlan, body: bytes) -> RawHeaders | None:
        """The whole (plain) body: the headers to send it with, or ``None`` (the Exchange decides)."""
        headers = plan.headers
        personal = False
        if body:
            content = plan.content
            if content.json_in_text and looks_like_json(body):
                return None
            media = content.media
            charset = content.charset
            if body[0] in _BOM_FIRST_BYTES:
                charset = bom_charset(body) or charset
            if media == HTML:
                charset = charset or sniff_html_charset(body) or "utf-8"
            requester = plan.requester
            for extractor in content.extractors:
                kind = extractor.kind
                try:
                    own = None if requester is None else requester.id if kind == ID else requester.value(kind)
                    proof = extractor.prove(body, charset, own)
                except Exception:
                    return None  # the Exchange reports what went wrong
                if not proof:
                    return None
                if proof == OWN:
                    personal = True
            bulk = self.guard.bulk_pii
            if bulk is not None and media in TEXT_MEDIA and not bulk.surely_under(body, media, plan.path):
                return None
        if personal and self.guard.cache_control:
            if plan.cache_set:  # the app set its own policy: read it
                private = personal_headers(headers, plan.cookie)
                if private is None:
                    return None  # shared caching of personal data: the Exchange blocks or reports it
                headers = private
            elif plan.cookie:
                headers = [*headers, _CACHE_CONTROL, _VARY_COOKIE]
            else:
                headers = [*headers, _CACHE_CONTROL]
        if plan.binding_header is not None:
            headers = [*headers, (b"set-cookie", plan.binding_header)]
        return headers


__all__ = ["NO_BODY_STATUSES", "BodyPlan", "ContentPlan", "FastPath"]
