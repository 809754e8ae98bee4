"""Body strategies: one small class per way a response body is read (the plan picks one).

- :class:`HeldDocument` holds a finite body, then :func:`scan_document` reads it whole;
- :class:`RecordStream` scans an event stream or JSON lines record by record, releasing
  each record once it is read (JSON lines with a Content-Length are held whole instead);
- :class:`Sniffer` reads the first bytes of an untyped body to tell what clients make of it.

They find owners and failures; they never decide (that is :mod:`respguard._decide`).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Sequence

from ._content import (
    HTML,
    JS_SPACE,
    JSON,
    JSON_WHITESPACE,
    OTHER,
    TEXT,
    XSSI_PREFIX,
    BodyDecodeError,
    DecodedTooLarge,
    StreamDecoder,
    browser_only_codings,
    known_codings,
    looks_like_json,
    may_open_wide,
    past_js_space,
    sniff_media,
    strip_xssi_prefix,
    wide_decoder,
    wide_json_encoding,
)
from ._encoding import bom_encoding, lookup
from ._events import EventKind
from ._extractors import ABSENT, DEEP_JSON, OWN, UNPROVEN, Extractor, HtmlAttribute, JsonKeys, ScanError, scan_reason
from ._identity import ID, Identity
from ._markup import Page, UnreadableFrame, data_blocks, is_xml_type, json_attributes, pages_within, rendered_json
from ._plan import Planner
from ._scan import ResponseView
from ._streams import Event, EventStreamReader, JsonLinesReader, Record

OwnerText = tuple[str, str]
ViewFactory = Callable[[str, bytes], ResponseView]  # (media, body) -> the view extractors read


class Failure:
    """Why a body could not be read: the event kind, its fixed reason, the extractor at fault."""

    __slots__ = ("kind", "reason", "extractor")

    def __init__(self, kind: EventKind, reason: str, extractor: str | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.extractor = extractor


class Found:
    """What a record's scan found: the owners (``(kind, text)``)."""

    __slots__ = ("owners",)

    def __init__(self) -> None:
        self.owners: list[OwnerText] = []


def _proof_charset(
    prover: JsonKeys | HtmlAttribute, body: bytes, charset: str | None, view: ResponseView | None
) -> str | None:
    """The one encoding a byte-search proof may read the body in; ``None``: readers may differ
    (the exact scan reads every reading). JSON: a byte-order mark, else the label's encoding
    (``charset``), else UTF-8. HTML (``view``: the page): the encoding browsers read it in, when
    only one is possible."""
    if isinstance(prover, HtmlAttribute):
        if view is None:
            return bom_encoding(body) or "utf-8"
        encodings = view.html_encodings()
        return encodings[0] if len(encodings) == 1 else None
    return bom_encoding(body) or charset or "utf-8"


