"""A reader model: what a browser and a script take from a response, by the web standards.

respguard is only as safe as its agreement with the client, so the tests need an independent
statement of what the client reads. This module is that statement, written from the standards
and checked against a real Chromium by ``tests/test_browser_oracle.py``. It imports nothing of
respguard.

``read(status, headers, body)`` takes the response as it goes on the wire (raw header pairs,
body bytes, possibly content-coded) and returns a :class:`Seen`:

- ``script``: owners a script gets from ``fetch(url).json()`` (Fetch "UTF-8 decode": BOM
  stripped, invalid bytes replaced, whatever the charset; then ECMAScript ``JSON.parse``, which
  has no depth limit and whose numbers are doubles, so ``8.0`` is ``8``), plus, for JSON-lines
  and JSON-text-sequence types, a lenient line reader (``text()`` split at CR, LF or RS, each
  piece through ``JSON.parse``);
- ``events``: owners in the ``data`` of the messages an ``EventSource`` dispatches (HTML
  standard event-stream interpretation; each event's data through ``JSON.parse``);
- ``html``: ``data-owner`` attribute values in the document a browser renders (Fetch "extract a
  MIME type" over every ``Content-Type`` value, MIME sniffing when there is none, the HTML
  encoding sniffing algorithm, the WHATWG tokenizer and tree builder via html5lib);
- ``emails``: distinct e-mail addresses on screen (the rendered text, tags removed: so
  ``a<wbr>@b.example`` is an address) or in the values a script parses.

Owners are compared as a script compares them: ``String(value)``. Extractors modelled:
``JsonKeys("user_id", "owner_id")`` and ``HtmlAttribute("data-owner")``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import html5lib
import webencodings

OWNER_KEYS = ("user_id", "owner_id")
OWNER_ATTRIBUTE = "data-owner"
#: Event types the browser harness listens for (``onmessage`` plus ``addEventListener``).
EVENT_TYPES = ("message", "update")

Header = tuple[str, str]


# ------------------------------------------------------------------ Fetch: headers and MIME types

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED_TOKEN = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_HTTP_WS = "\t\n\r "
_HTTP_TAB_OR_SPACE = "\t "


def header_values(headers: Iterable[tuple[Any, Any]], name: str) -> list[str]:
    """Every value of header ``name``, isomorphic-decoded (bytes as latin-1), in order."""
    out = []
    for key, value in headers:
        k = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if k.lower() == name:
            out.append(value.decode("latin-1") if isinstance(value, bytes) else str(value))
    return out


def _collect_quoted(text: str, pos: int, extract: bool) -> tuple[str, int]:
    """Fetch "collect an HTTP quoted string" starting at the ``"`` at ``pos``."""
    start = pos
    value = []
    pos += 1
    while True:
        end = pos
        while end < len(text) and text[end] not in '"\\':
            end += 1
        value.append(text[pos:end])
        pos = end
        if pos >= len(text):
            break
        char = text[pos]
        pos += 1
        if char == "\\":
            if pos >= len(text):
                value.append("\\")
                break
            value.append(text[pos])
            pos += 1
        else:
            break
    return ("".join(value) if extract else text[start:pos]), pos


def get_decode_split(headers: Iterable[tuple[Any, Any]], name: str) -> list[str] | None:
    """Fetch "get, decode, and split" a header: all values combined, split at commas outside quotes."""
    found = header_values(headers, name)
    if not found:
        return None
    text = ", ".join(found)
    values: list[str] = []
    pos = 0
    temporary = ""
    while True:
        end = pos
        while end < len(text) and text[end] not in '",':
            end += 1
        temporary += text[pos:end]
        pos = end
        if pos < len(text):
            if text[pos] == '"':
                quoted, pos = _collect_quoted(text, pos, extract=False)
                temporary += quoted
                if pos < len(text):
                    continue
            else:
                pos += 1
        values.append(temporary.strip(_HTTP_TAB_OR_SPACE))
        temporary = ""
        if pos >= len(text):
            return values


@dataclass
class MimeType:
    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def essence(self) -> str:
        return f"{self.type}/{self.subtype}"


