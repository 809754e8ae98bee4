"""What a response body is: its media class, its charset, its decoded bytes."""

from __future__ import annotations

import codecs
import functools
import json
import re
import zlib
from collections.abc import Callable
from typing import Any

from ._mime import media_class as mime_media_class
from ._mime import parse_mime_type

JSON = "json"
HTML = "html"
TEXT = "text"
OTHER = "other"
#: The media classes that are text (scanned by text extractors and the bulk check).
TEXT_MEDIA = frozenset({JSON, HTML, TEXT})

#: One JSON document per line (JSON Lines, NDJSON; RFC 7464 JSON text sequences, each record
#: led by an RS byte): often streamed, so scanned line by line as the lines complete.
JSON_LINES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/jsonlines",
        "application/json-seq",
    }
)


class BodyDecodeError(Exception):
    """The body cannot be turned into text or un-compressed; the guard blocks it."""


class DecodedTooLarge(Exception):
    """Un-compressing the body would exceed the size limit (a decompression bomb)."""


def media_class(content_type: str | None) -> tuple[str, str]:
    """Map one ``Content-Type`` value to ``(class, media type)`` as browsers parse it (MIME Sniffing's
    "parse a MIME type"); class is json, html, text or other."""

    mime = parse_mime_type(content_type) if content_type else None
    return mime_media_class(mime), mime.essence if mime is not None else ""


def sniff_media(head: bytes, start: int = 0) -> str | None:
    """What clients make of a body served without a Content-Type, from its first bytes (those
    from ``start`` on: no copy of a big chunk).

    Scripts parse JSON whatever the type says, and browsers render a body that opens
    with a tag as HTML (WHATWG MIME Sniffing): ``{``/``[`` is JSON, ``<`` is HTML,
    anything else :data:`OTHER` (not scanned). ``None``: only white space (JavaScript's, as
    AngularJS trims it; a byte-order mark is some) or part of a white-space character or of
    the XSSI prefix so far, the next bytes decide.
    """
    position = past_js_space(head, start)
    if position == len(head) or JS_SPACE_START.fullmatch(head, position) is not None:
        return None  # only white space so far, or the start of a white-space character
    first = head[position : position + 1]
    if first in (b"{", b"["):
        return JSON
    if first == b"<":
        return HTML
    if first == b")":
        return _after_xssi_prefix(head, position)
    return OTHER


def sniffed_page_type(body: bytes) -> str:
    """The type a browser renders a page served without a valid or known type as (MIME
    Sniffing's rules for an unknown type, as Chromium's sniffer applies them): ``text/xml`` when it
    opens with an XML declaration (``<?xml``, after white space), else ``text/html``. An XML page
    has no raw text and its DOCTYPE may declare markup (``<!ENTITY e "<div data-owner=...>">``):
    read as HTML, its ``<title>``'s elements were cut and its entities never seen."""
    return "text/xml" if body.startswith(b"<?xml", past_js_space(body)) else "text/html"


#: The prefix Angular's ``HttpClient`` and AngularJS's ``$http`` strip from a JSON response
#: before they parse it, whatever its type (``)]}'``, a comma, a line feed: Google's XSSI guard).
XSSI_PREFIX = re.compile(rb"\)\]\}',?\n")
_XSSI_TEXT_PREFIX = re.compile(r"\)\]\}',?\n")
_XSSI_LONGEST = b")]}',\n"


def _after_xssi_prefix(data: bytes, position: int) -> str | None:
    """A body opening with ``)`` at ``position``: JSON if the XSSI prefix opens JSON (after the
    white space AngularJS trims), ``None`` while the bytes so far may still be that prefix,
    else :data:`OTHER`."""
    prefix = XSSI_PREFIX.match(data, position)
    if prefix is None:
        text = data[position : position + len(_XSSI_LONGEST) + 1]
        if len(text) <= len(_XSSI_LONGEST) and (_XSSI_LONGEST.startswith(text) or text == b")]}'"):
            return None
        return OTHER
    after = past_js_space(data, prefix.end())
    if after == len(data) or JS_SPACE_START.fullmatch(data, after) is not None:
        return None
    return JSON if data[after : after + 1] in (b"{", b"[") else OTHER


