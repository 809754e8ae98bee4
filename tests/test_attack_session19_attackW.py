"""Adversarial findings, session 19 (attackW, the write side): requests a real client sends that
the framework routes to a write of bob's record while respguard did not refuse it.

1. **A ``HEAD`` to a route that writes on ``GET``.** The README's way to check a route that
   writes on a ``GET`` (an unsubscribe link) is ``inbound_methods`` listing ``GET``; every
   framework runs a ``GET`` route's code for a ``HEAD`` (Flask's and Starlette's routers add
   ``HEAD`` to a ``GET`` route, Django's ``View`` makes ``head`` its ``get``, a function view runs
   for any method). With ``inbound_methods=["GET", "POST"]``, ``HEAD /unsubscribe/<bob>`` ran the
   view (200, bob unsubscribed, no event) on Flask and Starlette, where ``GET`` was refused.
   Fixed (``Guard``): a list that names ``GET`` names ``HEAD`` too.
2. **Two placeholders in one segment, read lazily.** ``PathOwner("/files/{owner}.{ext}", "owner")``
   matched its placeholders with ``[^/]+?``, the routers with ``[^/]+`` (greedy: Starlette's
   ``str`` convertor, Werkzeug's default converter, Django's ``<str:...>``). Before the app runs
   (Starlette's default ``write_check="middleware"``, ``ASGIMiddleware``, ``WSGIMiddleware``),
   ``PUT /files/alice.smith.json`` by ``alice`` read the owner ``alice`` (her own), while the
   router handed the endpoint ``owner="alice.smith"``: another user's file was written (200, no
   event), on both stacks. Fixed (``PathOwner``): placeholders are matched greedily, as routed.
"""

from __future__ import annotations

import pytest
from conftest import assert_block
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from test_attack_session10 import BOB_ID, OWN

from respguard import AuditEvent, BlockPage, Guard, JsonKeys, PathOwner, QueryOwner, set_requester
from respguard.flask import RespGuard
from respguard.starlette import RespGuardMiddleware
from respguard.wsgi import WSGIMiddleware

SECRET = "session19-attackW-secret-5c1d"
UNSUBSCRIBE = "/unsubscribe/{customer_id}"
FOREIGN_WRITE = "request names another owner's record"


def _kinds(events: list[AuditEvent]) -> list[tuple[str, str, str, str]]:
    return [(e.kind.value, e.action.value, e.reason, e.method) for e in events]


# ------------------------------------------------------------------ 1. HEAD runs the GET route


def _flask_unsubscribe(events: list[AuditEvent]) -> tuple[Flask, list[str]]:
    app = Flask(__name__)
    app.secret_key = SECRET
    writes: list[str] = []
    RespGuard(
        app,
        extractors=[JsonKeys("customer_id")],
        inbound=[PathOwner(UNSUBSCRIBE), QueryOwner("customer_id")],
        inbound_methods=["GET", "POST"],
        on_event=events.append,
    )

    @app.before_request
    def log_in() -> None:
        set_requester(request, OWN)

    @app.get("/unsubscribe/<customer_id>")
    def unsubscribe(customer_id: str) -> str:
        writes.append(customer_id)
        return "unsubscribed"

    return app, writes


def _starlette_unsubscribe(events: list[AuditEvent]) -> tuple[Starlette, list[str]]:
    writes: list[str] = []

    async def unsubscribe(request: Request) -> PlainTextResponse:
        writes.append(request.path_params["customer_id"])
        return PlainTextResponse("unsubscribed")

    app = Starlette(routes=[Route(UNSUBSCRIBE, unsubscribe, methods=["GET"])])
    guard = Guard(
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=[PathOwner(UNSUBSCRIBE), QueryOwner("customer_id")],
        inbound_methods=["GET", "POST"],
        requester=lambda _info: OWN,
        on_event=events.append,
    )
    app.add_middleware(RespGuardMiddleware, guard=guard)
    return app, writes


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_flask_a_head_to_a_route_that_writes_on_get_is_refused(method: str) -> None:
    events: list[AuditEvent] = []
    app, writes = _flask_unsubscribe(events)
    client = app.test_client()
    response = client.open(f"/unsubscribe/{BOB_ID}", method=method)
    own = client.open(f"/unsubscribe/{OWN}", method=method)
    assert writes == [OWN]
    assert own.status_code == 200
    if method == "GET":
        assert_block(response.status_code, list(response.headers.items()), response.data, clears_binding=False)
    else:  # the block page's head, without its body (Werkzeug's HEAD)
        assert (response.status_code, response.data) == (403, b"")
        assert response.headers["Content-Type"] == BlockPage().content_type
        assert response.headers["Cache-Control"] == "private, no-store"
    assert _kinds(events) == [("cross_owner_write", "blocked", FOREIGN_WRITE, method)]
    assert BOB_ID not in events[0].to_json()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_starlette_a_head_to_a_route_that_writes_on_get_is_refused(method: str) -> None:
    events: list[AuditEvent] = []
    app, writes = _starlette_unsubscribe(events)
    with TestClient(app) as client:
        response = client.request(method, f"/unsubscribe/{BOB_ID}")
        own = client.request(method, f"/unsubscribe/{OWN}")
    assert writes == [OWN]
    assert own.status_code == 200
    assert_block(
        response.status_code,
        list(response.headers.multi_items()),
        response.content,
        clears_binding=False,
        head=method == "HEAD",
    )
    assert _kinds(events) == [("cross_owner_write", "blocked", FOREIGN_WRITE, method)]
    assert BOB_ID not in events[0].to_json()


