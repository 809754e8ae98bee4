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

Peers (:data:`PEERS`): the middlewares users run beside respguard, each as shipped, in its default
configuration, doing its job on every request (the request carries what it needs, see
:func:`benchmarks.inprocess.request_headers`):

- ASGI ``session``: Starlette ``SessionMiddleware``; the request carries a valid session cookie
  (minted by the app's own ``/login``) and the endpoint reads ``request.session``;
- ASGI ``gzip``: Starlette ``GZipMiddleware`` (default ``minimum_size=500``, level 9); the client
  sends ``Accept-Encoding: gzip, deflate``, so every JSON and HTML body here is compressed
  (``image/png`` is on its default exclusion list);
- ASGI ``cors``: Starlette ``CORSMiddleware(allow_origins=["*"])``; the request has an ``Origin``;
- ASGI ``basehttp``: a no-op ``BaseHTTPMiddleware`` (``return await call_next(request)``);
- WSGI ``session``: Flask's cookie session, the view reads ``session.get("user")``;
- WSGI ``login``: Flask-Login, a ``login_required`` view, the user loaded by ``user_loader`` from
  the session the app's own ``/login`` (``login_user``) wrote.
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
#: The peers of each stack, after :data:`VARIANTS` in the tables.
PEERS = {"asgi": ("session", "gzip", "cors", "basehttp"), "wsgi": ("session", "login")}
SECRET = "benchmark-secret-key-not-for-production"
#: The user the peers' sessions log in (the same user the ``X-User`` header names).
SESSION_USER = str(OWN_ID)
_BODIES = {b.name: b for b in all_bodies()}


def variants_for(stack: str) -> tuple[str, ...]:
    """Every variant one stack has: respguard's own, then the stack's peers."""
    return VARIANTS + PEERS[stack]


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
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.gzip import GZipMiddleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    guarded = variant.startswith("respguard") or variant == "hold"  # hold: set_requester has a context
    session = variant == "session"

    def endpoint_for(name: str) -> Callable[[Request], Awaitable[Response]]:
        body = _BODIES[name]

        async def endpoint(request: Request) -> Response:
            user = request.headers.get("x-user")
            if guarded:
                set_requester(request, user)
            if session and request.session.get("user") != SESSION_USER:
                return PlainTextResponse("no session", status_code=403)  # the cookie must really log in
            return Response(body.data, media_type=body.content_type)

        return endpoint

    async def login(request: Request) -> Response:
        request.session["user"] = SESSION_USER
        return PlainTextResponse("logged in")

    class NoopBase(BaseHTTPMiddleware):
        async def dispatch(self, request: Request, call_next: Any) -> Response:
            response: Response = await call_next(request)
            return response

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

    routes = [Route("/b/" + name, endpoint_for(name)) for name in _BODIES] + [Route("/login", login)]
    middleware = {
        "naive": [Middleware(NaiveGuard)],
        "session": [Middleware(SessionMiddleware, secret_key=SECRET)],
        "gzip": [Middleware(GZipMiddleware)],
        "cors": [Middleware(CORSMiddleware, allow_origins=["*"])],
        "basehttp": [Middleware(NoopBase)],
    }.get(variant, [])
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
    from flask import Flask, Response, g, request, session

    guarded = variant.startswith("respguard") or variant == "hold"  # hold: set_requester has a context
    app = Flask("respguard_bench_" + variant.replace("-", "_"))
    if variant in ("session", "login"):
        app.secret_key = SECRET  # Flask opens the cookie session on every request only with a key

    def view_for(name: str) -> Callable[[], Response]:
        body = _BODIES[name]

        def view() -> Response:
            user = request.headers.get("X-User")
            g.user = user
            if guarded:
                set_requester(request, user)
            if variant == "session" and session.get("user") != SESSION_USER:
                return Response("no session", status=403)  # the cookie must really log in
            return Response(body.data, content_type=body.content_type)

        return view

    flask_login = _Login(app) if variant == "login" else None
    for name in _BODIES:
        view = view_for(name)
        app.add_url_rule("/b/" + name, name, view if flask_login is None else flask_login.required(view))

    if variant in ("session", "login"):

        def login() -> Response:
            session["user"] = SESSION_USER
            if flask_login is not None:
                from flask_login import login_user

                login_user(flask_login.user)
            return Response("logged in", content_type="text/plain")

        app.add_url_rule("/login", "login", login)

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


class _Login:
    """Flask-Login on one app: a ``LoginManager``, a ``UserMixin`` user, its ``user_loader``."""

    def __init__(self, app: Any) -> None:
        from flask_login import LoginManager, UserMixin

        class User(UserMixin):  # type: ignore[misc]
            def __init__(self, user_id: str) -> None:
                self.id = user_id

        self.user = User(SESSION_USER)
        users = {SESSION_USER: self.user}
        manager = LoginManager(app)

        @manager.user_loader
        def load_user(user_id: str) -> Any:
            return users.get(user_id)

    def required(self, view: Callable[[], Any]) -> Callable[[], Any]:
        """``view`` behind ``login_required``; it checks who Flask-Login loaded."""
        from flask_login import current_user, login_required

        @login_required
        def guarded_view() -> Any:
            if current_user.get_id() != SESSION_USER:
                raise RuntimeError("benchmarks: Flask-Login loaded the wrong user")
            return view()

        return guarded_view  # type: ignore[no-any-return]


def wsgi_app(variant: str) -> Any:
    """Factory for gunicorn: ``benchmarks.apps:wsgi_app('respguard')``."""
    return flask_app(variant)
