"""One plan per response head: which body strategy a response gets, and which extractors read it.

:func:`plan_response` is the only place that turns a response head (method, status,
headers) into what happens to the body. Its answers for a Content-Type are cached
(:class:`Planner`), so the one path is also the cheap one.
"""

from __future__ import annotations

import email.message
from collections.abc import Iterable, Sequence
from typing import Final

from ._cache import is_cache_field
from ._content import HTML, JSON, JSON_LINES, OTHER, TEXT, TEXT_MEDIA
from ._encoding import lookup, python_codec, reads_ascii
from ._extractors import Extractor, HtmlAttribute, JsonKeys, OwnerHeader
from ._headers import RawHeaders
from ._markup import refresh_frames_a_page
from ._mime import MimeType, chromium_mime_type, content_type_values, extract_mime_type, media_class, parse_mime_type

#: Statuses whose response has no body (and 1xx).
NO_BODY_STATUSES = frozenset({204, 304})


_UNKNOWN_TYPES = frozenset({"unknown/unknown", "application/unknown", "*/*"})
#: Top-level types whose ranges media players and viewers fetch (a video's seek): they stream.
_RANGED_TYPES = frozenset({"video", "audio", "image", "font"})


def _hides_ascii(label: str | None) -> bool:
    """Does a charset label name, to Python's codecs, an encoding that does not read ASCII as
    ASCII (:func:`~respguard._encoding.reads_ascii`)? A client reading a stream in it (httpx's
    ``iter_lines``) reads records that a UTF-8 reading never sees: ``da<ESC>(Bta: {...}`` is a
    data line in ISO-2022-JP. A label Python does not know, or no text encoding's, hides nothing:
    httpx reads the first as UTF-8, and no client decodes a stream's text in the second."""
    if not label:
        return False
    name = python_codec(label.strip(" \t"))
    return name is not None and reads_ascii(name) is False


def _client_labels(values: Sequence[bytes], fetch_label: str | None) -> list[str]:
    """Every charset label a client reads from these Content-Type values: Fetch's (``fetch()``,
    EventSource), httpx's (the values joined by ``", "`` as its headers give them, parsed by the
    standard library's e-mail parser: white space around ``=``, quotes, RFC 2231's
    ``charset*0=utf-; charset*1=16``), and requests' (split at every ``;``, quoted or not, names
    and values stripped of quotes and spaces, the last ``charset`` winning)."""
    labels = [fetch_label] if fetch_label else []
    if not values:
        return labels
    joined = ", ".join(v.decode("latin-1") for v in values)
    message = email.message.Message()
    try:
        message["content-type"] = joined
        httpx_label = message.get_content_charset(None)
    except Exception:  # noqa: BLE001 (httpx's parse fails the same way: it reads no charset)
        httpx_label = None
    if httpx_label:
        labels.append(httpx_label)
    requests_label: str | None = None
    for param in joined.split(";")[1:]:
        name, equals, value = param.strip().partition("=")
        if equals and name.strip("\"' ").lower() == "charset":
            requests_label = value.strip("\"' ")
    if requests_label:
        labels.append(requests_label)
    return labels


def _detected(label: str) -> bool:
    """Does a charset label name UTF-16 or UTF-32 to Python's codecs (a JSON body in it is read as
    ``json.loads`` detects it)?"""
    name = python_codec(label.strip(" \t"))
    return name is not None and name.startswith(("utf-16", "utf-32"))


def _chromium_reads_apart(planner: Planner, fetch: MimeType | None, chromium: MimeType | None) -> bool:
    """Does Chromium read, from the same Content-Type values, another type or another charset
    than Fetch's "extract a MIME type" (``fetch``), one a page, text or an event stream respguard
    scans? ``text/html (x); charset=utf-16le`` is a UTF-16 page to Chromium and no type to Fetch
    (sniffed, and read in windows-1252: no markup); ``text/event-stream x`` is an EventSource's
    stream to Chromium and, sniffed, a body nothing reads to Fetch."""
    if (
        chromium is None
        or fetch is not None
        and fetch.essence == chromium.essence
        and (fetch.charset == chromium.charset or _encoding_of(fetch.charset) == _encoding_of(chromium.charset))
    ):
        return False
    media = media_class(chromium)
    if chromium.essence == "text/event-stream" and planner.event_extractors:
        return True
    return bool(planner.by_media[media]) or media in TEXT_MEDIA and planner.bulk


