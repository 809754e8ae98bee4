"""A pytest plugin: find cross-owner leaks in an app's own test suite.

Inactive unless ``pytest --respguard`` or the ini option ``respguard = true``. Then every
response a test client receives (Flask's and Werkzeug's ``Client``, Starlette's and FastAPI's
``TestClient``, Django's ``Client`` and ``AsyncClient``) is also read by a guard in report mode,
at the WSGI/ASGI boundary the client calls. The response reaches the test exactly as the app
sent it: the guard only watches (no binding cookie, no cache headers, nothing stripped). A test
that received a response the guard would have blocked fails, with the events (kind, method,
path, hashed owners) in its report, and the terminal summary lists them.

The guard's options (extractors, ``requester=``...) come from the ``respguard_options``
fixture: override it in the app's ``conftest.py``, or name a factory in the ini option
``respguard_options = package.module:function`` (a callable returning the options dict).
"""

from __future__ import annotations

import importlib
import secrets
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import pytest

from ._context import ASGI_KEY, WSGI_KEY, RequestContext
from ._events import Action, AuditEvent
from ._exchange import Exchange, State
from ._guard import Guard
from ._scan import RequestInfo

#: What the plugin sets whatever the options say: it watches, and never changes a response.
_WATCH_ONLY: dict[str, Any] = {
    "mode": "report",
    "bind_sessions": False,
    "cache_control": "off",
    "on_foreign_records": "block",
    "inbound": (),
}
_FEEDING = (State.HOLD, State.SNIFF, State.STREAM)
_REPORTS = pytest.StashKey[list[AuditEvent]]()
_WATCH = pytest.StashKey["_Watch"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("respguard")
    group.addoption(
        "--respguard",
        action="store_true",
        default=False,
        help="fail tests whose test-client responses carry another user's data (respguard, report mode)",
    )
    parser.addini("respguard", type="bool", default=False, help="turn the respguard plugin on (like --respguard)")
    parser.addini(
        "respguard_options",
        default="",
        help="module:function returning respguard's Guard options (or override the respguard_options fixture)",
    )


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("respguard")) or bool(config.getini("respguard"))