def test_a_list_that_names_get_names_head_and_nothing_else() -> None:
    def guard(methods: list[str]) -> Guard:
        return Guard(
            secret_key=SECRET,
            extractors=[JsonKeys("customer_id")],
            inbound=[PathOwner(UNSUBSCRIBE)],
            inbound_methods=methods,
        )

    assert guard(["get"]).is_write("HEAD")
    assert not guard(["get"]).is_write("OPTIONS")
    assert not guard(["post"]).is_write("HEAD")
    assert not guard(["post"]).is_write("GET")


# ------------------------------------------------------------------ 2. two placeholders, one segment

FILES = "/files/{owner}.{ext}"


def _files_guard(events: list[AuditEvent]) -> Guard:
    return Guard(
        secret_key=SECRET,
        extractors=[JsonKeys("owner")],
        inbound=[PathOwner(FILES, "owner")],
        requester=lambda _info: "alice",
        on_event=events.append,
    )


def _starlette_files(events: list[AuditEvent]) -> tuple[Starlette, list[tuple[str, str]]]:
    writes: list[tuple[str, str]] = []

    async def put_file(request: Request) -> PlainTextResponse:
        writes.append((request.path_params["owner"], request.path_params["ext"]))
        return PlainTextResponse("saved")

    app = Starlette(routes=[Route(FILES, put_file, methods=["PUT"])])
    app.add_middleware(RespGuardMiddleware, guard=_files_guard(events))  # write_check="middleware"
    return app, writes


def _flask_files(events: list[AuditEvent]) -> tuple[Flask, list[tuple[str, str]]]:
    app = Flask(__name__)
    writes: list[tuple[str, str]] = []

    @app.put("/files/<owner>.<ext>")
    def put_file(owner: str, ext: str) -> str:
        writes.append((owner, ext))
        return "saved"

    app.wsgi_app = WSGIMiddleware(app.wsgi_app, _files_guard(events))  # type: ignore[method-assign]
    return app, writes


def test_the_pattern_reads_a_segment_as_the_routers_split_it() -> None:
    assert PathOwner(FILES, "owner").value_in("/files/alice.smith.json") == "alice.smith"


def test_starlette_middleware_reads_the_owner_the_router_routes() -> None:
    events: list[AuditEvent] = []
    app, writes = _starlette_files(events)
    with TestClient(app) as client:
        response = client.put("/files/alice.smith.json")
        own = client.put("/files/alice.json")
    assert writes == [("alice", "json")]
    assert own.status_code == 200
    assert_block(response.status_code, list(response.headers.multi_items()), response.content, clears_binding=False)
    assert _kinds(events) == [("cross_owner_write", "blocked", FOREIGN_WRITE, "PUT")]
    assert "alice.smith" not in events[0].to_json()


def test_wsgi_middleware_reads_the_owner_the_router_routes() -> None:
    events: list[AuditEvent] = []
    app, writes = _flask_files(events)
    client = app.test_client()
    response = client.put("/files/alice.smith.json")
    own = client.put("/files/alice.json")
    assert writes == [("alice", "json")]
    assert own.status_code == 200
    assert_block(response.status_code, list(response.headers.items()), response.data, clears_binding=False)
    assert _kinds(events) == [("cross_owner_write", "blocked", FOREIGN_WRITE, "PUT")]
    assert "alice.smith" not in events[0].to_json()
