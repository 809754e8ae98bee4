"""Neutral views of the request and the response that extractors and policies see."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ._content import HTML, JSON
from ._encoding import (
    ASCII_SAFE,
    PRESCAN_BYTES,
    UndecodableBody,
    bom_encoding,
    declared_encoding,
    decode,
    html_encoding_candidates,
    lookup,
    prescan_html,
    text_encoding,
    undeclared_html_encodings,
    utf8_decode,
    xml_declaration_encoding,
)
from ._headers import Headers, RawHeaders
from ._markup import markup_text
from ._mime import extract_mime_type, is_xml_essence

#: Distinct texts an HTML page may be read as before it is refused (a page of no declared charset
#: is read in each encoding it names anywhere: a few, for a page that means it).
MAX_PAGE_READINGS = 8
TOO_MANY_READINGS = "page may be read in too many encodings"


class RequestInfo:
    """The request as respguard sees it, the same for ASGI and WSGI.

    ``raw`` is the ASGI scope or the WSGI environ, for callables that need more;
    ``raw_headers(raw)`` reads its headers, when someone asks for them.
    """

    __slots__ = ("method", "path", "scheme", "raw", "_raw_headers", "_headers")

    def __init__(
        self,
        method: str,
        path: str,
        scheme: str,
        raw: Mapping[str, Any],
        raw_headers: Callable[[Mapping[str, Any]], RawHeaders],
    ) -> None:
        self.method = method
        self.path = path
        self.scheme = scheme
        self.raw = raw
        self._raw_headers = raw_headers
        self._headers: Headers | None = None

    @property
    def headers(self) -> Headers:
        """The request headers (built on first use: most requests never need them)."""
        if self._headers is None:
            self._headers = Headers(self._raw_headers(self.raw))
        return self._headers

    def __repr__(self) -> str:
        return f"RequestInfo({self.method} {self.path})"


#: Request headers Turbo (Hotwire) sends on the requests whose answer it renders from
#: ``fetch()``'s ``response.text()`` (Turbo Drive's visits, Turbo Frames).
_TURBO_HEADERS = (b"x-turbo-request-id", b"turbo-frame")


def fetched_by_turbo(request: RequestInfo) -> bool:
    """Is this Turbo's request (``X-Turbo-Request-Id``, ``Turbo-Frame``), whose answer it reads as UTF-8?"""
    for name, _ in request.headers.raw:
        if name.lower() in _TURBO_HEADERS:
            return True
    return False


