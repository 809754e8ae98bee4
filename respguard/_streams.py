"""Incremental record readers for streamed bodies: event streams, JSON lines, JSON text sequences.

Sans-IO, in the style of h11's body readers: the caller hands each chunk to ``feed()`` and gets
back the records that chunk completed; ``end()`` at the end of the body gives the unterminated
tail. The readers read as the client reads (the HTML standard's event-stream interpretation;
a line-splitting NDJSON client; an RFC 7464 parser), in time linear in the input whatever the
chunking: every byte is scanned once, the incomplete record is held as a list of pieces and
joined once, when it completes. ``examined`` counts the bytes scanned, copied or decoded, so
tests can assert the work stays linear without timing anything.

Offsets are absolute in the body: ``Record.end`` is just past a record's last byte, and
``fed - held`` is how far the caller may release the bytes it held back (everything before the
incomplete record: whole records, blank lines, a leading BOM). Usage::

    reader = EventStreamReader(max_record_bytes)  # or JsonLinesReader(cap, seq=...)
    for chunk in body:
        try:
            done = reader.feed(chunk)
        except RecordTooLarge as exc:
            done = exc.records  # scan these, then cut the stream after the last one
        for record in done:
            scan(record.data, record.text)  # JSON keys read data; text extractors read text
        send(bytes up to reader.fed - reader.held)
    for record in reader.end():  # the unterminated tail (complete=False): scan it too
        scan(record.data, record.text)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._content import wide_json_encoding

_BOM = b"\xef\xbb\xbf"
_CR = 0x0D
_LF = 0x0A
_EOL = re.compile(rb"[\r\n]")
#: Runs of line-end bytes, one character class each (no backtracking). At a line start every
#: byte of a run is a blank line's; after a line, a run holds a blank line unless it is one CRLF.
_BLANK_RUN = re.compile(rb"[\r\n]*")
_BLOCK_END = re.compile(rb"[\r\n]{2,}")
#: What separates JSON records that carries none of them: JSON white space and RS (RFC 7464).
_GAP = re.compile(rb"[\t\n\r \x1e]*")
_LINE_END = re.compile(rb"[\n\x1e]")
_RS = re.compile(rb"\x1e")
_JSON_SPACE = " \t\r\n"


@dataclass(slots=True)
class Record:
    """One JSON line or JSON text sequence record (a plain class: native under mypyc)."""

    #: Offset just past the record's last byte (its LF; an RS belongs to the next record).
    end: int
    #: The JSON text the client parses: the record decoded, without its JSON white space.
    data: str
    #: The whole record as text, for text extractors.
    text: str
    #: ``False`` for the tail ``end()`` reports, ended by the end of the body rather than by its
    #: LF or the next RS. JSON lines and sequence clients read it all the same: scan it.
    complete: bool
    #: The record held bytes that are not UTF-8 (read, as a lenient client does, as U+FFFD).
    invalid: bool
    #: Such a record's JSON text as ``json.loads`` reads its bytes when they are UTF-16/32 (a
    #: byte-order mark and all), as a client that decodes the stream in its charset does
    #: (httpx's and requests' ``iter_lines``); ``""``: none.
    wide: str = ""


@dataclass(slots=True)
class Event:
    """One event-stream block: the lines up to a blank line (or the tail at the end of the stream)."""

    #: Offset just past the blank line's first byte (a CRLF's LF is no record's: whether it
    #: follows may be unknown when the CR arrives, and the CR already ended the line).
    end: int
    #: The event's ``data`` as ``MessageEvent.data`` gives it: the ``data`` lines joined by LF.
    data: str
    #: The whole block as text (comments, every field), for text extractors.
    text: str
    #: ``False`` for the incomplete block ``end()`` reports (browsers drop it; a caller that
    #: fails closed scans it anyway).
    complete: bool
    #: The block held bytes that are not UTF-8 (decoded, as browsers do, as U+FFFD).
    invalid: bool
    #: Whether a browser dispatches it: complete, with at least one ``data`` line.
    dispatched: bool
    #: The event type (``message`` unless an ``event`` field names one; ``""`` if not dispatched).
    type: str
    #: ``MessageEvent.lastEventId``: the last ``id`` field so far (it outlives its event).
    last_event_id: str


class RecordTooLarge(Exception):
    """One record grew past ``max_record_bytes`` before it ended; the reader holds no more of it.

    ``records`` are the records the same ``feed()`` completed before it: scan them, then cut the
    stream at the last one's ``end``. The reader is spent after this.
    """

    def __init__(self, records: list[Record] | list[Event]) -> None:
        super().__init__("record over max_record_bytes")
        self.records = records


def _decode(data: bytes) -> tuple[str, bool]:
    """UTF-8 decode with replacement (the WHATWG decoder's, which Python's ``replace`` matches),
    and whether anything was replaced."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True