def parse_mime_type(text: str) -> MimeType | None:
    """MIME Sniffing standard "parse a MIME type"; ``None`` is failure."""
    text = text.strip(_HTTP_WS)
    slash = text.find("/")
    if slash < 0:
        return None
    type_ = text[:slash]
    if not _TOKEN.fullmatch(type_):
        return None
    pos = slash + 1
    end = text.find(";", pos)
    end = len(text) if end < 0 else end
    subtype = text[pos:end].rstrip(_HTTP_WS)
    if not _TOKEN.fullmatch(subtype):
        return None
    mime = MimeType(type_.lower(), subtype.lower())
    pos = end
    while pos < len(text):
        pos += 1  # the ";"
        while pos < len(text) and text[pos] in _HTTP_WS:
            pos += 1
        end = pos
        while end < len(text) and text[end] not in ";=":
            end += 1
        name = text[pos:end].lower()
        pos = end
        if pos < len(text):
            if text[pos] == ";":
                continue
            pos += 1  # the "="
        if pos >= len(text):
            break
        if text[pos] == '"':
            value, pos = _collect_quoted(text, pos, extract=True)
            while pos < len(text) and text[pos] != ";":
                pos += 1
        else:
            end = text.find(";", pos)
            end = len(text) if end < 0 else end
            value = text[pos:end].rstrip(_HTTP_WS)
            pos = end
            if not value:
                continue
        if name and _TOKEN.fullmatch(name) and _QUOTED_TOKEN.fullmatch(value) and name not in mime.params:
            mime.params[name] = value
    return mime


def extract_mime_type(headers: Iterable[tuple[Any, Any]]) -> MimeType | None:
    """Fetch "extract a MIME type": the last valid value wins; a charset carries over within one essence."""
    values = get_decode_split(headers, "content-type")
    if values is None:
        return None
    charset: str | None = None
    essence: str | None = None
    mime: MimeType | None = None
    for value in values:
        candidate = parse_mime_type(value)
        if candidate is None or candidate.essence == "*/*":
            continue
        mime = candidate
        if mime.essence != essence:
            charset = mime.params.get("charset")
            essence = mime.essence
        elif "charset" not in mime.params and charset is not None:
            mime.params["charset"] = charset
    return mime


def content_decode(headers: Iterable[tuple[Any, Any]], body: bytes) -> bytes | None:
    """Undo ``Content-Encoding`` as the browser's network stack does; ``None``: it can't be read."""
    codings = [c.strip().lower() for v in header_values(headers, "content-encoding") for c in v.split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        try:
            if coding in ("gzip", "x-gzip"):
                body = _gunzip(body)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
            else:
                return None
        except (zlib.error, EOFError):
            return None
    return body


def _gunzip(data: bytes) -> bytes:
    """Every gzip member, in order (the network stack reads the members one after another)."""
    out = []
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out.append(inflater.decompress(data))
        if not inflater.eof:
            raise EOFError("truncated gzip member")
        data = inflater.unused_data
    return b"".join(out)


# ------------------------------------------------------------------ MIME sniffing (what a browser renders)

HTML_TYPES = frozenset({"text/html"})
JSON_LINES_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
        "application/json-seq",
    }
)
_WS_BYTES = b"\t\n\x0c\r "
_HTML_PATTERNS = (
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
)
_BINARY_BYTES = frozenset(list(range(0x00, 0x09)) + [0x0B] + list(range(0x0E, 0x1B)) + list(range(0x1C, 0x20)))


def is_xml_essence(essence: str) -> bool:
    """An XML type Blink renders as an XML document (``DOMImplementation::IsXMLMIMEType``): MIME
    Sniffing's, and ``text/xsl``."""
    return essence in ("text/xml", "application/xml", "text/xsl") or essence.endswith("+xml")