def scan_document(
    planner: Planner,
    media: str,
    body: bytes,
    label: str | None,
    views: ViewFactory,
    requester: Identity | None,
    owners: list[OwnerText],
) -> Failure | bool:
    """Read a whole (decoded) document of this media class with every extractor that reads it:
    its byte-search proof first where it has one (``label``: the Content-Type's charset label),
    else its exact scan. The owners found are added to ``owners``; the answer is the failure,
    or whether a proof saw the requester's own data.

    JSON served as HTML or text is still JSON to a script: the JSON extractors read it too,
    where it parses, and give up quietly where it does not.
    """
    extractors = planner.proofs[media]
    if media in (HTML, TEXT) and looks_like_json(body):
        own_type = planner.by_media[media]
        lenient = tuple(pair for pair in planner.proofs[JSON] if pair[0] not in own_type)
        extractors = (*extractors, *lenient)
    else:
        lenient = ()
    # An XML page (XHTML, SVG) is never proved by a byte search: its DOCTYPE may declare
    # attributes and markup that no byte of the page spells out.
    view = views(media, body) if media == HTML else None
    xml = view is not None and is_xml_type(view.media_type)
    declared = lookup(label) if label else None  # the encoding the label names (browsers ignore others)
    personal = False
    for extractor, prover in extractors:
        try:
            if prover is not None and not (xml and isinstance(prover, HtmlAttribute)):
                kind = prover.kind
                own = None if requester is None else requester.id if kind == ID else requester.value(kind)
                charset = _proof_charset(prover, body, declared, view)
                proof = prover.prove(body, charset, own) if charset is not None else UNPROVEN
                if proof:
                    personal = personal or proof == OWN
                    continue
            if view is None:
                view = views(media, body)
            kind = extractor.kind
            owners.extend((kind, o) for o in extractor.owners(view))
        except ScanError as exc:
            if lenient and (extractor, prover) in lenient and not _names_a_key(extractor, body):
                continue  # not JSON to a script either, and no owner key in it: its own type was scanned
            return Failure(EventKind.SCAN_ERROR, scan_reason(extractor.name, exc), extractor.name)
        except BodyDecodeError as undecodable:  # (one name per clause: mypyc types each one)
            return Failure(EventKind.SCAN_ERROR, f"{extractor.name}: {undecodable}", extractor.name)
        except Exception as error:
            return Failure(EventKind.SCAN_ERROR, f"{extractor.name} raised {type(error).__name__}", extractor.name)
    # A page's JSON data blocks, attribute values and shown records: HTML only (a JSON or text body
    # an exact scan read has a view too, and is no page: its JSON was read above, once).
    if (
        media == HTML
        and view is not None
        and planner.by_media[JSON]
        and (xml or _may_name_keys(planner, body, declared))
    ):
        failure = _scan_data_blocks(planner, view, views, owners)
        if failure is not None:
            return failure
    return personal


def _scan_data_block(
    planner: Planner, readings: list[str], views: ViewFactory, owners: list[OwnerText]
) -> Failure | None:
    """One data block, in each reading a browser may give its text: the owners of every reading
    that parses; refused when none parses and one names an owner key (fail closed)."""
    for extractor in planner.by_media[JSON]:
        if not _may_name(extractor, readings):
            continue  # no owner key in any reading: nothing to find, nothing to refuse
        parsed = False
        failure: ScanError | None = None
        kind = extractor.kind
        for reading in readings:
            data = reading.encode("utf-8", "surrogatepass")
            try:
                owners.extend((kind, o) for o in extractor.owners(views(JSON, data)))
                parsed = True
            except ScanError as exc:
                if failure is None and _names_a_key(extractor, data):
                    failure = exc
            except Exception as error:
                reason = f"{extractor.name} raised {type(error).__name__}"
                return Failure(EventKind.SCAN_ERROR, reason, extractor.name)
        if not parsed and failure is not None:
            return Failure(EventKind.SCAN_ERROR, scan_reason(extractor.name, failure), extractor.name)
    return None


def _may_name_keys(planner: Planner, body: bytes, declared: str | None) -> bool:
    """Speed only: could a JSON data block or a JSON attribute value of this HTML page name an
    owner key? Not when every JSON extractor is a key search that finds its keys, bare, nowhere
    in the page's bytes and no escape that could hide one (most pages: their scripts and
    attributes are never read as data; a UTF-16 page is never proved). (An XML page's script
    text is its children's: the caller reads it always.)"""
    for _extractor, prover in planner.proofs[JSON]:
        if not isinstance(prover, JsonKeys):
            return True
        charset = _proof_charset(prover, body, declared, None)
        if charset is None or prover.may_name_in_page(body, charset):
            return True
    return False