@pytest.fixture
def respguard_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The Guard options the plugin watches with; override this fixture in your ``conftest.py``."""
    target = str(request.config.getini("respguard_options") or "")
    if not target:
        raise pytest.UsageError(
            "respguard: name your options in the ini option respguard_options = module:function, "
            "or override the respguard_options fixture in conftest.py"
        )
    module_name, _, function_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), function_name or "respguard_options")
    options = factory()
    if not isinstance(options, dict):
        raise pytest.UsageError(f"respguard: {target} must return a dict of Guard options")
    return options


class _Watch:
    """One test's guard and the events it reported."""

    def __init__(self, options: dict[str, Any], reports: list[AuditEvent]) -> None:
        own_sink = options.get("on_event")
        self.reports = reports

        def on_event(event: AuditEvent) -> None:
            if event.action == Action.REPORTED:
                reports.append(event)
            if own_sink is not None:
                own_sink(event)

        merged = {"secret_key": secrets.token_hex(16), **options, **_WATCH_ONLY, "on_event": on_event}
        self.guard = Guard(**merged)
        #: Bodies the test did not read to the end: read once the test returns, so they are judged too.
        self.unread: list[_FedIterable] = []

    def drain(self) -> None:
        """Read what the test left unread of each held document (streams are left alone)."""
        unread, self.unread = self.unread, []
        for body in unread:
            body.drain()

    # ------------------------------------------------------------------ WSGI
    def wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        from .wsgi import _cookie, environ_headers

        def watched(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            context = environ.get(WSGI_KEY)
            if not isinstance(context, RequestContext):
                context = environ[WSGI_KEY] = RequestContext()
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            info = RequestInfo(
                environ.get("REQUEST_METHOD", "GET"), path, environ.get("wsgi.url_scheme", "http"), environ,
                environ_headers,
            )  # fmt: skip
            htmx = "HTTP_HX_REQUEST" in environ
            feeder = _Feeder(Exchange(self.guard, info, context, None, _cookie(environ), htmx))

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                feeder.start(int(status[:3]), [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers])
                write = start_response(status, headers, exc_info)

                def fed_write(data: bytes) -> Any:
                    feeder.chunk(data, True)  # a body written with write() is read too (it comes first)
                    return write(data)

                return fed_write

            body = _FedIterable(app(environ, capture), feeder)
            self.unread.append(body)
            return body

        return watched

    # ------------------------------------------------------------------ ASGI
    def asgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        from ._headers import request_headers
        from .asgi import _scope_headers, scope_user

        async def watched(scope: Any, receive: Any, send: Any) -> None:
            if scope.get("type") != "http":
                await app(scope, receive, send)
                return
            context = RequestContext()
            scope[ASGI_KEY] = context
            info = RequestInfo(
                scope.get("method", "GET"), scope.get("path", ""), scope.get("scheme", "http"), scope, _scope_headers
            )

            def told_or_user(_info: RequestInfo) -> Any:
                # An app guarded by respguard itself puts its own context in the scope: what its
                # views told it is the requester; else Starlette's scope["user"].
                inner = scope.get(ASGI_KEY)
                if isinstance(inner, RequestContext) and inner is not context and inner.requester_set:
                    return inner.requester
                return scope_user(scope)

            _, cookie, htmx = request_headers(scope.get("headers", []))
            feeder = _Feeder(Exchange(self.guard, info, context, told_or_user, cookie, htmx))

            async def watching_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    feeder.start(message["status"], list(message.get("headers", ())))
                elif message["type"] == "http.response.body":
                    feeder.chunk(message.get("body", b""), message.get("more_body", False))
                await send(message)

            await app(scope, receive, watching_send)

        return watched

    # ------------------------------------------------------------------ Django
    def django(self, get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
        from .django import begin_exchange, django_requester, response_headers

        def watched(request: Any) -> Any:
            exchange = begin_exchange(self.guard, request)
            response = get_response(request)
            self._feed_django(exchange, response, response_headers, django_requester(request))
            return response

        return watched

    def django_async(self, get_response: Callable[[Any], Any]) -> Callable[[Any], Any]:
        from asgiref.sync import sync_to_async

        from .django import begin_exchange, django_requester, response_headers

        async def watched(request: Any) -> Any:
            exchange = begin_exchange(self.guard, request)
            response = await get_response(request)
            requester = await sync_to_async(django_requester)(request)
            self._feed_django(exchange, response, response_headers, requester)
            return response

        return watched

    def _feed_django(self, exchange: Exchange, response: Any, headers: Callable[[Any], Any], requester: Any) -> None:
        exchange.fallback = lambda _info: requester
        feeder = _Feeder(exchange)
        feeder.start(response.status_code, headers(response))
        if not response.streaming:
            feeder.chunk(response.content, False)
        elif not response.is_async:
            body = _FedIterable(response.streaming_content, feeder)
            self.unread.append(body)
            response.streaming_content = iter(body)
        # An async streaming response is not watched (the test client reads it in another loop).


class _Feeder:
    """Feeds one response to its exchange while the exchange still reads; ignores what it says to send."""

    __slots__ = ("exchange",)

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        if self.exchange.state == State.START:
            self.exchange.start(status, headers)

    def chunk(self, data: bytes, more: bool) -> None:
        if self.exchange.state in _FEEDING:
            self.exchange.body(data, more)


class _FedIterable:
    """A WSGI body passed on untouched, each chunk also fed to the exchange; ``close()`` passes on."""

    def __init__(self, iterable: Iterable[bytes], feeder: _Feeder) -> None:
        self._iterable = iterable
        self._iterator: Iterator[bytes] | None = None
        self._feeder = feeder

    def __iter__(self) -> Iterator[bytes]:
        self._iterator = iterator = iter(self._iterable)
        for chunk in iterator:
            self._feeder.chunk(chunk, True)
            yield chunk
        self._feeder.chunk(b"", False)

    def drain(self) -> None:
        if self._feeder.exchange.state not in (State.HOLD, State.SNIFF):
            return  # decided, or a stream: nothing more to read for the verdict
        iterator = self._iterator if self._iterator is not None else iter(self._iterable)
        for chunk in iterator:
            self._feeder.chunk(chunk, True)
            if self._feeder.exchange.state not in (State.HOLD, State.SNIFF):
                return
        self._feeder.chunk(b"", False)

    def close(self) -> None:
        close = getattr(self._iterable, "close", None)
        if close is not None:
            close()


def _install(watch: _Watch, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hook every test client whose module the test suite imported."""
    werkzeug_test = sys.modules.get("werkzeug.test")
    if werkzeug_test is not None:
        client_class = werkzeug_test.Client
        run_wsgi_app = client_class.run_wsgi_app

        def client_run_wsgi_app(self: Any, environ: Any, buffered: bool = False) -> Any:
            # The client's own method (its cookie jar, its redirects), on the watched app.
            app = self.application
            self.application = watch.wsgi(app)
            try:
                return run_wsgi_app(self, environ, buffered=buffered)
            finally:
                self.application = app

        monkeypatch.setattr(werkzeug_test.Client, "run_wsgi_app", client_run_wsgi_app)
    starlette_testclient = sys.modules.get("starlette.testclient")
    if starlette_testclient is not None:
        transport = starlette_testclient._TestClientTransport
        handle_request = transport.handle_request

        def watched_handle_request(self: Any, request: Any) -> Any:
            # The transport's app, watched for this request (clients made at import time included).
            app = self.app
            self.app = watch.asgi(app)
            try:
                return handle_request(self, request)
            finally:
                self.app = app

        monkeypatch.setattr(transport, "handle_request", watched_handle_request)
    django_client = sys.modules.get("django.test.client")
    if django_client is not None:
        sync_get = django_client.ClientHandler.get_response
        async_get = django_client.AsyncClientHandler.get_response_async

        def get_response(self: Any, request: Any) -> Any:
            return watch.django(lambda r: sync_get(self, r))(request)

        async def get_response_async(self: Any, request: Any) -> Any:
            return await watch.django_async(lambda r: async_get(self, r))(request)

        monkeypatch.setattr(django_client.ClientHandler, "get_response", get_response)
        monkeypatch.setattr(django_client.AsyncClientHandler, "get_response_async", get_response_async)


@pytest.fixture(autouse=True)
def _respguard_watch(request: pytest.FixtureRequest) -> Iterator[None]:
    if not _active(request.config):
        yield
        return
    options = request.getfixturevalue("respguard_options")
    reports: list[AuditEvent] = []
    request.node.stash[_REPORTS] = reports
    watch = _Watch(dict(options), reports)
    request.node.stash[_WATCH] = watch
    with pytest.MonkeyPatch.context() as monkeypatch:
        _install(watch, monkeypatch)
        yield


def describe(event: AuditEvent) -> str:
    """One line per event: no raw id, only the guard's hashes."""
    owners = ", ".join(event.owners) or "-"
    return f"{event.kind.value}: {event.method} {event.path} (status {event.status}, owners {owners}) - {event.reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        yield
    finally:
        watch = item.stash.get(_WATCH, None)
        if watch is not None:
            watch.drain()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when != "call":
        return report
    reports = item.stash.get(_REPORTS, None)
    if not reports:
        return report
    lines = [describe(e) for e in reports]
    report.sections.append(("respguard", "\n".join(lines)))
    if report.passed:
        report.outcome = "failed"
        report.longrepr = "respguard: a response would have been blocked\n" + "\n".join(lines)
    item.config.stash.setdefault(_SEEN, []).append((item.nodeid, lines))
    return report


_SEEN = pytest.StashKey[list[tuple[str, list[str]]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _active(config):
        return
    seen = config.stash.get(_SEEN, [])
    terminalreporter.section("respguard")
    if not seen:
        terminalreporter.write_line("respguard: no response would have been blocked")
        return
    total = sum(len(lines) for _, lines in seen)
    terminalreporter.write_line(f"respguard: {total} response(s) in {len(seen)} test(s) would have been blocked")
    for nodeid, lines in seen:
        for line in lines:
            terminalreporter.write_line(f"{nodeid}: {line}")