def sniff_unknown(body: bytes) -> str:
    """MIME Sniffing "rules for identifying an unknown MIME type" (sniff-scriptable): a MIME essence."""
    head = body[:1445]
    stripped = head.lstrip(_WS_BYTES)
    upper = stripped.upper()
    for pattern in _HTML_PATTERNS:
        if upper.startswith(pattern) and len(stripped) > len(pattern) and stripped[len(pattern)] in b" >":
            return "text/html"
    if stripped.startswith(b"<?xml"):
        return "text/xml"
    if stripped.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:2] in (b"\xfe\xff", b"\xff\xfe") or head[:3] == b"\xef\xbb\xbf":
        return "text/plain"
    if any(byte in _BINARY_BYTES for byte in head):
        return "application/octet-stream"
    return "text/plain"


def rendered_type(headers: Iterable[tuple[Any, Any]], body: bytes) -> str:
    """The MIME essence a browsing context renders the response as."""
    headers = list(headers)
    mime = extract_mime_type(headers)
    nosniff = any(v.strip().lower().startswith("nosniff") for v in header_values(headers, "x-content-type-options"))
    if mime is None or mime.essence in ("unknown/unknown", "application/unknown"):
        return "text/plain" if nosniff and mime is None else sniff_unknown(body)
    return mime.essence


# ------------------------------------------------------------------ WHATWG Encoding and the HTML prescan


def lookup_label(label: str | None) -> str | None:
    """The WHATWG encoding name for ``label``, or ``None`` for a label browsers don't know."""
    if label is None:
        return None
    encoding = webencodings.lookup(label)
    return None if encoding is None else str(encoding.name)


def bom_encoding(body: bytes) -> str | None:
    if body.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    if body.startswith(b"\xfe\xff"):
        return "utf-16be"
    if body.startswith(b"\xff\xfe"):
        return "utf-16le"
    return None


def prescan(body: bytes) -> str | None:
    """HTML "prescan a byte stream to determine its encoding" over the first 1024 bytes (html5lib's)."""
    from html5lib._inputstream import EncodingParser

    found = EncodingParser(body[:1024]).getEncoding()
    if found is None:
        return None
    name = str(found.name)
    if name in ("utf-16be", "utf-16le"):
        return "utf-8"
    if name == "x-user-defined":
        return "windows-1252"
    return name


def html_encoding(mime: MimeType | None, body: bytes) -> tuple[str, str]:
    """HTML encoding sniffing: ``(encoding, source)``, source one of bom, header, xml, meta, default."""
    bom = bom_encoding(body)
    if bom is not None:
        return bom, "bom"
    header = lookup_label(mime.params.get("charset")) if mime is not None else None
    if header is not None:
        return header, "header"
    # Chromium's XML-declaration check (XML 1.0 appendix F): "<?xm" in UTF-16 without a BOM.
    if body.startswith(b"<\x00?\x00x\x00m\x00"):
        return "utf-16le", "xml"
    if body.startswith(b"\x00<\x00?\x00x\x00m"):
        return "utf-16be", "xml"
    meta = prescan(body)
    if meta is not None:
        return meta, "meta"
    return "windows-1252", "default"


def decode(body: bytes, encoding: str) -> str:
    """Decode as the Encoding standard's decode does: a BOM wins and is removed; errors are replaced."""
    bom = bom_encoding(body)
    if bom is not None:
        encoding = bom
        body = body[3:] if bom == "utf-8" else body[2:]
    codec = webencodings.lookup(encoding)
    assert codec is not None, encoding
    return str(codec.codec_info.decode(body, "replace")[0])


def utf8_decode(body: bytes) -> str:
    """Encoding standard "UTF-8 decode": strip one UTF-8 BOM, replace invalid sequences."""
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return body.decode("utf-8", "replace")


# ------------------------------------------------------------------ ECMAScript JSON.parse


class JSONSyntaxError(ValueError):
    """What JSON.parse throws."""


_JS_WS = re.compile(r"[\t\n\r ]*")
_JS_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_JS_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}