def _scan_data_blocks(
    planner: Planner, page: ResponseView, views: ViewFactory, owners: list[OwnerText]
) -> Failure | None:
    """A page's JSON data blocks (``<script type="application/json">``), read by the JSON
    extractors as the page's scripts read them (``JSON.parse(el.textContent)``), in every
    reading of the page. One that names an owner key but does not parse is refused."""
    xml = is_xml_type(page.media_type)
    readers = planner.by_media[JSON]
    try:
        texts = page.texts()
    except BodyDecodeError as undecodable:  # a reading respguard can't prove is the browser's
        name = planner.by_media[JSON][0].name
        return Failure(EventKind.SCAN_ERROR, f"{name}: {undecodable}", name)
    for text in texts:
        try:
            pages = pages_within(Page(text, xml))  # and the pages its frames hold (srcdoc, data: URLs)
        except UnreadableFrame as exc:
            return Failure(EventKind.SCAN_ERROR, str(exc))
        blocks: list[list[str]] = []
        values: list[str] = []
        for framed in pages:
            found = data_blocks(framed.text)
            if found is None:
                return Failure(EventKind.SCAN_ERROR, "too many script data blocks to read")
            blocks.extend(found)
            values.extend(json_attributes(framed))
            shown = rendered_json(framed)
            if shown is None:
                return Failure(EventKind.SCAN_ERROR, "too much JSON-like text to read")
            values.extend(shown)
        # (Each list looked at once for a key first: most pages' values and blocks name none. A
        # value or block the page repeats reads as it did the first time: read once.)
        if any(_may_name(extractor, [reading for readings in blocks for reading in readings]) for extractor in readers):
            for readings in dict.fromkeys(tuple(readings) for readings in blocks):
                failure = _scan_data_block(planner, list(readings), views, owners)
                if failure is not None:
                    return failure
        if any(_may_name(extractor, values) for extractor in readers):
            for value in dict.fromkeys(values):
                failure = _scan_json_text(planner, value, views, owners)
                if failure is not None:
                    return failure
    return None


def scan_header_json(
    planner: Planner, values: tuple[bytes, ...], views: ViewFactory, owners: list[OwnerText]
) -> Failure | None:
    """Response header values that open like JSON, read by the JSON extractors where they parse, as
    a page's scripts read them: htmx parses ``HX-Trigger``, ``HX-Trigger-After-Swap``
    and ``HX-Location`` into the details of the events it fires (django-htmx's
    ``trigger_client_event`` writes them), Unpoly its ``X-Up-Context``. A value is read as
    ``getResponseHeader`` gives it: its bytes as Latin-1 characters."""
    for value in values:
        failure = _scan_json_text(planner, value.decode("latin-1"), views, owners)
        if failure is not None:
            return failure
    return None


def _scan_json_text(planner: Planner, value: str, views: ViewFactory, owners: list[OwnerText]) -> Failure | None:
    """An attribute value or a page's text that opens like JSON, read by the JSON extractors where
    it parses (``JSON.parse(el.dataset.page)``, a record shown in a ``<pre>``). One that does not
    parse is no JSON to a script either (an Alpine.js ``x-data`` object literal), unless Python's
    parser gave up where a script's goes on: nested too deeply, and naming an owner key (fail
    closed)."""
    data = value.encode("utf-8", "surrogatepass")
    for extractor in planner.by_media[JSON]:
        if not _may_name(extractor, (value,)):
            continue
        kind = extractor.kind
        try:
            owners.extend((kind, o) for o in extractor.owners(views(JSON, data)))
        except ScanError as exc:
            if str(exc) == DEEP_JSON and _names_a_key(extractor, data):
                return Failure(EventKind.SCAN_ERROR, scan_reason(extractor.name, exc), extractor.name)
        except Exception as error:
            return Failure(EventKind.SCAN_ERROR, f"{extractor.name} raised {type(error).__name__}", extractor.name)
    return None


class HeldDocument:
    """A finite body, held whole up to the limit."""

    __slots__ = ("chunks", "size", "limit")

    def __init__(self, limit: int) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit

    def add(self, chunk: bytes) -> bool:
        """Hold a chunk; ``False`` once the body is over the limit."""
        if chunk:
            self.chunks.append(chunk)
            self.size += len(chunk)
        return self.size <= self.limit

    def whole(self) -> bytes:
        chunks = self.chunks
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)


