"""Shared factories for respguard tests.

Ids are distinctive (``alice-7f3a``) so a test can assert that no event ever
carries one. Every factory builds a fresh, small app; nothing is shared between
tests but these functions.

- ``guard_options(events, **overrides)``: Guard keyword options with the test secret.
- ``asgi_reply`` / ``asgi_call``: a raw ASGI app that answers what it is told, and a
  driver that runs scope/receive/send by hand (the TestClient would hide chunking).
- ``wsgi_reply`` / ``wsgi_call``: the same for WSGI; ``ClosingBody`` counts ``close()``.
- ``assert_block(...)`` / ``assert_no_raw_ids(...)``: the exact checks of a block and of events;
  ``assert_passed_headers(...)``: a passed response kept the app's headers (plus respguard's own).
- ``Reply`` + ``GuardedStack`` / the ``make_stack`` fixture: one API over both middlewares; a test
  that takes ``make_stack`` runs once on ASGI and once on WSGI (Lint inside and out), with a
  binding-cookie jar like a browser's.
"""

from __future__ import annotations

import asyncio
import gzip
import warnings
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.middleware.lint import LintMiddleware, WSGIWarning
from werkzeug.test import create_environ

from respguard import AuditEvent, BlockPage, HtmlAttribute, JsonKeys, OwnerHeader, set_requester

SECRET = "test-secret-2f8e1d"
OLD_SECRET = "old-secret-91ac44"

ALICE = "alice-7f3a"
BOB = "bob-9c2e"
CAROL = "carol-51d0"
#: Every raw id the tests use; none may ever appear in an event.
RAW_IDS = (ALICE, BOB, CAROL, "8812345", "alice@example.test", "bob@example.test")

BLOCK_BODY = BlockPage().body
BINDING = "respguard_bind"

JSON = (b"content-type", b"application/json")
HTML = (b"content-type", b"text/html; charset=utf-8")


class _NoRequester:
    def __repr__(self) -> str:
        return "NO_REQUESTER"


#: Pass as ``requester=`` to a reply factory: the app never calls ``set_requester``.
NO_REQUESTER: Any = _NoRequester()


@pytest.fixture
def events() -> list[AuditEvent]:
    """Collects every event of the test (``on_event=events.append``)."""
    return []


def default_extractors() -> list[Any]:
    return [JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()]


def guard_options(events: list[AuditEvent] | None = None, **overrides: Any) -> dict[str, Any]:
    """Guard options: the test secret, JSON/HTML/header extractors, events into ``events``."""
    options: dict[str, Any] = {"secret_key": SECRET, "extractors": default_extractors()}
    if events is not None:
        options["on_event"] = events.append
    options.update(overrides)
    return options


def kinds(events: Sequence[AuditEvent]) -> list[tuple[str, str]]:
    """``[(kind, action), ...]`` of the events, in order."""
    return [(e.kind.value, e.action.value) for e in events]


def assert_no_raw_ids(events: Sequence[AuditEvent], *extra: str) -> None:
    """No raw id (and no ``extra`` text, e.g. body bytes) in any event's JSON or repr."""
    for event in events:
        text = event.to_json() + repr(event)
        for raw in (*RAW_IDS, *extra):
            assert raw not in text, f"{raw!r} leaked into {text}"


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def deflated(data: bytes, raw: bool = False) -> bytes:
    if raw:
        compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return compressor.compress(data) + compressor.flush()
    return zlib.compress(data)


# ------------------------------------------------------------------ header helpers


def header_list(headers: Iterable[tuple[Any, Any]]) -> list[tuple[str, str]]:
    """Normalise raw (bytes) or str header pairs to ``[(lower name, value)]``."""
    out = []
    for k, v in headers:
        key = k.decode("latin-1") if isinstance(k, bytes) else k
        value = v.decode("latin-1") if isinstance(v, bytes) else v
        out.append((key.lower(), value))
    return out


def values(headers: Iterable[tuple[Any, Any]], name: str) -> list[str]:
    return [v for k, v in header_list(headers) if k == name.lower()]


def binding_cookies(headers: Iterable[tuple[Any, Any]]) -> list[str]:
    """The Set-Cookie values for the binding cookie."""
    return [v for v in values(headers, "set-cookie") if v.startswith(BINDING + "=")]


