"""The apps under test, one per variant, for Starlette (ASGI) and Flask (WSGI).

Every app serves every body of :mod:`.bodies` at ``/b/<name>`` from prebuilt
bytes, so the figures measure the middleware, not a serialiser. The endpoint
"authenticates" from an ``X-User`` header (a stand-in for a session lookup) and,
in the guarded variants, tells respguard who is asking with
:func:`respguard.set_requester`.

Variants:

- ``bare``: the app alone;
- ``noop``: the app behind a pass-through pure middleware;
- ``hold``: the app behind a middleware that does only what any response guard must: it puts a
  context where the app can reach it, holds the start until the body is complete, and re-sends
  both (ASGI) / buffers the body before ``start_response`` (WSGI). The floor under ``respguard``;
- ``respguard``: the app behind :class:`respguard.ASGIMiddleware` / :class:`respguard.WSGIMiddleware`,
  enforcing, with JSON keys, an HTML attribute and an owner header configured;
- ``respguard-report``: the same in report-only mode;
- ``naive``: the check written by hand, the peer to beat: Starlette ``BaseHTTPMiddleware``
  / a Flask ``after_request`` hook, ``json.loads`` and a recursive walk.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from respguard import (
    ASGIMiddleware,
    Guard,
    HtmlAttribute,
    Identity,
    JsonKeys,
    OwnerHeader,
    WSGIMiddleware,
    set_requester,
)
from respguard._context import RequestContext

from .bodies import OWN_ID, all_bodies

VARIANTS = ("bare", "noop", "hold", "respguard", "respguard-report", "naive")
SECRET = "benchmark-secret-key-not-for-production"
_BODIES = {b.name: b for b in all_bodies()}


def make_guard(mode: str = "enforce", **options: Any) -> Guard:
    """The realistic configuration every guarded variant uses (every other option at its default)."""
    return Guard(
        secret_key=SECRET,
        extractors=[JsonKeys("user_id"), HtmlAttribute("data-owner"), OwnerHeader("X-Data-Owner")],
        mode=mode,  # type: ignore[arg-type]
        **options,
    )


def binding_cookie(user: object = OWN_ID) -> str:
    """A valid binding cookie for ``user``: requests measure the steady state, not the first login."""
    codec = make_guard().codec
    return f"{codec.cookie_name}={codec.dumps(Identity(user))}"


# --------------------------------------------------------------------------- naive checks


def _walk(value: object, found: list[object]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "user_id":
                found.append(item)
            else:
                _walk(item, found)
    elif isinstance(value, list):
        for item in value:
            _walk(item, found)


_DATA_OWNER = re.compile(rb'data-owner="([^"]*)"')


def naive_foreign(body: bytes, content_type: str, user: str | None) -> bool:
    """The hand-written check: parse, walk, compare every owner with the user."""
    if content_type.startswith("application/json"):
        found: list[object] = []
        _walk(json.loads(body), found)
        return any(str(owner) != user for owner in found)
    if content_type.startswith("text/html"):
        return any(owner.decode() != user for owner in _DATA_OWNER.findall(body))
    return False


# --------------------------------------------------------------------------- ASGI (Starlette)

ASGIApp = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[Any], Awaitable[None]]], Any]


class Noop:
    """A pure ASGI pass-through middleware."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class Hold:
    """The floor of any response guard: a per-request context, the start held until the body is whole."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["respguard"] = RequestContext()
        held: list[Any] = []
        chunks: list[bytes] = []

        async def hold(message: Any) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
            elif message["type"] == "http.response.body" and held:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(held.pop())
                    await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": False})
            else:
                await send(message)

        await self.app(scope, receive, hold)


def starlette_app(variant: str, **guard_options: Any) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    guarded = variant.startswith("respguard") or variant == "hold"  # hold: set_requester has a context

    def endpoint_for(name: str) -> Callable[[Request], Awaitable[Response]]:
        body = _BODIES[name]

        async def endpoint(request: Request) -> Response:
            user = request.headers.get("x-user")
            if guarded:
                set_requester(request, user)
            return Response(body.data, media_type=body.content_type)

        return endpoint

    class NaiveGuard(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Any) -> Response:
            response = await call_next(request)
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith(("application/json", "text/html")):
                return response
            body = b"".join([chunk async for chunk in response.body_iterator])
            if naive_foreign(body, content_type, request.headers.get("x-user")):
                return PlainTextResponse("Forbidden", status_code=403)
            return Response(body, status_code=response.status_code, headers=dict(response.headers))

    routes = [Route("/b/" + name, endpoint_for(name)) for name in _BODIES]
    middleware = [Middleware(NaiveGuard)] if variant == "naive" else []
    app: Any = Starlette(routes=routes, middleware=middleware)
    if variant == "noop":
        return Noop(app)
    if variant == "hold":
        return Hold(app)
    if variant == "respguard":
        return ASGIMiddleware(app, make_guard(**guard_options))
    if variant == "respguard-report":
        return ASGIMiddleware(app, make_guard("report"))
    if variant == "respguard-exact":  # the exact JSON parse on every response (no fast path)
        return ASGIMiddleware(app, make_guard(strict_json=True))
    return app


# --------------------------------------------------------------------------- WSGI (Flask)


def flask_app(variant: str, **guard_options: Any) -> Any:
    from flask import Flask, Response, g, request

    guarded = variant.startswith("respguard") or variant == "hold"  # hold: set_requester has a context
    app = Flask("respguard_bench_" + variant.replace("-", "_"))

    def view_for(name: str) -> Callable[[], Response]:
        body = _BODIES[name]

        def view() -> Response:
            user = request.headers.get("X-User")
            g.user = user
            if guarded:
                set_requester(request, user)
            return Response(body.data, content_type=body.content_type)

        return view

    for name in _BODIES:
        app.add_url_rule("/b/" + name, name, view_for(name))

    if variant == "naive":

        @app.after_request
        def naive_check(response: Response) -> Response:
            content_type = response.content_type or ""
            if content_type.startswith(("application/json", "text/html")):
                if naive_foreign(response.get_data(), content_type, g.get("user")):
                    return Response("Forbidden", status=403, content_type="text/plain")
            return response

    wsgi = app.wsgi_app
    if variant == "noop":

        def noop(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            return wsgi(environ, start_response)

        app.wsgi_app = noop  # type: ignore[method-assign]
    elif variant == "hold":

        def hold(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            environ["respguard.context"] = RequestContext()
            captured: list[Any] = []
            result = wsgi(environ, lambda status, headers, exc_info=None: captured.append((status, headers)))
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            start_response(*captured[-1])
            return [body]

        app.wsgi_app = hold  # type: ignore[method-assign]
    elif variant == "respguard":
        app.wsgi_app = WSGIMiddleware(wsgi, make_guard(**guard_options))  # type: ignore[method-assign]
    elif variant == "respguard-report":
        app.wsgi_app = WSGIMiddleware(wsgi, make_guard("report"))  # type: ignore[method-assign]
    elif variant == "respguard-exact":
        app.wsgi_app = WSGIMiddleware(wsgi, make_guard(strict_json=True))  # type: ignore[method-assign]
    return app


def wsgi_app(variant: str) -> Any:
    """Factory for gunicorn: ``benchmarks.apps:wsgi_app('respguard')``."""
    return flask_app(variant)