_SNIFF_WINDOW = 512  # bytes of a body looked at a time for its first meaningful byte


class Sniffer:
    """A body whose first bytes decide how clients read it: an untyped body (browsers sniff it:
    ``{``/``[`` is JSON to a script, ``<`` a page), or a body of a type nothing scans, which
    ``fetch().json()`` still parses when it opens like JSON (``json_only``).

    It looks only at bytes it has not looked at (white space and a byte-order mark are
    skipped as they arrive), so any chunking costs time linear in the body; a compressed body
    is decoded as it arrives, only as far as its first bytes. The raw body is held in
    :attr:`held` until it is decided.
    """

    __slots__ = ("media", "held", "json_only", "_head", "_start", "_wide", "_decoder", "_undecodable")

    def __init__(self, limit: int, encodings: str | None, json_only: bool) -> None:
        self.media: str | None = None  # known once the first meaningful byte is in
        self.held = HeldDocument(limit)
        self.json_only = json_only
        self._head = b""  # at most a byte-order mark's start, after white space
        # The body's first bytes until four are in (UTF-16/32 JSON, as json.loads detects it), or
        # ``None`` once they told.
        self._start: bytes | None = b""
        self._wide: codecs.IncrementalDecoder | None = None  # a UTF-16/32 body, until past its white space
        self._decoder: StreamDecoder | None = None
        # The coding failed on the first bytes (corrupt, or decoding past the limit): nothing after
        # them tells what a client reads, so the body is held whole and judged when it ends.
        self._undecodable = False
        if encodings is not None:
            try:
                self._decoder = StreamDecoder(encodings, limit)
            except BodyDecodeError:
                # A coding browsers don't know is ignored by them: they read the raw bytes. httpx
                # skips it and undoes the codings it knows: that reading is sniffed (the raw bytes
                # when none is left; a raw body that opens like JSON fails the decoding and is
                # held). A body held for its JSON is refused when it ends (respguard can't undo
                # the coding).
                known = known_codings(encodings)
                self._decoder = StreamDecoder(known, limit) if known is not None else None
                # A coding browsers undo but respguard can't (br without brotli installed, dcb):
                # the body a script reads is in no reading here. Held whole and judged when it
                # ends (refused: the decoding fails there too).
                self._undecodable = browser_only_codings(encodings)

    def feed(self, chunk: bytes) -> str | None:
        """The media class clients take the body for, once its first bytes tell."""
        if self.media is not None or not chunk or self._undecodable:
            return self.media
        decoder = self._decoder
        if decoder is not None:
            try:
                chunk = decoder.feed(chunk)
            except (BodyDecodeError, DecodedTooLarge):
                # The whole body is decoded (and judged) when it ends: the raw bytes after the
                # first don't say what it is (a bomb's next piece streamed through unread).
                self._decoder = None
                self._undecodable = True
                return None
        first = self._start
        if first is not None:
            if first:
                chunk = first + chunk
            elif chunk and chunk[0] not in _MAY_OPEN:
                # The first byte tells at once (most bodies: an image, a PDF): no reading of JSON,
                # a page, a byte-order mark or UTF-16/32 opens with it.
                self._start = None
                self.media = OTHER
                return OTHER
            if len(chunk) < 4 and may_open_wide(chunk):
                self._start = chunk  # nothing sniffed yet: the next bytes say how json.loads reads it
                return None
            self._start = None
            encoding = wide_json_encoding(chunk)
            if encoding is not None and chunk[:1] not in _ASCII_OPENERS:
                self._wide = wide_decoder(encoding)
        wide = self._wide
        if wide is not None:
            # UTF-16/32 to json.loads (Python's clients' .json()): JSON if it opens like JSON there.
            for start in range(0, len(chunk), _SNIFF_WINDOW):
                text = wide.decode(chunk[start : start + _SNIFF_WINDOW]).lstrip(JSON_WHITESPACE)
                if text:
                    self._wide = None
                    self.media = JSON if text[0] in "[{" else OTHER
                    return self.media
            return None
        data = (self._head + chunk) if self._head else chunk
        # Past white space (JavaScript's, as AngularJS trims it: a byte-order mark is some; a
        # search, never a copy of a big chunk), the first bytes say what it is.
        position = past_js_space(data)
        media = sniff_media(data, position)
        if media is None:
            # Only white space, or part of a byte-order mark or of the XSSI prefix: keep the tail
            # that may still be one.
            self._head = _undecided_tail(data)
        elif self.json_only and media != JSON:
            self.media = OTHER  # a typed body is read as JSON by scripts, never rendered as a page
        else:
            self.media = media
        return self.media


