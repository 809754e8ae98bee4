"""Pure ASGI middleware: holds ``http.response.start`` until the body is decided.

Usage::

    from respguard import ASGIMiddleware, JsonKeys
    app = ASGIMiddleware(app, secret_key=SECRET, extractors=[JsonKeys("user_id")])

or, with Starlette/FastAPI, ``app.add_middleware(ASGIMiddleware, secret_key=..., extractors=[...])``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._context import ASGI_KEY, UNSET, RequestContext
from ._exchange import Exchange
from ._fastpath import BodyPlan, FastPath
from ._guard import Guard
from ._headers import COOKIE_NAMES, RawHeaders, cookie_header
from ._identity import RequesterLike, as_identity
from ._scan import RequestInfo
from ._verdict import Verdict
from ._write import check_asgi_write

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def scope_user(scope: Scope) -> RequesterLike:
    """The requester Starlette's ``AuthenticationMiddleware`` put in ``scope["user"]``."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    identity = getattr(user, "identity", None)
    if isinstance(identity, (str, int)) and not isinstance(identity, bool) and identity != "":
        return identity
    return None


class ASGIMiddleware:
    """Guard every HTTP response of an ASGI app; ``websocket``/``lifespan`` pass untouched.

    :param app: the ASGI app to guard.
    :param guard: a configured :class:`~respguard.Guard`; or pass its options as keywords.
    """

    def __init__(self, app: ASGIApp, guard: Guard | None = None, **options: Any) -> None:
        if guard is not None and options:
            raise ValueError("pass either guard=Guard(...) or Guard options, not both")
        self.app = app
        self.guard = guard if guard is not None else Guard(**options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext()
        scope[ASGI_KEY] = context
        guard = self.guard
        fast = guard.fast
        if fast is None or guard.inbound:
            exchange = _exchange(guard, scope, context)
            context.exchange = exchange
            if guard.inbound and guard.checks_inbound(exchange.request):
                replay = await check_asgi_write(exchange, scope, receive, send)
                if replay is None:
                    return  # refused before the app ran
                receive = replay
            await self.app(scope, receive, _Responder(exchange, send).on_send)
            return

        # The fast path first (FastPath: no side effects); whenever it can't decide, a
        # _Responder takes the response from its held start, as if it had from the first.
        held: Message | None = None
        plan: BodyPlan | None = None
        chunks: list[Message] = []  # body messages held while the fast path waits for the end
        size = 0
        responder: _Responder | None = None
        passed = False

        async def on_send(message: Message) -> None:
            nonlocal held, plan, size, responder, passed
            if passed:
                await send(message)
                return
            if responder is None:
                kind = message["type"]
                if kind == "http.response.start":
                    if type(message.get("headers")) is not list:  # any iterable: read it once, here
                        message = {**message, "headers": list(message.get("headers", ()))}
                    try:
                        decided = _fast_start(fast, scope, context, message)
                    except Exception:  # speed only: whatever it can't read, the Exchange decides
                        decided = None
                    if type(decided) is BodyPlan:
                        held, plan = message, decided
                        return  # hold the start until the body is decided
                    if decided is not None:
                        passed = True
                        await send(message if decided is message.get("headers") else {**message, "headers": decided})
                        return
                elif plan is not None and kind == "http.response.body":
                    body = message.get("body", b"")
                    size += len(body)
                    if size <= guard.max_body_bytes:
                        if message.get("more_body", False):
                            chunks.append(message)
                            return
                        if chunks:
                            body = b"".join([*(m.get("body", b"") for m in chunks), body])
                        try:
                            headers = fast.finish(plan, body)
                        except Exception:  # speed only: the Exchange decides (and reports what failed)
                            headers = None
                        if headers is not None:
                            passed = True
                            await send({**held, "headers": headers})  # type: ignore[dict-item]
                            await send(message if not chunks else {**message, "body": body})
                            return
                # The Exchange decides, from the held start and body as the app sent them.
                responder = _Responder(_exchange(guard, scope, context), send)
                for earlier in [held, *chunks] if held is not None else chunks:
                    await responder.on_send(earlier)
                chunks.clear()
            await responder.on_send(message)

        await self.app(scope, receive, on_send)


def _request_info(scope: Scope) -> RequestInfo:
    return RequestInfo(
        scope.get("method", "GET"),
        scope.get("path", ""),
        scope.get("scheme", "http"),
        scope,
        lambda: scope.get("headers", []),
    )


def _exchange(guard: Guard, scope: Scope, context: RequestContext) -> Exchange:
    return guard.exchange(_request_info(scope), context, lambda: scope_user(scope))


def _fast_start(
    fast: FastPath, scope: Scope, context: RequestContext, message: Message
) -> BodyPlan | RawHeaders | None:
    """:meth:`FastPath.start` with what it needs from the scope."""
    requester = context.requester
    if requester is UNSET:
        function = fast.guard.requester
        try:
            requester = as_identity(function(_request_info(scope)) if function is not None else scope_user(scope))
        except Exception:
            return None  # the Exchange calls it again, and reports what it raised
        if function is not None:
            context.requester = requester  # called once: the Exchange, if it takes over, reads it here
    headers = scope.get("headers", ())
    by_name = dict(headers) if type(headers) is list else None
    if by_name is not None and len(by_name) == len(headers) and _ODD_COOKIE_NAMES.isdisjoint(by_name):
        raw = by_name.get(b"cookie")  # the common case, without a loop: one Cookie header at most
        cookie = None if raw is None else raw.decode("latin-1")
    else:
        cookie = cookie_header(headers)
    return fast.start(
        requester,
        context,
        scope.get("method", "GET"),
        scope.get("path", ""),
        scope.get("scheme", "http") in ("https", "wss"),
        cookie,
        message["status"],
        message["headers"],
    )


_BUFFER, _PASS, _DISCARD, _STREAM = 0, 1, 2, 3
_ODD_COOKIE_NAMES = COOKIE_NAMES - {b"cookie"}


class _Responder:
    """One response's state: a fresh object per request, as Starlette's gzip does it."""

    __slots__ = ("exchange", "send", "state", "start", "chunks", "size", "limit")

    def __init__(self, exchange: Exchange, send: Send) -> None:
        self.exchange = exchange
        self.send = send
        self.state = _BUFFER
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = exchange.guard.max_body_bytes

    async def _send_verdict_start(self, verdict: Verdict) -> None:
        start = self.start
        assert start is not None
        message: Message = {**start, "status": verdict.status, "headers": verdict.headers}
        if verdict.blocked:
            message.pop("trailers", None)
        await self.send(message)

    async def _send_block(self, verdict: Verdict) -> None:
        self.state = _DISCARD
        await self._send_verdict_start(verdict)
        await self.send({"type": "http.response.body", "body": verdict.body or b"", "more_body": False})

    async def on_send(self, message: Message) -> None:
        kind = message["type"]
        state = self.state
        if kind == "http.response.start":
            self.start = message
            exchange = self.exchange
            exchange.start(message["status"], list(message.get("headers", ())))
            verdict = exchange.verdict
            if verdict is None:
                return  # hold the start until the body is decided
            if verdict.blocked:
                await self._send_block(verdict)
            else:
                self.state = _STREAM if exchange.streaming else _PASS
                await self.send({**message, "status": verdict.status, "headers": verdict.headers})
            return
        if state == _PASS:
            await self.send(message)
            return
        if state == _DISCARD:
            return
        if state == _STREAM:
            if kind == "http.response.body":
                more = message.get("more_body", False)
                out, stop = self.exchange.feed(message.get("body", b""), more)
                if stop:
                    self.state = _DISCARD
                    more = False
                if out or not more:
                    await self.send({"type": "http.response.body", "body": out, "more_body": more})
            return  # anything else on an event stream (a file, trailers) can't be scanned event by event
        if kind == "http.response.body":
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if body:
                self.chunks.append(body)
                self.size += len(body)
                if self.exchange.sniffing and more:
                    sniffed = self.exchange.sniff(b"".join(self.chunks))  # no Content-Type: scan it, or stream
                    if sniffed is not None:
                        await self._release(sniffed, more)
                        return
            if self.size > self.limit:
                await self._release(self.exchange.oversize(), more)
            elif not more:
                chunks = self.chunks
                whole = chunks[0] if len(chunks) == 1 and type(chunks[0]) is bytes else b"".join(chunks)
                verdict = self.exchange.finish(whole)
                if verdict.blocked:
                    await self._send_block(verdict)
                    return
                # The common end, inlined from _release: the held start, then the whole body.
                self.state = _PASS
                self.chunks = []
                start = self.start
                assert start is not None
                await self.send({**start, "status": verdict.status, "headers": verdict.headers})
                await self.send(
                    {
                        "type": "http.response.body",
                        "body": whole if verdict.body is None else verdict.body,
                        "more_body": False,
                    }
                )
        elif kind == "http.response.pathsend":
            await self._pathsend(message)
        elif self.start is None:
            await self.send(message)  # before the start: nothing of the body yet
        else:
            # Held start, body undecided: a message respguard can't read (zerocopysend...) may
            # carry the body, and sending it now would also put it before the start.
            await self._send_block(self.exchange.fail("response message respguard cannot scan"))

    async def _release(self, verdict: Verdict, more: bool) -> None:
        """Send the decided response: the block page, or what was held so far."""
        if verdict.blocked:
            await self._send_block(verdict)
            return
        self.state = _PASS
        await self._send_verdict_start(verdict)
        body = b"".join(self.chunks) if verdict.body is None else verdict.body
        self.chunks = []
        await self.send({"type": "http.response.body", "body": body, "more_body": more})

    async def _pathsend(self, message: Message) -> None:
        """A file sent by path: read it (within the limit) so it is scanned like a body."""
        try:
            with open(message["path"], "rb") as file:
                data = file.read(self.limit + 1)
        except OSError:
            await self._send_block(self.exchange.fail("file to send cannot be read"))
            return
        if len(data) > self.limit:
            verdict = self.exchange.oversize()
            if verdict.blocked:
                await self._send_block(verdict)
            else:
                self.state = _PASS
                await self._send_verdict_start(verdict)
                await self.send(message)
            return
        # The bytes scanned are the bytes sent (a pass sends them as the body).
        self.chunks = [data]
        await self._release(self.exchange.finish(data), False)
