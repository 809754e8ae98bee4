"""The ASGI path end to end: Starlette / FastAPI apps under the TestClient.

Requester sources: ``scope["user"]`` set by Starlette's AuthenticationMiddleware,
``set_requester`` from an endpoint, FastAPI's ``requester_dependency``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    ALICE,
    BINDING,
    BLOCK_BODY,
    BOB,
    assert_block,
    assert_no_raw_ids,
    assert_passed_headers,
    binding_cookies,
    guard_options,
    kinds,
)
from fastapi import Depends, FastAPI, Header
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from respguard import AuditEvent, Guard, set_requester
from respguard.starlette import RespGuardMiddleware, rebind, requester_dependency, unbind

PROFILES = {
    ALICE: {"user_id": ALICE, "name": "Alice", "card_last4": "4242"},
    BOB: {"user_id": BOB, "name": "Bob", "card_last4": "1881"},
}


class BearerBackend(AuthenticationBackend):
    """``Authorization: Bearer <user>`` -> an authenticated SimpleUser (identity = user)."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        auth = conn.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return AuthCredentials(["authenticated"]), SimpleUser(auth[len("Bearer ") :])


def shown(request: Request) -> str:
    """The profile the (deliberately buggy) endpoint shows: ?shown=..., else the requester's own."""
    return request.query_params.get("shown") or request.user.username


async def me_json(request: Request) -> Response:
    return JSONResponse(PROFILES[shown(request)], headers={"X-App": "1"})


async def me_html(request: Request) -> Response:
    user = shown(request)
    return HTMLResponse(f'<main data-owner="{user}"><h1>{PROFILES[user]["name"]}</h1></main>')


async def me_header(request: Request) -> Response:
    return PlainTextResponse("card on file", headers={"X-Data-Owner": shown(request)})