def _undecided_tail(data: bytes) -> bytes:
    """What a sniffer keeps of bytes that did not tell yet: at most the XSSI prefix (``)]}',\\n``,
    six bytes) and the start of a white-space character after it (the rest of it may come in the
    next chunk), white space dropped (a byte-order mark is white space to AngularJS)."""
    position = past_js_space(data)
    prefix = XSSI_PREFIX.match(data, position)
    if prefix is None:
        return data[position : position + 6]
    after = past_js_space(data, prefix.end())
    return data[position : prefix.end()] + data[after : after + 3]


#: First bytes the usual sniffing reads (JSON, a page) whatever json.loads makes of the rest.
_ASCII_OPENERS = frozenset({b"{", b"[", b"<"})
#: Every first byte that may open something a client reads: UTF-16/32's (a zero, a byte-order
#: mark's), JSON, a page, the XSSI prefix, and a white-space character's (JavaScript's, in UTF-8:
#: a UTF-8 byte-order mark is one). Any other is :data:`OTHER` at once.
_MAY_OPEN = frozenset(b"\x00\xfe\xff{[<)") | {char.encode()[0] for char in JS_SPACE}

StreamRecord = Event | Record


def record_reader(lines: bool, seq: bool, limit: int) -> EventStreamReader | JsonLinesReader:
    """The reader of a stream's records: JSON lines (``seq``: RFC 7464 text sequences) or events;
    a record over ``limit`` bytes raises ``RecordTooLarge``."""
    return JsonLinesReader(limit, seq=seq) if lines else EventStreamReader(limit)


class RecordStream:
    """An event stream or JSON lines, read record by record as each one completes.

    The raw bytes wait in :attr:`pending` until the records they hold are read, then
    :meth:`release` hands them out; JSON extractors read a record's data (an event's
    ``data`` lines joined; a JSON line), text extractors the whole record.
    """

    __slots__ = ("reader", "pending", "sent", "personal_data", "bulk_reported", "document")

    def __init__(self, lines: bool, seq: bool, limit: int) -> None:
        self.reader = record_reader(lines, seq, limit)
        self.pending = bytearray()
        self.sent = 0  # stream offset of the first pending byte
        #: Whether the stream is one JSON document its records split (:meth:`one_document`);
        #: ``None`` until its first record that is not white space says (never, for a JSON text
        #: sequence: its RS is no JSON white space, no parser reads such a body whole).
        self.document: bool | None = False if seq else None
        #: The distinct foreign e-mails (phones, cards) the records so far carried, by kind: a
        #: stream is one response, its records' values add up (the bulk check).
        self.personal_data: dict[str, set[str]] = {}
        self.bulk_reported = False  # report-only: reported once, then no longer counted

    def feed(self, chunk: bytes) -> list[StreamRecord]:
        """The records this chunk completes; raises ``RecordTooLarge`` for a record over the limit."""
        self.pending += chunk
        return list(self.reader.feed(chunk))

    def end(self) -> list[StreamRecord]:
        """At the end of the body: the unterminated tail, read too (fail closed)."""
        return list(self.reader.end())

    def one_document(self, records: Sequence[StreamRecord]) -> bool:
        """Is the stream, read whole, one JSON document that its records split? ``fetch().json()``
        (and a Python client's ``.json()``) reads a body whole, whatever its type: JSON lines
        ``{``, ``"user_id"``, ``:``, ``"bob"``, ``}`` are each a line a line reader passes (a string
        is a JSON text; the others name no key), and bob's record to it. A line or event end is
        JSON white space and a JSON string holds none, so the body is one document only if its
        first record (after the XSSI prefix Angular strips) opens one that it does not close:
        that first record decides, for the whole stream."""
        if self.document is None:
            for record in records:
                after = strip_xssi_prefix(record.text)
                text = (record.text if after is None else after).strip(JS_SPACE)  # (as AngularJS trims it)
                if not text:
                    continue  # white space (or the XSSI prefix alone): the next record says
                self.document = text[0] in "{[" and not _parses(text)
                break
        return bool(self.document)

    def release(self, upto: int | None) -> bytes:
        """The pending bytes up to stream offset ``upto`` (``None``: all of them)."""
        count = len(self.pending) if upto is None else upto - self.sent
        out = bytes(self.pending[:count])
        del self.pending[:count]
        self.sent += count
        return out


