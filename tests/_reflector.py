"""A reflector app for table-driven edge cases: one case description, an ASGI and a WSGI flavour.

A :class:`Case` says what the app answers (status, headers, body chunks, and *how*:
plain body messages, ``write()``, ``wsgi.file_wrapper``/``http.response.pathsend``,
raising before or after the start, stopping at a client disconnect), the request
(method, headers), the guard options, and what must come out (status, headers,
body, the kinds of the events).

- :func:`run_asgi` drives the ASGI middleware by hand (scope/receive/send), so the
  chunking is real; it also checks the message protocol and ``Content-Length``.
- :func:`run_wsgi` calls the WSGI middleware as a server would, with Werkzeug's
  ``LintMiddleware`` outside it (checks what respguard sends: Content-Length vs
  bytes, 204/304 rules, close()) and inside it (checks the app and what respguard
  gives it). With ``filterwarnings = error`` a lint warning fails the test.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from werkzeug.middleware.lint import LintMiddleware
from werkzeug.test import create_environ

from respguard import ASGIMiddleware, AuditEvent, HtmlAttribute, JsonKeys, OwnerHeader, WSGIMiddleware, set_requester

SECRET = "reflector-secret-5be1"
BINDING = "respguard_bind"
BLOCK_BODY = b"Forbidden: respguard withheld this response because it carried another person's data.\n"
PRIVATE = ("cache-control", "private, no-store")

#: How the app sends its body.
BODY, WRITE, FILE, RAISE_BEFORE, RAISE_AFTER, DISCONNECT = (
    "body",
    "write",
    "file",
    "raise-before",
    "raise-after",
    "disc",
)


class AppError(Exception):
    """The app's own exception: it must reach the server unchanged."""


@dataclass(frozen=True)
class Case:
    """One row of the table: the app's answer, the request, the options, what must come out."""

    id: str
    # --- the app's answer
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    chunks: tuple[bytes, ...] = (b"{}",)
    #: True: a correct Content-Length; False: none; a str: that (stale) value.
    content_length: bool | str = True
    how: str = BODY
    requester: object = "alice-7f3a"  # None: nobody authenticated
    # --- the request
    method: str = "GET"
    request_headers: tuple[tuple[str, str], ...] = ()
    # --- the guard
    options: Mapping[str, Any] = field(default_factory=dict)
    # --- expected
    expect: str = "pass"  # "pass", "block" or "raise" (the app's exception reaches the server)
    events: tuple[str, ...] = ()  # kinds of every event, in order
    actions: tuple[str, ...] | None = None  # actions of the events (default: blocked for a block)
    #: The pass carried the requester's own data: respguard adds Cache-Control: private, no-store.
    personal: bool = False
    #: Expected binding Set-Cookie: "set", "clear" or "none"; default: set for a requester, else none.
    binding: str | None = None
    #: Expected headers of a pass (lower-case names, binding cookie excluded); default: the app's,
    #: minus X-Data-Owner, plus Cache-Control when ``personal``.
    pass_headers: tuple[tuple[str, str], ...] | None = None
    #: The body a pass must carry when respguard replaces it (filter mode); default: the app's, byte-identical.
    pass_body: bytes | None = None
    owner_count: int | None = None  # of the last event
    #: ASGI only: how many body messages reach the client (None: don't care).
    asgi_messages: int | None = None
    lint_inner: bool = True
    stacks: tuple[str, ...] = ("asgi", "wsgi")

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def raw_headers(self) -> list[tuple[str, str]]:
        """The headers the app sends, Content-Length included."""
        out = list(self.headers)
        if self.content_length is True:
            out.append(("Content-Length", str(len(self.body))))
        elif isinstance(self.content_length, str):
            out.append(("Content-Length", self.content_length))
        return out


def guard_options(case: Case, events: list[AuditEvent]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "secret_key": SECRET,
        "extractors": [JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()],
        "on_event": events.append,
    }
    options.update(case.options)
    return options


@dataclass
class Outcome:
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    events: list[AuditEvent]
    raised: BaseException | None = None
    body_messages: int = 0
    messages: list[MutableMapping[str, Any]] = field(default_factory=list)
    closes: int = 0