def _encoding_of(label: str | None) -> str | None:
    """The encoding a charset label names to a browser (``None``: none, or a label it doesn't know)."""
    return lookup(label) if label else None


def _ranged_media(content: ContentPlan) -> bool:
    """A type fetched by ranges as a matter of course (media, fonts, PDF viewers' pages)."""
    media_type = content.media_type
    return media_type.partition("/")[0] in _RANGED_TYPES or media_type == "application/pdf"


#: Multipart types whose parts a client reads, each as the body of its own type (not
#: ``multipart/x-mixed-replace``: its parts are a camera's JPEG frames, as Flask streams them,
#: which only Firefox would render as pages were they HTML: a documented limit).
_MIXED_PARTS = frozenset({"multipart/mixed"})

#: Types read as streams even in an htmx answer (record by record: EventSource, JSON lines).
_STREAM_TYPES = JSON_LINES | {"text/event-stream"}


class Strategy:
    """What happens to a response body (named constants, as h11 names its states)."""

    NONE: Final = "none"  # no body (1xx, 204, 304): decided on the head alone
    PASS: Final = "pass"  # nothing reads this type: decided on the head, the body streams through
    DOCUMENT: Final = "document"  # held whole, decoded, scanned, then decided
    EVENTS: Final = "events"  # text/event-stream: each event scanned as it completes
    LINES: Final = "lines"  # JSON lines, streamed: each line scanned as it completes
    LINES_DOCUMENT: Final = "lines-document"  # JSON lines with a Content-Length: held whole, scanned line by line
    EVENTS_DOCUMENT: Final = "events-document"  # an event stream with a Content-Length: held whole, event by event
    SNIFF: Final = "sniff"  # no valid Content-Type: the first bytes say what it is
    REFUSE: Final = "refuse"  # a head respguard cannot read safely: blocked (scan_error, ``ResponsePlan.reason``)


