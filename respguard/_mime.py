"""What type a response is, as browsers and ``fetch()`` decide it.

The Fetch standard's "extract a MIME type" reads every ``Content-Type`` value of the
response, combined and split on commas outside quoted strings, parses each with the
MIME Sniffing standard's "parse a MIME type", and keeps the last valid one (carrying
an earlier charset over to a later value of the same essence). A type respguard reads
any other way is a type the client does not see: ``Content-Type: bogus,
application/json`` is JSON to a script.

* https://fetch.spec.whatwg.org/#concept-header-extract-mime-type
* https://mimesniff.spec.whatwg.org/#parse-a-mime-type

Every function here is linear in its input and never raises on any header bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

#: The media classes :func:`media_class` returns (the same strings as ``respguard._content``).
JSON = "json"
HTML = "html"
TEXT = "text"
OTHER = "other"

_HTTP_WHITESPACE = "\t\n\r "
_HTTP_TAB_OR_SPACE = "\t "
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_QUOTED_STRING_TOKEN = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_NOT_QUOTE_OR_BACKSLASH = re.compile(r'[^"\\]*')
_NOT_QUOTE_OR_COMMA = re.compile(r'[^",]*')


@dataclass(frozen=True)
class MimeType:
    """A parsed MIME type: its essence (``type/subtype``, lower case) and its parameters, in order.

    Parameter names are lower case; values are as written (quotes and escapes removed).
    """

    essence: str
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def type(self) -> str:
        return self.essence.partition("/")[0]

    @property
    def subtype(self) -> str:
        return self.essence.partition("/")[2]

    def parameter(self, name: str) -> str | None:
        """The value of parameter ``name`` (lower case), or ``None``."""
        for key, value in self.parameters:
            if key == name:
                return value
        return None

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter as written (a label: see ``respguard._encoding.lookup``)."""
        return self.parameter("charset")

    def serialize(self) -> str:
        """The MIME Sniffing standard's "serialize a MIME type"."""
        parts = [self.essence]
        for name, value in self.parameters:
            if not value or not _TOKEN.fullmatch(value):
                value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(name + "=" + value)
        return ";".join(parts)


def _collect_quoted(text: str, position: int, extract_value: bool) -> tuple[str, int]:
    """Fetch's "collect an HTTP quoted string" from ``text[position] == '"'``: (result, new position)."""
    start = position
    position += 1
    end = len(text)
    value: list[str] = []
    while True:
        match = _NOT_QUOTE_OR_BACKSLASH.match(text, position)
        assert match is not None  # a pattern that matches the empty string always matches
        value.append(match.group())
        position = match.end()
        if position >= end:
            break
        quote_or_backslash = text[position]
        position += 1
        if quote_or_backslash == "\\":
            if position >= end:
                value.append("\\")
                break
            value.append(text[position])
            position += 1
        else:
            break
    if extract_value:
        return "".join(value), position
    return text[start:position], position


def parse_mime_type(text: str) -> MimeType | None:
    """The MIME Sniffing standard's "parse a MIME type"; ``None`` is failure."""
    text = text.strip(_HTTP_WHITESPACE)
    slash = text.find("/")
    if slash <= 0 or not _TOKEN.fullmatch(text, 0, slash):
        return None
    position = slash + 1
    end = len(text)
    semicolon = text.find(";", position)
    if semicolon < 0:
        semicolon = end
    subtype = text[position:semicolon].rstrip(_HTTP_WHITESPACE)
    if not subtype or not _TOKEN.fullmatch(subtype):
        return None
    essence = text[:slash].lower() + "/" + subtype.lower()
    parameters: dict[str, str] = {}
    position = semicolon
    while position < end:
        position += 1  # past ";"
        while position < end and text[position] in _HTTP_WHITESPACE:
            position += 1
        name_end = position
        while name_end < end and text[name_end] not in ";=":
            name_end += 1
        name = text[position:name_end].lower()
        position = name_end
        if position < end:
            if text[position] == ";":
                continue
            position += 1  # past "="
        if position >= end:
            break
        if text[position] == '"':
            value, position = _collect_quoted(text, position, True)
            semicolon = text.find(";", position)
            position = end if semicolon < 0 else semicolon
        else:
            semicolon = text.find(";", position)
            value_end = end if semicolon < 0 else semicolon
            value = text[position:value_end].rstrip(_HTTP_WHITESPACE)
            position = value_end
            if not value:
                continue
        if name and _TOKEN.fullmatch(name) and _QUOTED_STRING_TOKEN.fullmatch(value) and name not in parameters:
            parameters[name] = value
    return MimeType(essence, tuple(parameters.items()))