#: ECMAScript's white space and line terminators: what ``String.prototype.trim`` strips, as
#: AngularJS's ``$http`` does before it parses a response as JSON (whatever its type): NBSP,
#: U+FEFF, U+2028, U+3000... ``JSON.parse`` and ``json.loads`` take four of them only.
JS_SPACE = (
    " \t\n\x0b\x0c\r\u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
#: A run of :data:`JS_SPACE` in UTF-8 (one character class per byte: no backtracking).
_JS_SPACE_RUN = re.compile(
    rb"(?:[\t\n\x0b\x0c\r ]|\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]"
    rb"|\xe2\x81\x9f|\xe3\x80\x80|\xef\xbb\xbf)*"
)
#: The first bytes of a :data:`JS_SPACE` character in UTF-8 (the rest may be in the next chunk).
JS_SPACE_START = re.compile(rb"\xc2|\xe1\x9a?|\xe2[\x80\x81]?|\xe3\x80?|\xef\xbb?")


def past_js_space(data: bytes, position: int = 0) -> int:
    """Where the run of :data:`JS_SPACE` (UTF-8) from ``position`` on ends (a search: no copy)."""
    match = _JS_SPACE_RUN.match(data, position)
    return match.end() if match is not None else position


def js_trimmed(text: str) -> str | None:
    """``text.trim()`` (AngularJS, before ``JSON.parse``) where it trims more than JSON's white
    space, else ``None``. Time linear in the white space at the ends."""
    start, end = 0, len(text)
    while start < end and text[start] in JSON_WHITESPACE:
        start += 1
    while end > start and text[end - 1] in JSON_WHITESPACE:
        end -= 1
    if start == end or (text[start] not in JS_SPACE and text[end - 1] not in JS_SPACE):
        return None
    return text.strip(JS_SPACE)


def strip_xssi_prefix(text: str) -> str | None:
    """The text after an XSSI prefix at its start (what Angular parses), or ``None``."""
    prefix = _XSSI_TEXT_PREFIX.match(text) if text.startswith(")]}'") else None
    return None if prefix is None else text[prefix.end() :]


def looks_like_json(body: bytes) -> bool:
    """Does the body open like a JSON object or array (after white space and a byte-order mark),
    in UTF-8 or in UTF-16/32 as ``json.loads`` detects them (:func:`opens_like_wide_json`)?

    Scripts parse JSON whatever the Content-Type says: ``json.dumps()`` returned from a
    Flask view goes out as ``text/html``, and some APIs send ``text/plain``.
    """
    start = past_js_space(body)  # white space as AngularJS trims it (a byte-order mark is one)
    first = body[start : start + 1]
    if first in (b"{", b"["):
        return True
    if first == b")":  # the XSSI prefix Angular strips: )]}'
        prefix = XSSI_PREFIX.match(body, start)
        if prefix is None:
            return False
        after = past_js_space(body, prefix.end())
        return body[after : after + 1] in (b"{", b"[")
    return first != b"<" and opens_like_wide_json(body)


#: The first bytes of a body ``json.detect_encoding`` may read as UTF-16/32: a zero byte, or
#: the start of a UTF-16/32 byte-order mark.
_WIDE_FIRST = frozenset(b"\x00\xfe\xff")
JSON_WHITESPACE = " \t\r\n"
_WIDE_WINDOW = 4096


def may_open_wide(head: bytes) -> bool:
    """Could a body opening with these (fewer than four) bytes be UTF-16/32 to ``json.loads``?"""
    return len(head) < 2 or head[0] in _WIDE_FIRST or head[1] == 0


def wide_json_encoding(body: bytes) -> str | None:
    """The encoding ``json.loads(body)`` reads the body in when it is UTF-16/32 (``json.detect_encoding``:
    a byte-order mark, or the zero bytes of ASCII characters), else ``None``.

    Python's clients parse the bytes that way whatever the Content-Type says
    (``httpx.Response.json()`` is ``json.loads(response.content)``). Only a body whose first
    two bytes could start such a reading costs more than two byte compares.
    """
    if len(body) < 2 or body[0] not in _WIDE_FIRST and body[1] != 0:
        return None
    encoding = json.detect_encoding(body[:4])
    return None if encoding.startswith("utf-8") else encoding


def wide_decoder(encoding: str) -> codecs.IncrementalDecoder:
    """An incremental decoder for :func:`wide_json_encoding`'s answer (a byte-order mark dropped)."""
    return codecs.getincrementaldecoder(encoding)("ignore")


def opens_like_wide_json(body: bytes) -> bool:
    """Does ``json.loads`` read the body as UTF-16/32, and does it open like JSON there
    (``{`` or ``[`` after JSON white space)? Time linear in the white space it skips."""
    encoding = wide_json_encoding(body)
    if encoding is None:
        return False
    decoder = wide_decoder(encoding)
    for start in range(0, len(body), _WIDE_WINDOW):
        text = decoder.decode(body[start : start + _WIDE_WINDOW]).lstrip(JSON_WHITESPACE)
        if text:
            return text[0] in "[{"
    return False


#: Input handed to a zlib decoder at a time: doubling from a small first piece, so that the
#: bytes after a gzip member (which zlib copies into ``unused_data``) stay within twice the
#: member's size, and a body of many tiny members decodes in linear time.
_FIRST_PIECE = 64
_MAX_PIECE = 64 * 1024


class _Inflater:
    """Incremental zlib/gzip/raw deflate within ``limit`` output bytes; after the stream, further
    gzip ``members`` or an error. Output is collected in a list and joined once (linear)."""

    def __init__(self, wbits: int, limit: int, members: bool = False) -> None:
        self.wbits, self.limit, self.members = wbits, limit, members
        self.total = 0
        self._decoder: Any = None
        self._piece = _FIRST_PIECE
        self._ended = False  # at least one stream ended

    def feed(self, data: bytes) -> list[bytes]:
        view = memoryview(data)
        size = len(data)
        out: list[bytes] = []
        pos = 0
        while pos < size:
            decoder = self._decoder
            if decoder is None:
                if self._ended and not self.members:
                    raise BodyDecodeError("data after the compressed body")
                decoder = self._decoder = zlib.decompressobj(self.wbits)
                self._piece = _FIRST_PIECE
            piece = view[pos : pos + self._piece]
            try:
                chunk = decoder.decompress(piece, self.limit + 1 - self.total)
            except zlib.error as exc:
                raise BodyDecodeError("body cannot be decompressed") from exc
            self.total += len(chunk)
            if self.total > self.limit:  # the cap stops zlib at limit + 1 bytes: a bomb stops here
                raise DecodedTooLarge
            out.append(chunk)
            if decoder.eof:
                pos += len(piece) - len(decoder.unused_data)
                self._decoder = None
                self._ended = True
            else:
                pos += len(piece)
                self._piece = min(2 * self._piece, _MAX_PIECE)
        return out

    def end(self) -> list[bytes]:
        if self._decoder is not None or not self._ended:
            raise BodyDecodeError("compressed body is truncated")
        return []


def _inflate(body: bytes, wbits: int, limit: int, members: bool = False) -> bytes:
    """Inflate within ``limit``; bytes after the stream are further gzip ``members``, or an error.

    A gzip body may hold several members (RFC 1952), and decoders read them all:
    scanning only the first would let the others through unread.
    """
    inflater = _Inflater(wbits, limit, members)
    out = inflater.feed(body)
    inflater.end()
    return b"".join(out)


def _gunzip(body: bytes, limit: int) -> bytes:
    return _inflate(body, 16 + zlib.MAX_WBITS, limit, members=True)


def _deflate(body: bytes, limit: int) -> bytes:
    # "deflate" is zlib-wrapped by the RFC, raw by some servers: accept both, as browsers do.
    try:
        return _inflate(body, zlib.MAX_WBITS, limit)
    except BodyDecodeError:
        return _inflate(body, -zlib.MAX_WBITS, limit)


def _brotli_decoder() -> Callable[[bytes, int], bytes] | None:
    try:
        import brotli  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None

    try:  # brotli >= 1.2 can cap each call's output; an 809-byte body may inflate to 512 MiB
        brotli.Decompressor().process(b"", output_buffer_limit=1)
        capped = True
    except TypeError:  # pragma: no cover - older brotli
        capped = False

    def decode(body: bytes, limit: int) -> bytes:
        decoder = brotli.Decompressor()
        out: list[bytes] = []
        total = 0
        try:
            if capped:
                first = decoder.process(body, output_buffer_limit=limit + 1)
                out.append(first)
                total = len(first)
                # Output held back by the cap comes out with empty input, a bounded piece at a time.
                while total <= limit and not decoder.is_finished() and not decoder.can_accept_more_data():
                    more = decoder.process(b"", output_buffer_limit=limit + 1 - total)
                    if not more:
                        break
                    out.append(more)
                    total += len(more)
                if total > limit:
                    raise DecodedTooLarge
            else:  # pragma: no cover - older brotli: small slices bound each call's output
                for start in range(0, len(body), 64):
                    more = decoder.process(body[start : start + 64])
                    out.append(more)
                    total += len(more)
                    if total > limit:
                        raise DecodedTooLarge
            if not decoder.is_finished():
                raise BodyDecodeError("compressed body is truncated")
        except brotli.error as exc:
            raise BodyDecodeError("body cannot be decompressed") from exc
        return b"".join(out)

    return decode


def _zstd_decoder() -> Callable[[bytes, int], bytes] | None:
    if _zstd_frames() is None:
        return None

    def decode(body: bytes, limit: int) -> bytes:
        stage = _ZstdFrames(limit)
        out = stage.feed(body)
        out.extend(stage.end())
        return b"".join(out)

    return decode


@functools.lru_cache(maxsize=1)
def _zstd_frames() -> Any:
    """A ``zstandard.ZstdDecompressor`` (shareable: each frame gets its own decompressobj), or ``None``."""
    try:
        import zstandard  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    return zstandard.ZstdDecompressor()


_FIRST_ZSTD_PIECE = 16
_MAX_ZSTD_GROWTH = 256


class _ZstdFrames:
    """Every zstd frame in turn (decoders read them all), within ``limit`` output bytes.

    zstd has no output cap per call, so input goes in small pieces: four input bytes make at most
    128 KiB (an RLE block), so a piece grows (doubling from 16 bytes, as a gzip member's do) only
    to 1/32768 of the room left under the limit, or 256 bytes: one call's output passes the
    limit by 8 MiB at most. A body that ends inside a frame is truncated (``stream_reader``
    returned nothing for it).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        self._frames = _zstd_frames()
        self._error: type[Exception] = self._frames_error()
        self._decoder: Any = None
        self._piece = _FIRST_ZSTD_PIECE
        self._ended = False

    @staticmethod
    def _frames_error() -> type[Exception]:
        import zstandard  # type: ignore[import-not-found,import-untyped,unused-ignore]

        error: type[Exception] = zstandard.ZstdError
        return error

    def feed(self, data: bytes) -> list[bytes]:
        view = memoryview(data)
        size = len(data)
        out: list[bytes] = []
        pos = 0
        while pos < size:
            if self._decoder is None:
                self._decoder = self._frames.decompressobj()
                self._piece = _FIRST_ZSTD_PIECE
            piece = view[pos : pos + self._piece]
            try:
                chunk = self._decoder.decompress(piece)
            except self._error as exc:
                raise BodyDecodeError("body cannot be decompressed") from exc
            self.total += len(chunk)
            if self.total > self.limit:
                raise DecodedTooLarge
            out.append(chunk)
            if self._decoder.eof:
                pos += len(piece) - len(self._decoder.unused_data)
                self._decoder = None
                self._ended = True
            else:
                pos += len(piece)
                room = max(_MAX_ZSTD_GROWTH, (self.limit - self.total) >> 15)
                self._piece = min(2 * self._piece, room, _MAX_PIECE)
        return out

    def end(self) -> list[bytes]:
        if self._decoder is not None or not self._ended:
            raise BodyDecodeError("compressed body is truncated")
        return []


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {"gzip": _gunzip, "x-gzip": _gunzip, "deflate": _deflate}
for _name, _factory in (("br", _brotli_decoder), ("zstd", _zstd_decoder)):
    _decoder = _factory()
    if _decoder is not None:
        DECODERS[_name] = _decoder


#: The codings Chromium undoes (``FilterSourceStream::ParseEncodingType``; ``dcb`` and ``dcz`` are
#: Compression Dictionary Transport's). Any other name, ``identity`` included, makes it read the
#: raw bytes, every coding undone by none.
BROWSER_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "dcb", "dcz"})


def browser_only_codings(content_encoding: str) -> bool:
    """Does a browser undo every coding of a ``Content-Encoding`` where respguard can't undo one:
    ``br`` without the ``brotli`` package, ``zstd`` without ``zstandard``, ``dcb``, ``dcz``? Then
    the body a script reads (``fetch().json()`` parses bob's br-compressed record, whatever its
    type) is neither the raw bytes nor any reading respguard has."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    return all(c in BROWSER_CODINGS for c in codings) and any(c not in DECODERS for c in codings)


def known_codings(content_encoding: str) -> str | None:
    """The codings of a ``Content-Encoding`` that respguard (and httpx) can undo, in order, the
    others dropped: httpx's reading of a body under a coding it doesn't know (it skips it and
    undoes the rest; ``None``: none left, the raw bytes, as browsers read any unknown coding)."""
    known = [c for c in (c.strip().lower() for c in content_encoding.split(",")) if c in DECODERS]
    return ", ".join(known) if known else None


def decode_content(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (possibly several, applied in order) within ``limit`` bytes."""
    if not content_encoding or not body:
        return body
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        if coding in ("", "identity"):
            continue
        decoder = DECODERS.get(coding)
        if decoder is None:
            raise BodyDecodeError("unsupported content-encoding")
        body = decoder(body, limit)
    return body


class _Deflate:
    """Streamed ``deflate``: zlib-wrapped (RFC 9110) or raw, told apart by the zlib header, the
    check zlib itself makes of the first two bytes (a raw stream rarely passes it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._head = b""
        self._inflater: _Inflater | None = None

    def feed(self, data: bytes) -> list[bytes]:
        if self._inflater is None:
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return []
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inflater = _Inflater(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS, self.limit)
            self._head = b""
        return self._inflater.feed(data)

    def end(self) -> list[bytes]:
        if self._inflater is None:
            raise BodyDecodeError("compressed body is truncated")
        return self._inflater.end()


class _Brotli:
    """Streamed ``br``: each call's output capped (brotli >= 1.2), what the cap held back drained."""

    def __init__(self, limit: int) -> None:
        import brotli  # type: ignore[import-not-found,import-untyped,unused-ignore]

        self._error: type[Exception] = brotli.error
        self._decoder: Any = brotli.Decompressor()
        self.limit = limit
        self.total = 0

    def feed(self, data: bytes) -> list[bytes]:
        decoder = self._decoder
        out: list[bytes] = []
        try:
            more = decoder.process(data, output_buffer_limit=self.limit + 1 - self.total)
            while True:
                self.total += len(more)
                if self.total > self.limit:
                    raise DecodedTooLarge
                out.append(more)
                if not more or decoder.is_finished() or decoder.can_accept_more_data():
                    return out
                more = decoder.process(b"", output_buffer_limit=self.limit + 1 - self.total)
        except self._error as exc:
            raise BodyDecodeError("body cannot be decompressed") from exc

    def end(self) -> list[bytes]:
        if not self._decoder.is_finished():
            raise BodyDecodeError("compressed body is truncated")
        return []


class StreamDecoder:
    """``decode_content`` for a body that streams: each ``feed()`` gives the decoded bytes it can,
    ``end()`` the rest, and checks the body ended where its coding does.

    The same rules and errors as ``decode_content``: every coding applied in order is undone,
    each within ``limit`` output bytes (:class:`DecodedTooLarge`); an unknown coding, a corrupt or
    truncated body or data after a non-gzip stream raise :class:`BodyDecodeError`; an empty body
    is empty. A decoder is spent once it raised.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self._stages: list[_Inflater | _Deflate | _Brotli | _ZstdFrames] = []
        for coding in reversed([c.strip().lower() for c in (content_encoding or "").split(",")]):
            if coding in ("", "identity"):
                continue
            if coding not in DECODERS:
                raise BodyDecodeError("unsupported content-encoding")
            if coding in ("gzip", "x-gzip"):
                self._stages.append(_Inflater(16 + zlib.MAX_WBITS, limit, members=True))
            elif coding == "deflate":
                self._stages.append(_Deflate(limit))
            elif coding == "br":
                self._stages.append(_Brotli(limit))
            else:
                self._stages.append(_ZstdFrames(limit))
        self._fed = False

    def feed(self, chunk: bytes) -> bytes:
        if chunk:
            self._fed = True
        for stage in self._stages:
            if not chunk:
                return b""
            chunk = b"".join(stage.feed(chunk))
        return chunk

    def end(self) -> bytes:
        if not self._fed:
            return b""  # as decode_content: an empty body decodes to itself
        out = b""
        for stage in self._stages:
            parts = stage.feed(out) if out else []
            parts.extend(stage.end())
            out = b"".join(parts)
        return out
