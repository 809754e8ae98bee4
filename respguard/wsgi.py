"""WSGI middleware: buffers the response until the body is decided.

Usage::

    from respguard import WSGIMiddleware, JsonKeys
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, secret_key=SECRET, extractors=[JsonKeys("user_id")])

It calls the app iterable's ``close()`` exactly once, whatever happens, and
keeps iterating until ``start_response`` was really called (as Werkzeug's
``run_wsgi_app`` does).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

from ._context import WSGI_KEY, RequestContext
from ._exchange import Action, Exchange, State
from ._guard import Guard
from ._headers import RawHeaders, cookie_header
from ._scan import RequestInfo
from ._verdict import Verdict
from ._write import check_wsgi_write

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIEnviron = dict[str, Any]
WSGIApp = Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]

_REASONS = {403: "Forbidden", 451: "Unavailable For Legal Reasons", 500: "Internal Server Error"}


#: Environ keys other than ``HTTP_COOKIE`` that environ_headers() would also name ``cookie``.
_ODD_COOKIE_KEYS = frozenset(
    "HTTP_" + "".join(c.lower() if (i >> n) & 1 else c for n, c in enumerate("COOKIE")) for i in range(1, 64)
)


def environ_headers(environ: Mapping[str, Any]) -> RawHeaders:
    """The request headers of a WSGI environ, as a raw header list."""
    headers: RawHeaders = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.replace("_", "-").lower()
        else:
            continue
        headers.append((name.encode("latin-1"), str(value).encode("latin-1", "replace")))
    return headers


def _status_line(status: int, original: str | None) -> str:
    if original is not None and original[:3] == str(status):
        return original
    try:
        from http import HTTPStatus

        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} {_REASONS.get(status, 'Blocked')}"


def _str_headers(raw: RawHeaders) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _added_to(app_headers: list[tuple[str, str]], raw: RawHeaders, headers: RawHeaders) -> list[tuple[str, str]]:
    """``headers`` for ``start_response``: the app's own list plus what respguard added, when it only added."""
    count = len(raw)
    if headers[:count] == raw:
        return app_headers + _str_headers(headers[count:]) if len(headers) > count else app_headers
    return _str_headers(headers)


class _Closing:
    """Yields the held chunks, then the rest of the app's iterator; ``close()`` closes the app's.

    With ``feed`` (a stream), every chunk goes through the exchange's record-by-record
    scan, and the stream ends where the scan says so.
    """

    __slots__ = ("_held", "_rest", "_close", "_closed", "_feed", "_ended")

    def __init__(
        self,
        held: list[bytes],
        rest: Iterator[bytes],
        close: Callable[[], object] | None,
        feed: Callable[[bytes, bool], Action] | None = None,
        ended: Callable[[], None] | None = None,
    ) -> None:
        self._held = held
        self._rest = rest
        self._close = close
        self._closed = False
        self._feed = feed
        self._ended = ended  # a stream's end, however it came (Exchange.ended)

    def __iter__(self) -> Iterator[bytes]:
        held = self._held
        self._held = []
        feed = self._feed
        if feed is None:
            yield from held
            yield from self._rest
            return
        for chunk in itertools.chain(held, self._rest):
            action = feed(chunk, True)
            if action.body:
                yield action.body
            if not action.more:
                return
        action = feed(b"", False)
        if action.body:
            yield action.body

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                if self._close is not None:
                    self._close()
            finally:
                if self._ended is not None:
                    self._ended()


def _cookie(environ: WSGIEnviron) -> str | None:
    """The Cookie header as ``environ_headers()`` gives it (read without a loop in the common case)."""
    if not _ODD_COOKIE_KEYS.isdisjoint(environ):
        return cookie_header(environ_headers(environ))  # environ_headers() decides which comes first
    cookie = environ.get("HTTP_COOKIE")
    if cookie is None or (type(cookie) is str and cookie.isascii()):
        return cookie
    return str(cookie).encode("latin-1", "replace").decode("latin-1")


def _peek_file(app_iter: object) -> bytes | None:
    """The first bytes of a file-backed iterable (``wsgi.file_wrapper``), read and put back:
    ``None`` when it has no seekable file."""
    file = getattr(app_iter, "filelike", None) or getattr(app_iter, "file", None)
    if file is None:
        return None  # (most iterables: no exception raised and caught for them)
    try:
        position = file.tell()
        head = file.read(_PEEK)
        file.seek(position)
    except Exception:
        return None
    return head if isinstance(head, bytes) else None


_PEEK = 512  # bytes of a file read to tell whether it is a body some extractor reads


