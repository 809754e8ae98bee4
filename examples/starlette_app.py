"""The example shop on Starlette (ASGI), guarded by :class:`respguard.ASGIMiddleware`.

Run it::

    RESPGUARD_EXAMPLE_BUG=shared-state uvicorn --factory examples.starlette_app:app_from_env

``create_app(bug=..., guard=...)`` builds one instance; its :class:`~examples.customers.Shop`
is ``app.state.shop``.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import respguard

from . import customers as shop_logic
from .customers import DEMO_SECRET, SESSION_COOKIE, Session, Shop


def create_app(*, bug: str = "none", guard: bool = True, secret: str = DEMO_SECRET) -> Starlette:
    """The Starlette example app with ``bug`` switched on, guarded by respguard if ``guard``."""
    shop = Shop(bug)

    def tell(request: Request, identity: respguard.Identity | None) -> None:
        if guard:
            respguard.set_requester(request, identity)

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def load_session(request: Request) -> Session | None:
        session = shop.session(request.cookies.get(SESSION_COOKIE))
        if session is not None:
            tell(request, respguard.Identity(session["customer_id"], email=session["email"]))
        return session

    def with_session_cookie(response: Response, sid: str) -> Response:
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    async def login(request: Request) -> Response:
        load_session(request)
        data = await body(request)
        cid, password = data.get("customer_id"), data.get("password")
        if not shop.check_password(cid, password):
            tell(request, None)
            return error(401, "bad credentials")
        assert isinstance(cid, str)
        # The credentials proved ``cid``: that is who this browser is.
        tell(request, respguard.Identity(cid, email=shop.records[cid]["email"]))
        token = shop_logic.begin_login(shop, cid)
        await shop.aio()
        sid = shop_logic.end_login(shop, token)
        return with_session_cookie(JSONResponse({"customer_id": shop.sessions[sid]["customer_id"]}), sid)

    async def signup(request: Request) -> Response:
        data = await body(request)
        email, name = data.get("email"), data.get("name")
        if not shop_logic.valid_signup(email, name):
            return error(400, "email and name required")
        assert isinstance(email, str) and isinstance(name, str)
        number = shop_logic.begin_signup(shop)
        await shop.aio()
        mid, sid = shop_logic.end_signup(shop, number, email, name)
        tell(request, respguard.Identity(mid, email=email))
        return with_session_cookie(JSONResponse({"customer_id": mid}, status_code=201), sid)

    async def logout(request: Request) -> Response:
        shop.drop_session(request.cookies.get(SESSION_COOKIE))
        if guard:
            respguard.unbind(request)
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    async def me(request: Request) -> Response:
        session = load_session(request)
        if session is None:
            return error(401, "login required")
        loaded = shop_logic.begin_render(shop, session["customer_id"])
        await shop.aio()
        record = shop_logic.end_render(shop, loaded)
        shop.note_rendered(request.headers.get("x-request-id"), record["customer_id"])
        return JSONResponse(record, headers={"Cache-Control": shop_logic.me_cache_control(shop)})

    async def mypage(request: Request) -> Response:
        session = load_session(request)
        if session is None:
            return HTMLResponse("<!doctype html>\n<p>Please log in.</p>\n", status_code=401)
        loaded = shop_logic.begin_render(shop, session["customer_id"])
        await shop.aio()
        record = shop_logic.end_render(shop, loaded)
        shop.note_rendered(request.headers.get("x-request-id"), record["customer_id"])
        return HTMLResponse(shop_logic.render_mypage(record))

    async def card(request: Request) -> Response:
        session = load_session(request)
        if session is None:
            return error(401, "login required")
        target = request.path_params["customer_id"]
        if target not in shop.records:
            return error(404, "not found")
        if not shop_logic.may_write_card(shop, session["customer_id"], target):
            return error(403, "forbidden")
        card_last4 = (await body(request)).get("card_last4")
        if not shop_logic.valid_card(card_last4):
            return error(400, "card_last4 must be 4 digits")
        assert isinstance(card_last4, str)
        await shop.aio()
        return JSONResponse(shop_logic.write_card(shop, target, card_last4))

    async def newsletter(request: Request) -> Response:
        session = load_session(request)
        if session is None:
            return error(401, "login required")
        await shop.aio()
        return JSONResponse(shop_logic.newsletter(shop, session["customer_id"]))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/signup", signup, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/api/me", me),
            Route("/mypage", mypage),
            Route("/api/customers/{customer_id}/card", card, methods=["POST"]),
            Route("/api/newsletter/preview", newsletter),
            Route("/healthz", healthz),
        ]
    )
    app.state.shop = shop
    if guard:
        app.add_middleware(respguard.ASGIMiddleware, **shop_logic.guard_options(secret, shop))
    return app


def app_from_env() -> Starlette:
    """``create_app`` configured by ``RESPGUARD_EXAMPLE_BUG``, ``_GUARD`` (1/0) and ``_SECRET``."""
    return create_app(
        bug=os.environ.get("RESPGUARD_EXAMPLE_BUG", "none") or "none",
        guard=shop_logic.env_flag(os.environ.get("RESPGUARD_EXAMPLE_GUARD"), "RESPGUARD_EXAMPLE_GUARD", True),
        secret=os.environ.get("RESPGUARD_EXAMPLE_SECRET") or DEMO_SECRET,
    )