async def me_stream(request: Request) -> Response:
    user = shown(request)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"orders": ['
        yield f'{{"owner_id": "{request.user.username}", "n": 1}},'.encode()
        yield f'{{"owner_id": "{user}", "n": 2}}'.encode()
        yield b"]}"

    return StreamingResponse(chunks(), media_type="application/json")


async def login(request: Request) -> Response:
    rebind(request, request.query_params["as"])
    return JSONResponse({"user_id": request.query_params["as"]})


async def logout(request: Request) -> Response:
    unbind(request)
    return JSONResponse({"bye": True})


async def boom(request: Request) -> Response:
    raise LookupError("app bug for alice-7f3a")


async def echo_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_json({"user_id": BOB, "path": websocket.scope.get("path")})
    await websocket.close()


def auth_app(events: list[AuditEvent], lifespan_log: list[str] | None = None, **options: Any) -> Starlette:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if lifespan_log is not None:
            lifespan_log.append("startup")
        yield
        if lifespan_log is not None:
            lifespan_log.append("shutdown")

    app = Starlette(
        routes=[
            Route("/me", me_json),
            Route("/me.html", me_html),
            Route("/me.txt", me_header),
            Route("/orders", me_stream),
            Route("/login", login),
            Route("/logout", logout),
            Route("/boom", boom),
            WebSocketRoute("/ws", echo_ws),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(AuthenticationMiddleware, backend=BearerBackend())
    app.add_middleware(RespGuardMiddleware, guard=Guard(**guard_options(events, **options)))
    return app


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {user}"}


def all_headers(response: Any) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in response.headers.multi_items()]


# ------------------------------------------------------------------ scope["user"] from AuthenticationMiddleware


@pytest.mark.parametrize("path", ["/me", "/me.html", "/me.txt", "/orders"])
def test_cross_owner_response_is_blocked(events: list[AuditEvent], path: str) -> None:
    with TestClient(auth_app(events)) as client:
        response = client.get(path, params={"shown": BOB}, headers=bearer(ALICE))
    assert_block(response.status_code, all_headers(response), response.content, sets_binding=True)
    assert b"Bob" not in response.content and b"1881" not in response.content
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events, "1881")


def test_own_data_passes_byte_identical_and_binds(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        response = client.get("/me", headers=bearer(ALICE))
        expected = JSONResponse(PROFILES[ALICE], headers={"X-App": "1"})
        assert response.status_code == 200
        assert response.content == expected.body
        assert_passed_headers(all_headers(response), expected.raw_headers, binding=True)
        assert client.cookies.get(BINDING)
        for path in ("/me.html", "/me.txt", "/orders"):
            again = client.get(path, headers=bearer(ALICE))
            assert again.status_code == 200
            assert binding_cookies(all_headers(again)) == []
            assert "x-data-owner" not in again.headers
    assert events == []


def test_unauthenticated_user_is_anonymous(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        response = client.get("/me", params={"shown": BOB})
    assert_block(response.status_code, all_headers(response), response.content)
    assert kinds(events) == [("anonymous_personal_data", "blocked")]


def test_session_swap_is_drift(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        assert client.get("/me", headers=bearer(ALICE)).status_code == 200
        swapped = client.get("/me", headers=bearer(BOB))  # alice's browser, bob's session
        assert_block(swapped.status_code, all_headers(swapped), swapped.content, clears_binding=False)
        assert client.get("/me", headers=bearer(ALICE)).status_code == 200
    assert kinds(events) == [("session_drift", "blocked")]


def test_login_rebinds_and_logout_unbinds(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        assert client.get("/me", headers=bearer(ALICE)).status_code == 200
        assert client.get("/login", params={"as": BOB}, headers=bearer(BOB)).status_code == 200
        assert client.get("/me", headers=bearer(BOB)).status_code == 200
        bye = client.get("/logout", headers=bearer(BOB))
        assert bye.status_code == 200 and bye.json() == {"bye": True}
        assert client.cookies.get(BINDING) is None
        assert client.get("/me", headers=bearer(ALICE)).status_code == 200
    assert events == []


def test_gzip_inside_the_guard_is_scanned_and_sent_compressed(events: list[AuditEvent]) -> None:
    big = {**PROFILES[ALICE], "history": ["order"] * 200}

    async def history(request: Request) -> Response:
        return JSONResponse({**big, "user_id": request.query_params.get("shown", ALICE)})

    inner = Starlette(routes=[Route("/history", history)])
    inner.add_middleware(GZipMiddleware, minimum_size=100)
    app = RespGuardMiddleware(inner, Guard(**guard_options(events, requester=lambda request: ALICE)))
    with TestClient(app) as client:
        response = client.get("/history", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip"
        assert response.json() == big
        assert response.num_bytes_downloaded == int(response.headers["content-length"]) < len(response.content)
        blocked = client.get("/history", params={"shown": BOB}, headers={"Accept-Encoding": "gzip"})
    assert_block(blocked.status_code, all_headers(blocked), blocked.content)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_report_only(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events, mode="report")) as client:
        response = client.get("/me", params={"shown": BOB}, headers=bearer(ALICE))
    assert response.status_code == 200 and response.content == JSONResponse(PROFILES[BOB]).body
    assert kinds(events) == [("owner_mismatch", "reported")]


def test_oversize_blocks(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events, max_body_bytes=20)) as client:
        response = client.get("/me", headers=bearer(ALICE))
    assert_block(response.status_code, all_headers(response), response.content, sets_binding=True)
    assert kinds(events) == [("oversize", "blocked")]


def test_head(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        own = client.head("/me.txt", headers=bearer(ALICE))
        assert own.status_code == 200 and own.content == b""
        foreign = client.head("/me.txt", params={"shown": BOB}, headers=bearer(ALICE))
    assert_block(foreign.status_code, all_headers(foreign), foreign.content, head=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_websocket_and_lifespan_pass_through(events: list[AuditEvent]) -> None:
    lifespan_log: list[str] = []
    with TestClient(auth_app(events, lifespan_log)) as client:
        assert lifespan_log == ["startup"]
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_json() == {"user_id": BOB, "path": "/ws"}
    assert lifespan_log == ["startup", "shutdown"]
    assert events == []


def test_app_exception_propagates(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        with pytest.raises(LookupError, match="app bug"):
            client.get("/boom", headers=bearer(ALICE))
    with TestClient(auth_app(events), raise_server_exceptions=False) as client:
        response = client.get("/boom", headers=bearer(ALICE))
    assert response.status_code == 500 and response.content == b"Internal Server Error"
    assert events == []


def test_file_response(events: list[AuditEvent], tmp_path: Path) -> None:
    (tmp_path / "alice.json").write_bytes(JSONResponse(PROFILES[ALICE]).body)
    (tmp_path / "bob.json").write_bytes(JSONResponse(PROFILES[BOB]).body)

    async def export(request: Request) -> Response:
        set_requester(request, ALICE)
        return FileResponse(tmp_path / f"{request.path_params['name']}.json", media_type="application/json")

    app = RespGuardMiddleware(Starlette(routes=[Route("/export/{name}", export)]), Guard(**guard_options(events)))
    with TestClient(app) as client:
        own = client.get("/export/alice")
        assert own.status_code == 200 and own.content == (tmp_path / "alice.json").read_bytes()
        foreign = client.get("/export/bob")
    assert_block(foreign.status_code, all_headers(foreign), foreign.content)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_set_requester_without_the_middleware_is_a_no_op() -> None:
    """The guard switched off by configuration (no middleware): the helpers do nothing, no 500."""

    async def endpoint(request: Request) -> Response:
        set_requester(request, ALICE)
        return PlainTextResponse("served")

    with TestClient(Starlette(routes=[Route("/", endpoint)])) as client:
        response = client.get("/")
    assert (response.status_code, response.text) == (200, "served")


# ------------------------------------------------------------------ FastAPI dependency


class User:
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def sync_user(x_user: str | None = Header(default=None)) -> User | None:  # noqa: B008
    return User(x_user) if x_user else None


async def async_user(x_user: str | None = Header(default=None)) -> User | None:  # noqa: B008
    return User(x_user) if x_user else None


@pytest.mark.parametrize("dependency", [sync_user, async_user], ids=["sync", "async"])
def test_fastapi_requester_dependency(events: list[AuditEvent], dependency: Any) -> None:
    api = FastAPI()
    current_user = requester_dependency(dependency, lambda user: user.id)

    @api.get("/profile/{user_id}")
    def profile(user_id: str, user: User | None = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"user_id": user_id, "viewer": user.id if user else "nobody"}

    api.add_middleware(RespGuardMiddleware, guard=Guard(**guard_options(events)))
    with TestClient(api) as client:
        own = client.get(f"/profile/{ALICE}", headers={"X-User": ALICE})
        assert own.status_code == 200 and own.json() == {"user_id": ALICE, "viewer": ALICE}
        foreign = client.get(f"/profile/{BOB}", headers={"X-User": ALICE})
        assert_block(foreign.status_code, all_headers(foreign), foreign.content)
        client.cookies.clear()
        anonymous = client.get(f"/profile/{BOB}")
        assert_block(anonymous.status_code, all_headers(anonymous), anonymous.content)
    assert kinds(events) == [("owner_mismatch", "blocked"), ("anonymous_personal_data", "blocked")]


def test_block_body_is_the_block_page(events: list[AuditEvent]) -> None:
    with TestClient(auth_app(events)) as client:
        assert client.get("/me", params={"shown": BOB}, headers=bearer(ALICE)).content == BLOCK_BODY