class WSGIMiddleware:
    """Guard every response of a WSGI app.

    :param app: the WSGI app to guard (for Flask: ``app.wsgi_app``).
    :param guard: a configured :class:`~respguard.Guard`; or pass its options as keywords.
    """

    def __init__(self, app: WSGIApp, guard: Guard | None = None, **options: Any) -> None:
        if guard is not None and options:
            raise ValueError("pass either guard=Guard(...) or Guard options, not both")
        self.app = app
        self.guard = guard if guard is not None else Guard(**options)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        context = environ.get(WSGI_KEY)
        if not isinstance(context, RequestContext):
            context = RequestContext()
            environ[WSGI_KEY] = context
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if not path.isascii():
            try:
                path = path.encode("latin-1").decode("utf-8")
            except UnicodeError:
                pass
        guard = self.guard
        method = environ.get("REQUEST_METHOD", "GET")
        if not method.isupper():
            method = method.upper()  # as Werkzeug and Django route it (a lower-case "post" is a POST)
        request = RequestInfo(method, path, environ.get("wsgi.url_scheme", "http"), environ, environ_headers)
        exchange = Exchange(guard, request, context, None, _cookie(environ), "HTTP_HX_REQUEST" in environ)
        try:
            return self._respond(exchange, environ, start_response)
        finally:
            # The app has run, or raised; a stream goes on in the server's hands (_Closing ends it).
            exchange.detach(answered=exchange.state != State.STREAM)

    def _respond(self, exchange: Exchange, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        """Check a write, run the app, and return the response the exchange decides."""
        guard = self.guard
        request = exchange.request
        if guard.inbound and guard.checks_inbound(request):
            refusal = check_wsgi_write(exchange, environ)
            if refusal is not None:
                self._start(start_response, refusal, "", None, [False])
                return [refusal.body or b""]
        captured: list[Any] = []  # [status line, headers, exc_info]
        written: list[bytes] = []
        sent = [False]

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            if exc_info is not None and sent[0]:
                # Headers already went out: let the server re-raise, as PEP 3333 says.
                return start_response(status, headers, exc_info)
            captured[:] = [status, headers, exc_info]
            return written.append

        app_iter = self.app(environ, capture)
        close = getattr(app_iter, "close", None)
        handed_over = False
        try:
            iterator = iter(app_iter)
            held = written
            while not captured:
                try:
                    chunk = next(iterator)
                except StopIteration:
                    break
                if chunk:
                    held.append(chunk)
            if not captured:
                raise RuntimeError("the WSGI app returned without calling start_response")
            status_line, app_headers, exc_info = captured
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in app_headers]
            action = exchange.start(int(status_line[:3]), raw)
            if exchange.state == State.SNIFF and not held:
                first_bytes = _peek_file(app_iter)
                peeked = exchange.peek(first_bytes) if first_bytes is not None else None
                if peeked is not None:
                    action = peeked  # a binary file nothing reads: the app's iterable, untouched
            state = exchange.state
            if state == State.HOLD or state == State.SNIFF:
                rest: Iterator[bytes] = itertools.chain(held, iterator) if held else iterator
                held = []
                # A held document reads one chunk ahead, so its last chunk is fed as the last
                # (a body in one piece is then scanned as it is, never copied into a holder);
                # a sniffed body is fed as it comes (it may stream through once its first bytes tell).
                ahead = state == State.HOLD
                pending = b""
                for chunk in rest:
                    if not chunk:
                        continue
                    if ahead:
                        chunk, pending = pending, chunk
                        if not chunk:
                            continue
                    action = exchange.body(chunk, True)
                    if exchange.state != State.HOLD and exchange.state != State.SNIFF:
                        if pending:
                            held = [pending]  # read ahead, not yet fed: it follows what was decided
                        break
                else:
                    action = exchange.body(pending, False)
                iterator = rest
                state = exchange.state
            head = action.head
            assert head is not None
            self._start(start_response, head, status_line, exc_info, sent, app_headers, raw)
            if state == State.DISCARD or state == State.DONE:
                return [action.body or b""]
            handed_over = True
            if state == State.STREAM:
                return _Closing(held, iterator, close, exchange.body, exchange.ended)
            if action.body:
                held = [action.body, *held]
            if not held and iterator is app_iter:
                return app_iter  # untouched: the server may still use wsgi.file_wrapper
            return _Closing(held, iterator, close)
        finally:
            if not handed_over and close is not None:
                close()

    @staticmethod
    def _start(
        start_response: StartResponse,
        verdict: Verdict,
        status_line: str,
        exc_info: ExcInfo | None,
        sent: list[bool],
        app_headers: list[tuple[str, str]] | None = None,
        raw: RawHeaders | None = None,
    ) -> None:
        sent[0] = True
        if verdict.blocked:
            start_response(_status_line(verdict.status, None), _str_headers(verdict.headers), exc_info)
        elif app_headers is not None and raw is not None:
            headers = _added_to(app_headers, raw, verdict.headers)
            start_response(_status_line(verdict.status, status_line), headers, exc_info)
        else:
            start_response(_status_line(verdict.status, status_line), _str_headers(verdict.headers), exc_info)