def js_json_parse(text: str) -> Any:
    """ECMAScript JSON.parse, iteratively (no depth limit); numbers are doubles, the last duplicate key wins."""
    pos = _JS_WS.match(text, 0).end()  # type: ignore[union-attr]
    # Each frame: [container, pending key (objects), state]
    stack: list[list[Any]] = []
    value: Any = None
    while True:
        # --- parse one value start at pos
        if pos >= len(text):
            raise JSONSyntaxError("unexpected end")
        char = text[pos]
        if char == "{" or char == "[":
            container: Any = {} if char == "{" else []
            pos = _JS_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            closer = "}" if char == "{" else "]"
            if pos < len(text) and text[pos] == closer:
                value = container
                pos += 1
            else:
                frame: list[Any] = [container, None]
                stack.append(frame)
                if char == "{":
                    pos = _object_key(text, pos, frame)
                continue
        elif char == '"':
            match = _JS_STRING.match(text, pos)
            if match is None:
                raise JSONSyntaxError("bad string")
            value = json.loads(match.group())
            pos = match.end()
        elif char == "-" or char.isdigit():
            match = _JS_NUMBER.match(text, pos)
            if match is None:
                raise JSONSyntaxError("bad number")
            value = float(match.group())
            pos = match.end()
        else:
            for word, literal in _LITERALS.items():
                if text.startswith(word, pos):
                    value = literal
                    pos += len(word)
                    break
            else:
                raise JSONSyntaxError("unexpected token")
        # --- a value is complete: attach it to the open containers
        while True:
            pos = _JS_WS.match(text, pos).end()  # type: ignore[union-attr]
            if not stack:
                if pos != len(text):
                    raise JSONSyntaxError("trailing text")
                return value
            frame = stack[-1]
            container = frame[0]
            if isinstance(container, dict):
                container[frame[1]] = value
                closer = "}"
            else:
                container.append(value)
                closer = "]"
            if pos < len(text) and text[pos] == ",":
                pos = _JS_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
                if isinstance(container, dict):
                    pos = _object_key(text, pos, frame)
                break
            if pos < len(text) and text[pos] == closer:
                stack.pop()
                value = container
                pos += 1
                continue
            raise JSONSyntaxError("expected , or close")


def _object_key(text: str, pos: int, frame: list[Any]) -> int:
    match = _JS_STRING.match(text, pos)
    if match is None:
        raise JSONSyntaxError("expected a key")
    frame[1] = json.loads(match.group())
    pos = _JS_WS.match(text, match.end()).end()  # type: ignore[union-attr]
    if pos >= len(text) or text[pos] != ":":
        raise JSONSyntaxError("expected :")
    return _JS_WS.match(text, pos + 1).end()  # type: ignore[union-attr]