class ResponseView:
    """A response under scan: status, headers, media class and un-compressed body.

    It reads the body as its readers do (the WHATWG Encoding standard, the HTML encoding
    sniffing algorithm, Fetch's UTF-8 decode): :meth:`text` is the reading its main reader
    sees, :meth:`texts` every reading some client may see (an extractor that must not miss an
    owner reads them all).
    """

    __slots__ = (
        "request",
        "status",
        "headers",
        "media",
        "media_type",
        "body",
        "_label",
        "_texts",
        "_encodings",
        "xhr",
    )

    def __init__(
        self,
        request: RequestInfo,
        status: int,
        headers: Headers,
        media: str,
        media_type: str,
        body: bytes,
        charset_label: str | None | bool = False,
        xhr: bool = False,
    ) -> None:
        self.request = request
        self.status = status
        self.headers = headers
        self.media = media
        self.media_type = media_type
        self.body = body
        # The Content-Type's charset label as written, if the caller read it (False: read it here).
        self._label = charset_label
        self._texts: tuple[str, ...] | None = None
        self._encodings: tuple[str, ...] | None = None
        # The answer to an htmx request: htmx swaps ``xhr.responseText`` in, which XMLHttpRequest
        # decodes without HTML's sniffing (see html_encodings).
        self.xhr = xhr

    @property
    def charset_label(self) -> str | None:
        """The ``charset`` parameter of the Content-Type browsers read (Fetch), as written."""
        label = self._label
        if label is False:
            mime = extract_mime_type(self.headers.raw)
            label = self._label = mime.charset if mime is not None else None
        return label  # type: ignore[return-value]

    @property
    def charset(self) -> str | None:
        """The encoding the body declares (WHATWG name): its byte-order mark, else a Content-Type
        label browsers know (an unknown label is ignored, as browsers ignore it)."""
        label = self.charset_label
        return bom_encoding(self.body) or (lookup(label) if label else None)

    def html_charset(self) -> str:
        """The encoding a browser reads this HTML body in (BOM, Content-Type, ``<meta>`` prescan, default)."""
        return self.html_encodings()[0]

    def html_encodings(self) -> tuple[str, ...]:
        """Every encoding a browser may read this HTML body in (the HTML encoding sniffing algorithm)."""
        if self._encodings is None:
            encodings = html_encoding_candidates(self.body, self.charset_label)
            if self.xhr:
                # htmx swaps in xhr.responseText: XHR's "text response" decodes a byte-order mark,
                # else the Content-Type's charset, else UTF-8, with no <meta> prescan and no XML
                # declaration read (a body opening with a BOM-less UTF-16 ``<?xml`` is UTF-8 to it).
                label = self.charset_label
                xhr = bom_encoding(self.body) or (lookup(label) if label else None) or "utf-8"
                encodings = tuple(dict.fromkeys((*encodings, xhr)))
            if encodings[0] == "replacement" and self._replacement_only_prescanned():
                # Chromium's charset scan tokenizes: a <meta> in a script, a style, a title or a
                # textarea is no declaration to it, and it reads the page as an undeclared one.
                encodings = tuple(dict.fromkeys((*encodings, *undeclared_html_encodings(self.body))))
            if (
                "utf-8" not in encodings
                and (not self.body.isascii() or not ASCII_SAFE.issuperset(encodings))
                and (encodings[0] == "replacement" or self._xml_in_utf8() or fetched_by_turbo(self.request))
            ):
                # Turbo renders ``await response.text()``: UTF-8, whatever the page declares (a
                # page under a label of the replacement decoder, one U+FFFD to a navigation, whole);
                # so does any navigator that fetches (Turbo before its request headers, Swup), and
                # under that label the navigation's own reading shows nothing to block.
                # And the XML parser reads an undeclared XML page as UTF-8: a <meta> is no
                # declaration to it (a superset: the HTML readings are kept).
                encodings = (*encodings, "utf-8")
            self._encodings = encodings
        return self._encodings

    def _replacement_only_prescanned(self) -> bool:
        """Is the replacement decoder this page's only by the byte prescan (no byte-order mark or
        Content-Type says so, and its markup, raw text and comments cut, names no such ``<meta>``)?"""
        body = self.body
        if declared_encoding(body, self.charset_label) is not None or xml_declaration_encoding(body) is not None:
            return False
        head = body[:PRESCAN_BYTES].decode("latin-1")
        return prescan_html(markup_text(head).encode("latin-1")) != "replacement"

    def _xml_in_utf8(self) -> bool:
        """Is this an XML page that neither a byte-order mark, nor its Content-Type, nor an XML
        declaration's first bytes give an encoding (the XML parser's default is UTF-8)?"""
        body = self.body
        return (
            is_xml_essence(self.media_type)
            and declared_encoding(body, self.charset_label) is None
            and xml_declaration_encoding(body) is None
        )

    def text(self) -> str:
        """The body as its main reader reads it; raises :class:`BodyDecodeError` where respguard
        cannot read it as that reader does."""
        return self.texts()[0]

    def texts(self) -> tuple[str, ...]:
        """Every reading of the body some client may see, the main reader's first.

        HTML: each encoding a browser may end up using (and UTF-8 where Turbo fetched it). JSON:
        what ``fetch().json()`` parses (UTF-8, BOM stripped, bad bytes replaced), and a UTF-16/32
        body as JSON parsers detect it.
        Other text: the browser's reading, and ``fetch().text()``'s UTF-8 one.
        """
        if self._texts is None:
            body = self.body
            label = self.charset_label
            if self.media == HTML:
                readings = [decode(body, e) for e in self.html_encodings()]
                if len(set(readings)) > MAX_PAGE_READINGS:
                    # Each reading is read whole: a page of no declared charset that names every
                    # encoding (``charset=koi8-r``...) cost its size as many times (fail closed).
                    raise UndecodableBody(TOO_MANY_READINGS)
            elif self.media == JSON:
                readings = [utf8_decode(body)]
                detected = json.detect_encoding(body)
                if detected != "utf-8":
                    readings.append(body.decode(detected, "replace"))
            else:
                readings = [decode(body, text_encoding(body, label)), utf8_decode(body)]
            self._texts = tuple(dict.fromkeys(readings))
        return self._texts