def _lower(headers: Iterable[tuple[Any, Any]]) -> list[tuple[str, str]]:
    out = []
    for k, v in headers:
        key = k.decode("latin-1") if isinstance(k, bytes) else k
        value = v.decode("latin-1") if isinstance(v, bytes) else v
        out.append((key.lower(), value))
    return out


def _tempfile(data: bytes) -> str:
    fd, path = tempfile.mkstemp(prefix="respguard-reflector-")
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    return path


# --------------------------------------------------------------------------- ASGI


def asgi_app(case: Case, paths: list[str]) -> Callable[..., Any]:
    """The ASGI flavour of the reflector."""

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if case.requester is not None:
            set_requester(scope, case.requester)  # type: ignore[arg-type]
        if case.how == RAISE_BEFORE:
            raise AppError("before the response started")
        if case.how == DISCONNECT:
            await receive()  # the request body; the next receive() says the client has gone
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in case.raw_headers()]
        await send({"type": "http.response.start", "status": case.status, "headers": headers})
        if case.how == FILE:
            path = _tempfile(case.body)
            paths.append(path)
            await send({"type": "http.response.pathsend", "path": path})
            return
        chunks = list(case.chunks)
        if case.method == "HEAD" or not chunks:
            chunks = [b""]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            if case.how == RAISE_AFTER and index == 1:
                raise AppError("after the response started")
            await send({"type": "http.response.body", "body": chunk, "more_body": not last})
            if case.how == DISCONNECT:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # a streaming app stops when the client has gone

    return app



def _reflect_scope(case: Any) -> dict[str, Any]:
    """The ASGI scope of a request for the reflected case (its method and request headers)."""
    from conftest import asgi_scope  # (conftest imports this module)

    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in case.request_headers]
    scope = asgi_scope(method=case.method, path="/reflect", headers=headers)
    scope["asgi"]["spec_version"] = "2.4"
    return scope