class ContentPlan:
    """What one set of Content-Type values means to the guard, worked out once (:meth:`Planner.content`)."""

    __slots__ = (
        "media",
        "media_type",
        "extractors",
        "label",
        "charset",
        "scanned",
        "typed",
        "conflict",
        "json_in_text",
        "wide",
        "misread",
        "plain_plans",
        "values",
        "swapped",
    )

    def __init__(self, planner: Planner, values: Sequence[bytes], swapped_in: bool = False) -> None:
        headers = [(b"content-type", v) for v in values]
        # The type browsers and fetch() read: the last valid one of every value (Fetch's
        # "extract a MIME type"); none: the client sniffs the body.
        mime = extract_mime_type(headers)
        # An unknown type (unknown/unknown, application/unknown, */*) is sniffed, as browsers do.
        self.typed = mime is not None and mime.essence not in _UNKNOWN_TYPES
        self.media = media_class(mime)
        self.media_type = mime.essence if mime is not None else ""
        # The charset label as written, and the encoding it names (browsers ignore a label they don't know).
        self.label = mime.charset if mime is not None else None
        self.charset = _encoding_of(self.label)
        # A charset in which a client that decodes a stream in it (httpx's iter_lines, under
        # httpx-sse) reads records that a UTF-8 reading never sees (UTF-16, ISO-2022-JP...).
        # (As every client reads the label: httpx's and requests' parsers read more than Fetch's.)
        hiding = [label for label in _client_labels(values, self.label) if _hides_ascii(label)]
        self.wide = bool(hiding)
        # A JSON body in such a charset, but UTF-16/32 (whose readings json.loads detects):
        # requests' .json() decodes it in the charset (EBCDIC, UTF-7, raw-unicode-escape), into
        # text none of respguard's readings (fetch().json()'s UTF-8, the detected one) is.
        self.misread = self.media == JSON and any(not _detected(label) for label in hiding)
        if swapped_in and self.media_type not in _STREAM_TYPES:
            # The answer to an htmx request: htmx swaps its text into the page as HTML, whatever its
            # type says (a text/plain or application/json body's <div data-owner> becomes an
            # element), so it is read as a page of that type (its JSON leniently, as a page's is).
            # Its reading as its own type is the plan's ``own`` (plan_response's _read_both).
            self.media = HTML
            self.typed = True
        self.extractors = planner.by_media[self.media]
        # Anything that reads a body of this media class: an extractor, or the bulk check.
        self.scanned = bool(self.extractors) or (planner.bulk and self.media in TEXT_MEDIA)
        if swapped_in and self.media == HTML:
            self.scanned = True  # (planned for HTML or JSON extractors: both read a page)
        # Valid values that a reader other than Fetch's (the first one, say) would take for another
        # class of body, one of which an extractor reads: respguard refuses to guess.
        parsed = [parse_mime_type(v) for v in content_type_values(headers) or ()]
        classes = {media_class(m) for m in parsed if m is not None and m.essence != "*/*"}
        self.conflict = len(classes) > 1 and any(planner.by_media[c] for c in classes)
        # Chromium parses a Content-Type its own way (the type runs to a space or a "(" comment):
        # where it reads another type or charset than Fetch's parser, and reads a body respguard
        # would scan in it (a page, text, an event stream), respguard refuses to guess.
        self.conflict = self.conflict or _chromium_reads_apart(planner, mime, chromium_mime_type(headers))
        # HTML or text that opens like JSON is read by the JSON extractors too (scripts parse it).
        self.json_in_text = self.media in (HTML, TEXT) and bool(planner.by_media[JSON])
        # plan_response()'s answers for a plain head (a body-bearing status but 206, no
        # Content-Encoding), without and with a Content-Length: the common case, worked out once.
        self.plain_plans: list[ResponsePlan] = []
        self.values = tuple(values)
        self.swapped: ContentPlan | None = None  # these values' plan for an htmx request (Planner.swapped_in)


class ResponsePlan:
    """The plan for one response: its strategy, and what the strategy reads."""

    __slots__ = ("strategy", "content", "encodings", "reason", "own")

    def __init__(self, strategy: str, content: ContentPlan, encodings: str | None, reason: str = "") -> None:
        self.strategy = strategy
        self.content = content
        self.encodings = encodings  # every Content-Encoding value, in order ('identity, br' is br)
        self.reason = reason  # why a REFUSE plan refuses (a fixed phrase)
        # An htmx answer's plan as its type says (read too: see plan_response); None for any other.
        self.own: ResponsePlan | None = None


class HeadFacts:
    """What one pass over the response headers found (:meth:`Planner.read_head`). Never changed
    once read: a quiet head's facts are shared by every response with the same type and framing."""

    __slots__ = (
        "content_types",
        "content",
        "encodings",
        "length",
        "lengths",
        "owner_header",
        "cache_set",
        "refresh_page",
        "json_values",
    )

    def __init__(self, content: ContentPlan) -> None:
        # Tuples, usually of one value: nothing to allocate for a head without them.
        self.content_types: tuple[bytes, ...] = ()
        self.content = content  # what the Content-Type values mean (Planner.content)
        self.encodings: tuple[bytes, ...] = ()
        self.length = False  # a Content-Length header
        self.lengths = 0  # how many (0 or 1 on a quiet head, whose facts are shared)
        self.owner_header = False  # a header an OwnerHeader reads (and strips)
        self.cache_set = False  # a caching field (Cache-Control, Vary, CDN-Cache-Control...): the app set a policy
        self.refresh_page = False  # a Refresh header that navigates (a frame) to a data: URL page
        # Values of the other headers that open like JSON (htmx's HX-Trigger): scripts parse them.
        self.json_values: tuple[bytes, ...] = ()


#: The first bytes of a header value that opens like JSON, and the white space a client trims
#: before it (``getResponseHeader`` gives the value without it).
_JSON_OPENERS = (b"{", b"[")
_HEADER_SPACE = (b" ", b"\t")


