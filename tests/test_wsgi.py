"""The WSGI middleware on bare WSGI apps, under werkzeug's LintMiddleware (inside and out).

Every path must call the app iterable's ``close()`` exactly once: pass, block,
oversize (block and pass), exceptions while iterating.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from conftest import (
    ALICE,
    BLOCK_BODY,
    BOB,
    NO_REQUESTER,
    AppError,
    ClosingBody,
    assert_block,
    assert_no_raw_ids,
    assert_passed_headers,
    deflated,
    guard_options,
    gzipped,
    kinds,
    values,
    wsgi_call,
    wsgi_reply,
)
from werkzeug.middleware.lint import LintMiddleware

from respguard import AuditEvent, Guard, WSGIMiddleware, add_owner, set_requester

OWN = b'{"user_id": "alice-7f3a", "name": "Alice", "card": "4242"}'
FOREIGN = b'{"user_id": "bob-9c2e", "name": "Bob", "card": "1881"}'
JSON_HEADERS = [("Content-Type", "application/json")]

StartResponse = Callable[..., Any]


def guarded(app: Any, events: list[AuditEvent], **options: Any) -> WSGIMiddleware:
    """respguard around ``app`` wrapped in LintMiddleware (the server side is linted by wsgi_call)."""
    return WSGIMiddleware(LintMiddleware(app), **guard_options(events, **options))


# ------------------------------------------------------------------ block and pass, close() once


def test_foreign_json_is_blocked_and_the_iterable_closed_once(events: list[AuditEvent]) -> None:
    app = wsgi_reply(headers=[*JSON_HEADERS, ("Set-Cookie", "session=s3cr3t-bob")], chunks=[FOREIGN])
    got = wsgi_call(guarded(app, events))
    assert got.status_line == "403 Forbidden"
    assert_block(got.status, got.headers, got.body, original=FOREIGN, sets_binding=True)
    assert app.close_calls == [1]
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events)


def test_own_json_passes_byte_identical_and_closed_once(events: list[AuditEvent]) -> None:
    headers = [*JSON_HEADERS, ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-Custom", "kept")]
    app = wsgi_reply(status="200 Fine Thanks", headers=headers, chunks=[OWN[:9], OWN[9:]])
    got = wsgi_call(guarded(app, events))
    assert got.status_line == "200 Fine Thanks"
    assert got.body == OWN
    assert_passed_headers(got.headers, [*headers, ("Content-Length", str(len(OWN)))], binding=True)
    assert app.close_calls == [1]
    assert events == []


def test_unscanned_type_streams_unheld_and_the_server_close_reaches_the_app(events: list[AuditEvent]) -> None:
    body = ClosingBody([b"\x89PNG", b"bob-9c2e"])

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "image/png")])
        return body

    middleware = WSGIMiddleware(app, **guard_options(events))
    result = middleware(_environ(), lambda status, headers, exc_info=None: None)
    # Only the first chunk was read before the server iterates: it shows an image, not JSON
    # (fetch().json() parses any type); the rest streams unread.
    assert body.yielded == 1
    assert list(result) == [b"\x89PNG", b"bob-9c2e"]
    assert body.close_calls == 0
    result.close()  # type: ignore[attr-defined]
    result.close()  # type: ignore[attr-defined]
    assert body.close_calls == 1
    assert events == []


@pytest.mark.parametrize("max_body_bytes", [10, 10_000])
def test_generator_app_is_closed_in_every_path(events: list[AuditEvent], max_body_bytes: int) -> None:
    state = {"closed": 0, "finished": 0}

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        set_requester(environ, ALICE)
        start_response("200 OK", JSON_HEADERS)
        try:
            yield b'[{"user_id": "alice-7f3a"},'
            yield b'{"user_id": "bob-9c2e"}]'
            state["finished"] += 1
        finally:
            state["closed"] += 1

    got = wsgi_call(guarded(app, events, max_body_bytes=max_body_bytes))
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert state["closed"] == 1
    expected = "oversize" if max_body_bytes == 10 else "owner_mismatch"
    assert kinds(events) == [(expected, "blocked")]


def test_start_response_called_lazily_by_a_generator(events: list[AuditEvent]) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterator[bytes]:
        set_requester(environ, ALICE)
        yield b""  # nothing yet: start_response is called on the second step
        start_response("200 OK", JSON_HEADERS)
        yield OWN

    got = wsgi_call(WSGIMiddleware(app, **guard_options(events)))
    assert got.status == 200 and got.body == OWN
    assert events == []


def test_write_callable_output_is_held_and_scanned(events: list[AuditEvent]) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        set_requester(environ, ALICE)
        write = start_response("200 OK", JSON_HEADERS)
        write(b'[{"user_id": "alice-7f3a"},')
        return [b'{"user_id": "bob-9c2e"}]']

    got = wsgi_call(WSGIMiddleware(app, **guard_options(events)), lint=False)
    assert_block(got.status, got.headers, got.body, sets_binding=True)

    def own_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        set_requester(environ, ALICE)
        start_response("200 OK", JSON_HEADERS)(b'[{"user_id": "alice-7f3a"},')
        return [b'{"user_id": "alice-7f3a"}]']

    got = wsgi_call(WSGIMiddleware(own_app, **guard_options(events)), lint=False)
    assert got.status == 200 and got.body == b'[{"user_id": "alice-7f3a"},{"user_id": "alice-7f3a"}]'
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_html_and_header_owners(events: list[AuditEvent]) -> None:
    page = b'<div data-owner="bob-9c2e">Bob</div>'
    app = wsgi_reply(headers=[("Content-Type", "text/html")], chunks=[page])
    got = wsgi_call(guarded(app, events))
    assert_block(got.status, got.headers, got.body, original=page, sets_binding=True)
    app = wsgi_reply(headers=[("Content-Type", "text/html"), ("X-Data-Owner", f"{ALICE}, {BOB}")], chunks=[b"<p/>"])
    got = wsgi_call(guarded(app, events))
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    app = wsgi_reply(headers=[("Content-Type", "text/html"), ("X-Data-Owner", ALICE)], chunks=[b"<p/>"])
    got = wsgi_call(guarded(app, events))
    assert got.status == 200 and got.body == b"<p/>"
    assert values(got.headers, "x-data-owner") == []
    assert kinds(events) == [("owner_mismatch", "blocked")] * 2
    assert_no_raw_ids(events)


def test_add_owner_from_the_view(events: list[AuditEvent]) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        set_requester(environ, ALICE)
        add_owner(environ, BOB)
        start_response("200 OK", [("Content-Type", "application/pdf")])
        return [b"%PDF-bob"]

    got = wsgi_call(WSGIMiddleware(app, **guard_options(events)))
    assert_block(got.status, got.headers, got.body, original=b"%PDF-bob", sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize(
    ("coding", "encode"),
    [("gzip", gzipped), ("deflate", deflated), ("deflate", lambda b: deflated(b, raw=True))],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
def test_compressed_bodies_scanned_and_sent_as_they_were(events: list[AuditEvent], coding: str, encode: Any) -> None:
    headers = [*JSON_HEADERS, ("Content-Encoding", coding)]
    own = encode(OWN)
    app = wsgi_reply(headers=headers, chunks=[own[:7], own[7:]])
    got = wsgi_call(guarded(app, events))
    assert got.status == 200 and got.body == own
    assert values(got.headers, "content-encoding") == [coding]
    assert values(got.headers, "content-length") == [str(len(own))]
    foreign = encode(FOREIGN)
    got = wsgi_call(guarded(wsgi_reply(headers=headers, chunks=[foreign]), events))
    assert_block(got.status, got.headers, got.body, original=foreign, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ body limit


@pytest.mark.parametrize("split", [1, 3])
def test_oversize_blocks_and_closes(events: list[AuditEvent], split: int) -> None:
    body = b'{"user_id": "alice-7f3a", "pad": "' + b"x" * 30 + b'"}'
    step = -(-len(body) // split)
    chunks = [body[i : i + step] for i in range(0, len(body), step)]
    at_limit = wsgi_reply(chunks=chunks)
    got = wsgi_call(guarded(at_limit, events, max_body_bytes=len(body)))
    assert got.status == 200 and got.body == body
    over = wsgi_reply(chunks=chunks, content_length=False)
    got = wsgi_call(guarded(over, events, max_body_bytes=len(body) - 1))
    assert_block(got.status, got.headers, got.body, original=body, sets_binding=True)
    assert at_limit.close_calls == [1] and over.close_calls == [1]
    assert kinds(events) == [("oversize", "blocked")]


def test_on_oversize_pass_streams_the_rest_and_closes_once(events: list[AuditEvent]) -> None:
    chunks = [b'[{"user_id": "alice-7f3a"},', b'{"user_id": "alice-7f3a"},', b'{"user_id": "alice-7f3a"}]']
    app = wsgi_reply(chunks=chunks)
    got = wsgi_call(guarded(app, events, max_body_bytes=40, on_oversize="pass"))
    assert got.status == 200
    assert got.chunks == [chunks[0] + chunks[1], chunks[2]]  # what was held goes at once, then the rest streams
    assert values(got.headers, "content-length") == [str(len(b"".join(chunks)))]
    assert app.close_calls == [1]
    assert kinds(events) == [("oversize", "passed")]


# ------------------------------------------------------------------ no body


def test_head_decided_on_headers(events: list[AuditEvent]) -> None:
    app = wsgi_reply(headers=[*JSON_HEADERS, ("X-Data-Owner", BOB)], chunks=[])
    got = wsgi_call(guarded(app, events), method="HEAD", lint=False)
    assert_block(got.status, got.headers, got.body, head=True, sets_binding=True)
    assert app.close_calls == [1]
    own = wsgi_reply(headers=[*JSON_HEADERS, ("Content-Length", "55")], chunks=[], content_length=False)
    got = wsgi_call(WSGIMiddleware(own, **guard_options(events)), method="HEAD", lint=False)
    assert got.status == 200 and got.body == b""
    assert values(got.headers, "content-length") == ["55"]
    assert own.close_calls == [1]
    assert kinds(events) == [("owner_mismatch", "blocked")]


@pytest.mark.parametrize(
    ("status", "headers"), [("204 No Content", [("Content-Length", "0")]), ("304 Not Modified", [])]
)
def test_no_body_statuses_pass_untouched(events: list[AuditEvent], status: str, headers: list[Any]) -> None:
    app = wsgi_reply(
        status=status, headers=[("ETag", '"v1"'), *headers], chunks=[], requester=NO_REQUESTER, content_length=False
    )
    got = wsgi_call(guarded(app, events))
    assert got.status_line == status
    assert got.body == b""
    assert got.headers == [("etag", '"v1"'), *[(k.lower(), v) for k, v in headers]]
    assert app.close_calls == [1]
    assert events == []


# ------------------------------------------------------------------ the app's own exceptions


def test_exception_before_start_response_propagates(events: list[AuditEvent]) -> None:
    error = AppError("before start")

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raise error

    with pytest.raises(AppError) as raised:
        wsgi_call(WSGIMiddleware(app, **guard_options(events)), lint=False)
    assert raised.value is error
    assert events == []


@pytest.mark.parametrize("content_type", ["application/json", "image/png"])
def test_exception_while_iterating_propagates_and_closes_once(events: list[AuditEvent], content_type: str) -> None:
    app = wsgi_reply(headers=[("Content-Type", content_type)], chunks=[b"[1,", b"2]"], fail_at=1, content_length=False)
    middleware = WSGIMiddleware(app, **guard_options(events))
    with pytest.raises(AppError, match="boom while streaming"):
        wsgi_call(middleware, lint=False)
    assert app.close_calls == [1]
    assert events == []


def test_exc_info_error_page_is_still_guarded(events: list[AuditEvent]) -> None:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        set_requester(environ, ALICE)
        try:
            raise AppError("handled by the app")
        except AppError:
            start_response("500 Internal Server Error", JSON_HEADERS, sys.exc_info())
        return [FOREIGN]

    got = wsgi_call(WSGIMiddleware(app, **guard_options(events)))
    assert_block(got.status, got.headers, got.body, original=FOREIGN, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_app_that_never_starts_the_response_is_an_error(events: list[AuditEvent]) -> None:
    body = ClosingBody([b"x"])

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return body

    with pytest.raises(RuntimeError, match="without calling start_response"):
        WSGIMiddleware(app, **guard_options(events))(_environ(), lambda *a: None)
    assert body.close_calls == 1


# ------------------------------------------------------------------ construction, environ


def test_guard_or_options_not_both() -> None:
    guard = Guard(**guard_options())
    assert WSGIMiddleware(wsgi_reply(), guard).guard is guard
    with pytest.raises(ValueError, match="either guard"):
        WSGIMiddleware(wsgi_reply(), guard, mode="report")


def test_script_name_is_part_of_the_path(events: list[AuditEvent]) -> None:
    app = wsgi_reply(chunks=[FOREIGN])
    middleware = WSGIMiddleware(app, **guard_options(events, exempt_paths=["/mounted/admin"]))
    environ = _environ(path="/admin", script_name="/mounted")
    result = middleware(environ, lambda *args: None)
    assert b"".join(result) == FOREIGN
    assert events == []
    environ = _environ(path="/other", script_name="/mounted")
    assert b"".join(middleware(environ, lambda *args: None)) == BLOCK_BODY
    assert [e.path for e in events] == ["/mounted/other"]


def _environ(path: str = "/", script_name: str = "") -> dict[str, Any]:
    from werkzeug.test import create_environ

    environ = create_environ(path)
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = path
    return environ


def test_threads_sharing_one_guard_get_their_own_decisions(events: list[AuditEvent]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        user = environ["HTTP_X_USER"]
        shown = environ.get("HTTP_X_SHOWN", user)
        set_requester(environ, user)
        start_response("200 OK", JSON_HEADERS)
        return [f'{{"user_id": "{shown}"}}'.encode()]

    middleware = WSGIMiddleware(app, **guard_options(events))
    users = [f"member-{i}" for i in range(8)]

    def one(i: int) -> tuple[int, int, bytes]:
        user = users[i % 8]
        shown = users[(i + 1) % 8] if i % 3 == 0 else user
        got = wsgi_call(middleware, headers=[("X-User", user), ("X-Shown", shown)])
        return i, got.status, got.body

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(one, range(120)))
    for i, status, body in results:
        if i % 3 == 0:
            assert (status, body) == (403, BLOCK_BODY)
        else:
            assert (status, body) == (200, f'{{"user_id": "{users[i % 8]}"}}'.encode())
    assert kinds(events) == [("owner_mismatch", "blocked")] * 40


def test_a_guarded_request_leaves_no_reference_cycle() -> None:
    """As on ASGI: the environ holds the context, the context the exchange, the exchange the
    request and the request the environ, so the exchange is detached once the app has run."""
    import gc

    from respguard import JsonKeys

    body = b'{"user_id": "alice-7f3a"}'

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        set_requester(environ, "alice-7f3a")
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    guarded = WSGIMiddleware(app, secret_key="k" * 32, extractors=[JsonKeys("user_id")])
    for _ in range(3):
        wsgi_call(guarded)
    gc.collect()
    gc.disable()
    try:
        statuses = [wsgi_call(guarded).status for _ in range(10)]
        assert statuses == [200] * 10
        assert gc.collect() == 0
    finally:
        gc.enable()