def run_asgi(case: Case, *, send_error: BaseException | None = None) -> Outcome:
    """Drive the guarded ASGI reflector by hand; ``send_error`` makes the server's send raise."""
    events: list[AuditEvent] = []
    paths: list[str] = []
    guarded = ASGIMiddleware(asgi_app(case, paths), **guard_options(case, events))
    scope = _reflect_scope(case)
    scope["extensions"] = {"http.response.pathsend": {}}
    sent: list[MutableMapping[str, Any]] = []
    state = {"requested": False}

    async def receive() -> dict[str, Any]:
        if not state["requested"]:
            state["requested"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if send_error is not None:
            raise send_error
        sent.append(dict(message))

    raised: BaseException | None = None
    files: dict[str, bytes] = {}
    try:
        asyncio.run(asyncio.wait_for(guarded(scope, receive, send), timeout=20))
    except Exception as exc:
        raised = exc
    finally:
        for path in paths:
            with open(path, "rb") as file:
                files[path] = file.read()
            os.unlink(path)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    assert len(starts) <= 1, sent
    if not starts:
        assert not bodies, sent
        return Outcome(None, [], b"", events, raised, 0, sent)
    assert sent[0] is starts[0] or sent[0] == starts[0], "the start must come first"
    for message in sent[1:]:
        assert message["type"] in ("http.response.body", "http.response.pathsend"), message
    finished = [m for m in sent[1:] if not m.get("more_body", False)]
    if raised is None and case.how != DISCONNECT:
        assert len(finished) == 1 and finished[0] is sent[-1], "exactly the last body message ends the response"
    body = b""
    for message in sent[1:]:
        if message["type"] == "http.response.pathsend":
            body += files[message["path"]]
        else:
            body += message.get("body", b"")
    return Outcome(
        int(starts[0]["status"]), _lower(starts[0].get("headers", [])), body, events, raised, len(bodies), sent
    )


# --------------------------------------------------------------------------- WSGI


class _Body:
    """The app's iterable: counts close() calls."""

    def __init__(self, chunks: Iterable[bytes], fail_after: int | None = None) -> None:
        self.chunks = list(chunks)
        self.fail_after = fail_after
        self.closes = 0

    def __iter__(self) -> Iterator[bytes]:
        for index, chunk in enumerate(self.chunks):
            if index == self.fail_after:
                raise AppError("after the response started")
            yield chunk

    def close(self) -> None:
        self.closes += 1


def wsgi_app(case: Case, bodies: list[_Body]) -> Callable[..., Iterable[bytes]]:
    """The WSGI flavour of the reflector."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if case.requester is not None:
            set_requester(environ, case.requester)  # type: ignore[arg-type]
        if case.how == RAISE_BEFORE:
            raise AppError("before the response started")
        status = f"{case.status} {_PHRASES.get(case.status, 'Reflected')}"
        write = start_response(status, case.raw_headers())
        chunks = [] if case.method == "HEAD" else list(case.chunks)
        if case.how == WRITE:
            for chunk in chunks:
                write(chunk)
            body = _Body([])
        elif case.how == FILE:
            wrapped = environ["wsgi.file_wrapper"](io.BytesIO(b"".join(chunks)), max(1, len(case.chunks[0])))
            body = _Body(wrapped)
        else:
            body = _Body(chunks, fail_after=1 if case.how == RAISE_AFTER else None)
        bodies.append(body)
        return body

    return app


_PHRASES = {200: "OK", 204: "No Content", 304: "Not Modified", 404: "Not Found"}


def run_wsgi(case: Case, *, stop_after: int | None = None) -> Outcome:
    """Call the guarded WSGI reflector as a server would; ``stop_after`` chunks: the client went away."""
    events: list[AuditEvent] = []
    bodies: list[_Body] = []
    inner: Any = wsgi_app(case, bodies)
    if case.lint_inner and case.method != "HEAD":  # lint knows no HEAD: Content-Length without a body
        inner = LintMiddleware(inner)
    guarded: Any = WSGIMiddleware(inner, **guard_options(case, events))
    outer = guarded if case.method == "HEAD" else LintMiddleware(guarded)  # lint knows no HEAD
    environ = create_environ("/reflect", method=case.method, headers=list(case.request_headers))
    captured: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and captured:
            raise exc_info[1].with_traceback(exc_info[2])
        captured[:] = [status, headers]
        return written.append

    raised: BaseException | None = None
    chunks: list[bytes] = []
    try:
        result = outer(environ, start_response)
        try:
            for chunk in result:
                chunks.append(chunk)
                if stop_after is not None and len(chunks) >= stop_after:
                    break
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception as exc:
        raised = exc
    closes = sum(b.closes for b in bodies)
    assert closes == len(bodies), f"close() calls {[b.closes for b in bodies]}"
    if not captured:
        return Outcome(None, [], b"", events, raised, closes=closes)
    body = b"".join([*written, *chunks])
    return Outcome(int(captured[0][:3]), _lower(captured[1]), body, events, raised, closes=closes)


# --------------------------------------------------------------------------- checks


def binding_cookies(headers: Iterable[tuple[str, str]]) -> list[str]:
    return [v for k, v in headers if k == "set-cookie" and v.startswith(BINDING + "=")]


_STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/ndjson", "application/jsonl",
                 "application/x-jsonlines", "application/jsonlines", "application/json-seq")  # fmt: skip


def _streamed(case: Case) -> bool:
    """A stream whose records an extractor reads: personal from its head on (its records are read
    after the head went out), so it never goes to shared caches."""
    types = [v.split(";", 1)[0].strip().lower() for k, v in case.raw_headers() if k.lower() == "content-type"]
    if not types or types[-1] not in _STREAM_TYPES or case.status in (204, 304) or case.method == "HEAD":
        return False
    held = types[-1] != "text/event-stream" and case.content_length
    extractors = case.options.get("extractors")
    read = extractors is None or any(m in getattr(e, "media", ()) for e in extractors for m in ("json", "text"))
    return not held and read


def check(case: Case, out: Outcome) -> None:
    """Assert the outcome the case expects: exact status, headers, body and event kinds."""
    assert [e.kind.value for e in out.events] == list(case.events), [e.to_json() for e in out.events]
    if case.actions is not None:
        assert [e.action.value for e in out.events] == list(case.actions)
    elif case.expect == "block":
        assert [e.action.value for e in out.events][-1:] == ["blocked"]
    if case.owner_count is not None:
        assert out.events[-1].owner_count == case.owner_count
        assert len(out.events[-1].owners) == min(case.owner_count, 20)
    if case.expect == "raise":
        assert isinstance(out.raised, AppError), out.raised
        assert out.status is None and out.body == b"", "nothing of the app's answer may reach the client"
        return
    assert out.raised is None, repr(out.raised)
    others = sorted(h for h in out.headers if not (h[0] == "set-cookie" and h[1].startswith(BINDING + "=")))
    cookies = binding_cookies(out.headers)
    if case.expect == "block":
        assert out.status == 403
        head = case.method == "HEAD"
        assert out.body == (b"" if head else BLOCK_BODY)
        assert others == sorted(
            [
                ("content-type", "text/plain; charset=utf-8"),
                ("content-length", str(len(BLOCK_BODY))),
                ("cache-control", "private, no-store"),
                ("x-content-type-options", "nosniff"),
            ]
        )
        if not head:
            for start in range(0, max(len(case.body) - 11, 0), 6):
                piece = case.body[start : start + 12]
                if piece not in BLOCK_BODY:
                    assert piece not in out.body
        # a block carries the binding a pass would (here a first visit's), no other cookie
        expected_binding = case.binding or ("set" if case.requester is not None else "none")
    else:
        assert case.expect == "pass"
        assert out.status == case.status
        expected_body = b"" if case.method == "HEAD" else case.body if case.pass_body is None else case.pass_body
        assert out.body == expected_body, "a pass must be byte-identical"
        if case.pass_headers is not None:
            expected = list(case.pass_headers)
        else:
            expected = [(k.lower(), v) for k, v in case.raw_headers() if k.lower() != "x-data-owner"]
            if case.personal or _streamed(case):
                expected = [h for h in expected if h[0] != "cache-control"] + [PRIVATE]
        assert others == sorted(expected)
        expected_binding = case.binding or ("set" if case.requester is not None else "none")
    if expected_binding == "none":
        assert cookies == []
    else:
        assert len(cookies) == 1, cookies
        value = cookies[0].split(";", 1)[0].split("=", 1)[1]
        if expected_binding == "clear":
            assert value == "" and "Max-Age=0" in cookies[0]
        else:
            assert value and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    lengths = [v for k, v in out.headers if k == "content-length"]
    assert len(lengths) <= 1, lengths
    stale = case.expect == "pass" and isinstance(case.content_length, str)
    if lengths and case.method != "HEAD" and out.status not in (204, 304) and not stale:
        assert int(lengths[0]) == len(out.body), "Content-Length must match the bytes sent"
    for name, value in out.headers:
        assert "\r" not in value and "\n" not in value and "\r" not in name and "\n" not in name


# --------------------------------------------------------------------------- Django (opt-in)

#: Why a row's ``how`` can't be said by a Django view (the row is skipped on the Django stacks).
DJANGO_CANNOT = {
    WRITE: "Django: a view has no WSGI write() callable",
    RAISE_BEFORE: "Django: a view's exception becomes Django's own 500 page (handler500), not the server's error",
    DISCONNECT: "Django: its ASGI handler, not the app, listens for the client's disconnect",
}


#: What a row expects on the Django stacks where that differs, and why.
DJANGO_ROWS: dict[str, dict[str, Any]] = {
    # A Django view answers HEAD with the body (the server drops it): respguard reads it, finds the
    # requester's own record, and marks the page personal (Cache-Control: private, no-store).
    "head-own": {"personal": True},
}


def django_case(case: Case) -> Case:
    """The row as the Django stacks expect it (:data:`DJANGO_ROWS`)."""
    return replace(case, **DJANGO_ROWS.get(case.id, {}))


def check_django_500(case: Case, out: Outcome) -> None:
    """A stream that raised while respguard held it, under Django: the exception leaves respguard's
    middleware, and Django answers it with its own 500 page: none of the app's bytes, no cookie."""
    assert out.raised is None, repr(out.raised)
    assert out.status == 500
    assert out.headers == [("content-type", "text/html; charset=utf-8")]
    assert b"<h1>Server Error (500)</h1>" in out.body
    for start in range(0, max(len(case.body) - 11, 0), 6):
        assert case.body[start : start + 12] not in out.body
    assert [e.kind.value for e in out.events] == list(case.events)


def django_skip(case: Case) -> str | None:
    """Why ``case`` can't run on a Django stack (``None``: it can)."""
    from _django_stack import inexpressible

    return DJANGO_CANNOT.get(case.how) or inexpressible(case.status, case.raw_headers())


def run_django(case: Case, kind: str = "django") -> Outcome:
    """The row through the README's Django project (``_django_stack``): Django's WSGI handler under
    Werkzeug's outer lint (``kind="django"``), or its ASGI handler (``"django-asgi"``). The view
    answers the whole body, HEAD too; the driver drops a HEAD body, as a server does."""
    from _django_stack import DjangoApp, asgi_messages, django_response

    events: list[AuditEvent] = []
    stack = DjangoApp(**guard_options(case, events))
    asynchronous = kind == "django-asgi"

    def answer(request: Any) -> Any:
        if case.requester is not None:
            set_requester(request, case.requester)  # type: ignore[arg-type]
        response = django_response(
            case.status,
            case.headers,
            case.chunks,
            content_length=case.content_length,
            file_block=max(1, len(case.chunks[0])) if case.how == FILE else None,
            asynchronous=asynchronous,
        )
        if case.how == RAISE_AFTER:
            response.streaming_content = _raising(case.chunks, asynchronous)
        return response

    raised: BaseException | None = None
    head = case.method == "HEAD"
    with stack.settings():
        if kind == "django-asgi":
            scope = _reflect_scope(case)
            sent: list[dict[str, Any]] = []
            try:
                with warnings.catch_warnings():
                    if case.how == FILE:  # Django's own warning for a FileResponse under ASGI (it still serves it)
                        warnings.filterwarnings("ignore", "StreamingHttpResponse must consume synchronous iterators")
                    sent = asgi_messages(stack.asgi_app(answer), scope)
            except Exception as exc:
                raised = exc
            starts = [m for m in sent if m["type"] == "http.response.start"]
            assert len(starts) <= 1, sent
            if not starts:
                return Outcome(None, [], b"", events, raised)
            body = b"" if head else b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
            headers = _lower(starts[0].get("headers", []))
            return Outcome(int(starts[0]["status"]), headers, body, events, raised)
        app: Any = stack.wsgi_app(answer)
        outer = app if head else LintMiddleware(app)  # lint knows no HEAD
        environ = create_environ("/reflect", method=case.method, headers=list(case.request_headers))
        captured: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info is not None and captured:
                raise exc_info[1].with_traceback(exc_info[2])
            captured[:] = [status, headers]
            return None

        chunks: list[bytes] = []
        try:
            result = outer(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                getattr(result, "close", lambda: None)()
        except Exception as exc:
            raised = exc
    if not captured:
        return Outcome(None, [], b"", events, raised)
    # Django's WSGI handler writes Set-Cookie as " name=value"; a client strips that whitespace.
    headers = [(k, v.strip(" \t")) for k, v in _lower(captured[1])]
    return Outcome(int(captured[0][:3]), headers, b"" if head else b"".join(chunks), events, raised)


def _raising(chunks: tuple[bytes, ...], asynchronous: bool) -> Any:
    """The app's stream: its first chunk, then the app's exception."""

    def sync() -> Iterator[bytes]:
        yield chunks[0]
        raise AppError("after the response started")

    async def agen() -> Any:
        yield chunks[0]
        raise AppError("after the response started")

    return agen() if asynchronous else sync()


def run(stack: str, case: Case) -> Outcome:
    if stack.startswith("django"):
        return run_django(case, stack)
    return run_asgi(case) if stack == "asgi" else run_wsgi(case)