def split_header_value(value: str) -> list[str]:
    """Fetch's "get, decode, and split" of one (combined, isomorphic-decoded) header value.

    Commas inside quoted strings do not split: ``text/plain;charset="a,b"`` is one value.
    """
    values: list[str] = []
    position = 0
    end = len(value)
    temporary: list[str] = []
    while True:
        match = _NOT_QUOTE_OR_COMMA.match(value, position)
        assert match is not None
        temporary.append(match.group())
        position = match.end()
        if position < end and value[position] == '"':
            quoted, position = _collect_quoted(value, position, False)
            temporary.append(quoted)
            if position < end:
                continue
        values.append("".join(temporary).strip(_HTTP_TAB_OR_SPACE))
        temporary = []
        if position >= end:
            return values
        position += 1  # past ","


def content_type_values(headers: Iterable[tuple[bytes, bytes]]) -> list[str] | None:
    """Every ``Content-Type`` value, combined and split as Fetch does; ``None`` if there is none."""
    found = [value for name, value in headers if name.lower() == b"content-type"]
    if not found:
        return None
    return split_header_value(b", ".join(found).decode("latin-1"))


def extract_mime_type(headers: Iterable[tuple[bytes, bytes]]) -> MimeType | None:
    """Fetch's "extract a MIME type" over a raw header list; ``None`` is failure (the client sniffs).

    Header names match in any case; repeated headers and comma-joined values combine;
    the last valid type wins, keeping an earlier charset if it has the same essence
    and none of its own.
    """
    found = [value for name, value in headers if name.lower() == b"content-type"]
    if not found:
        return None
    return _extract(found[0] if len(found) == 1 else b", ".join(found))


@functools.lru_cache(maxsize=512)  # a pure function of the combined value, which apps repeat
def _extract(combined: bytes) -> MimeType | None:
    values = split_header_value(combined.decode("latin-1"))
    charset: str | None = None
    essence: str | None = None
    mime_type: MimeType | None = None
    for value in values:
        parsed = parse_mime_type(value)
        if parsed is None or parsed.essence == "*/*":
            continue
        mime_type = parsed
        if parsed.essence != essence:
            charset = parsed.charset
            essence = parsed.essence
        elif charset is not None and parsed.charset is None:
            mime_type = MimeType(parsed.essence, (*parsed.parameters, ("charset", charset)))
    return mime_type


_CHROMIUM_LWS = " \t"


def _chromium_parse(value: str) -> tuple[str, str | None] | None:
    """Chromium's ``HttpUtil::ParseContentType`` of one value: (type, its first ``charset``, or
    ``None``); ``None``: rejected (empty, ``*/*``, or no ``/`` anywhere in the value).

    Chromium does not parse a MIME type as the MIME Sniffing standard does: the type runs to the
    first space, tab, ``;`` or ``(`` (a "media-type comment") and is not checked for token code
    points, so ``text/html (x); charset=utf-16le`` and ``text/event-stream x``, which Fetch's
    parser rejects (the client sniffs), are a UTF-16 page and an event stream to Chromium (its
    documents, ``EventSource``). A parameter's value loses the white space after ``=``."""
    if not value or value == "*/*" or "/" not in value:
        return None
    end = len(value)
    start = end - len(value.lstrip(_CHROMIUM_LWS))
    type_end = start
    while type_end < end and value[type_end] not in " \t;(":
        type_end += 1
    charset: str | None = None
    position = value.find(";", type_end)
    while 0 <= position < end:
        position += 1
        while position < end and value[position] in _CHROMIUM_LWS:
            position += 1
        name_start = position
        while position < end and value[position] not in ";=":
            position += 1
        name = value[name_start:position]
        if position >= end or value[position] == ";":
            continue
        position += 1  # past "="
        while position < end and value[position] in _CHROMIUM_LWS:
            position += 1
        if position < end and value[position] == '"':
            parameter, position = _collect_quoted(value, position, True)
            position = value.find(";", position)
        else:
            semicolon = value.find(";", position)
            parameter = value[position : end if semicolon < 0 else semicolon].strip(_CHROMIUM_LWS)
            position = semicolon
        if charset is None and name.lower() == "charset":
            charset = parameter
    return value[start:type_end].lower(), charset