def js_number_to_string(x: float) -> str:
    """ECMAScript Number::toString(x) (radix 10)."""
    if x != x:
        return "NaN"
    if x == 0:
        return "0"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    sign = "-" if x < 0 else ""
    mantissa, _, exponent = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    n = len(whole) + int(exponent or 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    exp = ("+" if e >= 0 else "-") + str(abs(e))
    if k == 1:
        return sign + digits + "e" + exp
    return sign + digits[0] + "." + digits[1:] + "e" + exp


def js_string(value: Any) -> str:
    """``String(value)`` for a JSON.parse value."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return js_number_to_string(value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return str(value)


def json_owners(value: Any, keys: Sequence[str] = OWNER_KEYS) -> set[str]:
    """Owners a script reads from a parsed value: the values of ``keys`` at any depth.

    A list under a key names one owner per item, at any depth (``[[9]]`` is owner ``9``);
    ``null`` and ``""`` name none; anything else is ``String(value)`` (an object is foreign).
    """
    owners: set[str] = set()
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if key in keys:
                    owners.update(_owner_items(item))
                todo.append(item)
        elif isinstance(node, list):
            todo.extend(node)
    return owners


def _owner_items(value: Any) -> Iterator[str]:
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
        elif node is not None and node != "":
            yield js_string(node)


def json_strings(value: Any) -> Iterator[str]:
    """Every string (keys too) in a parsed value."""
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            yield from node.keys()
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
        elif isinstance(node, str):
            yield node


def parse_or_none(text: str) -> Any:
    try:
        return js_json_parse(text)
    except JSONSyntaxError:
        return _NOT_JSON


_NOT_JSON: Any = object()


def json_lines(text: str) -> list[Any]:
    """A lenient JSON-lines / json-seq reader: split at CR, LF and RS; every piece that parses."""
    out = []
    for piece in re.split(r"[\r\n\x1e]+", text):
        if piece.strip(" \t"):
            parsed = parse_or_none(piece)
            if parsed is not _NOT_JSON:
                out.append(parsed)
    return out


# ------------------------------------------------------------------ EventSource


_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n)")


def event_stream(body: bytes) -> list[tuple[str, str]]:
    """HTML "interpreting an event stream": ``[(type, data), ...]`` of the events dispatched.

    UTF-8 decode (one BOM dropped, errors replaced); a line ends at CR, LF or CRLF; ``data``
    lines join with LF; a blank line dispatches; an event cut by the end is not dispatched.
    """
    text = utf8_decode(body)
    events: list[tuple[str, str]] = []
    data: list[str] = []
    event_type = ""
    for match in _LINE.finditer(text):
        line = match.group(1)
        if line == "":
            if data:
                events.append((event_type or "message", "\n".join(data)))
            data = []
            event_type = ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
    return events


# ------------------------------------------------------------------ HTML: the DOM and the rendered text

_NOT_RENDERED = frozenset({"head", "script", "style", "template", "noscript", "title", "textarea", "iframe", "noembed"})
_BLOCK = frozenset(
    """address article aside blockquote body br dd div dl dt fieldset figcaption figure footer form h1 h2 h3 h4
    h5 h6 header hr li main nav ol p pre section table td th tr ul""".split()
)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def html_dom(text: str) -> tuple[list[str], str]:
    """``data-owner`` values in the DOM (template contents excluded) and the rendered text."""
    root = html5lib.parse(text, treebuilder="etree", namespaceHTMLElements=False, scripting=True)
    owners: list[str] = []
    pieces: list[str] = []
    # Iterative walk in document order: an element, or a string to emit; (element, on screen?).
    work: list[Any] = [(root, True)]
    while work:
        item = work.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        node, shown = item
        name = _local(node.tag)
        if node.tail and shown:
            work.append(node.tail)
        if name == "template" or not isinstance(node.tag, str):
            continue  # template contents are not in the document; comments are not on screen
        for key, value in node.attrib.items():
            if isinstance(key, str) and key.lower() == OWNER_ATTRIBUTE:
                owners.append(value)
        inner = shown and name not in _NOT_RENDERED
        block = inner and name in _BLOCK
        if block:
            work.append("\n")
        for child in reversed(list(node)):
            work.append((child, inner))
        if inner and node.text:
            work.append(node.text)
        if block:
            work.append("\n")
    return owners, "".join(pieces)


def changed_encoding(text: str, current: str) -> str | None:
    """HTML "change the encoding": the first ``<meta>`` the tree builder processes that names another encoding.

    With tentative confidence (the encoding came from the prescan or the default) a ``meta``
    start tag with a ``charset``, or ``http-equiv=content-type`` with a charset in ``content``,
    handled "in head" (also from "in body"), switches the document to that encoding.
    """
    if current in ("utf-16be", "utf-16le"):
        return None
    root = html5lib.parse(text, treebuilder="etree", namespaceHTMLElements=False, scripting=True)
    for element in root.iter():
        if not isinstance(element.tag, str) or _local(element.tag) != "meta":
            continue
        label = element.get("charset")
        if label is None and (element.get("http-equiv") or "").strip().lower() == "content-type":
            label = _charset_from_content(element.get("content") or "")
        found = lookup_label(label)
        if found is None:
            continue
        if found in ("utf-16be", "utf-16le"):
            found = "utf-8"
        if found == "x-user-defined":
            found = "windows-1252"
        return None if found == current else found
    return None


def _charset_from_content(content: str) -> str | None:
    """HTML "algorithm for extracting a character encoding from a meta element" (the common case)."""
    match = re.search(r"charset\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s;\"']+)", content, re.IGNORECASE)
    if match is None:
        return None
    return match.group(1).strip("\"'")


def xml_owners(body: bytes) -> list[str]:
    """``data-owner`` values of the elements an XML parser produced before any error (browsers render those)."""
    parser = ElementTree.XMLPullParser(events=("start",))
    owners: list[str] = []
    try:
        parser.feed(body)
        parser.close()
    except ElementTree.ParseError:
        pass
    try:
        for _event, element in parser.read_events():
            value = element.attrib.get(OWNER_ATTRIBUTE)
            if value is not None:
                owners.append(value)
    except ElementTree.ParseError:
        pass
    return owners


def emails_in(text: str) -> set[str]:
    return {m.lower() for m in EMAIL.findall(text)}


# ------------------------------------------------------------------ the whole reader


@dataclass
class Seen:
    """What readers take from one response."""

    #: what ``fetch().text()`` gives (``None``: the body could not be content-decoded)
    text: str | None = None
    #: ``fetch().json()`` succeeded, and its value
    parsed: bool = False
    value: Any = None
    script: set[str] = field(default_factory=set)
    #: ``(type, data)`` of the events an EventSource dispatches (types in EVENT_TYPES)
    event_list: list[tuple[str, str]] = field(default_factory=list)
    events: set[str] = field(default_factory=set)
    #: rendered as: a MIME essence; the encoding and where it came from (HTML only)
    rendered: str = ""
    encoding: str = ""
    encoding_source: str = ""
    html: list[str] = field(default_factory=list)
    screen_text: str = ""
    emails: set[str] = field(default_factory=set)

    @property
    def owners(self) -> set[str]:
        return self.script | self.events | set(self.html)

    def foreign(self, requester: str) -> set[str]:
        return {o for o in self.owners if o != requester}


def read(status: int, headers: Iterable[tuple[Any, Any]], body: bytes) -> Seen:
    """What a script and a browser take from the response ``(status, headers, body)``."""
    headers = list(headers)
    seen = Seen()
    decoded = content_decode(headers, body)
    if decoded is None:
        return seen  # the network stack fails the load: nobody reads anything
    mime = extract_mime_type(headers)
    seen.text = utf8_decode(decoded)
    value = parse_or_none(seen.text)
    if value is not _NOT_JSON:
        seen.parsed, seen.value = True, value
        seen.script |= json_owners(value)
        for string in json_strings(value):
            seen.emails |= emails_in(string)
    if mime is not None and (mime.essence in JSON_LINES_TYPES or mime.subtype.endswith("+json-seq")):
        for record in json_lines(seen.text):
            seen.script |= json_owners(record)
            for string in json_strings(record):
                seen.emails |= emails_in(string)
    if status == 200 and mime is not None and mime.essence == "text/event-stream":
        seen.event_list = [e for e in event_stream(decoded) if e[0] in EVENT_TYPES]
        for _type, data in seen.event_list:
            record = parse_or_none(data)
            if record is not _NOT_JSON:
                seen.events |= json_owners(record)
                for string in json_strings(record):
                    seen.emails |= emails_in(string)
    seen.rendered = rendered_type(headers, decoded)
    if seen.rendered in HTML_TYPES:
        seen.encoding, seen.encoding_source = html_encoding(mime, decoded)
        seen.html, seen.screen_text = html_dom(decode(decoded, seen.encoding))
        if seen.encoding_source in ("meta", "default"):
            # Tentative confidence: a <meta> the tree builder meets changes the encoding (re-parse).
            late = changed_encoding(decode(decoded, seen.encoding), seen.encoding)
            if late is not None:
                seen.encoding, seen.encoding_source = late, "changed"
                seen.html, seen.screen_text = html_dom(decode(decoded, late))
    elif is_xml_essence(seen.rendered):
        seen.html = xml_owners(decoded)
    elif seen.rendered.startswith("text/") or seen.rendered in ("application/json",):
        encoding = bom_encoding(decoded) or lookup_label(mime.params.get("charset") if mime else None) or "utf-8"
        seen.screen_text = decode(decoded, encoding)
    seen.emails |= emails_in(seen.screen_text)
    return seen