def _parses(text: str) -> bool:
    """Is ``text`` a whole JSON document to Python's parser (one too deep for it: no, fail closed)?"""
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def records_proved_clean(planner: Planner, records: Sequence[StreamRecord], requester: Identity | None) -> int:
    """Speed only: prove a batch of records clean at once, with the JSON keys' byte search over
    their text joined as one JSON array (a ``,`` between records, so no key or value can span
    two). :data:`~respguard._extractors.ABSENT` or ``OWN``: every record is clean (no exact scan
    needed); :data:`UNPROVEN`: read them one by one. Only when every extractor that reads a
    record has a byte-search proof (JSON keys; an event's HTML attribute)."""
    if not records:
        return UNPROVEN
    provers = planner.line_provers if isinstance(records[0], Record) else planner.event_provers
    if provers is None:
        return UNPROVEN
    # The whole records, not only their data: a record's every reading is in its text, but a JSON
    # line's UTF-16/32 reading (searched as well).
    texts = (r.text + "," + r.wide if isinstance(r, Record) and r.wide else r.text for r in records)
    joined = ("[" + ",".join(texts) + "]").encode("utf-8", "surrogatepass")
    result = ABSENT  # until an extractor proves own data
    for prover in provers:
        kind = prover.kind
        own = None if requester is None else requester.id if kind == ID else requester.value(kind)
        proof = prover.prove(joined, "utf-8", own)
        if not proof:
            return UNPROVEN
        if proof == OWN:
            result = OWN
    return result


#: Why a record is refused whose owner key no reading could parse (a fixed phrase).
UNREAD_KEY = "owner key in a record no reading parses"


def _may_name(extractor: Extractor, texts: Sequence[str]) -> bool:
    """Speed only: could this JSON extractor find an owner in one of these texts (a page's JSON
    values, or data blocks' readings)? Always, but for respguard's own :class:`JsonKeys` (a
    subclass may read owners otherwise) where none may name a key: a page of many small JSON-like
    values (``<b x={}>``, ``<b>[]</b>``) then costs a search, not a parse each."""
    return type(extractor) is not JsonKeys or bool(texts) and extractor.may_name(texts)


def _names_a_key(extractor: Extractor, body: bytes) -> bool:
    """Does a body that Python's parser refused still name one of this JSON extractor's keys?
    A script's parser may read it (JSON nested deeper than Python's limit): fail closed."""
    return isinstance(extractor, JsonKeys) and extractor.mentioned(body.decode("utf-8", "replace"))


def _lenient_event_data(text: str) -> str:
    """An event's ``data`` as a client that splits lines with ``str.splitlines`` reads it
    (httpx-sse over httpx's ``iter_lines``: U+2028, U+0085, form feeds... end lines there)."""
    values: list[str] = []
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == "data":
            values.append(value[1:] if value.startswith(" ") else value)
    return "\n".join(values)