def chromium_mime_type(headers: Iterable[tuple[bytes, bytes]]) -> MimeType | None:
    """The type and charset Chromium gives a response (``HttpResponseHeaders::GetMimeTypeAndCharset``:
    every value of every ``Content-Type``, split on commas outside quotes, parsed by
    :func:`_chromium_parse`, a later accepted type replacing an earlier one, whose charset it keeps
    only if it has the same type and none of its own); ``None``: none (the body is sniffed).
    Only where it differs from :func:`extract_mime_type` does it matter: for any value Fetch's
    parser accepts, Chromium reads the same type and charset."""
    values = content_type_values(headers)
    if values is None:
        return None
    essence = ""
    charset: str | None = None
    for value in values:
        parsed = _chromium_parse(value)
        if parsed is None:
            continue
        same = bool(essence) and parsed[0] == essence
        if not same:
            essence = parsed[0]
            charset = None
        if parsed[1] is not None:
            charset = parsed[1]
    if not essence:
        return None
    return MimeType(essence, (("charset", charset),) if charset is not None else ())


# --------------------------------------------------------------------------- groups

_JAVASCRIPT = frozenset(
    {
        "application/ecmascript", "application/javascript", "application/x-ecmascript",
        "application/x-javascript", "text/ecmascript", "text/javascript", "text/javascript1.0",
        "text/javascript1.1", "text/javascript1.2", "text/javascript1.3", "text/javascript1.4",
        "text/javascript1.5", "text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript",
    }
)  # fmt: skip


def is_json_mime(mime_type: MimeType | None) -> bool:
    """A "JSON MIME type": ``*/*+json``, ``application/json`` or ``text/json``."""
    if mime_type is None:
        return False
    return mime_type.essence in ("application/json", "text/json") or mime_type.subtype.endswith("+json")


#: ``text/*`` subtypes Turbo (Hotwire) takes for HTML: its ``FetchResponse.isHTML`` reads the
#: Content-Type with ``^text/([^\s;,]+\b)?html\b``, so a Turbo Stream (``text/vnd.turbo-stream.html``)
#: is applied to the page's DOM, and a frame or a visit answered with ``text/x-html`` is rendered.
_TURBO_HTML = re.compile(r"text/(?:[^\s;,]*[^0-9A-Za-z_\s;,])?html(?![0-9A-Za-z_])", re.ASCII)


def is_html_essence(essence: str) -> bool:
    """Is a MIME type essence (lower case) read as an HTML page: ``text/html``, or a ``text/*``
    type Turbo renders as HTML (``text/vnd.turbo-stream.html``, ``text/x-html``)?"""
    return essence == "text/html" or essence.startswith("text/") and _TURBO_HTML.match(essence) is not None


def is_html_mime(mime_type: MimeType | None) -> bool:
    """An "HTML MIME type": ``text/html``."""
    return mime_type is not None and mime_type.essence == "text/html"


#: The XML MIME types that are no ``*/*+xml``: MIME Sniffing's two, and ``text/xsl``, which Blink
#: renders as an XML document too (``DOMImplementation::IsXMLMIMEType``: served or framed, its
#: elements and their attributes are the page's DOM).
_XML_ESSENCES = frozenset({"text/xml", "application/xml", "text/xsl"})


def is_xml_essence(essence: str) -> bool:
    """Is a MIME type essence (lower case) an XML type a browser renders as an XML document:
    ``*/*+xml``, ``text/xml``, ``application/xml`` or ``text/xsl``?"""
    return essence in _XML_ESSENCES or essence.endswith("+xml")


def is_xml_mime(mime_type: MimeType | None) -> bool:
    """An XML MIME type as Chromium renders one (:func:`is_xml_essence`)."""
    return mime_type is not None and is_xml_essence(mime_type.essence)


def is_javascript_mime(mime_type: MimeType | None) -> bool:
    """A "JavaScript MIME type" (``text/javascript`` and its fifteen legacy spellings)."""
    return mime_type is not None and mime_type.essence in _JAVASCRIPT


def media_class(mime_type: MimeType | None) -> str:
    """``"json"``, ``"html"``, ``"text"`` or ``"other"``: what ``respguard._content.media_class`` means.

    JSON MIME types are json; ``text/html`` and every XML MIME type (``application/xhtml+xml``,
    ``image/svg+xml``, ``text/xml``...: browsers render them as documents whose attributes
    scripts read) are html; any other ``text/*`` is text; everything else, and no type at all,
    is other.
    """
    if mime_type is None:
        return OTHER
    if is_json_mime(mime_type):
        return JSON
    if is_html_essence(mime_type.essence) or is_xml_mime(mime_type):
        return HTML
    if mime_type.type == "text":
        return TEXT
    return OTHER


__all__ = [
    "MimeType",
    "chromium_mime_type",
    "content_type_values",
    "extract_mime_type",
    "is_html_essence",
    "is_html_mime",
    "is_javascript_mime",
    "is_json_mime",
    "is_xml_essence",
    "is_xml_mime",
    "media_class",
    "parse_mime_type",
    "split_header_value",
]