class _Bom:
    """Drops one leading UTF-8 BOM, holding the first bytes until it knows whether they are one."""

    def __init__(self) -> None:
        self.pending = b""
        self.done = False

    def take(self, chunk: bytes) -> tuple[bytes, int]:
        """The bytes to parse and how many BOM bytes were dropped before them."""
        data = self.pending + chunk if self.pending else chunk
        if len(data) < 3 and _BOM.startswith(data):
            self.pending = data  # at most 2 bytes
            return b"", 0
        self.done, self.pending = True, b""
        if data.startswith(_BOM):
            return data[3:], 3
        return data, 0


class EventStreamReader:
    """``text/event-stream`` per the HTML standard's "event stream interpretation".

    The stream is UTF-8 with one leading BOM dropped; a line ends at CRLF, LF or CR; a blank
    line ends a block, which a browser dispatches if it had a ``data`` line. A block larger than
    ``max_record_bytes`` raises :class:`RecordTooLarge` as soon as it passes the cap.
    """

    def __init__(self, max_record_bytes: int) -> None:
        if max_record_bytes < 1:
            raise ValueError("max_record_bytes must be positive")
        self.max_record_bytes = max_record_bytes
        #: Bytes scanned, copied or decoded so far (linear in ``fed``).
        self.examined = 0
        #: Bytes fed so far.
        self.fed = 0
        self._bom = _Bom()
        self._offset = 0  # absolute offset of the next byte to parse
        self._start = -1  # where the current block starts, -1 between blocks
        self._line: list[bytes] = []  # pieces of the current unterminated line
        self._block: list[bytes] = []  # the block's complete lines, with their line ends
        self._data: list[bytes] = []  # the block's data values
        self._type = b""
        self._last_id = ""
        self._after_cr = False  # the last line ended at a CR: an LF next is part of its line end
        self._spent = False

    @property
    def held(self) -> int:
        """Bytes held for the incomplete block (the caller may release ``fed - held``)."""
        if not self._bom.done:
            return len(self._bom.pending)
        return self._offset - self._start if self._start >= 0 else 0

    def feed(self, chunk: bytes) -> list[Event]:
        """The blocks this chunk completes."""
        if self._spent:
            raise RecordTooLarge([])
        self.fed += len(chunk)
        if not self._bom.done:
            chunk, dropped = self._bom.take(chunk)
            self._offset += dropped
        events: list[Event] = []
        try:
            self._parse(chunk, events)
        except RecordTooLarge:
            self._spent, self._start = True, -1
            self._line, self._block, self._data = [], [], []
            raise RecordTooLarge(events) from None
        return events

    def end(self) -> list[Event]:
        """At the end of the body: the incomplete block, if any (browsers drop it)."""
        if self._spent:
            raise RecordTooLarge([])
        if not self._bom.done and self._bom.pending:
            self._bom.done = True
            pending, self._bom.pending = self._bom.pending, b""
            events = self.feed(pending)
            self.fed -= len(pending)
            if events:  # pragma: no cover - two bytes complete no block
                return events
        if self._start < 0:
            return []
        if self._line:
            line = b"".join(self._line)
            self.examined += len(line)
            self._block.append(line)
            self._field(line, len(line))
        return [self._block_event(self._offset, complete=False)]

    # ------------------------------------------------------------------ parsing
    def _parse(self, chunk: bytes, events: list[Event]) -> None:
        size = len(chunk)
        pos = 0
        base = self._offset
        if self._after_cr and size:
            self._after_cr = False
            if chunk[0] == _LF:  # the LF of a CRLF split across chunks
                if self._start >= 0:
                    self._block.append(b"\n")
                pos = 1
        if self._line and pos < size:  # finish the line held from earlier chunks
            found = _EOL.search(chunk, pos)
            stop = found.start() if found else size
            self.examined += stop - pos
            self._check(base + stop)
            if found is None:
                self._line.append(chunk[pos:])
                self._offset = base + size
                return
            self._line.append(chunk[pos:stop])
            line = b"".join(self._line)
            self._line = []
            self.examined += len(line)
            pos = self._end_line(chunk, stop, line)
        last = max(chunk.rfind(b"\n", pos), chunk.rfind(b"\r", pos))
        if last >= pos:
            self._lines(chunk, pos, last + 1, base, events)
            pos = last + 1
            self._after_cr = chunk[last] == _CR and pos == size
        if pos < size:  # an unterminated line: held until a line end arrives
            if self._start < 0:
                self._start = base + pos
            self.examined += size - pos
            self._check(base + size)
            self._line.append(chunk[pos:])
        self._offset = base + size

    def _check(self, upto: int) -> None:
        if upto - self._start > self.max_record_bytes:
            raise RecordTooLarge([])

    def _end_line(self, chunk: bytes, eol: int, line: bytes) -> int:
        """The held ``line`` (without its line end) ends at ``chunk[eol]``: apply it, and return
        where the next line starts."""
        if chunk[eol] == _CR and eol + 1 < len(chunk) and chunk[eol + 1] == _LF:
            stop = eol + 2
        else:
            stop = eol + 1
            self._after_cr = chunk[eol] == _CR and stop == len(chunk)
        self._block.append(line)
        self._block.append(chunk[eol:stop])
        self._field(line, len(line))
        return stop

    def _lines(self, chunk: bytes, pos: int, stop: int, base: int, events: list[Event]) -> None:
        """The whole lines of ``chunk[pos:stop]`` (``pos`` at a line start, ``stop`` past a line
        end), at C speed where it can: a regex finds the blank lines that end blocks (a run of
        them costs no Python step per line), ``bytes.splitlines`` splits a block's lines at
        exactly CRLF, LF or CR, the event stream's line ends."""
        self.examined += stop - pos
        lead = _BLANK_RUN.match(chunk, pos, stop)
        if lead is not None and lead.end() > pos:  # blank lines first: the open block ends
            if self._start >= 0:
                self._block.append(chunk[pos : pos + 1])
                events.append(self._block_event(base + pos + 1, complete=True))
            pos = lead.end()
        for gap in _BLOCK_END.finditer(chunk, pos, stop):
            eol = gap.start()
            blank = eol + 2 if chunk[eol] == _CR and chunk[eol + 1] == _LF else eol + 1
            if blank == gap.end():  # one CRLF: a line end, no blank line
                continue
            self._block_lines(chunk[pos:blank], base + pos)
            self._block.append(chunk[blank : blank + 1])
            events.append(self._block_event(base + blank + 1, complete=True))
            pos = gap.end()
        if pos < stop:
            self._block_lines(chunk[pos:stop], base + pos)

    def _block_lines(self, lines: bytes, offset: int) -> None:
        """Lines of one block, none blank, starting at ``offset`` in the stream."""
        cap = self.max_record_bytes
        block = self._block
        if self._start < 0:
            self._start = offset
        for line in lines.splitlines(keepends=True):
            size = len(line)
            end = size - 2 if size > 1 and line[-2] == _CR and line[-1] == _LF else size - 1
            if offset + end - self._start > cap:
                raise RecordTooLarge([])
            block.append(line)
            self._field(line, end)
            offset += size

    def _field(self, line: bytes, length: int) -> None:
        """One non-blank line (``line[:length]``, its line end after) applied to the block."""
        if line[0] == 0x3A:  # ":" a comment
            return
        colon = line.find(b":", 0, length)
        if colon < 0:
            name_end, value_start = length, length
        else:
            name_end, value_start = colon, colon + 1
            if value_start < length and line[value_start] == 0x20:
                value_start += 1
        if name_end == 4 and line.startswith(b"data"):
            self._data.append(line[value_start:length])
        elif name_end == 5 and line.startswith(b"event"):
            self._type = line[value_start:length]
        elif name_end == 2 and line.startswith(b"id"):
            if line.find(b"\x00", value_start, length) < 0:
                self._last_id = _decode(line[value_start:length])[0]
        # "retry" sets the reconnection time and any other field is ignored: neither reaches the page.

    def _block_event(self, end: int, complete: bool) -> Event:
        raw = b"".join(self._block)
        self.examined += 2 * len(raw)
        try:
            text, invalid = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, invalid = raw.decode("utf-8", "replace"), True
        values = self._data
        data = (values[0] if len(values) == 1 else b"\n".join(values)).decode("utf-8", "replace") if values else ""
        dispatched = complete and bool(values)
        kind = (self._type.decode("utf-8", "replace") or "message") if dispatched else ""
        event = Event(end, data, text, complete, invalid, dispatched, kind, self._last_id)
        self._start = -1
        self._block, self._data, self._type = [], [], b""
        return event