#: Why a stream's record is refused that names an owner key where the stream is one JSON document.
KEY_IN_DOCUMENT = "owner key in a stream that is one JSON document"


def scan_record(
    planner: Planner, record: StreamRecord, media: str, views: ViewFactory, found: Found, document: bool = False
) -> Failure | None:
    """Read one event or JSON line with the stream extractors (``media``: the response's).

    JSON extractors read every reading a client may make of it: its data (an event's ``data``
    lines, a JSON line), the whole record (``fetch().json()`` of a body that is one JSON
    document), and the lines a lenient client splits it into (``str.splitlines``: CR, U+2028...).
    A record that names an owner key but that no reading parses (nested too deeply for Python,
    split over lines) can't be proved clean: refused (fail closed). So is one that names an owner
    key in a ``document`` stream (:meth:`RecordStream.one_document`): read whole, the key may be
    another record's value's.
    """
    if not record.text.strip():
        return None
    readings = [record.data]
    whole = record.text.strip()
    if whole != record.data:
        readings.append(whole)
    pieces = record.data.splitlines()
    if len(pieces) > 1:
        readings.extend(pieces)
    wide = record.wide if isinstance(record, Record) else ""
    if wide:
        readings.append(wide)  # (a UTF-16/32 line, as a client decoding it in its charset reads it)
    # A record with data some client reads (a comment-only event has none, for any client).
    has_data = bool(record.data.strip())
    if isinstance(record, Event):
        lenient = _lenient_event_data(record.text)
        if lenient != record.data:
            readings.append(lenient)
            has_data = has_data or bool(lenient.strip())
    whole_view = views(media, record.text.encode("utf-8", "surrogatepass"))
    line = isinstance(record, Record)
    extractors = planner.line_extractors if line else planner.event_extractors
    for extractor in extractors:
        try:
            if not line and extractor not in planner.line_extractors:
                # An HTML extractor: the event's data as the fragment a page swaps into its DOM
                # (a script's string: a byte-order mark makes the view read it as UTF-8, exactly).
                fragment = views(HTML, b"\xef\xbb\xbf" + record.data.encode("utf-8", "surrogatepass"))
                found.owners.extend((extractor.kind, o) for o in extractor.owners(fragment))
                continue
            if not isinstance(extractor, JsonKeys):
                found.owners.extend((extractor.kind, o) for o in extractor.owners(whole_view))
                continue
            if not _may_name(extractor, (record.text,)):
                continue  # every reading is in the record's text: no key there, none to read or refuse
            before = len(found.owners)
            parsed = False
            for text in readings:
                if not text.strip():
                    continue  # nothing to read (an empty line of the data), and nothing parsed
                try:
                    view = views(media, text.encode("utf-8", "surrogatepass"))
                    found.owners.extend((extractor.kind, o) for o in extractor.owners(view))
                    parsed = True
                except ScanError:
                    continue  # a reading that is not JSON carries no JSON keys
            if (
                not parsed
                and (has_data or whole != record.data)
                and (extractor.mentioned(record.text) or bool(wide) and extractor.mentioned(wide))
            ):
                return Failure(EventKind.SCAN_ERROR, f"{extractor.name}: {UNREAD_KEY}", extractor.name)
            if (
                document
                and len(found.owners) == before
                and record.text.lstrip(JS_SPACE)[:1] == '"'
                and extractor.mentioned(record.text)
            ):
                # (A record that parses holds its keys as the document does; a bare string that
                # names a key may be the document's key. One that does not parse is refused above.)
                return Failure(EventKind.SCAN_ERROR, f"{extractor.name}: {KEY_IN_DOCUMENT}", extractor.name)
        except ScanError as exc:
            return Failure(EventKind.SCAN_ERROR, scan_reason(extractor.name, exc), extractor.name)
        except Exception as error:
            return Failure(EventKind.SCAN_ERROR, f"{extractor.name} raised {type(error).__name__}", extractor.name)
    return None