def _opens_no_json(values: Iterable[bytes]) -> bool:
    """Speed only: does no header value open like JSON, nor with white space (which a client
    trims before it)? Every value is searched at once, joined behind a line feed each; a line
    feed inside a value can only make the answer "maybe" (the pass over every header then reads it)."""
    joined = b"\n" + b"\n".join(values)
    return joined.find(b"\n{") < 0 and joined.find(b"\n[") < 0 and joined.find(b"\n ") < 0 and joined.find(b"\n\t") < 0


def _as_scripts_read(headers: RawHeaders, found: list[tuple[bytes, bytes]]) -> tuple[bytes, ...]:
    """The header values that open like JSON (``found``: name as spelt, value), each as it is, and
    where such a name is repeated (in any spelling), its values combined as ``fetch().headers.get()``
    and ``getResponseHeader`` (htmx), httpx and requests give them: each trimmed of white space,
    joined by ``", "`` in order. ``HX-Trigger: {"a": 1`` then ``HX-Trigger: "user_id": 9}`` is
    ``{"a": 1, "user_id": 9}`` to a script. One pass over the headers."""
    values = dict.fromkeys(value for _, value in found)
    combined: dict[bytes, list[bytes]] = {key.lower(): [] for key, _ in found}
    for key, value in headers:
        repeated = combined.get(key.lower())
        if repeated is not None:
            repeated.append(value.strip(b" \t"))
    for repeated in combined.values():
        if len(repeated) > 1:
            values[b", ".join(repeated)] = None
    return tuple(values)


# What a response header name means to the plan (Planner._names).
_OTHER, _CONTENT_TYPE, _ENCODING, _LENGTH, _OWNER, _CACHE, _REFRESH = range(7)