def binding_value(headers: Iterable[tuple[Any, Any]]) -> str:
    """The value of the one binding Set-Cookie (which must set, not clear)."""
    (cookie,) = binding_cookies(headers)
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert value, f"binding cookie is a clearing one: {cookie}"
    return value


def is_clearing(cookie: str) -> bool:
    return cookie.startswith(BINDING + "=;") and "Max-Age=0" in cookie


def assert_block(
    status: int,
    headers: Iterable[tuple[Any, Any]],
    body: bytes,
    *,
    page: BlockPage | None = None,
    clears_binding: bool = False,
    sets_binding: bool = False,
    original: bytes = b"",
    head: bool = False,
) -> None:
    """A block: exact status/body/headers, none of the original body, and no cookie but
    respguard's binding: the clearing one (``clears_binding``: an unbind), a new one
    (``sets_binding``: a first visit, a log-in, a rejected cookie replaced), or none (the block
    keeps the binding the browser holds)."""
    page = page or BlockPage()
    pairs = header_list(headers)
    assert status == page.status
    expected_body = b"" if head else page.body
    assert body == expected_body
    assert values(pairs, "content-type") == [page.content_type]
    assert values(pairs, "content-length") == [str(len(page.body))]
    assert values(pairs, "cache-control") == ["private, no-store"]
    assert values(pairs, "x-data-owner") == []
    assert values(pairs, "content-encoding") == []
    cookies = values(pairs, "set-cookie")
    if clears_binding:
        assert len(cookies) == 1 and is_clearing(cookies[0]), cookies
    elif sets_binding:
        assert len(cookies) == 1 and cookies[0].startswith(BINDING + "=") and not is_clearing(cookies[0]), cookies
    else:
        assert cookies == []
    for chunk in _fragments(original):
        assert chunk not in body


def _fragments(original: bytes) -> Iterator[bytes]:
    """Distinctive 8-byte slices of the original body (none may be in the block body)."""
    for start in range(0, max(len(original) - 7, 0), 4):
        piece = original[start : start + 8]
        if piece not in BLOCK_BODY:
            yield piece


# ------------------------------------------------------------------ raw ASGI

Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@dataclass
class ASGIResult:
    messages: list[Message]
    scope: dict[str, Any]

    @property
    def start(self) -> Message:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.messages
        return starts[0]

    @property
    def status(self) -> int:
        return int(self.start["status"])

    @property
    def headers(self) -> list[tuple[str, str]]:
        return header_list(self.start.get("headers", []))

    @property
    def body_messages(self) -> list[Message]:
        return [m for m in self.messages if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.body_messages)

    @property
    def chunks(self) -> list[bytes]:
        return [m.get("body", b"") for m in self.body_messages]


