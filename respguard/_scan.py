"""Neutral views of the request and the response that extractors and policies see."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._content import HTML, bom_charset, declared_charset, decode_text, sniff_html_charset
from ._headers import Headers, RawHeaders


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


_BOM_STARTS = frozenset({b"\xef", b"\xff", b"\xfe"})  # the first bytes of UTF-8 and UTF-16 marks


class ResponseView:
    """A response under scan: status, headers, media class and un-compressed body."""

    __slots__ = (
        "request",
        "status",
        "headers",
        "media",
        "media_type",
        "_declared",
        "_charset",
        "body",
        "_text",
        "_html_charset",
    )

    def __init__(
        self,
        request: RequestInfo,
        status: int,
        headers: Headers,
        media: str,
        media_type: str,
        body: bytes,
        declared_charset: str | None | bool = False,
    ) -> None:
        self.request = request
        self.status = status
        self.headers = headers
        self.media = media
        self.media_type = media_type
        # The Content-Type's charset, if the caller read it already (False: read it when asked).
        self._declared = declared_charset
        self._charset: str | None | bool = False  # False: not worked out yet
        self.body = body
        self._text: str | None = None
        self._html_charset: str | None = None

    @property
    def charset(self) -> str | None:
        """The declared charset; a byte-order mark wins over it, as in browsers (WHATWG "decode")."""
        charset = self._charset
        if charset is False:
            declared = self._declared
            if declared is False:
                declared = declared_charset(self.headers.get("content-type"))
            body = self.body
            bom = bom_charset(body) if body[:1] in _BOM_STARTS else None
            charset = self._charset = bom or declared
        return charset  # type: ignore[return-value]

    def html_charset(self) -> str:
        """The charset an HTML body is read in: declared, then ``<meta>``, then UTF-8."""
        if self._html_charset is None:
            self._html_charset = (
                self.charset or (sniff_html_charset(self.body) if self.media == HTML else None) or "utf-8"
            )
        return self._html_charset

    def text(self) -> str:
        """The body as text; raises :class:`BodyDecodeError` if it won't decode."""
        if self._text is None:
            self._text, _ = decode_text(self.body, self.charset, self.media)
        return self._text