class Planner:
    """Plans responses for one guard: the extractors by media class, and the caches."""

    __slots__ = (
        "by_media",
        "proofs",
        "line_provers",
        "event_provers",
        "unplanned",
        "line_extractors",
        "event_extractors",
        "bulk",
        "sniffs",
        "strict_json",
        "_owner_names",
        "_names",
        "_quiet",
        "_quiet_facts",
        "_plans",
    )

    def __init__(
        self, extractors: Sequence[Extractor], bulk: bool, strict_json: bool, strip: frozenset[bytes] = frozenset()
    ) -> None:
        """``strip``: owner headers other routes read, which this route's responses lose too."""
        self.by_media: dict[str, tuple[Extractor, ...]] = {
            media: tuple(e for e in extractors if media in e.media) for media in (JSON, HTML, TEXT, OTHER)
        }
        self.strict_json = strict_json
        # The same extractors, each paired with itself if it has a byte-search proof the scan
        # may try first (else None).
        self.proofs: dict[str, tuple[tuple[Extractor, JsonKeys | HtmlAttribute | None], ...]] = {
            media: tuple((e, self.prover(e)) for e in found) for media, found in self.by_media.items()
        }
        # A JSON line is read by the JSON extractors and the text ones (all of it); an event by
        # the same and, its data, by the HTML ones too: a page may swap an event's data into its
        # DOM (htmx's sse-swap, Turbo Streams), where a browser builds its elements.
        self.line_extractors = tuple(dict.fromkeys(self.by_media[JSON] + self.by_media[TEXT]))
        self.event_extractors = tuple(dict.fromkeys(self.line_extractors + self.by_media[HTML]))
        # The same as byte-search provers, when every one has a proof (records can then be
        # proved clean a batch at a time); else None.
        self.line_provers = self._provers(self.line_extractors)
        self.event_provers = self._provers(self.event_extractors)
        self.bulk = bulk
        # A body without Content-Type is sniffed when something would scan JSON or HTML.
        self.sniffs = bool(self.by_media[JSON] or self.by_media[HTML] or bulk)
        self._owner_names = frozenset(e.raw_name for e in extractors if isinstance(e, OwnerHeader)) | strip
        self._names: dict[bytes, int] = {}  # header name as the app spelt it -> its meaning
        self._quiet: set[bytes] = set()  # names (as spelt) that mean nothing to the plan (_OTHER)
        # A quiet head's facts, by (Content-Type value, Content-Length set): read_head's answer for them.
        self._quiet_facts: dict[tuple[bytes | None, bool], HeadFacts] = {}
        self._plans: dict[tuple[bytes, ...], ContentPlan] = {}
        #: The plan of an exchange whose head is not in yet (no body, no type).
        self.unplanned = ResponsePlan(Strategy.NONE, self.content(()), None)

    def _provers(self, extractors: tuple[Extractor, ...]) -> tuple[JsonKeys | HtmlAttribute, ...] | None:
        """Every extractor's byte-search proof, or ``None`` if one has none."""
        provers = [self.prover(e) for e in extractors]
        return tuple(p for p in provers if p is not None) if all(p is not None for p in provers) else None

    def prover(self, extractor: Extractor) -> JsonKeys | HtmlAttribute | None:
        """The extractor if it has a byte-search proof the scan may try first (speed only: a proof
        only ever says "clean", and the exact scan decides whenever it can't). Only respguard's own
        classes: a subclass may read owners differently from what the proof searches for."""
        if type(extractor) is JsonKeys and not self.strict_json or type(extractor) is HtmlAttribute:
            return extractor
        return None

    def _meaning(self, key: bytes) -> int:
        """What a header name (as the app spelt it) means, worked out once."""
        meaning = self._names.get(key)
        if meaning is None:
            name = key.lower()
            if name == b"content-type":
                meaning = _CONTENT_TYPE
            elif name == b"content-encoding":
                meaning = _ENCODING
            elif name == b"content-length":
                meaning = _LENGTH
            elif name in self._owner_names:
                meaning = _OWNER
            elif name == b"refresh":
                meaning = _REFRESH
            elif is_cache_field(name):  # Cache-Control, Vary, and the fields CDNs obey over them
                meaning = _CACHE
            else:
                meaning = _OTHER
            if len(self._names) < 1024:
                self._names[key] = meaning
                if meaning == _OTHER:
                    self._quiet.add(key)
        return meaning

    def read_head(self, headers: RawHeaders) -> HeadFacts:
        """One pass over the response headers: every name compared lower-case, repeats kept."""
        # A quiet head, most responses': no name repeated, one Content-Type and Content-Length at
        # most (spelt as frameworks spell them), and nothing else the plan reads. Its facts depend
        # on the type and the framing alone: read once, without a loop. (A second spelling of the
        # type, any name not known to mean nothing, or a value that may open like JSON, is left
        # in ``rest``: the loop reads it.)
        rest = dict(headers)
        if len(rest) == len(headers):
            content_type = rest.pop(b"content-type", None)
            if content_type is None:
                content_type = rest.pop(b"Content-Type", None)
            length = rest.pop(b"content-length", None) is not None or rest.pop(b"Content-Length", None) is not None
            if rest.keys() <= self._quiet and (not rest or _opens_no_json(rest.values())):
                quiet = self._quiet_facts.get((content_type, length))
                if quiet is None:
                    quiet = self._read_head(headers)
                    if len(self._quiet_facts) >= 256:
                        self._quiet_facts.clear()
                    self._quiet_facts[content_type, length] = quiet
                return quiet
        return self._read_head(headers)

    def _read_head(self, headers: RawHeaders) -> HeadFacts:
        """:meth:`read_head`'s pass over every header."""
        facts = HeadFacts(self.unplanned.content)
        names = self._names
        types: list[bytes] | None = None  # a second Content-Type: every value, in order
        codings: list[bytes] | None = None
        json_values: list[tuple[bytes, bytes]] | None = None
        for key, value in headers:
            meaning = names.get(key)
            if meaning is None:
                meaning = self._meaning(key)
            if not meaning:
                first = value[:1]
                if first in _JSON_OPENERS or first in _HEADER_SPACE and value.lstrip(b" \t")[:1] in _JSON_OPENERS:
                    if json_values is None:
                        json_values = [(key, value)]
                    else:
                        json_values.append((key, value))
            else:
                if meaning == _CONTENT_TYPE:
                    if not facts.content_types:
                        facts.content_types = (value,)
                    elif types is None:
                        types = [*facts.content_types, value]
                    else:
                        types.append(value)
                elif meaning == _ENCODING:
                    if codings is None:
                        codings = [value]
                    else:
                        codings.append(value)
                elif meaning == _LENGTH:
                    facts.length = True
                    facts.lengths += 1
                elif meaning == _OWNER:
                    facts.owner_header = True
                elif meaning == _REFRESH:
                    facts.refresh_page = facts.refresh_page or refresh_frames_a_page(value.decode("latin-1"))
                else:
                    facts.cache_set = True
        if types is not None:
            facts.content_types = tuple(types)
        if codings is not None:
            facts.encodings = tuple(codings)
        if json_values is not None:
            facts.json_values = _as_scripts_read(headers, json_values)
        facts.content = self.content(facts.content_types)
        return facts

    def content(self, values: tuple[bytes, ...]) -> ContentPlan:
        """The plan for these Content-Type values, worked out once."""
        plan = self._plans.get(values)
        if plan is None:
            plan = ContentPlan(self, values)
            if len(self._plans) >= 256:
                self._plans.clear()
            self._plans[values] = plan
        return plan

    def swapped_in(self, content: ContentPlan) -> ContentPlan:
        """The plan for the same values in the answer to an htmx request (read as a page), worked out once."""
        swapped = content.swapped
        if swapped is None:
            swapped = content.swapped = ContentPlan(self, content.values, swapped_in=True)
        return swapped


