"""Outside review of 2026-12-02 (5202118..dbfd308): what it found, fixed; each test failed before its fix.

- Exchange.detach() on a shared context: a WSGI environ (and its copies) share one
  RequestContext; an inner exchange's detach leaves ``context.exchange`` empty instead of giving
  the outer exchange back, so the outer request's in-app write check finds no exchange and lets
  the write through (``exchange_of`` -> ``None`` reads as "no middleware").
- WSGIMiddleware detaches only once the app returned: an app (or the write check) that raises
  leaves the reference cycle the detach was made to remove.
- The compiled core (RESPGUARD_COMPILE=1) checks the annotations' tuple types: ASGI header pairs
  given as two-item lists (the spec's type is Iterable[[byte string, byte string]]; older uvicorn
  docs' example app sends lists) raise TypeError there, where the pure core (the reference) reads
  them. The ASGI adapter now reads them as tuples once (``_headers.as_raw_headers``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from conftest import BLOCK_BODY, asgi_call, asgi_scope, wsgi_call
from flask import Flask, request
from ids import ALICE, BOB

import respguard
from respguard import AuditEvent, Exchange, JsonKeys, PathOwner, WSGIMiddleware, set_requester
from respguard._context import RequestContext
from respguard.flask import RespGuard

SECRET = "review-session4-secret-5d1c"


def _drain(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> bytes:
    """Run a WSGI app on ``environ`` to the end, as an internal sub-request does."""
    captured: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured.append(status)
        return lambda data: None

    result = app(environ, start_response)
    try:
        return b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()


@pytest.mark.parametrize("sub_method", ["POST", "GET"])
def test_flask_write_check_still_runs_after_an_internal_sub_request_on_the_shared_context(sub_method: str) -> None:
    # POST: before 9c62389 the sub-request's exchange stayed in the context and the outer check
    # ran on it (refused); detach() now empties the context, and the write runs. GET: the outer
    # check was skipped before too (the sub-request's GET exchange answered checks_inbound).
    events: list[AuditEvent] = []
    app = Flask(__name__)
    app.secret_key = "review-flask-secret"
    writes: list[str] = []
    RespGuard(
        app,
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=[PathOwner("/api/customers/{customer_id}/card")],
        on_event=events.append,
    )

    @app.before_request
    def log_in_and_load_flags() -> None:
        set_requester(request, request.headers.get("X-User"))
        if request.path.startswith("/api/"):
            # An internal sub-request through the app's own (guarded) WSGI stack, on a copy of the
            # environ (a shallow copy: the same RequestContext object).
            sub = dict(request.environ, PATH_INFO="/flags", REQUEST_METHOD=sub_method, QUERY_STRING="")
            sub["CONTENT_LENGTH"] = "0"
            sub.pop("werkzeug.request", None)
            _drain(app.wsgi_app, sub)

    @app.route("/flags", methods=["GET", "POST"])
    def flags() -> str:
        return "{}"

    @app.post("/api/customers/<customer_id>/card")
    def card(customer_id: str) -> str:
        writes.append(customer_id)
        return "written"

    with app.test_client() as client:
        response = client.post(f"/api/customers/{BOB}/card", headers={"X-User": ALICE})
    assert writes == []  # Alice may not write Bob's card
    assert (response.status_code, response.data) == (403, BLOCK_BODY)
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


class _Boom(Exception):
    pass


def test_a_wsgi_app_that_raises_leaves_no_reference_cycle() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        set_requester(environ, ALICE)
        raise _Boom("the app failed")

    guarded = WSGIMiddleware(app, secret_key="k" * 32, extractors=[JsonKeys("user_id")])

    def one() -> None:
        with pytest.raises(_Boom):
            wsgi_call(guarded, lint=False)

    for _ in range(3):
        one()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(10):
            one()
        gc.collect()
        # (An exception's traceback makes cycles of its own: only the guard's objects are counted.)
        left = [o for o in gc.garbage if isinstance(o, (Exchange, RequestContext))]
        assert left == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


# ------------------------------------------------------------------ the compiled core and ASGI header lists

_ALICE_DOC = b'{"user_id": "' + ALICE.encode() + b'"}'
_BOB_DOC = b'{"user_id": "' + BOB.encode() + b'"}'


def _list_headed_app(body: bytes) -> Any:
    """An ASGI app that gives each header as a ``[name, value]`` list, as the ASGI spec's type allows."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        headers = [[b"content-type", b"application/json"], [b"content-length", str(len(body)).encode()]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return app


@pytest.mark.parametrize(("body", "status"), [(_ALICE_DOC, 200), (_BOB_DOC, 403)], ids=["own", "foreign"])
def test_response_headers_as_two_item_lists_are_read(body: bytes, status: int) -> None:
    guarded = respguard.ASGIMiddleware(_list_headed_app(body), secret_key=SECRET, extractors=[JsonKeys("user_id")])
    result = asgi_call(guarded)
    assert (result.status, result.body) == (status, body if status == 200 else BLOCK_BODY)


def test_request_headers_as_two_item_lists_with_two_cookie_fields_are_read() -> None:
    # HTTP/2 sends cookies as several fields: request_headers() reads every one, lists converted first.
    events: list[AuditEvent] = []
    guarded = respguard.ASGIMiddleware(
        _list_headed_app(_ALICE_DOC), secret_key=SECRET, extractors=[JsonKeys("user_id")], on_event=events.append
    )
    scope = asgi_scope()
    scope["headers"] = [[b"host", b"testserver"], [b"cookie", b"a=1"], [b"cookie", b"b=2"]]
    result = asgi_call(guarded, scope=scope)
    assert (result.status, result.body) == (200, _ALICE_DOC)
    assert events == []