def asgi_scope(
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[bytes, bytes]] = (),
    scheme: str = "http",
    type: str = "http",  # noqa: A002
    query_string: bytes = b"",
) -> dict[str, Any]:
    """A raw ASGI HTTP scope as a server builds it (``path`` decoded, ``raw_path`` its bytes)."""
    return {
        "type": type,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


def asgi_call(
    app: Any,
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[bytes, bytes]] = (),
    scheme: str = "http",
    scope: dict[str, Any] | None = None,
    body: bytes = b"",
) -> ASGIResult:
    """Drive one HTTP request (its ``body`` in one message) through ``app`` by hand and record
    every message sent."""
    the_scope = scope if scope is not None else asgi_scope(method=method, path=path, headers=headers, scheme=scheme)
    sent: list[Message] = []
    requested = [False]

    async def receive() -> Message:
        if not requested[0]:
            requested[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(dict(message))

    asyncio.run(asyncio.wait_for(app(the_scope, receive, send), timeout=10))
    return ASGIResult(sent, the_scope)


def asgi_reply(
    *,
    status: int = 200,
    headers: Sequence[tuple[bytes, bytes]] = (JSON,),
    chunks: Sequence[bytes] = (b"{}",),
    requester: Any = ALICE,
    content_length: bool = True,
    extra: Callable[[MutableMapping[str, Any]], None] | None = None,
) -> ASGIApp:
    """A raw ASGI app: sets ``requester`` (unless NO_REQUESTER), then sends ``chunks``.

    Several chunks go out as several ``more_body=True`` messages; ``content_length``
    adds a correct Content-Length header.
    """

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        if requester is not NO_REQUESTER:
            set_requester(scope, requester)
        if extra is not None:
            extra(scope)
        raw = list(headers)
        if content_length:
            raw.append((b"content-length", str(sum(len(c) for c in chunks)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        if not chunks:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    return app


# ------------------------------------------------------------------ raw WSGI


class ClosingBody:
    """A WSGI response iterable that counts ``close()`` calls and how far it was read."""

    def __init__(self, chunks: Sequence[bytes], *, fail_at: int | None = None) -> None:
        self.chunks = list(chunks)
        self.fail_at = fail_at
        self.close_calls = 0
        self.yielded = 0

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_at:
                raise AppError("boom while streaming")
            self.yielded += 1
            yield chunk

    def close(self) -> None:
        self.close_calls += 1


class AppError(Exception):
    """The app's own exception; it must reach the caller unchanged."""


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class WSGIReply:
    """A WSGI app that answers what it is told; ``bodies`` holds every ClosingBody it returned."""

    status: str = "200 OK"
    headers: Sequence[tuple[str, str]] = (("Content-Type", "application/json"),)
    chunks: Sequence[bytes] = (b"{}",)
    requester: Any = ALICE
    content_length: bool = True
    fail_at: int | None = None
    bodies: list[ClosingBody] = field(default_factory=list)
    environ: dict[str, Any] = field(default_factory=dict)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.environ = environ
        if self.requester is not NO_REQUESTER:
            set_requester(environ, self.requester)
        headers = list(self.headers)
        if self.content_length:
            headers.append(("Content-Length", str(sum(len(c) for c in self.chunks))))
        start_response(self.status, headers)
        body = ClosingBody(self.chunks, fail_at=self.fail_at)
        self.bodies.append(body)
        return body

    @property
    def close_calls(self) -> list[int]:
        return [b.close_calls for b in self.bodies]


def wsgi_reply(**kwargs: Any) -> WSGIReply:
    return WSGIReply(**kwargs)


@dataclass
class WSGIResult:
    status_line: str
    headers: list[tuple[str, str]]
    body: bytes
    chunks: list[bytes]

    @property
    def status(self) -> int:
        return int(self.status_line[:3])


class _UnreadBodyAllowed:
    """The app-side linter's iterable: a body respguard left unread (a block decided on the head)
    is not a length error there; the outer linter still checks every length respguard sends."""

    def __init__(self, linted: Iterable[bytes]) -> None:
        self.linted = linted

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.linted)

    def close(self) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Content-Length and the number of bytes", WSGIWarning)
            getattr(self.linted, "close", lambda: None)()


def wsgi_call(
    app: WSGIApp,
    *,
    method: str = "GET",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    lint: bool = True,
    url_scheme: str = "http",
    data: bytes | None = None,
) -> WSGIResult:
    """Call ``app`` as a server would (LintMiddleware outside unless ``lint=False``); closes the iterable."""
    environ = create_environ(
        path, method=method, headers=list(headers), base_url=f"{url_scheme}://localhost/", data=data
    )
    captured: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and captured:
            raise exc_info[1].with_traceback(exc_info[2])
        captured[:] = [status, response_headers]
        return written.append

    outer: WSGIApp = LintMiddleware(app) if lint else app
    result = outer(environ, start_response)
    chunks: list[bytes] = []
    try:
        for chunk in result:
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    assert captured, "start_response was never called"
    all_chunks = [*written, *chunks]
    return WSGIResult(captured[0], header_list(captured[1]), b"".join(all_chunks), all_chunks)


# ------------------------------------------------------------------ one API over both stacks


@dataclass
class Reply:
    """What the test app answers (the same for the ASGI and the WSGI stack)."""

    status: int = 200
    headers: Sequence[tuple[str, str]] = (("Content-Type", "application/json"),)
    chunks: Sequence[bytes] = (b"{}",)
    requester: Any = ALICE
    content_length: bool = True
    #: called with the ASGI scope / WSGI environ before the response starts (rebind, add_owner...)
    hook: Callable[[Any], None] | None = None


@dataclass
class Result:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


_STATUS_PHRASES = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found", 500: "Internal Server Error"}


class GuardedStack:
    """One guarded app (ASGI or WSGI) whose answer each request chooses, plus a binding-cookie jar.

    ``send(reply, ...)`` runs one request; the binding cookie a response sets (or
    clears) is kept and sent back on the next request, like a browser.
    """

    def __init__(self, kind: str, guard: Any = None, **options: Any) -> None:
        from respguard import ASGIMiddleware, WSGIMiddleware

        self.kind = kind
        self.reply = Reply()
        self.jar: str | None = None
        self.inner_lint = True
        self.django: Any = None
        if kind == "asgi":
            self.app: Any = ASGIMiddleware(self._asgi_app, guard, **options)
        elif kind == "wsgi":
            self.app = WSGIMiddleware(self._lint_wsgi_app, guard, **options)
        else:
            from _django_stack import DJANGO_KINDS, DjangoApp

            assert kind in DJANGO_KINDS, kind
            self.django = self.app = DjangoApp(guard, **options)
        self.guard = self.app.guard
        self.wsgi_bodies: list[ClosingBody] = []

    async def _asgi_app(self, scope: Any, receive: Any, send: Any) -> None:
        reply = self.reply
        if reply.requester is not NO_REQUESTER:
            set_requester(scope, reply.requester)
        if reply.hook is not None:
            reply.hook(scope)
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        if reply.content_length:
            raw.append((b"content-length", str(sum(len(c) for c in reply.chunks)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        chunks = list(reply.chunks) or [b""]
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1})

    def _wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        reply = self.reply
        if reply.requester is not NO_REQUESTER:
            set_requester(environ, reply.requester)
        if reply.hook is not None:
            reply.hook(environ)
        headers = list(reply.headers)
        if reply.content_length:
            headers.append(("Content-Length", str(sum(len(c) for c in reply.chunks))))
        start_response(f"{reply.status} {_STATUS_PHRASES.get(reply.status, 'Status')}", headers)
        body = ClosingBody(reply.chunks)
        self.wsgi_bodies.append(body)
        return body

    def _lint_wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.inner_lint:
            return _UnreadBodyAllowed(LintMiddleware(self._wsgi_app)(environ, start_response))
        return self._wsgi_app(environ, start_response)

    def send(
        self,
        reply: Reply | None = None,
        *,
        method: str = "GET",
        path: str = "/",
        headers: Sequence[tuple[str, str]] = (),
        cookie: str | None = None,
        scheme: str = "http",
        outer_lint: bool | None = None,
    ) -> Result:
        """One request; ``cookie`` overrides the jar (``""``: send no binding cookie)."""
        if reply is not None:
            self.reply = reply
        request_headers = list(headers)
        binding = self.jar if cookie is None else cookie
        if binding:
            request_headers.append(("Cookie", f"{BINDING}={binding}"))
        if self.django is not None:
            result = self._django_send(method, path, request_headers, scheme, outer_lint)
        elif self.kind == "asgi":
            raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in request_headers]
            got = asgi_call(self.app, method=method, path=path, headers=raw, scheme=scheme)
            result = Result(got.status, got.headers, got.body)
        else:
            lint = method != "HEAD" if outer_lint is None else outer_lint
            wsgi = wsgi_call(self.app, method=method, path=path, headers=request_headers, lint=lint, url_scheme=scheme)
            result = Result(wsgi.status, wsgi.headers, wsgi.body)
        for cookie_header in binding_cookies(result.headers):
            self.jar = cookie_header.split(";", 1)[0].split("=", 1)[1] or None
        return result

    def _django_answer(self, request: Any) -> Any:
        """The catch-all view's answer: ``set_requester`` and the hook on the Django request, then the reply."""
        from _django_stack import django_response

        reply = self.reply
        if reply.requester is not NO_REQUESTER:
            set_requester(request, reply.requester)
        if reply.hook is not None:
            reply.hook(request)
        asynchronous = self.kind == "django-asgi"
        return django_response(
            reply.status, reply.headers, reply.chunks, content_length=reply.content_length, asynchronous=asynchronous
        )

    def _django_send(
        self, method: str, path: str, request_headers: list[tuple[str, str]], scheme: str, outer_lint: bool | None
    ) -> Result:
        from _django_stack import inexpressible

        reason = inexpressible(self.reply.status, self.reply.headers)
        if reason is not None:
            pytest.skip(reason)
        status, headers, body = self.django.request(
            self.kind,
            self._django_answer,
            method=method,
            path=path,
            headers=request_headers,
            scheme=scheme,
            lint=outer_lint,
        )
        return Result(status, headers, body)


def _stack_kinds() -> list[str]:
    from _django_stack import enabled_stacks

    return enabled_stacks()


@pytest.fixture(params=_stack_kinds())
def stack_kind(request: pytest.FixtureRequest) -> str:
    """``asgi`` and ``wsgi``; ``RESPGUARD_TEST_STACKS`` may add ``django`` and ``django-asgi``."""
    return str(request.param)


@pytest.fixture
def make_stack(stack_kind: str) -> Callable[..., GuardedStack]:
    """``make_stack(**guard options)`` -> a GuardedStack of the parametrized kind (asgi, wsgi; opt-in django)."""

    def make(guard: Any = None, **options: Any) -> GuardedStack:
        return GuardedStack(stack_kind, guard, **options)

    return make


# ------------------------------------------------------------------ session-wide event audit (issue 4 §3)

#: Every AuditEvent the ``respguard`` logger emitted in this session (appended by the fixture below).
SESSION_EVENTS: list[AuditEvent] = []


@pytest.fixture(scope="session", autouse=True)
def audit_every_event() -> Iterator[list[AuditEvent]]:
    """Capture every event of the session; at the end, fail if any carried raw data.

    A handler on the ``respguard`` logger (events are logged with
    ``extra={"respguard_event": event}``); the logger is opened to INFO so the
    ``ignored``/``allowed`` events are seen too. The checks are in ``tests/_audit.py``.
    """
    import logging

    from _audit import audit
    from ids import RAW_IDS as REGISTRY

    class _Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            event = getattr(record, "respguard_event", None)
            if event is not None:
                SESSION_EVENTS.append(event)

    logger = logging.getLogger("respguard")
    handler = _Capture(logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield SESSION_EVENTS
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    problems = audit(SESSION_EVENTS, {*RAW_IDS, *REGISTRY})
    assert not problems, f"{len(problems)} audit problem(s) in {len(SESSION_EVENTS)} events:\n" + "\n".join(
        problems[:50]
    )


# ------------------------------------------------------------------ passed responses

#: Headers respguard may add to a passed response that carried personal data (issue 5's
#: shared-cache rule: ``Cache-Control: private, no-store`` and ``Vary: Cookie``).
PERSONAL_PAGE_HEADERS = frozenset({("cache-control", "private, no-store"), ("vary", "Cookie")})


def assert_passed_headers(
    got: Iterable[tuple[Any, Any]],
    original: Iterable[tuple[Any, Any]],
    *,
    binding: bool,
    stripped: str = "x-data-owner",
) -> None:
    """The app's headers, in order, minus the owner header; plus only respguard's own additions.

    ``binding``: exactly one binding Set-Cookie (that sets, not clears) was added;
    else none. Personal-page cache headers (``PERSONAL_PAGE_HEADERS``) may be added.
    """
    got_pairs = header_list(got)
    want = [(k, v) for k, v in header_list(original) if k != stripped]
    added = [p for p in got_pairs if p not in want or (p[0] == "set-cookie" and p[1].startswith(BINDING + "="))]
    kept = [p for p in got_pairs if p not in added]
    assert kept == want
    cookies = binding_cookies(added)
    assert len(cookies) == (1 if binding else 0), added
    if binding:
        binding_value(added)
    extra = [p for p in added if not (p[0] == "set-cookie" and p[1].startswith(BINDING + "="))]
    assert set(extra) <= PERSONAL_PAGE_HEADERS, extra


# Helper modules of the edge-case/fuzz/audit tests get pytest's assertion messages too.
pytest.register_assert_rewrite("_reflector", "_audit")