def plan_response(
    planner: Planner, method: str, status: int, facts: HeadFacts, htmx: bool = False, content: ContentPlan | None = None
) -> ResponsePlan:
    """The one decision of what happens to a response body, from its head (cached per
    Content-Type for plain heads: the same answer, worked out once). ``htmx``: the request was
    htmx's, which swaps the answer into the page as HTML (:func:`_read_both`); ``content``: the
    Content-Type read otherwise than the head says (that page reading)."""
    # A HEAD's body is read like a GET's when the app sends one (Django does, and a server sends it
    # unless the method came as "HEAD" exactly: a "head", or a method override outside respguard);
    # most apps send none, which is decided at once.
    if content is None:
        content = facts.content
        if htmx and content.media != HTML and (planner.by_media[HTML] or planner.by_media[JSON]):
            # (A JSON extractor reads a page too: its data blocks, its JSON attribute values.)
            return _read_both(planner, method, status, facts)
    if status < 200 or status in NO_BODY_STATUSES:
        return ResponsePlan(Strategy.NONE, content, _encodings(facts))
    if facts.refresh_page and (planner.by_media[HTML] or planner.by_media[JSON] or planner.bulk):
        # A Refresh header navigates a frame to its data: URL (Chromium renders that page there,
        # as it does a <meta http-equiv=refresh>'s), whatever this response's body is: its page
        # is no body respguard reads (fail closed).
        return ResponsePlan(Strategy.REFUSE, content, _encodings(facts), "Refresh header names a data: URL page")
    if status != 206 and not facts.encodings:
        plans = content.plain_plans
        if not plans:
            plans.extend(_plan_body(planner, status, content, None, length) for length in (False, True))
        return plans[facts.length]
    return _plan_body(planner, status, content, _encodings(facts), facts.length)


def _read_both(planner: Planner, method: str, status: int, facts: HeadFacts) -> ResponsePlan:
    """The plan of an htmx answer: read as a page (htmx swaps it in as HTML), and as its type
    says too (``own``). HX-Request is the client's word: any client (curl, a script's fetch) may
    send it and read the body as its type says; reading it as a page only, the header turned that
    reading off (a text or binary extractor, the bulk check of a JSON body with "<!--" in a
    string). Refused where the plan as typed refuses."""
    own = plan_response(planner, method, status, facts)
    if own.strategy == Strategy.REFUSE:
        return own
    page = plan_response(planner, method, status, facts, content=planner.swapped_in(facts.content))
    plan = ResponsePlan(page.strategy, page.content, page.encodings, page.reason)
    plan.own = own
    return plan


def _encodings(facts: HeadFacts) -> str | None:
    """Every Content-Encoding value, in order: repeated headers combine as one list, as clients decode them."""
    return ", ".join(v.decode("latin-1") for v in facts.encodings) if facts.encodings else None


