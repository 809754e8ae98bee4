"""The Django flavour of the test stacks (opt-in: ``RESPGUARD_TEST_STACKS=asgi,wsgi,django,django-asgi``).

A minimal Django project, configured in-process the way ``tests/test_django.py`` configures it
(importing that module configures Django once per process), with the README's Django
quickstart ``MIDDLEWARE`` (``RespGuardMiddleware`` outside sessions and authentication) and
``settings.RESPGUARD`` holding the test's Guard options. Its one catch-all view answers what
the request carries under :data:`ANSWER_KEY` (a function of the Django request, built by
:func:`django_response`): an ``HttpResponse`` for one chunk, a ``StreamingHttpResponse`` for
several. :class:`DjangoApp` drives it through Django's WSGI handler (``"django"``) or its ASGI
handler (``"django-asgi"``).

What Django can't say, :func:`inexpressible` names (the stacks skip those cases, saying why):
a header name twice (Django's ``ResponseHeaders`` keeps one value per name), a header value
Django refuses (a newline), a status outside 100-599.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

#: The stacks the stack fixtures run on, from the environment (default: the two core middlewares).
STACKS_VARIABLE = "RESPGUARD_TEST_STACKS"
DJANGO_KINDS = ("django", "django-asgi")
KNOWN = ("asgi", "wsgi", *DJANGO_KINDS)
#: Where the request carries its answer (WSGI environ / ASGI scope key).
ANSWER_KEY = "respguard.tests.answer"
#: The README's Django quickstart middleware.
MIDDLEWARE = [
    "respguard.django.RespGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


def enabled_stacks() -> list[str]:
    """The stack kinds ``RESPGUARD_TEST_STACKS`` names (comma-separated), default ``asgi,wsgi``."""
    text = os.environ.get(STACKS_VARIABLE, "").strip()
    if not text:
        return ["asgi", "wsgi"]
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KNOWN]
    if unknown:
        raise ValueError(f"{STACKS_VARIABLE}: unknown stack(s) {unknown}; known: {list(KNOWN)}")
    return kinds


def inexpressible(status: int, headers: Sequence[tuple[str, str]]) -> str | None:
    """Why a Django view can't answer this (``None``: it can)."""
    if not 100 <= status <= 599:
        return f"Django: a status outside 100-599 ({status}) is refused by HttpResponse"
    seen: set[str] = set()
    for name, value in headers:
        lower = name.lower()
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            return "Django: a header with a newline is refused (BadHeaderError)"
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return "Django: a header value outside latin-1 is MIME-encoded by Django"
        if lower == "set-cookie":
            continue  # response.cookies holds any number
        if lower in seen:
            return f"Django: one value per header name ({lower!r} twice; ResponseHeaders is a dict)"
        seen.add(lower)
    return None


