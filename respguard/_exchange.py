"""One request/response through the guard: a sans-IO state machine.

An adapter feeds an :class:`Exchange` what the app does (``start``, ``body``, ``unreadable``)
and carries out the :class:`Action` it returns (send this head and these bytes, or hold).
It never does I/O. The states and their moves are one table, :data:`TRANSITIONS`; the
body strategy is picked once, from the head, by :func:`respguard._plan.plan_response`;
every owner is judged by :func:`respguard._decide.decide`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from ._binding import Binding
from ._bodies import (
    Failure,
    Found,
    HeldDocument,
    RecordStream,
    Sniffer,
    StreamRecord,
    record_reader,
    records_proved_clean,
    scan_document,
    scan_header_json,
    scan_record,
)
from ._cache import PRIVATE, personal_headers
from ._content import (
    HTML,
    JSON,
    OTHER,
    TEXT,
    TEXT_MEDIA,
    BodyDecodeError,
    DecodedTooLarge,
    decode_content,
    opens_like_wide_json,
    sniff_media,
    sniffed_page_type,
)
from ._context import RequestContext
from ._decide import Decision, decide, foreign_owners, is_own
from ._encoding import ASCII_SAFE, text_encoding
from ._events import MAX_EVENT_OWNERS, AuditEvent, EventKind, emit
from ._events import Action as EventAction
from ._extractors import OWN, UNPROVEN, header_owners
from ._filter import filter_records
from ._guard import Guard, Rules
from ._headers import Headers, RawHeaders
from ._identity import ID, Identity, RequesterLike, as_identity, normalise
from ._inbound import Named, PathOwner, named_owners
from ._mime import is_xml_essence
from ._pii import PHONE, BulkPII
from ._plan import ContentPlan, HeadFacts, ResponsePlan, Strategy, plan_response
from ._redact import id_candidates, redact_fields
from ._scan import RequestInfo, ResponseView
from ._session import load_bindings, memory_key
from ._streams import Record, RecordTooLarge
from ._verdict import Verdict, block_verdict

#: Headers that describe the original body and are wrong for a filtered one.
_BODY_HEADERS = frozenset(
    {b"content-length", b"content-encoding", b"etag", b"content-md5", b"digest", b"last-modified"}
)
_PRIVATE = (b"cache-control", PRIVATE)
#: Methods an event names as sent; any other is a client's word, which may be an id: not logged.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "QUERY"})
_JSON_SEQ = "application/json-seq"  # RFC 7464: records led by RS, not ended by LF
_SLICE = 65536  # JSON lines held whole are read this much at a time (records judged as they come)
_VARY_COOKIE = (b"vary", b"Cookie")
_BULK_REASON = "response carries many people's personal data"
_NO_HEADERS: RawHeaders = []  # an exchange's headers before the head is in


class State:
    """Where a response is (h11-style named states; :data:`TRANSITIONS` lists the moves)."""

    START: Final = "start"  # waiting for the app's response head
    HOLD: Final = "hold"  # a finite body is held until it is whole (the plan said DOCUMENT)
    SNIFF: Final = "sniff"  # an untyped body: held until its first bytes tell what it is
    STREAM: Final = "stream"  # the head went out; each record is scanned before it is released
    PASS: Final = "pass"  # decided and allowed: the rest goes through untouched
    DISCARD: Final = "discard"  # blocked, or a stream cut: the rest of the app's body is dropped
    DONE: Final = "done"  # the whole response went out


#: (state, what happened) -> the states it may lead to.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (State.START, "start"): frozenset({State.HOLD, State.SNIFF, State.STREAM, State.PASS, State.DISCARD, State.DONE}),
    (State.SNIFF, "body"): frozenset({State.SNIFF, State.PASS, State.DONE, State.DISCARD}),
    (State.HOLD, "body"): frozenset({State.HOLD, State.DONE, State.PASS, State.DISCARD}),
    (State.STREAM, "body"): frozenset({State.STREAM, State.DONE, State.PASS, State.DISCARD}),
    (State.PASS, "body"): frozenset({State.PASS}),
    (State.HOLD, "unreadable"): frozenset({State.DISCARD, State.PASS}),
    (State.SNIFF, "unreadable"): frozenset({State.DISCARD, State.PASS}),
    (State.STREAM, "unreadable"): frozenset({State.DISCARD, State.PASS}),
}


#: The same table, looked up by state then event (no key tuple to build on every move).
_MOVES: dict[str, dict[str, frozenset[str]]] = {
    state: {event: targets for (source, event), targets in TRANSITIONS.items() if source == state}
    for state in (State.START, State.HOLD, State.SNIFF, State.STREAM, State.PASS, State.DISCARD, State.DONE)
}
_NOWHERE: frozenset[str] = frozenset()


class ProtocolError(Exception):
    """An adapter fed the exchange an event its state does not take (a bug, never the app's input)."""


class Action:
    """What the adapter does now: send ``head`` (if any), then ``body`` (if any); ``more`` is
    whether the response goes on after this body."""

    __slots__ = ("head", "body", "more")

    def __init__(self, head: Verdict | None, body: bytes | None, more: bool) -> None:
        self.head = head
        self.body = body
        self.more = more


#: Nothing to send yet.
HOLD = Action(None, None, True)


def _read_as(plan: ResponsePlan, decoded: bytes) -> str:
    """The media class a whole (decoded) body of this plan is read as: its type's, or for a
    sniffed one what its first bytes are (a compressed body is sniffed once decoded). A typed
    body (its type nothing reads) is sniffed for JSON only: scripts parse it, browsers don't
    render it as a page."""
    content = plan.content
    if plan.strategy != Strategy.SNIFF:
        return content.media
    sniffed = JSON if opens_like_wide_json(decoded) else sniff_media(decoded) or OTHER
    return sniffed if not content.typed or sniffed == JSON else OTHER


_LONGER_THAN_DECLARED = "body longer than its Content-Length"


#: The longest Content-Length value read as a number: ``int()`` (and so gunicorn) refuses more
#: than 4300 digits, leading zeros counted (``sys.int_info.default_max_str_digits``).
_LENGTH_DIGITS = 4300


def _declared_length(headers: RawHeaders) -> int:
    """The smallest Content-Length a head declares, read as servers read it (gunicorn's
    ``int(value.strip())``: ``+36`` and ``3_6`` are 36; it keeps the last of several, h11 the
    same one: the smallest is what some server sends); ``-1`` where none can be read."""
    smallest = -1
    for name, value in headers:
        if name.lower() == b"content-length":
            digits = value.strip()  # (bytes.strip: the ASCII white space int() strips)
            if len(digits) > _LENGTH_DIGITS:
                continue
            try:
                length = int(digits.decode("latin-1"))
            except ValueError:
                continue
            if 0 <= length and (smallest < 0 or length < smallest):
                smallest = length
    return smallest


class Exchange:
    """One request/response through the guard; nothing request-specific lives on the Guard."""

    __slots__ = (
        "guard",
        "request",
        "context",
        "fallback",
        "asked",
        "answer",
        "state",
        "status",
        "headers",
        "requester",
        "binding",
        "binding_header",
        "owners",
        "named",
        "counted",
        "personal",
        "exempt",
        "plan",
        "facts",
        "body_reader",
        "held",
        "loaded",
        "rejected",
        "cookie",
        "rules",
        "replaced",
        "view",
        "htmx",
    )

    def __init__(
        self,
        guard: Guard,
        request: RequestInfo,
        context: RequestContext,
        fallback: Callable[[RequestInfo], RequesterLike] | None = None,
        cookie: str | None = None,
        htmx: bool = False,
    ) -> None:
        self.guard = guard
        self.request = request
        self.context = context
        self.fallback = fallback
        self.asked = False  # requester= was called (once a request: its answer is kept here)
        self.answer: Identity | None = None
        self.state = State.START
        self.status = 0
        self.headers: RawHeaders = _NO_HEADERS  # (never changed in place: a verdict's are new lists)
        self.requester: Identity | None = None
        self.binding: Binding | None = None
        self.binding_header: bytes | None = None  # the Set-Cookie respguard adds (bind, refresh, clear)
        self.owners: list[tuple[str, str]] = []
        self.named: tuple[tuple[str, str], ...] = ()  # owners the request itself named (a write)
        # The many people's values a bulk event is about (its path and request id must not show one).
        self.counted: tuple[str, ...] = ()
        self.personal = False  # a proof saw the requester's own data
        self.exempt = False
        # The rules of this request's route (plan, policy, bulk check), resolved once: every step
        # reads them, never the guard's defaults.
        self.rules: Rules = guard.rules if guard.router is None else guard.rules_for(request.path)
        self.plan = self.rules.planner.unplanned  # until the head is in
        self.facts: HeadFacts | None = None
        self.body_reader: Sniffer | RecordStream | None = None  # the strategy's reader, where it has one
        self.held: HeldDocument | None = None  # a DOCUMENT's pieces, once one must wait for the next
        self.loaded: tuple[list[Binding], bool] | None = None  # the binding cookies, read once a request
        # Why the first bad binding cookie was rejected, until its one event is emitted (see
        # _load_bindings); "" once it was, or when none was.
        self.rejected = ""
        self.cookie = cookie  # the request's Cookie headers joined with "; " (the adapter read them)
        self.htmx = htmx  # an htmx request (HX-Request): its answer, of any type, is swapped in as HTML
        # The write check reaches the decision through the context. An environ's copies share one
        # context (an internal sub-request): the exchange there before is given back by detach().
        self.replaced = context.exchange
        context.exchange = self
        self.view: ResponseView | None = None  # the last document extractors read (see _view)

    def detach(self, answered: bool = True) -> None:
        """The app has run (its write checks with it): the context stops reaching this exchange.
        Else scope -> context -> exchange -> request -> scope is a cycle, and every request's
        objects wait for the cyclic GC instead of going with the response.

        ``answered``: the app's answer is over, or never came (ASGI; WSGI, and a WSGI stream's
        ``close()``); ``False``: it is still to be read (Django detaches before the middleware
        reads the response; a WSGI stream is read as the server iterates it). A rejection still
        pending then (the app raised before it answered or mid-body, a stream was cut short
        before its end decided it) is logged: it is never lost."""
        if self.context.exchange is self:
            self.context.exchange = self.replaced
        if self.rejected and answered:
            self._event(EventKind.BINDING_REJECTED, EventAction.IGNORED, self.rejected, ())

    def _move(self, event: str, state: str) -> None:
        if state not in _MOVES[self.state].get(event, _NOWHERE):
            raise ProtocolError(f"respguard: {event!r} cannot move a response from {self.state!r} to {state!r}")
        self.state = state
        if self.rejected and state != State.HOLD and state != State.SNIFF and state != State.STREAM:
            # Decided: every owner the response names is known, and none was foreign (a block or a
            # foreign record emits its event first, which takes the rejection with it).
            self._event(EventKind.BINDING_REJECTED, EventAction.IGNORED, self.rejected, ())

    # ------------------------------------------------------------------ the response head
    def start(self, status: int, headers: RawHeaders) -> Action:
        """The app started its response: decide now, or hold it until the body tells."""
        if self.state != State.START:
            raise ProtocolError(f"respguard: a response start in state {self.state!r}")
        guard = self.guard
        self.status = status
        self.headers = headers
        rules = self.rules
        planner = rules.planner
        facts = self.facts = planner.read_head(headers)
        if guard.exempt_rules or rules.exempt:
            try:
                self.exempt = rules.exempt or guard.is_exempt(self.request)
            except Exception:
                return self._finish_head(self._violation(EventKind.SCAN_ERROR, "exempt predicate raised", ()))
            if self.exempt:
                return self._finish_head(self._pass())
        try:
            self.requester = self.resolve_requester()
        except Exception:
            return self._finish_head(self._violation(EventKind.SCAN_ERROR, "requester function raised", ()))
        if guard.bind_sessions:
            drift = self._check_binding()
            if drift is not None:
                return self._finish_head(drift)
        if facts.owner_header:
            headers_view = Headers(headers)
            for extractor in rules.header_extractors:
                self.owners.extend(
                    (extractor.kind, o) for o in header_owners(headers_view, extractor.raw_name, extractor.kind)
                )
        if self.context.owners:
            self.owners.extend(self.context.owners)
        plan = self.plan = plan_response(planner, self.request.method, status, facts, self.htmx)
        if facts.json_values and planner.by_media[JSON]:
            failure = scan_header_json(planner, facts.json_values, self._view, self.owners)
            if failure is not None:
                return self._finish_head(self._violation(failure.kind, failure.reason, (), failure.extractor))
        strategy = plan.strategy
        if strategy == Strategy.DOCUMENT or strategy == Strategy.LINES_DOCUMENT or strategy == Strategy.EVENTS_DOCUMENT:
            self._move("start", State.HOLD)  # the HeldDocument is made once a piece must wait
            return HOLD
        if strategy == Strategy.SNIFF:
            self.body_reader = Sniffer(guard.max_body_bytes, plan.encodings, plan.content.typed)
            self._move("start", State.SNIFF)
            return HOLD
        if strategy == Strategy.REFUSE:
            return self._finish_head(self._violation(EventKind.SCAN_ERROR, plan.reason, ()))
        if strategy == Strategy.EVENTS or strategy == Strategy.LINES:
            # Its records are read after the head went out: a stream an extractor reads is
            # personal, kept out of shared caches from its head on (one the bulk check alone
            # counts is not: no owner is read in it).
            self.personal = bool(planner.line_extractors if strategy == Strategy.LINES else planner.event_extractors)
        verdict = self._decide()
        if (strategy == Strategy.EVENTS or strategy == Strategy.LINES) and not verdict.blocked:
            lines = strategy == Strategy.LINES
            seq = plan.content.media_type == _JSON_SEQ
            self.body_reader = RecordStream(lines, seq, guard.max_body_bytes)
            self._move("start", State.STREAM)
            return Action(verdict, None, True)
        if strategy == Strategy.NONE and not verdict.blocked and guard.enforce:
            # A 1xx, 204 or 304 has no body (RFC 9110): a client stops at the head, and a server
            # that writes the app's bytes anyway puts them where the next response's head is read.
            # The response ends with its head; whatever the app sends after it is dropped.
            self._move("start", State.DONE)
            return Action(verdict, b"", False)
        return self._finish_head(verdict)

    def _finish_head(self, verdict: Verdict) -> Action:
        """The head is decided: a block page ends the response, a pass lets the body through."""
        if verdict.blocked:
            self._move("start", State.DISCARD)
            return Action(verdict, verdict.body, False)
        self._move("start", State.PASS)
        return Action(verdict, None, True)

    def resolve_requester(self) -> Identity | None:
        """Who is asking, the first source that answers: ``set_requester`` (the app, at any time
        before the response), ``requester=`` (called at most once a request, its answer kept on
        the exchange, not in the context: the app may still say otherwise), the adapter's
        fallback (``scope["user"]``). Raises what a callable raises."""
        context = self.context
        if context.requester_set:
            return context.requester
        # The callables' answers are read as objects: ``as_identity`` checks what they are.
        function: Callable[[RequestInfo], object] | None = self.guard.requester
        if function is not None:
            if not self.asked:
                self.answer = as_identity(function(self.request))
                self.asked = True
            return self.answer
        fallback: Callable[[RequestInfo], object] | None = self.fallback
        if fallback is not None:
            return as_identity(fallback(self.request))
        return None

    def _check_binding(self) -> Verdict | None:
        """Set, refresh, clear or check the browser's binding; a drift block, or ``None``."""
        guard = self.guard
        codec = guard.codec
        requester = self.requester
        context = self.context
        if context.rebind or guard.login_paths and guard.is_login_path(self.request.path):
            if context.unbind or requester is None:
                self.binding_header = codec.clear_cookie(self._https())
            else:
                self.binding_header = codec.set_cookie(requester, self._https())
            return None
        if requester is None:
            return None
        cookie = self.cookie
        key = memory_key(cookie, codec.cookie_name)
        if key is not None:
            recalled = guard.bindings.recall(key, requester)
            if recalled is not None:
                self.binding, refresh = recalled
                if refresh:
                    self.binding_header = codec.set_cookie(requester, self._https())
                return None
        bindings, clean = self._load_bindings(cookie)
        if not bindings:
            self.binding_header = codec.set_cookie(requester, self._https())
            return None
        for binding in bindings:
            if not codec.matches(binding, requester):
                verdict = self._violation(EventKind.SESSION_DRIFT, "requester differs from the bound identity", ())
                # report-only: logged; the body is still scanned (and reported)
                return verdict if verdict.blocked else None
        self.binding = bindings[-1]
        if codec.needs_refresh(self.binding):
            self.binding_header = codec.set_cookie(requester, self._https())
        if clean and key is not None:
            guard.bindings.remember(key, requester, bindings, codec)
        return None

    def _load_bindings(self, cookie: str | None) -> tuple[list[Binding], bool]:
        """The request's binding cookies (a write checked before the app and its response read
        them once: a bad one is reported once)."""
        loaded = self.loaded
        if loaded is None:
            reasons: list[str] = []
            loaded = self.loaded = load_bindings(cookie, self.guard.codec, reasons.append)
            if reasons:
                # One event a request, however many bad copies it sent (thousands of
                # ``respguard_bind=x`` would be thousands of events, each searching the path). And
                # it waits until the response's owners are known: its path must not show an id
                # that the request's other events redact (the owner a write or a page names).
                self.rejected = "binding cookie " + reasons[0]
        return loaded

    # ------------------------------------------------------------------ the body
    def body(self, chunk: bytes, more: bool) -> Action:
        """A piece of the app's body (``more``: more follows). What to send now."""
        state = self.state
        if state == State.HOLD:
            reader = self.held
            if reader is None:
                if not more and len(chunk) <= self.guard.max_body_bytes:
                    # the whole body in one piece: nothing to hold
                    return self._release_with(self._scan_whole(chunk), chunk, False)
                reader = self.held = HeldDocument(self.guard.max_body_bytes)
            if not reader.add(chunk):
                return self._release(self.oversize(), more)
            if more:
                return HOLD
            whole = reader.whole()
            return self._release_with(self._scan_whole(whole), whole, False)
        if state == State.STREAM:
            return self._stream(chunk, more)
        if state == State.SNIFF:
            return self._sniff(chunk, more)
        if state == State.PASS:
            return Action(None, chunk, more)  # decided and allowed: as the app sent it
        raise ProtocolError(f"respguard: a body chunk in state {state!r}")

    def _scan_whole(self, body: bytes) -> Verdict:
        """A held document, whole: scanned, unless it is longer than its Content-Length. A client
        reads the declared bytes only (servers send no more), and what follows may change how
        they read (a ``<meta>`` the prescan of the whole takes, which the client's never sees)."""
        verdict = self._scan_document(body)
        facts = self.facts
        if verdict.blocked or verdict.body is not None or facts is None or not facts.length:
            return verdict  # (a block gives its own reason; a body respguard rewrote has its own length)
        # The head that declares the body's own length once, as frameworks spell it, is found by
        # one list search (most held documents); another is read (its smallest Content-Length).
        length = len(body)
        spelt = b"%d" % length
        headers = self.headers
        if facts.lengths <= 1 and ((b"content-length", spelt) in headers or (b"Content-Length", spelt) in headers):
            return verdict
        if not 0 <= _declared_length(headers) < length:
            return verdict
        return self._violation(EventKind.SCAN_ERROR, _LONGER_THAN_DECLARED, ())

    def peek(self, head: bytes) -> Action | None:
        """The body's first bytes, read without taking them (a file the app sends): if they show
        that clients take the body for a binary file nothing reads, the head to send, after which
        the app's body goes out as the app sends it (a server may still send the file zero-copy);
        ``None``: feed the body as usual."""
        reader = self.body_reader
        if self.state != State.SNIFF or not isinstance(reader, Sniffer) or reader.held.size:
            return None
        probe = Sniffer(self.guard.max_body_bytes, self.plan.encodings, reader.json_only)
        if not self._unread(probe.feed(head)) or self.owners and self._foreign():
            return None  # fed as usual, the body decides (and emits any event) once
        self._move("body", State.PASS)
        return Action(self._decide(), None, True)

    def _unread(self, media: str | None) -> bool:
        """Is a sniffed body of this media class one that nothing reads (clients take it for a binary file)?"""
        return media == OTHER and not self.rules.planner.by_media[OTHER]

    def unreadable(self, reason: str) -> Action:
        """The app sent a message respguard cannot read (a fixed phrase) while the body is undecided.

        Enforced: the block page, and the rest is dropped. Report-only: logged, then the app's
        head and what was held go out, and the state is ``pass``: the adapter sends the message
        on as the app sent it (the response stays the app's, whole). On a stream the head went
        out: enforced, the stream ends before the message (the records sent were scanned)."""
        reader = self.body_reader
        if self.state == State.STREAM:
            assert isinstance(reader, RecordStream)
            if self._record(EventKind.SCAN_ERROR, reason, ()) is not None:
                self._move("unreadable", State.DISCARD)
                return Action(None, b"", False)
            self._move("unreadable", State.PASS)
            return Action(None, reader.release(None), True)
        verdict = self._violation(EventKind.SCAN_ERROR, reason, ())
        if verdict.blocked:
            self._move("unreadable", State.DISCARD)
            return Action(verdict, verdict.body, False)
        self._move("unreadable", State.PASS)
        return Action(verdict, self._held_so_far(), True)

    def _sniff(self, chunk: bytes, more: bool) -> Action:
        """A sniffed body: held while its first bytes are read as clients read them."""
        reader = self.body_reader
        assert isinstance(reader, Sniffer)
        # Read first: a binary body streams through unscanned however it is chunked (even one
        # piece over the limit, which holding first would refuse).
        if self._unread(reader.feed(chunk)):
            held = reader.held
            if not held.size:  # decided on its first piece: nothing held to join
                return self._release_with(self._decide(), chunk, more)
            held.add(chunk)
            return self._release(self._decide(), more)
        if not reader.held.add(chunk):
            return self._release(self.oversize(), more)
        if more:
            return HOLD
        whole = reader.held.whole()
        return self._release_with(self._scan_whole(whole), whole, False)

    def _scan_document(self, body: bytes) -> Verdict:
        """The whole body is here (at most ``max_body_bytes``): decode, scan and decide."""
        guard = self.guard
        plan = self.plan
        content = plan.content
        if plan.encodings is None:
            decoded = body
        else:
            try:
                decoded = decode_content(body, plan.encodings, guard.max_body_bytes)
            except DecodedTooLarge:
                return self.oversize("decompressed body over max_body_bytes")
            except BodyDecodeError as exc:
                return self._violation(EventKind.SCAN_ERROR, str(exc), ())
        if plan.strategy == Strategy.LINES_DOCUMENT or plan.strategy == Strategy.EVENTS_DOCUMENT:
            return self._scan_records(decoded, content, plan.strategy == Strategy.LINES_DOCUMENT)
        media = content.media if plan.strategy != Strategy.SNIFF else _read_as(plan, decoded)
        planner = self.rules.planner
        if not decoded or media == OTHER and not planner.by_media[OTHER]:
            return self._decide()
        not_in_body = len(self.owners)  # header and declared owners, gathered at the start
        scanned = scan_document(planner, media, decoded, content.label, self._view, self.requester, self.owners)
        if isinstance(scanned, Failure):
            return self._violation(scanned.kind, scanned.reason, (), scanned.extractor)
        if scanned:
            self.personal = True  # a proof saw the requester's own data
        own = ""  # an htmx answer's reading as its type says, where it differs (plan_response's _read_both)
        if plan.own is not None:
            own = _read_as(plan.own, decoded)
            if own == media or own == OTHER and not planner.by_media[OTHER]:
                own = ""
            elif self.owners and self._foreign() and not (guard.filter_records and own == JSON):
                return self._decide()  # the page htmx swaps in names another owner: that, first
            else:
                scanned = scan_document(planner, own, decoded, content.label, self._view, self.requester, self.owners)
                if isinstance(scanned, Failure):
                    return self._violation(scanned.kind, scanned.reason, (), scanned.extractor)
                if scanned:
                    self.personal = True
        if guard.filter_records and (media == JSON or own == JSON) and self.owners:
            # (An htmx answer of a JSON type is JSON still: filtered as JSON, read again as its page.)
            filtered = self._filter(decoded, self.owners[:not_in_body])
            if filtered is not None:
                # What is left goes out: it must not carry many people's data either.
                bulk = self._bulk_check(filtered.body or b"", media)
                return bulk if bulk is not None and bulk.blocked else filtered
        if self.owners and self._foreign():
            return self._decide()
        if own:
            return self._bulk_check(decoded, media) or self._bulk_check(decoded, own) or self._decide()
        return self._bulk_check(decoded, media) or self._decide()

    def _scan_records(self, body: bytes, content: ContentPlan, lines: bool) -> Verdict:
        """JSON lines or events held whole (a finite response): every record read as in a stream,
        the response decided on them all."""
        planner = self.rules.planner
        # fetch().json() reads the whole body as one document (a pretty-printed record is JSON
        # to it, though no line or event of it is): that reading is judged first.
        whole: list[tuple[str, str]] = []
        if scan_document(planner, JSON, body, None, self._view, self.requester, whole) is not True and whole:
            self.owners.extend(whole)
            if self._foreign():
                return self._decide()
        reader = record_reader(lines, content.media_type == _JSON_SEQ, len(body) + 1)
        slices = (body[start : start + _SLICE] for start in range(0, len(body), _SLICE))
        bulk = self.rules.bulk_pii
        counted: dict[str, set[str]] = {}  # an event stream's people, counted as a live stream's are
        for piece in [*slices, None]:  # None: the end of the body (the last record, unterminated)
            records = reader.feed(piece) if piece is not None else reader.end()
            if bulk is not None and not lines and self._batch_may_go_over(counted, records):
                for record in records:  # (a batch that can't take it over the threshold is counted joined)
                    self._count_record(bulk, record, counted)
            proved = records_proved_clean(planner, records, self.requester)
            if proved:
                self.personal = self.personal or proved == OWN
                continue
            for record in records:
                found = Found()
                failure = scan_record(planner, record, content.media, self._view, found)
                if failure is not None:
                    return self._violation(failure.kind, failure.reason, (), failure.extractor)
                self.owners.extend(found.owners)  # every line's owners, judged together below
        if self.owners and self._foreign():
            return self._decide()
        if lines:
            return self._bulk_check(body, JSON) or self._decide()  # the lines together: many people's data?
        threshold = None if bulk is None else bulk.threshold_for(self.request.path)
        if threshold is None:
            return self._decide()
        counts = _counts_over(counted, threshold)
        if counts:
            self._count_people(counted)
            return self._violation(EventKind.BULK_PERSONAL_DATA, _BULK_REASON, (), counts=counts)
        return self._decide()

    # ------------------------------------------------------------------ streams
    def _stream(self, chunk: bytes, more: bool) -> Action:
        """Scan each complete event or line before it goes out; the first foreign one ends the
        stream before it (the status went out with the head, so the stream is cut)."""
        reader = self.body_reader
        assert isinstance(reader, RecordStream)
        try:
            records = reader.feed(chunk)
            if not more:
                records.extend(reader.end())  # the unterminated tail too: clients read it
        except RecordTooLarge as exc:
            cut = self._first_blocked(reader, exc.records)
            if cut is None and self._oversize_passes("event over max_body_bytes"):
                self._move("body", State.PASS)  # on_oversize="pass" or report-only: the rest goes unscanned
                return Action(None, reader.release(None), more)
            if cut is None:
                self._record(EventKind.OVERSIZE, "event over max_body_bytes", [])  # blocked: the stream ends
            self._move("body", State.DISCARD)
            ends = [r.end for r in exc.records]
            return Action(None, reader.release(cut if cut is not None else max(ends, default=reader.sent)), False)
        cut = self._first_blocked(reader, records)
        if cut is not None:
            self._move("body", State.DISCARD)
            return Action(None, reader.release(cut), False)
        # Release up to the last record read (bytes after it wait for the record they start).
        out = reader.release((records[-1].end if records else reader.sent) if more else None)
        self._move("body", State.STREAM if more else State.DONE)
        if not out and more:
            return HOLD
        return Action(None, out, more)

    def _first_blocked(self, reader: RecordStream, records: Sequence[StreamRecord]) -> int | None:
        """Where the stream must be cut: the start of the first record that must not go out."""
        # A byte search may prove every record clean of owners at once; many people's data is
        # counted all the same.
        # (A stream that is one JSON document is read record by record: a proof pairs no key
        # with a value in another record.)
        document = reader.one_document(records)
        proved = UNPROVEN if document else records_proved_clean(self.rules.planner, records, self.requester)
        counted = self.rules.bulk_pii is not None and not reader.bulk_reported
        counted = counted and self._batch_may_go_over(reader.personal_data, records)
        if proved and not counted:
            return None
        released = reader.sent
        for record in records:
            if not proved and self._record_blocks(record, document):
                return released
            if counted and self._record_bulk_blocks(reader, record):
                return released
            released = record.end
        return None

    def _batch_may_go_over(self, seen: dict[str, set[str]], records: Sequence[StreamRecord]) -> bool:
        """Speed only: could these records take the stream's people over the bulk threshold? Their
        text joined (escapes decoded, a superset of each record's readings) is counted once; if
        it holds no one new enough to exceed the threshold, its values join the stream's and no
        record is counted one by one (a stream of many small records costs one count a batch)."""
        bulk = self.rules.bulk_pii
        assert bulk is not None
        threshold = bulk.threshold_for(self.request.path)
        if threshold is None or not records:
            return False
        joined = "\n".join(record.text for record in records).encode("utf-8", "surrogatepass")
        found = bulk.values(joined, TEXT, self._own_pii)
        if all(len(seen.get(kind, set()) | values) <= threshold for kind, values in found.items()):
            for kind, values in found.items():
                seen.setdefault(kind, set()).update(values)
            return False
        return True  # one of them may: count record by record, to cut at the right one

    def _count_record(self, bulk: BulkPII, record: StreamRecord, seen: dict[str, set[str]]) -> None:
        """Add a record's distinct foreign values to ``seen``, as its reader reads it: a JSON line
        as JSON; an event as text and, its data, as JSON (a stream's records add up)."""
        text = record.text.encode("utf-8", "surrogatepass")
        lines = isinstance(record, Record)
        readings = [bulk.values(text, JSON if lines else TEXT, self._own_pii)]
        if not lines and record.data:
            readings.append(bulk.values(record.data.encode("utf-8", "surrogatepass"), JSON, self._own_pii))
        for values in readings:
            for kind, found in values.items():
                seen.setdefault(kind, set()).update(found)

    def _record_bulk_blocks(self, reader: RecordStream, record: StreamRecord) -> bool:
        """Too many people's data in a stream so far (incident 3, streamed): ``True`` if the record
        that takes a kind over the threshold must not go out (its event was emitted). A record is
        counted as its reader reads it: a JSON line as JSON; an event as text and, its data, as JSON."""
        bulk = self.rules.bulk_pii
        assert bulk is not None
        threshold = bulk.threshold_for(self.request.path)
        if threshold is None:
            return False
        seen = reader.personal_data
        self._count_record(bulk, record, seen)
        counts = _counts_over(seen, threshold)
        if not counts:
            return False
        self._count_people(seen)
        if self._record(EventKind.BULK_PERSONAL_DATA, _BULK_REASON, (), counts=counts) is not None:
            return True
        reader.bulk_reported = True  # report-only: once
        return False

    def _record_blocks(self, record: StreamRecord, document: bool) -> bool:
        """Scan one event or line (``document``: of a stream that is one JSON document); ``True``
        if it must not go out (its event was emitted)."""
        plan = self.plan
        found = Found()
        failure = scan_record(self.rules.planner, record, plan.content.media, self._view, found, document)
        if failure is not None:
            return self._record(failure.kind, failure.reason, [], failure.extractor) is not None
        judged = self._judge_foreign(found.owners)
        if judged is None or judged.kind is None:
            return False
        return self._record_violation(judged.kind, judged.reason, judged.foreign)

    # ------------------------------------------------------------------ writes
    def check_write(self, owners: Sequence[tuple[str, str]]) -> Verdict | None:
        """A write names these owners (``(kind, text)``, normalised): the block page if one is
        foreign and no policy allows it, else ``None`` (the write may run)."""
        if not owners:
            return None
        guard = self.guard
        try:
            requester = self.resolve_requester()
        except Exception:
            return self.refuse(EventKind.SCAN_ERROR, "requester function raised")
        self.requester = requester
        bindings = self._load_bindings(self.cookie)[0] if guard.bind_sessions else []
        codec = guard.codec
        self.named = tuple(owners)  # so events can redact every id the request named
        if requester is not None and any(not codec.matches(b, requester) for b in bindings):
            # The app's session says someone else than the browser logged in as (incident 2).
            return self.refuse(EventKind.SESSION_DRIFT, "requester differs from the bound identity")
        policy = self.rules.policy
        decision = self._violating(decide(requester, owners, bindings, codec, policy, self.request, write=True))
        if decision is None or decision.kind is None:
            return None
        return self.refuse(decision.kind, decision.reason, decision.foreign)

    def refuse(
        self,
        kind: EventKind,
        reason: str,
        foreign: Sequence[tuple[str, str]] = (),
        named: Sequence[tuple[str, str]] = (),
    ) -> Verdict | None:
        """Before the app runs: the block page, or ``None`` (report-only lets the app run).

        A write refused before its owners were read (a body no reader parses alike, or too
        large) is still about the owner its path names and about the requester: the event
        redacts both, and ``named``, the ids the request named in a way two readers read
        differently."""
        if not self.named:
            self.named = tuple(self._path_named())
        if named:
            self.named = (*self.named, *named)
        if self.requester is None:
            try:
                self.requester = self.resolve_requester()
            except Exception:
                pass  # the refusal stands; its event names no requester
        event = self._record(kind, reason, foreign)
        return None if event is None else self._block_page(event)

    def inbound_oversize(self) -> Verdict | None:
        """The request body outgrew ``max_body_bytes`` before the inbound check could read it."""
        return self.refuse(EventKind.OVERSIZE, "request body over max_body_bytes")

    # ------------------------------------------------------------------ deciding
    def _bindings(self) -> list[Binding]:
        """The binding a response is judged against (the one verified or recalled at the head)."""
        return [self.binding] if self.binding is not None else []

    def _foreign(self) -> list[tuple[str, str]]:
        return foreign_owners(self.requester, self.owners, self._bindings(), self.guard.codec)

    def _judge_foreign(self, owners: list[tuple[str, str]]) -> Decision | None:
        """The violation these owners make in a response, or ``None``."""
        guard = self.guard
        return self._violating(
            decide(self.requester, owners, self._bindings(), guard.codec, self.rules.policy, self.request)
        )

    def _violating(self, decision: Decision) -> Decision | None:
        """The decision if it is a violation; ``None`` if allowed (a policy's allowance is audited)."""
        if decision.kind is None:
            return None
        if decision.kind == EventKind.CROSS_OWNER_VIEW:
            self._event(decision.kind, EventAction.ALLOWED, decision.reason, decision.foreign)
            return None
        return decision

    def _judge(self, owners: list[tuple[str, str]]) -> Verdict | None:
        judged = self._judge_foreign(owners)
        if judged is None:
            return None
        assert judged.kind is not None
        return self._violation(judged.kind, judged.reason, judged.foreign)

    def _decide(self) -> Verdict:
        """Decide on every owner gathered: pass, or the violation they make."""
        if not self.owners:
            return self._pass()
        return self._judge(self.owners) or self._pass()

    def _bulk_check(self, body: bytes, media: str) -> Verdict | None:
        """Too many distinct people's e-mails/phones/cards in one response (incident 3), counted as
        the reader sees them (HTML as it renders, in the encoding the browser uses)."""
        bulk = self.rules.bulk_pii
        if bulk is None or media not in TEXT_MEDIA:
            return None
        path = self.request.path
        xml = False
        if media == HTML:
            # Every encoding the page is read in (the browser's, a later <meta>'s, Turbo's UTF-8...).
            view = self._view(HTML, body)
            charsets: tuple[str | None, ...] = view.html_encodings()
            if len(charsets) > 1 and body.isascii() and ASCII_SAFE.issuperset(charsets):
                charsets = charsets[:1]  # (one text in all of them: counted once)
            xml = is_xml_essence(view.media_type)  # (its comments are read, its sibling elements apart)
        else:
            # (JSON is UTF-8 to fetch().json(); text, in the encoding the browser reads it in)
            charsets = (None if media == JSON else text_encoding(body, self.plan.content.label, "utf-8"),)
        counts: dict[str, int] = {}
        for charset in charsets:
            if bulk.surely_under(body, media, path, charset=charset):
                continue
            counts = bulk.over(body, media, path, self._own_pii, charset=charset, xml=xml)
            if counts:
                break
        if not counts:
            return None
        self._count_people(bulk.values(body, media, self._own_pii, charset=charset, xml=xml))
        return self._violation(EventKind.BULK_PERSONAL_DATA, _BULK_REASON, (), counts=counts)

    def _count_people(self, seen: dict[str, set[str]]) -> None:
        """The values a bulk event is about: redacted from its path and request id like an owner's
        (``/contacts/carol@example.com/friends`` answered with carol's address among many)."""
        self.counted = tuple(value for values in seen.values() for value in values)

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

    def _is_own(self, kind: str, text: str) -> bool:
        return is_own(self.requester, self._bindings(), self.guard.codec, kind, text)

    def _filter(self, body: bytes, not_in_body: list[tuple[str, str]]) -> Verdict | None:
        """``on_foreign_records="filter"``: drop foreign list items instead of blocking.

        A foreign owner outside the body (a header, a declared owner) can't be filtered.
        """
        if any(not self._is_own(kind, text) for kind, text in not_in_body):
            return None
        result = filter_records(body, self.rules.json_keys, lambda k, t: self._is_own(k, normalise(k, t)))
        if result is None:
            return None
        new_body, removed = result
        if removed == 0:
            return None
        foreign = self._foreign()
        # What goes out is the filtered body: read it again with every extractor, so a foreign owner
        # the filter could not remove (another extractor's, a key outside a list) still blocks.
        left: list[tuple[str, str]] = list(not_in_body)
        planner = self.rules.planner
        rescanned = scan_document(planner, JSON, new_body, None, self._view, self.requester, left)
        if self.plan.content.media == HTML and not isinstance(rescanned, Failure):
            # An htmx answer: htmx swaps what is left into the page, which is read as the page too.
            content = self.plan.content
            page = scan_document(planner, HTML, new_body, content.label, self._view, self.requester, left)
            rescanned = page if isinstance(page, Failure) else rescanned or page
        if isinstance(rescanned, Failure) or any(not self._is_own(*o) for o in left):
            return None
        enforce = self.guard.enforce
        self._event(
            EventKind.FILTERED,
            EventAction.FILTERED if enforce else EventAction.REPORTED,
            "foreign records removed",
            foreign,
            counts={"records_removed": removed},
        )
        if not enforce:
            return self._pass(reported=True)  # report-only: the same decision, the body as the app sent it
        self.owners = left
        self.personal = self.personal or rescanned  # a proof saw only own records left
        verdict = self._pass()
        headers = [(k, v) for k, v in verdict.headers if k.lower() not in _BODY_HEADERS]
        headers.append((b"content-length", str(len(new_body)).encode("ascii")))
        return Verdict(verdict.status, headers, new_body, False)

    def oversize(self, reason: str = "body over max_body_bytes") -> Verdict:
        """The body outgrew ``max_body_bytes``: block, or pass unscanned if configured."""
        if self._oversize_passes(reason):
            return self._pass(reported=self.guard.on_oversize != "pass")
        return self._block_page(self._event(EventKind.OVERSIZE, EventAction.BLOCKED, reason, ()))

    def _oversize_passes(self, reason: str) -> bool:
        """The one oversize decision: ``on_oversize="pass"`` lets it out unscanned (``passed``);
        else it blocks (emitted by the caller), or report-only lets it out (``reported``, emitted here)."""
        if self.guard.on_oversize == "pass":
            self._event(EventKind.OVERSIZE, EventAction.PASSED, reason, ())
            return True
        if not self.guard.enforce:
            self._event(EventKind.OVERSIZE, EventAction.REPORTED, reason, ())
            return True
        return False

    # ------------------------------------------------------------------ verdicts
    def _release(self, verdict: Verdict, more: bool) -> Action:
        """Send the decided response: the block page, or what was held so far."""
        return self._release_with(verdict, self._held_so_far(), more)

    def _held_so_far(self) -> bytes:
        """The body bytes held until now (a sniffed body's, or a document's)."""
        reader = self.body_reader
        held = reader.held if isinstance(reader, Sniffer) else self.held
        return held.whole() if held is not None else b""

    def _release_with(self, verdict: Verdict, held: bytes, more: bool) -> Action:
        if verdict.blocked:
            self._move("body", State.DISCARD)
            return Action(verdict, verdict.body, False)
        self._move("body", State.PASS if more else State.DONE)
        return Action(verdict, held if verdict.body is None else verdict.body, more)

    def _record_violation(self, kind: EventKind, reason: str, foreign: list[tuple[str, str]]) -> bool:
        """In a stream: ``True`` if the stream must end here."""
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
            self._event(kind, EventAction.REPORTED, reason, foreign, extractor, counts)
            return None
        return self._event(kind, EventAction.BLOCKED, reason, foreign, extractor, counts)

    def _violation(
        self,
        kind: EventKind,
        reason: str,
        foreign: Sequence[tuple[str, str]],
        extractor: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> Verdict:
        event = self._record(kind, reason, foreign, extractor, counts)
        return self._pass(reported=True) if event is None else self._block_page(event)

    def _pass(self, reported: bool = False) -> Verdict:
        headers = self.headers
        guard = self.guard
        facts = self.facts
        if facts is not None and facts.owner_header:
            strip = guard.strip_headers
            headers = [(k, v) for k, v in headers if k.lower() not in strip]
        if self.exempt:
            return Verdict(self.status, headers, None, False)
        if guard.cache_control and (self.personal or self.owners):
            # Report-only lets the response out, but never to a shared cache.
            cookie = self.cookie is not None
            if facts is not None and not facts.cache_set:  # no policy of the app's to read
                private: RawHeaders | None = [*headers, _PRIVATE, _VARY_COOKIE] if cookie else [*headers, _PRIVATE]
            else:
                private = personal_headers(headers, cookie, rewrite_shared=reported)
            if private is not None:
                headers = private
            elif guard.on_shared_cache == "block":
                return self._violation(EventKind.SHARED_CACHE, "personal data marked for shared caches", ())
            else:
                self._event(EventKind.SHARED_CACHE, EventAction.REPORTED, "personal data marked for shared caches", ())
        if self.binding_header is not None:
            headers = [*headers, (b"set-cookie", self.binding_header)]
        return Verdict(self.status, headers, None, False)

    def _block_page(self, event: AuditEvent) -> Verdict:
        guard = self.guard
        # The block carries the binding cookie a pass would have carried, and no other: the one
        # respguard sets (a first visit, a log-in, a rebind, a rejected cookie replaced), refreshes
        # or clears (an unbind). Else it keeps the one the browser holds: clearing it would let
        # the next request bind the browser to whoever the app then says is asking (a session
        # swapped just after a blocked page, incident 2).
        return block_verdict(
            guard.block_page,
            guard.block_response,
            event,
            self.binding_header,
            self.request.method == "HEAD" and self._sent_as_head(),
        )

    # ------------------------------------------------------------------ helpers
    def _sent_as_head(self) -> bool:
        """Was the method sent as ``HEAD`` exactly (a block page then goes without its body)?
        Methods are case-sensitive on the wire: servers (uvicorn's h11, Werkzeug's, wsgiref) and
        Werkzeug's responses leave the body out only for ``HEAD``, while the frameworks route a
        ``head`` as a HEAD, to the GET view."""
        raw = self.request.raw
        sent = raw.get("method")  # an ASGI scope
        if sent is None:
            sent = raw.get("REQUEST_METHOD")  # a WSGI environ, Django's META
        return sent is None or sent == "HEAD"

    def _https(self) -> bool:
        return self.request.scheme in ("https", "wss")

    def _view(self, media: str, body: bytes) -> ResponseView:
        """What extractors read: this response's body as ``media``."""
        view = self.view
        if view is not None and view.body is body and view.media == media:
            return view  # the same document read again (its encodings and readings are kept)
        content = self.plan.content
        # A page served without a (known) type is the page the browser sniffs it as: XML where it
        # opens with an XML declaration, else HTML (its type as written says neither).
        media_type = sniffed_page_type(body) if media == HTML and not content.typed else content.media_type
        view = self.view = ResponseView(
            self.request, self.status, Headers(self.headers), media, media_type, body, content.label, self.htmx
        )
        return view

    def _path_named(self) -> list[tuple[str, str]]:
        """The owners the guard's ``PathOwner`` rules find in the request path (whatever the method:
        a GET's event shows the path too); the whole path when they can't be read."""
        path_rules = [rule for rule in self.guard.inbound if isinstance(rule, PathOwner)]
        if not path_rules:
            return []
        try:
            return named_owners(path_rules, Named(self.request.path))
        except Exception:
            return [(ID, self.request.path)]  # an event then shows no path at all ({redacted})

    def _event_ids(self, named: Sequence[tuple[str, str]], path: str, request_id: str | None) -> set[str]:
        """Every id an event is about: the requester's, each owner's, each the path names, and
        the id or facet of a binding cookie that is not the requester's (a drifted browser's user,
        known by hashes only: found where the path or the request id spells it)."""
        ids = {text for _, text in named}
        ids.update(self.counted)
        ids.update(text for _, text in self._path_named())
        requester = self.requester
        if requester is not None:
            ids.add(requester.id)
            ids.update(requester.facets.values())
        loaded = self.loaded
        if loaded is not None and loaded[0]:
            codec = self.guard.codec
            others = [b for b in loaded[0] if requester is None or not codec.matches(b, requester)]
            if others:
                candidates = id_candidates(path, request_id)
                if candidates is None:  # too many to try: both fields go
                    ids.add(path)
                    if request_id:
                        ids.add(request_id)
                else:
                    ids.update(text for text in candidates if any(codec.names(b, text) for b in others))
        return ids

    def _event(
        self,
        kind: EventKind,
        action: EventAction,
        reason: str,
        foreign: Sequence[tuple[str, str]],
        extractor: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> AuditEvent:
        header = self.guard.request_id_header
        request_id = self.request.headers.get(header) if header is not None else None
        ids = self._event_ids([*foreign, *self.owners, *self.named], self.request.path, request_id)
        path, request_id = redact_fields(self.request.path, request_id, ids)
        rejected = self.rejected
        if rejected:
            self.rejected = ""  # (a BINDING_REJECTED event here is that pending one)
            if kind != EventKind.BINDING_REJECTED:  # it goes first, its path redacted alike
                self._emit(EventKind.BINDING_REJECTED, EventAction.IGNORED, rejected, (), path, request_id)
        return self._emit(kind, action, reason, foreign, path, request_id, extractor, counts)

    def _emit(
        self,
        kind: EventKind,
        action: EventAction,
        reason: str,
        foreign: Sequence[tuple[str, str]],
        path: str,
        request_id: str | None,
        extractor: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> AuditEvent:
        hasher = self.guard.hasher
        requester = self.requester
        event = AuditEvent(
            kind=kind,
            action=action,
            method=self.request.method if self.request.method in _METHODS else "OTHER",
            path=path,
            status=self.status,
            reason=reason,
            requester=hasher(requester.id) if requester is not None else None,
            owners=tuple(hasher(text if k == ID else k + ":" + text) for k, text in foreign[:MAX_EVENT_OWNERS]),
            owner_count=len(foreign),
            request_id=request_id,
            extractor=extractor,
            counts=tuple(sorted(counts.items())) if counts else (),
        )
        emit(event, self.guard.on_event)
        return event


def _counts_over(seen: dict[str, set[str]], threshold: int) -> dict[str, int]:
    """How many distinct people's values of each kind a stream's records hold, for the kinds over
    the bulk threshold (a stream held whole and a live one count alike)."""
    return {kind: len(found) for kind, found in seen.items() if len(found) > threshold}


def exchange_of(context: RequestContext | None) -> Exchange | None:
    """The exchange an adapter put in ``context`` before the app ran (the write check's way to
    the decision), or ``None``."""
    exchange = context.exchange if context is not None else None
    return exchange if isinstance(exchange, Exchange) else None