def _plan_body(
    planner: Planner, status: int, content: ContentPlan, encodings: str | None, length: bool
) -> ResponsePlan:
    """What happens to a body of this content, status (only 206 matters here) and framing."""
    if content.conflict:
        return ResponsePlan(Strategy.REFUSE, content, encodings, "conflicting Content-Type values")
    if content.media_type in _MIXED_PARTS and planner.sniffs:
        # Each part is a body of its own type that its reader reads: Apollo Client parses the JSON
        # parts of a GraphQL @defer or subscription answer (multipart/mixed, as Strawberry sends
        # it). respguard reads no part (fail closed).
        return ResponsePlan(Strategy.REFUSE, content, encodings, "multipart body cannot be scanned")
    lines = content.media_type in JSON_LINES
    stream = lines or content.media_type == "text/event-stream"
    # Read record by record when an extractor reads its records, or the bulk check counts them
    # (a stream is one response: its records' people add up).
    streamed = stream and (planner.bulk or bool(planner.line_extractors if lines else planner.event_extractors))
    sniffed = not content.typed and planner.sniffs
    byteranges = content.media_type == "multipart/byteranges" and planner.sniffs
    if status == 206 and (content.scanned or streamed or sniffed or byteranges):
        # A range can cut an owner key in half; the client joins the ranges, respguard sees one.
        # Several ranges come as multipart/byteranges: their type is only in the body (a JSON
        # file's ranges are JSON), so they are refused like a range of a scanned type.
        return ResponsePlan(Strategy.REFUSE, content, encodings, "partial content cannot be scanned")
    if status == 206 and content.media == OTHER and planner.by_media[JSON] and not _ranged_media(content):
        # A type nothing reads is sniffed for JSON (fetch().json() parses it), but a range's first
        # bytes are the ones the requester chose (bytes=1- of a JSON download opens with no "{"):
        # refused like a range of a scanned type. Players and viewers fetch media by ranges.
        return ResponsePlan(Strategy.REFUSE, content, encodings, "partial content cannot be scanned")
    if streamed and content.wide:
        # EventSource and a page's TextDecoder read UTF-8 whatever the charset; httpx's and
        # requests' iter_lines (under httpx-sse) read the stream in it, and a UTF-16 or
        # ISO-2022-JP stream's events and lines are none to respguard's UTF-8 reading.
        reason = "JSON lines in a charset that hides ASCII" if lines else "event stream in a charset that hides ASCII"
        return ResponsePlan(Strategy.REFUSE, content, encodings, reason)
    if content.misread and planner.by_media[JSON]:
        # requests' .json() decodes the body in its charset: bob's record in cp037 is JSON to
        # it, and no text respguard's UTF-8 (or json.loads') reading holds a key in.
        return ResponsePlan(Strategy.REFUSE, content, encodings, "JSON in a charset that hides ASCII")
    if streamed:
        if length:
            # A stream of a known length is a finite document: held whole, so one foreign record
            # blocks the whole response (cut before it, the body would be shorter than its length).
            return ResponsePlan(Strategy.LINES_DOCUMENT if lines else Strategy.EVENTS_DOCUMENT, content, encodings)
        if encodings is not None:
            reason = "compressed JSON lines stream" if lines else "compressed event stream"
            return ResponsePlan(Strategy.REFUSE, content, encodings, reason)
        return ResponsePlan(Strategy.LINES if lines else Strategy.EVENTS, content, encodings)
    if stream:
        return ResponsePlan(Strategy.PASS, content, encodings)
    if sniffed:
        return ResponsePlan(Strategy.SNIFF, content, encodings)
    if content.scanned:
        return ResponsePlan(Strategy.DOCUMENT, content, encodings)
    if content.media == OTHER and planner.by_media[JSON] and status != 206:
        # fetch().json() parses a body of any type (an image/png holding JSON): its first bytes
        # say whether it opens like JSON, and then it is read as JSON (a range is not: a video).
        return ResponsePlan(Strategy.SNIFF, content, encodings)
    return ResponsePlan(Strategy.PASS, content, encodings)
