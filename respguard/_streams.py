"""Record readers for streamed bodies: server-sent events and JSON lines (placeholder).

Sans-IO: ``feed(chunk)`` returns the records the chunk completes, ``end()`` the
unterminated tail. Each :class:`Record` says where it ends in the stream, so the
caller releases exactly the bytes it has read.
"""

from __future__ import annotations

import re


class RecordTooLarge(Exception):
    """One record outgrew the cap before it ended."""


class Record:
    """One event or line: where it ends in the stream, its data, its whole text."""

    __slots__ = ("end", "data", "text", "complete")

    def __init__(self, end: int, data: str, text: str, complete: bool) -> None:
        self.end = end
        self.data = data
        self.text = text
        self.complete = complete


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\r|\n")


class _Reader:
    __slots__ = ("_buffer", "_offset", "_scanned", "_limit")

    _end: re.Pattern[bytes] = _EVENT_END
    _back = 3  # bytes of the held data a record end may start in

    def __init__(self, max_record_bytes: int) -> None:
        self._buffer = bytearray()
        self._offset = 0  # stream offset of the buffer's first byte
        self._scanned = 0  # buffer bytes already searched for a record end
        self._limit = max_record_bytes

    @property
    def held(self) -> int:
        return len(self._buffer)

    def _record(self, raw: bytes, end: int, complete: bool) -> Record:
        raise NotImplementedError

    def feed(self, chunk: bytes) -> list[Record]:
        buffer = self._buffer
        buffer += chunk
        records = []
        start = 0
        search = max(self._scanned - self._back, 0)
        for match in self._end.finditer(buffer, search):
            raw = bytes(buffer[start : match.end()])
            start = match.end()
            records.append(self._record(raw, self._offset + start, True))
        if start:
            del buffer[:start]
            self._offset += start
        self._scanned = len(buffer)
        if len(buffer) > self._limit:
            raise RecordTooLarge
        return records

    def end(self) -> list[Record]:
        raw = bytes(self._buffer)
        self._buffer.clear()
        self._offset += len(raw)
        return [self._record(raw, self._offset, False)] if raw else []


class EventStreamReader(_Reader):
    """``text/event-stream``: events end at a blank line; JSON extractors read the ``data`` lines."""

    __slots__ = ()

    def _record(self, raw: bytes, end: int, complete: bool) -> Record:
        lines = [line[5:] for line in _LINE.split(raw) if line.startswith(b"data:")]
        data = b"\n".join(line[1:] if line.startswith(b" ") else line for line in lines)
        return Record(end, data.decode("utf-8", "replace"), raw.decode("utf-8", "replace"), complete)


class JsonLinesReader(_Reader):
    """JSON lines (and RFC 7464 sequences): one record per line."""

    __slots__ = ()

    _end = re.compile(rb"\n")
    _back = 0

    def _record(self, raw: bytes, end: int, complete: bool) -> Record:
        text = raw.decode("utf-8", "replace")
        return Record(end, text.strip(" \t\r\n\x1e"), text, complete)
