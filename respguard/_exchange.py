"""One request/response through the guard: the framework-neutral decision.

Adapters (ASGI, WSGI) only translate: they hand an :class:`Exchange` the status
and headers when the app starts its response, the body if the exchange asks for
it, and send whatever :class:`~respguard.Verdict` comes back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ._binding import Binding, BindingRejected
from ._cache import personal_headers
from ._content import (
    HTML,
    JSON,
    JSON_LINES,
    OTHER,
    TEXT,
    TEXT_MEDIA,
    BodyDecodeError,
    DecodedTooLarge,
    content_types,
    decode_content,
    looks_like_json,
    media_class,
    sniff_media,
)
from ._context import RequestContext
from ._events import MAX_EVENT_OWNERS, Action, AuditEvent, EventKind, emit
from ._extractors import OWN, UNPROVEN, Extractor, JsonKeys, ScanError
from ._fastpath import NO_BODY_STATUSES
from ._filter import filter_records
from ._headers import Headers, RawHeaders, cookie_header, cookie_values
from ._identity import ID, Identity, RequesterLike, as_identity, normalise
from ._inbound import InboundError, InboundRequest
from ._pii import PHONE
from ._redact import redact_path, safe_request_id
from ._scan import RequestInfo, ResponseView
from ._verdict import Owner, Verdict, valid_page

if TYPE_CHECKING:
    from ._guard import Guard

#: Headers that describe the original body and are wrong for a filtered one.
_BODY_HEADERS = frozenset(
    {b"content-length", b"content-encoding", b"etag", b"content-md5", b"digest", b"last-modified"}
)
#: Blocks that keep the browser's binding: clearing it would let the next request re-bind wrongly.
_KEEP_BINDING = frozenset({"session_drift", "cross_owner_write"})
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\r|\n")
_LINE_END = re.compile(rb"\n")


def _event_ends(data: bytes, lines: bool = False) -> list[int]:
    """Offsets just past each blank line that ends an event (SSE: CRLF, LF or CR lines),
    or with ``lines``, just past each line feed (JSON lines)."""
    return [match.end() for match in (_LINE_END if lines else _EVENT_END).finditer(data)]


class Exchange:
    """One request/response through the guard; nothing request-specific lives on the Guard."""

    __slots__ = (
        "guard",
        "request",
        "context",
        "fallback",
        "status",
        "headers",
        "requester",
        "owners",
        "binding",
        "binding_header",
        "needs_body",
        "media",
        "media_type",
        "extractors",
        "verdict",
        "exempt",
        "personal",
        "_bindings",
        "_bind_cookie",
        "_clean",
        "_cookie",
        "_cookie_read",
        "_plain",
        "named",
        "streaming",
        "_stream_rest",
        "sniffing",
        "_lines",
    )

    def __init__(
        self,
        guard: Guard,
        request: RequestInfo,
        context: RequestContext,
        fallback: Callable[[], RequesterLike] | None,
    ) -> None:
        self.guard = guard
        self.request = request
        self.context = context
        self.fallback = fallback
        self.status = 0
        self.headers: RawHeaders = []
        self.requester: Identity | None = None
        self.owners: list[tuple[str, str]] = []
        self.binding: Binding | None = None
        self.binding_header: bytes | None = None
        self.needs_body = False
        self.media = OTHER
        self.media_type = ""
        self.extractors: tuple[Extractor, ...] = ()
        self.verdict: Verdict | None = None
        self.exempt = False
        self.personal = False  # proved by a cheap pass to carry the requester's own data
        self._bindings: list[Binding] | None = None
        self._bind_cookie: str | None = None  # the Cookie header, when every binding in it loaded
        self._clean = False  # start() saw no header an extractor strips
        self._cookie: str | None = None
        self._cookie_read = False
        self._plain = False  # start() saw no Content-Encoding: the body is scanned as it is
        self.named: list[tuple[str, str]] = []  # owners the request itself named (inbound)
        self.streaming = False  # an event stream, scanned event by event through feed()
        self._stream_rest = b""
        self.sniffing = False  # no Content-Type: the body's first bytes say what it is (sniff())
        self._lines = False  # the stream is JSON lines (feed() scans line by line), not events

    # ------------------------------------------------------------------ start
    def start(self, status: int, headers: RawHeaders) -> None:
        """The app started its response: decide now, or ask for the body (``needs_body``)."""
        guard = self.guard
        self.status = status
        self.headers = headers
        if guard._fast_start:
            # Nothing can be exempt: resolve the requester, then try the common case in one pass.
            try:
                self.requester = self._resolve_requester()
            except Exception:
                self.verdict = self._violation(EventKind.SCAN_ERROR, "requester function raised", ())
                return
            if self._start_fast(status, headers):
                return
        else:
            try:
                self.exempt = guard.is_exempt(self.request)
            except Exception:
                self.verdict = self._violation(EventKind.SCAN_ERROR, "exempt predicate raised", ())
                return
            if self.exempt:
                self.verdict = self._pass()
                return
            try:
                self.requester = self._resolve_requester()
            except Exception:
                self.verdict = self._violation(EventKind.SCAN_ERROR, "requester function raised", ())
                return
        if guard.bind_sessions and self._check_binding():
            return
        owners = self.owners
        if guard.header_extractors:
            view = self._view(b"")
            for extractor in guard.header_extractors:
                owners.extend((extractor.kind, o) for o in extractor.owners(view))
        owners.extend(self.context.owners)

        if self.request.method == "HEAD" or status in NO_BODY_STATUSES or status < 200:
            self.verdict = self._decide()
            return
        content_type = b""
        for key, value in headers:
            if key.lower() == b"content-type":
                content_type = value
                break
        self.media, self.media_type, self.extractors, needs_body = guard.media_plan(content_type)
        types = content_types(headers)
        if len({" ".join(t.lower().split()) for t in types}) > 1 and any(
            guard.body_extractors(media_class(t)[0]) for t in types
        ):
            # Browsers read the last Content-Type, the scan would read the first: refuse to guess.
            self.verdict = self._violation(EventKind.SCAN_ERROR, "conflicting Content-Type values", ())
            return
        lines = self.media_type in JSON_LINES
        if status == 206 and (needs_body or lines and guard.event_extractors or not types and guard.sniffs):
            # A range of a JSON or HTML document can cut an owner key in half; the client joins the
            # ranges, respguard sees one: it can't prove the range clean.
            self.verdict = self._violation(EventKind.SCAN_ERROR, "partial content cannot be scanned", ())
            return
        if lines and guard.event_extractors and any(k.lower() == b"content-length" for k, _ in headers):
            # JSON lines of a known length: a finite document, held whole and scanned line by line
            # (finish()), so that another owner's line blocks the whole response.
            self._lines = self.needs_body = True
            return
        if lines or self.media_type == "text/event-stream":
            # An event stream never ends, and JSON lines are often streamed: neither is buffered,
            # each event or line is scanned as it completes (feed()).
            if guard.event_extractors:
                if self._codings():
                    reason = "compressed JSON lines stream" if lines else "compressed event stream"
                    self.verdict = self._violation(EventKind.SCAN_ERROR, reason, ())
                    return
                self.streaming = True
                self._lines = lines
            self.verdict = self._decide()
            return
        if not types and guard.sniffs:
            # No (valid) Content-Type: clients sniff the body, so respguard does too (sniff()).
            self.sniffing = self.needs_body = True
            return
        if not needs_body:
            self.verdict = self._decide()
            return
        self.needs_body = True

    def sniff(self, head: bytes) -> Verdict | None:
        """A body without Content-Type: its first bytes decide whether it is scanned.

        ``None``: it looks like JSON or HTML (or is only white space so far, or is
        compressed and must be decoded first): hold it all and :meth:`finish`. Else the
        verdict for a body that goes out unscanned, as for any unscanned type.
        """
        if not self.sniffing or not self._plain and self._codings():
            return None
        media = sniff_media(head)
        if media is None:
            return None  # white space so far: the whole body decides (finish())
        self._take_media(media)
        return None if media != OTHER or self.extractors else self._decide()

    def _take_media(self, media: str) -> None:
        self.sniffing = False
        self.media = media
        self.extractors = self.guard.body_extractors(media)

    def _start_fast(self, status: int, headers: RawHeaders) -> bool:
        """The common case in one pass, exactly as the full ``start()`` decides it; ``False``: not this case.

        It applies when nothing is exempt, the requester (resolved by ``start()``) is
        authenticated, the browser's binding was verified before for this Cookie header and requester, the
        response has one plain Content-Type, no owner header and a body. It returns
        ``False`` before any side effect, and the full path decides.
        """
        context = self.context
        requester = self.requester
        if requester is None or context.rebind or context.owners:
            return False
        request = self.request
        if status < 200 or status in NO_BODY_STATUSES or request.method == "HEAD":
            return False
        guard = self.guard
        fast = guard.fast
        if fast is None:
            return False
        scanned = fast.scan_headers(headers)
        if scanned is None:
            return False
        content, encoded, _ = scanned
        if guard.bind_sessions:
            if guard._has_login_paths and guard._login_path(request.path):
                return False
            cookie = self._request_cookie()
            remembered = fast.remembered(cookie, requester) if cookie is not None else None
            if remembered is None:
                return False
            self.binding, refresh = remembered
            if refresh:
                self.binding_header = guard.codec.set_cookie(requester, self._https())
        self._clean = True
        self._plain = not encoded
        self.media, self.media_type, self.extractors = content.media, content.media_type, content.extractors
        if content.needs_body:
            self.needs_body = True
        else:
            self.verdict = self._decide()
        return True

    def _resolve_requester(self) -> Identity | None:
        context = self.context
        if context.requester_set:
            return context.requester
        if self.guard.requester is not None:
            return as_identity(self.guard.requester(self.request))
        if self.fallback is not None:
            return as_identity(self.fallback())
        return None

    def _check_binding(self) -> bool:
        """Load the binding cookie and check the requester against it; ``True`` if decided."""
        guard = self.guard
        codec = guard.codec
        requester = self.requester
        context = self.context
        if context.rebind or guard.is_login_path(self.request.path):
            if context.unbind or requester is None:
                self.binding_header = codec.clear_cookie(self._https())
            else:
                self.binding_header = codec.set_cookie(requester, self._https())
            return False
        if requester is None:
            return False
        bindings = self._load_bindings()
        if not bindings:
            self.binding_header = codec.set_cookie(requester, self._https())
            return False
        for binding in bindings:
            if not codec.matches(binding, requester):
                verdict = self._violation(EventKind.SESSION_DRIFT, "requester differs from the bound identity", ())
                if verdict.blocked:
                    self.verdict = verdict
                    return True
                return False  # report-only: logged; the body is still scanned (and reported)
        self.binding = bindings[-1]
        if codec.needs_refresh(self.binding):
            self.binding_header = codec.set_cookie(requester, self._https())
        if self._bind_cookie is not None:  # remember the verified binding for _start_fast
            bound = guard._bound
            if len(bound) >= 8192:
                bound.clear()
            last = self.binding
            refresh_at = last.issued_at + codec.max_age / 2 if last.key_index == 0 else float("-inf")
            entry = (requester, min(b.issued_at for b in bindings) + codec.max_age, last, refresh_at)
            bound[self._bind_cookie] = entry
        return False

    def _load_bindings(self) -> list[Binding]:
        """The valid binding cookies of the request (bad ones are logged once and ignored)."""
        if self._bindings is None:
            codec = self.guard.codec
            cookie = self._request_cookie()
            bindings: list[Binding] = []
            rejected = False
            for value in cookie_values(cookie, codec.cookie_name) if cookie else ():
                try:
                    bindings.append(codec.loads(value))
                except BindingRejected as exc:
                    rejected = True
                    self._event(EventKind.BINDING_REJECTED, Action.IGNORED, "binding cookie " + exc.reason, ())
            self._bindings = bindings
            if cookie is not None and not rejected:
                self._bind_cookie = cookie
        return self._bindings

    # ------------------------------------------------------------------ inbound
    def check_inbound(self, path: str, query: bytes, content_type: str, body: bytes) -> Verdict | None:
        """Before the app runs: refuse a write naming another owner. ``None``: let it run."""
        request = InboundRequest(path, query, content_type, body)
        owners: list[tuple[str, str]] = []
        try:
            for rule in self.guard.inbound:
                owners.extend((rule.kind, o) for o in rule.owners(request))
        except InboundError as exc:
            return self.refuse(EventKind.SCAN_ERROR, str(exc))
        return self.check_write(owners)

    def check_write(self, owners: Sequence[tuple[str, str]]) -> Verdict | None:
        """A write names these owners (``(kind, text)``, normalised): the block page if one is
        foreign and no policy allows it, else ``None`` (the write may run)."""
        if not owners:
            return None
        guard = self.guard
        try:
            requester = self._resolve_requester()
        except Exception:
            return self.refuse(EventKind.SCAN_ERROR, "requester function raised")
        self.requester = requester
        bindings = self._load_bindings() if guard.bind_sessions else []
        codec = guard.codec
        if requester is not None and any(not codec.matches(b, requester) for b in bindings):
            # The app's session says someone else than the browser logged in as (incident 2).
            self.named = list(owners)
            return self.refuse(EventKind.SESSION_DRIFT, "requester differs from the bound identity")

        def own(kind: str, text: str) -> bool:
            if requester is not None:
                value = requester.value(kind)
                if value is not None:
                    return value == text
            if not bindings:
                return False
            if kind == ID:
                return all(codec.hash(text, b.key_index) == b.id_hash for b in bindings)
            return all(codec.facet_matches(b, kind, text) is True for b in bindings)

        foreign = sorted({o for o in owners if not own(*o)})
        if not foreign:
            return None
        self.named = list(owners)  # so events can redact every id the request named
        if guard.policy is not None:
            try:
                allowed = all(guard.policy(requester, Owner(k, t), self.request) for k, t in foreign)
            except Exception:
                return self.refuse(EventKind.SCAN_ERROR, "policy raised", foreign)
            if allowed:
                self._event(EventKind.CROSS_OWNER_VIEW, Action.ALLOWED, "policy allowed a cross-owner write", foreign)
                return None
        return self.refuse(EventKind.CROSS_OWNER_WRITE, "request names another owner's record", foreign)

    def refuse(self, kind: EventKind, reason: str, foreign: Sequence[tuple[str, str]] = ()) -> Verdict | None:
        """Before the app runs: the block page, or ``None`` (report-only lets the app run)."""
        event = self._record(kind, reason, foreign)
        return None if event is None else self._block(event)

    def inbound_oversize(self) -> Verdict | None:
        """The request body outgrew ``max_body_bytes`` before the inbound check could read it."""
        return self.refuse(EventKind.OVERSIZE, "request body over max_body_bytes")

    def _https(self) -> bool:
        return self.request.scheme in ("https", "wss")

    # ------------------------------------------------------------------ body
    def finish(self, body: bytes) -> Verdict:
        """The whole body is here (at most ``max_body_bytes``): scan it and decide."""
        guard = self.guard
        if self._plain:
            decoded = body
        else:
            try:
                decoded = decode_content(body, self._codings(), guard.max_body_bytes)
            except DecodedTooLarge:
                return self.oversize("decompressed body over max_body_bytes")
            except BodyDecodeError as exc:
                return self._violation(EventKind.SCAN_ERROR, str(exc), ())
        if self._lines:
            return self._finish_lines(decoded)
        if self.sniffing:
            self._take_media(sniff_media(decoded) or OTHER)
        if not decoded or self.media == OTHER and not self.extractors:
            return self._decide()
        # JSON served as HTML or text is still JSON to a script: read it as JSON too, where it parses.
        as_json: tuple[Extractor, ...] = ()
        if self.media in (HTML, TEXT) and looks_like_json(decoded):
            as_json = tuple(e for e in guard.body_extractors(JSON) if e not in self.extractors)
        if not self.extractors and not as_json:
            return self._bulk_check(decoded) or self._decide()
        view = self._view(decoded)
        requester = self.requester
        owners = self.owners
        not_in_body = len(owners)  # header and declared owners, gathered by start()
        for extractor in (*self.extractors, *as_json):
            own = requester.value(extractor.kind) if requester is not None else None
            try:
                strict = guard.strict_json and isinstance(extractor, JsonKeys)
                proof = UNPROVEN if strict else extractor.only_own(view, own)
                if proof:
                    if proof == OWN:
                        self.personal = True
                    continue
                kind = extractor.kind
                owners.extend((kind, o) for o in extractor.owners(view))
            except ScanError as exc:
                if extractor in as_json:
                    continue  # not JSON to a script either: the body's own type was scanned
                return self._violation(EventKind.SCAN_ERROR, f"{extractor.name}: {exc}", (), extractor.name)
            except BodyDecodeError as exc:
                return self._violation(EventKind.SCAN_ERROR, f"{extractor.name}: {exc}", (), extractor.name)
            except Exception as exc:
                reason = f"{extractor.name} raised {type(exc).__name__}"
                return self._violation(EventKind.SCAN_ERROR, reason, (), extractor.name)
        if guard.filter_records and self.media == JSON and self.owners:
            filtered = self._filter(decoded, owners[:not_in_body])
            if filtered is not None:
                return filtered
        if self.owners and self._foreign():
            return self._decide()
        return self._bulk_check(decoded) or self._decide()

    def _bulk_check(self, body: bytes) -> Verdict | None:
        """Too many distinct people's e-mails/phones/cards in one response (incident 3)."""
        bulk = self.guard.bulk_pii
        if bulk is None or self.media not in TEXT_MEDIA:
            return None
        counts = bulk.over(body, self.media, self.request.path, self._own_pii)
        if not counts:
            return None
        return self._violation(
            EventKind.BULK_PERSONAL_DATA, "response carries many people's personal data", (), counts=counts
        )

    def _own_pii(self, kind: str, value: str) -> bool:
        requester = self.requester
        if requester is None:
            return False
        if requester.id.casefold() == value:
            return True
        facet = requester.value(kind)
        if facet is not None:
            if kind == PHONE:
                facet = "".join(c for c in facet if c.isdigit())
            return facet == value
        if self.binding is not None:
            return self.guard.codec.facet_matches(self.binding, kind, value) is True
        return False

    def _filter(self, body: bytes, not_in_body: list[tuple[str, str]]) -> Verdict | None:
        """``on_foreign_records="filter"``: drop foreign list items instead of blocking.

        A foreign owner outside the body (a header, a declared owner) can't be filtered.
        """
        if any(not self._is_own(kind, text) for kind, text in not_in_body):
            return None
        result = filter_records(body, self.guard.json_keys, lambda k, t: self._is_own(k, normalise(k, t)))
        if result is None:
            return None
        new_body, removed = result
        if removed == 0:
            return None
        foreign = self._foreign()
        self.owners = [o for o in self.owners if self._is_own(*o)]
        self._event(
            EventKind.FILTERED, Action.FILTERED, "foreign records removed", foreign, counts={"records_removed": removed}
        )
        verdict = self._pass()
        headers = [(k, v) for k, v in verdict.headers if k.lower() not in _BODY_HEADERS]
        headers.append((b"content-length", str(len(new_body)).encode("ascii")))
        return Verdict(verdict.status, headers, new_body, False)

    def fail(self, reason: str) -> Verdict:
        """The adapter could not read the body (a fixed phrase, no data): a scan error."""
        return self._violation(EventKind.SCAN_ERROR, reason, ())

    def oversize(self, reason: str = "body over max_body_bytes") -> Verdict:
        """The body outgrew ``max_body_bytes``: block, or pass unscanned if configured."""
        if self.guard.on_oversize == "pass":
            self._event(EventKind.OVERSIZE, Action.PASSED, reason, ())
            return self._pass()
        return self._violation(EventKind.OVERSIZE, reason, ())

    # ------------------------------------------------------------------ decision
    def _is_own(self, kind: str, text: str) -> bool:
        requester = self.requester
        if requester is None:
            return False
        value = requester.value(kind)
        if value is not None:
            return value == text
        if kind != ID and self.binding is not None:
            return self.guard.codec.facet_matches(self.binding, kind, text) is True
        return False

    def _foreign(self) -> list[tuple[str, str]]:
        return sorted({o for o in self.owners if not self._is_own(*o)})

    def _decide(self) -> Verdict:
        if not self.owners:
            return self._pass()
        judged = self._judge(self._foreign())
        if judged is None:
            return self._pass()
        kind, reason, foreign = judged
        return self._violation(kind, reason, foreign)

    def _judge(self, foreign: list[tuple[str, str]]) -> tuple[EventKind, str, list[tuple[str, str]]] | None:
        """The violation foreign owners make, or ``None`` (none, or a policy allowed them: audited)."""
        if not foreign:
            return None
        policy = self.guard.policy
        if policy is not None:
            try:
                allowed = all(policy(self.requester, Owner(kind, text), self.request) for kind, text in foreign)
            except Exception:
                return EventKind.SCAN_ERROR, "policy raised", foreign
            if allowed:
                self._event(EventKind.CROSS_OWNER_VIEW, Action.ALLOWED, "policy allowed a cross-owner view", foreign)
                return None
        if self.requester is None:
            return EventKind.ANONYMOUS_PERSONAL_DATA, "personal data in a response to nobody", foreign
        return EventKind.OWNER_MISMATCH, "response carries another owner's data", foreign

    # ------------------------------------------------------------------ event streams
    def feed(self, chunk: bytes, more: bool) -> tuple[bytes, bool]:
        """``text/event-stream`` or JSON lines: scan each complete event or line before it goes out.

        Returns the bytes to send now and whether the stream must end here. Whole events
        are released once scanned; the first event that carries another owner's data
        ends the stream before it (the status went out with the first event, so the
        stream is cut rather than replaced).
        """
        buffer = self._stream_rest + chunk if self._stream_rest else chunk
        ends = _event_ends(buffer, self._lines)
        cut = len(buffer) if not more else (ends[-1] if ends else 0)
        ready, rest = buffer[:cut], buffer[cut:]
        start = 0
        for end in ends:
            if end > cut:
                break
            if self._event_violates(ready[start:end]):
                return ready[:start], True
            start = end
        if start < cut and self._event_violates(ready[start:]):
            return ready[:start], True
        if len(rest) > self.guard.max_body_bytes:  # one event that never ends: stop holding it
            self._stream_rest = b""
            if self._stream_violation(EventKind.OVERSIZE, "event over max_body_bytes", []):
                return ready, True
            return ready + rest, False
        self._stream_rest = rest
        return ready, False

    def _event_violates(self, event: bytes) -> bool:
        """Scan one event; ``True`` if it must not be sent (an event is emitted)."""
        judged, _ = self._judge_event(event)
        return judged is not None and self._stream_violation(*judged)

    def _judge_event(self, event: bytes) -> tuple[tuple[EventKind, str, list[tuple[str, str]]] | None, bool]:
        """The violation one event or line makes (``None``: none), and whether it named any owner.

        JSON extractors read the event's ``data`` (its ``data:`` lines joined), or the
        line of a JSON lines stream (without a JSON text sequence's RS byte); other
        extractors read the whole event or line, as they would a text body.
        """
        if not event.strip():
            return None, False
        if self._lines:
            data = event.strip(b" \t\r\n\x1e")
        else:
            lines = [line[5:] for line in _LINE.split(event) if line.startswith(b"data:")]
            data = b"\n".join(line[1:] if line.startswith(b" ") else line for line in lines)
        headers = Headers(self.headers)
        whole = ResponseView(self.request, self.status, headers, self.media, self.media_type, event)
        payload = ResponseView(self.request, self.status, headers, self.media, self.media_type, data)
        owners: list[tuple[str, str]] = []
        for extractor in self.guard.event_extractors:
            try:
                view = payload if isinstance(extractor, JsonKeys) else whole
                owners.extend((extractor.kind, o) for o in extractor.owners(view))
            except ScanError as exc:
                if isinstance(extractor, JsonKeys):
                    continue  # data that is not JSON carries no JSON keys; text extractors still read it
                return (EventKind.SCAN_ERROR, f"{extractor.name}: {exc}", []), False
            except Exception as exc:
                return (EventKind.SCAN_ERROR, f"{extractor.name} raised {type(exc).__name__}", []), False
        return self._judge(sorted({o for o in owners if not self._is_own(*o)})), bool(owners)

    def _finish_lines(self, body: bytes) -> Verdict:
        """JSON lines held whole (a finite response): every line scanned as one document."""
        for line in body.split(b"\n"):
            judged, named = self._judge_event(line)
            if judged is not None:
                return self._violation(*judged)
            if named:
                self.personal = True  # only the requester's own records: a personal response
        return self._decide()

    def _stream_violation(self, kind: EventKind, reason: str, foreign: list[tuple[str, str]]) -> bool:
        """In an event stream: ``True`` if the stream must end here."""
        return self._record(kind, reason, foreign) is not None

    def _record(
        self,
        kind: EventKind,
        reason: str,
        foreign: Sequence[tuple[str, str]],
        extractor: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> AuditEvent | None:
        """Emit the event of a violation: ``blocked`` (returned), or ``reported`` in report-only mode (``None``)."""
        if not self.guard.enforce:
            self._event(kind, Action.REPORTED, reason, foreign, extractor, counts)
            return None
        return self._event(kind, Action.BLOCKED, reason, foreign, extractor, counts)

    def _violation(
        self,
        kind: EventKind,
        reason: str,
        foreign: Sequence[tuple[str, str]],
        extractor: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> Verdict:
        event = self._record(kind, reason, foreign, extractor, counts)
        return self._pass(reported=True) if event is None else self._block(event)

    def _pass(self, reported: bool = False) -> Verdict:
        headers = self.headers
        guard = self.guard
        strip = guard.strip_headers
        if strip and not self._clean and any(k.lower() in strip for k, _ in headers):
            headers = [(k, v) for k, v in headers if k.lower() not in strip]
        if self.exempt:
            return Verdict(self.status, headers, None, False)
        if guard.cache_control and (self.personal or self.owners):
            # Report-only lets the response out, but never to a shared cache.
            private = personal_headers(headers, self._request_cookie() is not None, rewrite_shared=reported)
            if private is not None:
                headers = private
            elif guard.on_shared_cache == "block":
                return self._violation(EventKind.SHARED_CACHE, "personal data marked for shared caches", ())
            else:
                self._event(EventKind.SHARED_CACHE, Action.REPORTED, "personal data marked for shared caches", ())
        if self.binding_header is not None:
            headers = [*headers, (b"set-cookie", self.binding_header)]
        return Verdict(self.status, headers, None, False)

    def _block(self, event: AuditEvent) -> Verdict:
        guard = self.guard
        page = guard.block_page
        if guard.block_response is not None:
            try:
                page = guard.block_response(event)
                if not valid_page(page):  # would not block, or would split the headers
                    raise TypeError("block_response must return a valid BlockPage")
            except Exception:
                page = guard.block_page
        headers: RawHeaders = [
            (b"content-type", page.content_type.encode("latin-1")),
            (b"content-length", str(len(page.body)).encode("ascii")),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        # Clear the binding, except on drift or a refused write: the browser stays bound to
        # who logged in, or its next request would re-bind it to the wrong person.
        if guard.bind_sessions and event.kind.value not in _KEEP_BINDING:
            headers.append((b"set-cookie", guard.codec.clear_cookie(self._https())))
        body = b"" if self.request.method == "HEAD" else page.body
        return Verdict(page.status, headers, body, True)

    # ------------------------------------------------------------------ helpers
    def known_cookie(self, cookie: str | None) -> None:
        """An adapter read the request's Cookie header more cheaply: all its Cookie headers
        joined with ``"; "`` (``None`` if there is none)."""
        self._cookie = cookie
        self._cookie_read = True

    def _request_cookie(self) -> str | None:
        """The request's Cookie headers, joined with ``"; "`` (``None`` if there is none), read once."""
        if not self._cookie_read:
            self._cookie_read = True
            self._cookie = cookie_header(self.request.headers.raw)
        return self._cookie

    def _codings(self) -> str | None:
        """Every Content-Encoding value, in order: repeated headers combine as one list, as
        clients decode them ('identity' then 'br' is br, not identity)."""
        values = [v.decode("latin-1") for k, v in self.headers if k.lower() == b"content-encoding"]
        return ", ".join(values) if values else None

    def _view(self, body: bytes) -> ResponseView:
        return ResponseView(self.request, self.status, Headers(self.headers), self.media, self.media_type, body)

    def _event_ids(self, named: Sequence[tuple[str, str]]) -> set[str]:
        """Every id an event is about: the requester's, and each owner's."""
        ids = {text for _, text in named}
        requester = self.requester
        if requester is not None:
            ids.add(requester.id)
            ids.update(requester.facets.values())
        return ids

    def _event(
        self,
        kind: EventKind,
        action: Action,
        reason: str,
        foreign: Sequence[tuple[str, str]],
        extractor: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> AuditEvent:
        hasher = self.guard.hasher
        requester = self.requester
        ids = self._event_ids([*foreign, *self.owners, *self.named])
        header = self.guard.request_id_header
        request_id = self.request.headers.get(header) if header is not None else None
        event = AuditEvent(
            kind=kind,
            action=action,
            method=self.request.method,
            path=redact_path(self.request.path, ids),
            status=self.status,
            reason=reason,
            requester=hasher(requester.id) if requester is not None else None,
            owners=tuple(hasher(text if k == ID else k + ":" + text) for k, text in foreign[:MAX_EVENT_OWNERS]),
            owner_count=len(foreign),
            request_id=safe_request_id(request_id, ids),
            extractor=extractor,
            counts=tuple(sorted(counts.items())) if counts else (),
        )
        emit(event, self.guard.on_event)
        return event
