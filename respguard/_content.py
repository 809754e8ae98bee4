"""What a response body is: its media class, its charset, its decoded bytes."""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Iterable

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

_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)


class BodyDecodeError(Exception):
    """The body cannot be turned into text or un-compressed; the guard blocks it."""


class DecodedTooLarge(Exception):
    """Un-compressing the body would exceed the size limit (a decompression bomb)."""


@functools.lru_cache(maxsize=512)  # a pure function of a header value apps repeat
def media_class(content_type: str | None) -> tuple[str, str]:
    """Map a ``Content-Type`` to ``(class, media type)``; class is json, html, text or other."""
    if not content_type:
        return OTHER, ""
    media = content_type.split(";", 1)[0].strip().lower()
    # WHATWG's "JSON MIME type": application/json, text/json, or any */*+json.
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return JSON, media
    if media in ("text/html", "application/xhtml+xml"):
        return HTML, media
    if media.startswith("text/"):
        return TEXT, media
    return OTHER, media


def content_types(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every media type the response names: repeated and comma-joined Content-Type values.

    Browsers use the last valid one (Fetch's "extract a MIME type"); respguard reads
    the first, so the guard refuses a response whose values disagree.
    """
    found = []
    for key, value in headers:
        if key.lower() == b"content-type":
            for item in value.decode("latin-1").split(","):
                item = item.strip()
                essence = item.split(";", 1)[0].strip()
                if "/" in essence and essence != "*/*":
                    found.append(item)
    return found


@functools.lru_cache(maxsize=512)
def declared_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return match.group(1).lower() if match else None


def sniff_media(head: bytes) -> str | None:
    """What clients make of a body served without a Content-Type, from its first bytes.

    Scripts parse JSON whatever the type says, and browsers render a body that opens
    with a tag as HTML (WHATWG MIME Sniffing): ``{``/``[`` is JSON, ``<`` is HTML,
    anything else :data:`OTHER` (not scanned). ``None``: only white space (or part of
    a byte-order mark) so far, the next bytes decide.
    """
    text = head.lstrip(b" \t\r\n\x0c")
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:].lstrip(b" \t\r\n\x0c")
    if b"\xef\xbb\xbf".startswith(text):
        return None
    first = text[:1]
    if first in (b"{", b"["):
        return JSON
    if first == b"<":
        return HTML
    return OTHER


_JSON_START = re.compile(rb"[ \t\r\n\f]*(?:\xef\xbb\xbf[ \t\r\n\f]*)?[\[{]")


def looks_like_json(body: bytes) -> bool:
    """Does the body open like a JSON object or array (after white space and a byte-order mark)?

    Scripts parse JSON whatever the Content-Type says: ``json.dumps()`` returned from a
    Flask view goes out as ``text/html``, and some APIs send ``text/plain``.
    """
    return _JSON_START.match(body) is not None


def bom_charset(body: bytes) -> str | None:
    """The encoding a byte-order mark names: browsers obey it over any declared charset."""
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if body.startswith(b"\xff\xfe"):
        return "utf-16-le"
    if body.startswith(b"\xfe\xff"):
        return "utf-16-be"
    return None


#: WHATWG's labels of UTF-16: a <meta> naming one means UTF-8 (the page's bytes were read as
#: ASCII to find it), and x-user-defined means windows-1252 (HTML "prescan a byte stream").
_META_UTF16 = frozenset(
    {"utf-16", "utf-16le", "utf-16be", "utf-16-le", "utf-16-be", "ucs-2", "unicode", "csunicode", "unicodefffe",
     "unicodefeff", "iso-10646-ucs-2"}
)  # fmt: skip


def sniff_html_charset(body: bytes) -> str | None:
    """The ``<meta charset>`` in the first 1024 bytes, as browsers look for it."""
    match = _META_CHARSET.search(body, 0, 1024)
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    if label in _META_UTF16:
        return "utf-8"
    if label == "x-user-defined":
        return "windows-1252"
    return label


#: Encodings whose ASCII characters are the same single bytes, so a byte search for
#: an ASCII attribute or key finds exactly what a text search would.
ASCII_SAFE = frozenset(
    {
        "utf-8",
        "utf8",
        "us-ascii",
        "ascii",
        "iso-8859-1",
        "latin-1",
        "latin1",
        "windows-1252",
        "cp1252",
        "shift_jis",
        "shift-jis",
        "sjis",
        "cp932",
        "windows-31j",
        "euc-jp",
        "eucjp",
        "iso-8859-15",
        "windows-1251",
        "koi8-r",
        "gbk",
        "gb2312",
        "gb18030",
        "euc-kr",
        "big5",
    }
)


def _inflate(body: bytes, wbits: int, limit: int, members: bool = False) -> bytes:
    """Inflate within ``limit``; bytes after the stream are further gzip ``members``, or an error.

    A gzip body may hold several members (RFC 1952), and decoders read them all:
    scanning only the first would let the others through unread.
    """
    out = b""
    data = body
    while True:
        decoder = zlib.decompressobj(wbits)
        try:
            out += decoder.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise BodyDecodeError("body cannot be decompressed") from exc
        if len(out) > limit:
            raise DecodedTooLarge
        if not decoder.eof:
            raise BodyDecodeError("compressed body is truncated")
        data = decoder.unused_data
        if not data:
            return out
        if not members:
            raise BodyDecodeError("data after the compressed body")


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
        out = b""
        try:
            if capped:
                out = decoder.process(body, output_buffer_limit=limit + 1)
                # Output held back by the cap comes out with empty input, a bounded piece at a time.
                while len(out) <= limit and not decoder.is_finished() and not decoder.can_accept_more_data():
                    more = decoder.process(b"", output_buffer_limit=limit + 1 - len(out))
                    if not more:
                        break
                    out += more
                if len(out) > limit:
                    raise DecodedTooLarge
            else:  # pragma: no cover - older brotli: small slices bound each call's output
                for start in range(0, len(body), 64):
                    out += decoder.process(body[start : start + 64])
                    if len(out) > limit:
                        raise DecodedTooLarge
            if not decoder.is_finished():
                raise BodyDecodeError("compressed body is truncated")
        except brotli.error as exc:
            raise BodyDecodeError("body cannot be decompressed") from exc
        return bytes(out)

    return decode


def _zstd_decoder() -> Callable[[bytes, int], bytes] | None:
    try:
        import zstandard  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None

    def decode(body: bytes, limit: int) -> bytes:
        try:
            # Every frame is read (decoders read them all), until the end or past the limit.
            reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
            out = b""
            while len(out) <= limit:
                chunk = reader.read(limit + 1 - len(out))
                if not chunk:
                    break
                out += chunk
            if len(out) > limit:
                raise DecodedTooLarge
        except zstandard.ZstdError as exc:
            raise BodyDecodeError("body cannot be decompressed") from exc
        return out

    return decode


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {"gzip": _gunzip, "x-gzip": _gunzip, "deflate": _deflate}
for _name, _factory in (("br", _brotli_decoder), ("zstd", _zstd_decoder)):
    _decoder = _factory()
    if _decoder is not None:
        DECODERS[_name] = _decoder


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


def decode_text(body: bytes, content_type_charset: str | None, media: str) -> tuple[str, str]:
    """Decode ``body`` for a text scan; returns (text, charset)."""
    charset = content_type_charset or (sniff_html_charset(body) if media == HTML else None) or "utf-8"
    # The charset name comes from the response (header or <meta>): never put it in a reason.
    try:
        return body.decode(charset), charset
    except LookupError as exc:
        raise BodyDecodeError("body declares an unknown charset") from exc
    except UnicodeDecodeError as exc:
        raise BodyDecodeError("body cannot be decoded in its charset") from exc
