"""The write check before the app runs: read the request body once, check it, replay it.

The adapters call :func:`check_asgi_write` / :func:`check_wsgi_write`; what the rules
read is in :mod:`respguard._inbound`, and the decision is the exchange's
(``check_inbound`` / ``check_write``).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from ._inbound import body_readable

if TYPE_CHECKING:
    from ._exchange import Exchange
    from ._verdict import Verdict

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def check_asgi_write(
    exchange: Exchange, scope: MutableMapping[str, Any], receive: Receive, send: Send
) -> Receive | None:
    """Read the request body once (if a rule needs it), check it, and return a replaying ``receive``;
    ``None``: refused, the block page was sent."""
    guard = exchange.guard
    content_type = ""
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-type":
            content_type = value.decode("latin-1")
            break
    read: list[Message] = []
    chunks: list[bytes] = []
    verdict = None
    if guard.inbound_needs_body and body_readable(content_type):
        size = 0
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > guard.max_body_bytes:
                verdict = exchange.inbound_oversize()
                if verdict is None:
                    return _replay(read, receive)
                break
            if not message.get("more_body", False):
                break
    if verdict is None:
        verdict = exchange.check_inbound(
            scope.get("path", ""), scope.get("query_string", b""), content_type, b"".join(chunks)
        )
    if verdict is not None:
        await send({"type": "http.response.start", "status": verdict.status, "headers": verdict.headers})
        await send({"type": "http.response.body", "body": verdict.body or b"", "more_body": False})
        return None
    return _replay(read, receive) if read else receive


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands the app the messages already read, unchanged, then the rest."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class _PrefixedInput:
    """``wsgi.input`` replayed: the bytes respguard already read, then the rest of the stream."""

    def __init__(self, prefix: bytes, rest: Any) -> None:
        self._buffer = io.BytesIO(prefix)
        self._rest = rest

    def read(self, size: int | None = -1) -> bytes:
        data = self._buffer.read(size if size is not None else -1)
        if self._rest is not None and (size is None or size < 0 or len(data) < size):
            more = self._rest.read(-1 if size is None or size < 0 else size - len(data))
            data += more
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line = self._buffer.readline(-1 if size is None else size)
        if self._rest is not None and not line.endswith(b"\n") and (size is None or size < 0 or len(line) < size):
            line += self._rest.readline(-1 if size is None or size < 0 else size - len(line))
        return line

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


def check_wsgi_write(exchange: Exchange, environ: dict[str, Any]) -> Verdict | None:
    """Read the request body once (if a rule needs it) and check it before the app runs;
    the block page, or ``None`` (the app runs, and reads the same body)."""
    guard = exchange.guard
    content_type = environ.get("CONTENT_TYPE", "") or ""
    body = b""
    if guard.inbound_needs_body and body_readable(content_type):
        stream = environ.get("wsgi.input")
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        limit = guard.max_body_bytes
        if stream is not None and (length >= 0 or environ.get("wsgi.input_terminated")):
            body = stream.read(min(length, limit + 1) if length >= 0 else limit + 1)
            if len(body) > limit:
                environ["wsgi.input"] = _PrefixedInput(body, stream)
                return exchange.inbound_oversize()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
    query = environ.get("QUERY_STRING", "").encode("latin-1")
    return exchange.check_inbound(exchange.request.path, query, content_type, body)
