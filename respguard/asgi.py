"""Pure ASGI middleware: translates ASGI messages to :class:`~respguard._exchange.Exchange` events and back.

Usage::

    from respguard import ASGIMiddleware, JsonKeys
    app = ASGIMiddleware(app, secret_key=SECRET, extractors=[JsonKeys("user_id")])

or, with Starlette/FastAPI, ``app.add_middleware(ASGIMiddleware, secret_key=..., extractors=[...])``.
No decision lives here: the exchange says what to send, this module sends it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from ._context import ASGI_KEY, RequestContext
from ._exchange import HOLD, Action, Exchange, State
from ._guard import Guard
from ._headers import RawHeaders, as_raw_headers, request_headers
from ._identity import RequesterLike
from ._scan import RequestInfo
from ._write import check_asgi_write

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PEEK = 512  # bytes of a file read to tell whether it is a body some extractor reads


def scope_user(scope: Mapping[str, Any]) -> RequesterLike:
    """The requester Starlette's ``AuthenticationMiddleware`` put in ``scope["user"]``."""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        identity = getattr(user, "identity", None)
    except NotImplementedError:
        # Starlette < 0.28: BaseUser.identity is abstract, and SimpleUser's identity is its username
        # (as later Starlette defines it).
        try:
            identity = getattr(user, "username", None)
        except NotImplementedError:
            identity = None
    if isinstance(identity, (str, int)) and not isinstance(identity, bool) and identity != "":
        return identity
    return None


def _user_of(request: RequestInfo) -> RequesterLike:
    """:func:`scope_user` of the request's scope: the exchange's last source of the requester."""
    return scope_user(request.raw)


def _scope_headers(scope: Any) -> RawHeaders:
    return as_raw_headers(scope.get("headers", []))


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
        raw = scope.get("headers", ())
        headers, cookie, htmx = request_headers(raw)
        if headers is not raw:
            scope["headers"] = headers  # read once (a generator would be spent), the same pairs for the app
        method = scope.get("method", "GET")
        if not method.isupper():
            method = method.upper()  # as the frameworks route it (a lower-case "post" is a POST)
        request = RequestInfo(method, scope.get("path", ""), scope.get("scheme", "http"), scope, _scope_headers)
        exchange = Exchange(guard, request, context, _user_of, cookie, htmx)
        try:
            if guard.inbound and guard.checks_inbound(request):
                replay = await check_asgi_write(exchange, scope, receive, send)
                if replay is None:
                    return  # refused before the app ran
                receive = replay
            await self.app(scope, receive, _Responder(exchange, send).on_send)
        finally:
            exchange.detach()


def _without_owner_headers(message: Message, strip: frozenset[bytes]) -> Message:
    """Trailers without the headers an ``OwnerHeader`` reads: they never leave, in the head or after the body."""
    headers = as_raw_headers(message.get("headers", ()))
    if not any(name.lower() in strip for name, _ in headers):
        return message
    return {**message, "headers": [(name, value) for name, value in headers if name.lower() not in strip]}


class _Responder:
    """One response's messages: a fresh object per request, as Starlette's gzip does it."""

    __slots__ = ("exchange", "send", "start")

    def __init__(self, exchange: Exchange, send: Send) -> None:
        self.exchange = exchange
        self.send = send
        self.start: Message | None = None

    async def on_send(self, message: Message) -> None:
        exchange = self.exchange
        state = exchange.state
        kind = message["type"]
        if state == State.PASS or state == State.DONE and kind != "http.response.body":
            if kind == "http.response.trailers" and exchange.guard.strip_headers:
                message = _without_owner_headers(message, exchange.guard.strip_headers)
            await self.send(message)  # decided and allowed: as the app sent it (trailers after the body too)
            return
        if kind == "http.response.body" and state != State.START:
            if state == State.DISCARD or state == State.DONE:
                return
            action = exchange.body(message.get("body", b""), message.get("more_body", False))
        elif state == State.DISCARD:
            return
        elif kind == "http.response.start":
            headers = as_raw_headers(message.get("headers", ()))  # any iterable of pairs: read once, here
            self.start = message
            action = exchange.start(message["status"], headers)
        elif state == State.START:
            if kind == "http.response.body" or kind == "http.response.trailers":
                # A body before its head can't be read for the head's type (httpx's ASGITransport
                # would read it as the body): refused as servers refuse it.
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got {kind!r}.")
            await self.send(message)  # before the start (http.response.debug...): nothing of the body yet
            return
        elif state == State.STREAM:
            # Anything else on a stream (a file, zerocopysend) can't be read record by record.
            action = exchange.unreadable("response message respguard cannot scan")
        elif kind == "http.response.pathsend":
            await self._pathsend(message)
            return
        else:
            # Held start, body undecided: a message respguard can't read (zerocopysend...) may
            # carry the body, and sending it now would also put it before the start.
            action = exchange.unreadable("response message respguard cannot scan")
        if action is HOLD:
            return
        send = self.send
        for out in self._messages(action):
            await send(out)
        if kind != "http.response.body" and kind != "http.response.start" and exchange.state == State.PASS:
            await send(message)  # report-only: the message it could not read, as the app sent it

    def _messages(self, action: Action) -> list[Message]:
        """What the exchange said, as messages: its head (the app's start, amended, or the block
        page), then its body."""
        head = action.head
        body = action.body
        if head is None:
            return [] if body is None else [{"type": "http.response.body", "body": body, "more_body": action.more}]
        start = self.start
        assert start is not None
        message: Message
        if head.headers is start.get("headers") and head.status == start["status"]:
            message = start  # allowed as the app started it: its own message
        else:
            message = {**start, "status": head.status, "headers": head.headers}
            if head.blocked:
                message.pop("trailers", None)
        if body is None:
            return [message]
        return [message, {"type": "http.response.body", "body": body, "more_body": action.more}]

    async def _carry_out(self, action: Action) -> None:
        """Send :meth:`_messages`."""
        for message in self._messages(action):
            await self.send(message)

    async def _pathsend(self, message: Message) -> None:
        """A file sent by path: read it (within the limit) so it is scanned like a body."""
        exchange = self.exchange
        limit = exchange.guard.max_body_bytes
        try:
            with open(message["path"], "rb") as file:
                data = file.read(limit + 1)
        except OSError:
            await self._carry_out(exchange.unreadable("file to send cannot be read"))
            if exchange.state == State.PASS:
                await self.send(message)  # report-only: the server tries the file itself
            return
        peeked = exchange.peek(data[:_PEEK])
        if peeked is not None:  # a binary file nothing reads: sent as the app sent it
            await self._carry_out(peeked)
            await self.send(message)
            return
        action = exchange.body(data, False)
        if len(data) > limit and action.head is not None and not action.head.blocked:
            # on_oversize="pass": the file goes out as the app sent it, unscanned.
            await self._carry_out(Action(action.head, None, True))
            await self.send(message)
            return
        await self._carry_out(action)  # the bytes scanned are the bytes sent