def cookies_last(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` in the order Django's handlers send them: ``response.items()``, then the cookies."""
    plain = [h for h in headers if h[0].lower() != "set-cookie"]
    return [*plain, *(h for h in headers if h[0].lower() == "set-cookie")]


def ensure_configured() -> None:
    """Configure Django once per process, the way ``tests/test_django.py`` does."""
    import test_django  # noqa: F401  (its module body configures the settings and calls django.setup())


def django_response(
    status: int,
    headers: Sequence[tuple[str, str]],
    chunks: Sequence[bytes],
    *,
    content_length: bool | str = True,
    file_block: int | None = None,
    asynchronous: bool = False,
    streaming: bool | None = None,
) -> Any:
    """The Django response a view builds for this answer.

    One chunk (or none): ``HttpResponse``; several: ``StreamingHttpResponse`` over them;
    ``file_block``: a ``FileResponse`` reading that many bytes at a time. Django's own default
    headers (``Content-Type``, FileResponse's ``Content-Length``) are removed: the test's headers
    are all the app says. ``content_length``: True adds the correct length, a str that value.
    ``streaming``: True or False says which class, whatever the number of chunks.
    """
    from django.http import FileResponse, HttpResponse, StreamingHttpResponse

    body = b"".join(chunks)
    response: Any
    if file_block is not None:
        response = FileResponse(io.BytesIO(body))
        response.block_size = file_block
    elif len(chunks) > 1 if streaming is None else streaming:
        response = StreamingHttpResponse(_aiter(list(chunks)) if asynchronous else iter(list(chunks)))
    else:
        response = HttpResponse(body)
    response.status_code = status
    for name in list(response.headers):
        del response.headers[name]
    for name, value in headers:
        if name.lower() == "set-cookie":
            response.cookies.load(value)
        else:
            response.headers[name] = value
    if content_length is True:
        response.headers["Content-Length"] = str(len(body))
    elif isinstance(content_length, str):
        response.headers["Content-Length"] = content_length
    return response


async def _aiter(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def answer_view(request: Any) -> Any:
    """The catch-all view: whatever the request's answer builds."""
    holder = getattr(request, "scope", None)
    if not isinstance(holder, dict):
        holder = request.environ
    build: Callable[[Any], Any] = holder[ANSWER_KEY]
    return build(request)


def __getattr__(name: str) -> Any:  # this module is the stack's ROOT_URLCONF
    if name == "urlpatterns":
        from django.urls import re_path
        from django.views.decorators.csrf import csrf_exempt

        return [re_path(r"", csrf_exempt(answer_view))]
    raise AttributeError(name)


class DjangoApp:
    """Django's WSGI and ASGI handlers around the README's middleware, guarded by ``guard`` or ``options``."""

    def __init__(self, guard: Any = None, **options: Any) -> None:
        if guard is not None and options:
            raise ValueError("pass either guard=Guard(...) or Guard options, not both")
        ensure_configured()
        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.wsgi import WSGIHandler

        from respguard.django import RespGuardMiddleware

        with self.settings(options if guard is None else None):  # a given guard replaces the settings' one
            self.wsgi = WSGIHandler()
            self.asgi = ASGIHandler()  # loads its async middleware chain
        self.middlewares: list[RespGuardMiddleware] = []
        for handler in (self.wsgi, self.asgi):
            # convert_exception_to_response wraps the outermost middleware with functools.wraps.
            outer = handler._middleware_chain.__wrapped__
            assert isinstance(outer, RespGuardMiddleware), outer
            if guard is not None:
                outer.guard = guard
            self.middlewares.append(outer)
        self.middlewares[1].guard = self.middlewares[0].guard  # one guard, as the other stacks have
        self.guard = self.middlewares[0].guard

    @staticmethod
    def settings(respguard: dict[str, Any] | None = None) -> Any:
        from django.test import override_settings

        overrides: dict[str, Any] = {"ROOT_URLCONF": __name__, "MIDDLEWARE": MIDDLEWARE}
        if respguard is not None:
            overrides["RESPGUARD"] = respguard
        return override_settings(**overrides)

    def request(
        self,
        kind: str,
        build: Callable[[Any], Any],
        *,
        method: str = "GET",
        path: str = "/",
        headers: Sequence[tuple[str, str]] = (),
        scheme: str = "http",
        lint: bool | None = None,
        body: bytes = b"",
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request through Django's WSGI (``kind="django"``: Werkzeug's lint outside unless HEAD
        or ``lint=False``) or ASGI handler (``"django-asgi"``); ``build(request)`` is the view's answer.
        ``path`` may carry a query; ``body`` is the request body. Returns the status, lower-case
        headers and body, as a client reads them."""
        from conftest import asgi_scope, header_list, wsgi_call

        with self.settings():
            if kind == "django":
                linted = method != "HEAD" if lint is None else lint
                app = self.wsgi_app(build)
                data = body if body else None
                got = wsgi_call(
                    app, method=method, path=path, headers=headers, lint=linted, url_scheme=scheme, data=data
                )
                # Django's WSGI handler sends Set-Cookie as " name=value" (Cookie.output's space): a
                # client strips the optional whitespace before a field value, as the ASGI handler does.
                return got.status, [(k, v.strip(" \t")) for k, v in got.headers], got.body
            assert kind == "django-asgi", kind
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
            if body:
                raw.append((b"content-length", str(len(body)).encode()))
            path, _, query = path.partition("?")
            scope = asgi_scope(method=method, path=path, headers=raw, scheme=scheme)
            scope["query_string"] = query.encode("latin-1")
            sent = asgi_messages(self.asgi_app(build), scope, body=body)
        (start,) = [m for m in sent if m["type"] == "http.response.start"]
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return int(start["status"]), header_list(start.get("headers", [])), body

    def wsgi_app(self, build: Callable[[Any], Any]) -> Callable[..., Any]:
        """A WSGI callable: Django's WSGI handler, the request carrying ``build``."""

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            environ[ANSWER_KEY] = build
            return self.wsgi(environ, start_response)

        return app

    def asgi_app(self, build: Callable[[Any], Any]) -> Callable[..., Any]:
        """An ASGI callable: Django's ASGI handler (its middleware chain loaded once), carrying ``build``."""

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            scope[ANSWER_KEY] = build
            await self.asgi(scope, receive, send)

        return app


async def _until_done(done: asyncio.Event) -> dict[str, Any]:
    await done.wait()
    return {"type": "http.disconnect"}


def asgi_messages(
    app: Callable[..., Any], scope: dict[str, Any], *, body: bytes = b"", timeout: float = 20
) -> list[dict[str, Any]]:
    """Drive one request through an ASGI app as a server does: the client stays connected until
    the response ends (Django's handler listens for a disconnect while the view runs)."""
    sent: list[dict[str, Any]] = []

    async def main() -> None:
        done = asyncio.Event()
        requested = [False]

        async def receive() -> dict[str, Any]:
            if not requested[0]:
                requested[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await _until_done(done)

        async def send(message: dict[str, Any]) -> None:
            sent.append(dict(message))
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                done.set()

        try:
            await app(scope, receive, send)
        finally:
            done.set()

    asyncio.run(asyncio.wait_for(main(), timeout=timeout))
    return sent