class JsonLinesReader:
    """JSON Lines / NDJSON (a record ends at LF), or with ``seq`` RFC 7464 JSON text sequences
    (a record is led by RS and ends where the next RS starts; no LF needed).

    Lines mode also ends a record at an RS (a JSON text cannot hold one, so no client reads
    more into a record than this split does). Records of only white space are no records.
    Invalid UTF-8 is read with replacement, as a lenient client (``TextDecoder``) reads it, and
    flagged on the record. One leading BOM is dropped (``TextDecoder`` drops it).
    """

    def __init__(self, max_record_bytes: int, *, seq: bool = False) -> None:
        if max_record_bytes < 1:
            raise ValueError("max_record_bytes must be positive")
        self.max_record_bytes = max_record_bytes
        self.seq = seq
        self.examined = 0
        self.fed = 0
        self._bom = _Bom()
        self._end = _RS if seq else _LINE_END
        self._offset = 0
        self._start = -1
        self._held: list[bytes] = []
        self._spent = False

    @property
    def held(self) -> int:
        """Bytes held for the incomplete record (the caller may release ``fed - held``)."""
        if not self._bom.done:
            return len(self._bom.pending)
        return self._offset - self._start if self._start >= 0 else 0

    def feed(self, chunk: bytes) -> list[Record]:
        """The records this chunk completes."""
        if self._spent:
            raise RecordTooLarge([])
        self.fed += len(chunk)
        if not self._bom.done:
            chunk, dropped = self._bom.take(chunk)
            self._offset += dropped
        records: list[Record] = []
        try:
            self._parse(chunk, records)
        except RecordTooLarge:
            self._spent, self._start = True, -1
            self._held = []
            raise RecordTooLarge(records) from None
        return records

    def end(self) -> list[Record]:
        """At the end of the body: the unterminated last record, if any."""
        if self._spent:
            raise RecordTooLarge([])
        if not self._bom.done and self._bom.pending:
            self._bom.done = True
            pending, self._bom.pending = self._bom.pending, b""
            records = self.feed(pending)
            self.fed -= len(pending)
            if records:  # pragma: no cover - two bytes complete no record
                return records
        if self._start < 0:
            return []
        raw = b"".join(self._held)
        self._held = []
        self._start = -1
        record = self._record(raw, self._offset, complete=False)
        return [record] if record.data else []

    def _record(self, raw: bytes, end: int, complete: bool) -> Record:
        text, invalid = _decode(raw)
        self.examined += 2 * len(raw)
        wide = ""
        if invalid:
            encoding = wide_json_encoding(raw)
            if encoding is not None:
                wide_raw = raw[:-1] if raw.endswith(b"\n") else raw  # (the LF's other bytes, in
                unit = 4 if "32" in encoding else 2  # UTF-16BE before it, are no character of the line)
                wide = wide_raw[: len(wide_raw) - len(wide_raw) % unit].decode(encoding, "replace")
                wide = wide.strip(_JSON_SPACE)
                self.examined += len(raw)
        return Record(end, text.strip(_JSON_SPACE), text, complete, invalid, wide)

    def _whole_lines(self, chunk: bytes, pos: int, base: int, records: list[Record]) -> int:
        """The complete lines from ``pos``, at C speed (split and decode once), when they are the
        plain case: UTF-8, no RS, none over the cap. Returns where the rest starts; the records
        are the ones the byte-at-a-time path below would make (the tests hold them equal)."""
        last = chunk.rfind(b"\n", pos)
        if last < pos or chunk.find(b"\x1e", pos, last) >= 0:
            return pos
        region = chunk[pos : last + 1]
        try:
            text = region.decode("utf-8")
        except UnicodeDecodeError:
            return pos
        lines = text.split("\n")
        lines.pop()
        sizes = list(map(len, lines if len(text) == len(region) else region.split(b"\n")[:-1]))
        if max(sizes) > self.max_record_bytes:
            return pos
        self.examined += 4 * len(region)
        end = base + pos
        for line, length in zip(lines, sizes, strict=True):
            end += length + 1
            data = line.strip(" \t\r")
            if data:
                records.append(Record(end, data, line.lstrip(" \t\r") + "\n", True, False))
        return last + 1

    def _parse(self, chunk: bytes, records: list[Record]) -> None:
        size = len(chunk)
        pos = 0
        base = self._offset
        cap = self.max_record_bytes
        whole_lines = not self.seq  # tried once a feed: a scan of the rest of the chunk
        while pos < size:
            if self._start < 0 and whole_lines:
                whole_lines = False
                pos = self._whole_lines(chunk, pos, base, records)
                if pos >= size:
                    break
            if self._start < 0:
                gap = _GAP.match(chunk, pos)
                end = gap.end() if gap else pos
                self.examined += end - pos
                if end >= size:
                    break
                pos = end
                self._start = base + pos
            found = self._end.search(chunk, pos)
            if found is None:
                self.examined += size - pos
                if base + size - self._start > cap:
                    raise RecordTooLarge([])
                self._held.append(chunk[pos:])
                break
            stop = found.start()
            self.examined += stop + 1 - pos
            if base + stop - self._start > cap:
                raise RecordTooLarge([])
            lf = chunk[stop] == _LF
            last = stop + 1 if lf else stop  # an LF ends its record; an RS leads the next one
            if self._held:
                self._held.append(chunk[pos:last])
                raw = b"".join(self._held)
                self._held = []
            else:
                raw = chunk[pos:last]
            record = self._record(raw, base + last, complete=True)
            self._start = -1
            if record.data:
                records.append(record)
            pos = last
        self._offset = base + size
