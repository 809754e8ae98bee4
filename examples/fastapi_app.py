"""The example shop on FastAPI (ASGI), where respguard learns who is asking only from the login dependency.

Run it::

    RESPGUARD_EXAMPLE_BUG=cross-owner-write uvicorn --factory examples.fastapi_app:app_from_env

The same shop, routes and answers as :mod:`examples.starlette_app`, but the login is a FastAPI
dependency that reads the session cookie, wrapped by
:func:`respguard.starlette.requester_dependency`. The guard is
``RespGuardMiddleware(..., write_check="app")`` with **no** ``requester=`` option: respguard
knows the requester only because the dependency told it, and a write such as
``POST /api/customers/{customer_id}/card`` is checked inside that dependency, after the login
and before the endpoint's own code runs.

``create_app(bug=..., guard=...)`` builds one instance; its :class:`~examples.customers.Shop`
is ``app.state.shop``.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Cookie, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

import respguard
from respguard.starlette import RespGuardMiddleware, requester_dependency

from . import customers as shop_logic
from .customers import DEMO_SECRET, SESSION_COOKIE, Session, Shop


async def current_customer(
    request: Request, sid: str | None = Cookie(default=None, alias=SESSION_COOKIE)
) -> Session | None:
    """The app's login: the session the cookie names, or ``None`` (not logged in).

    A test may log in without a cookie: ``app.dependency_overrides[current_customer] = ...``.
    """
    shop: Shop = request.app.state.shop
    return shop.session(sid)


def session_identity(session: Session) -> respguard.Identity:
    """Who a session's customer is, for respguard: the id, and the e-mail it signed up with."""
    return respguard.Identity(session["customer_id"], email=session["email"])


#: The login, as every route takes it. It is where respguard learns the requester (the only
#: place: the guard has no ``requester=``), and where a write is checked, before the endpoint.
CurrentCustomer = Depends(requester_dependency(current_customer, session_identity))


def create_app(*, bug: str = "none", guard: bool = True, secret: str = DEMO_SECRET) -> FastAPI:
    """The FastAPI example app with ``bug`` switched on, guarded by respguard if ``guard``."""
    shop = Shop(bug)
    current = CurrentCustomer

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def with_session_cookie(response: Response, sid: str) -> Response:
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
        return response

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.shop = shop

    @app.post("/login")
    async def login(request: Request, session: Session | None = current) -> Response:
        data = await body(request)
        cid, password = data.get("customer_id"), data.get("password")
        if not shop.check_password(cid, password):
            respguard.set_requester(request, None)
            return error(401, "bad credentials")
        assert isinstance(cid, str)
        # The credentials proved ``cid``: that is who this browser is (a login path may switch).
        respguard.set_requester(request, respguard.Identity(cid, email=shop.records[cid]["email"]))
        token = shop_logic.begin_login(shop, cid)
        await shop.aio()
        sid = shop_logic.end_login(shop, token)
        return with_session_cookie(JSONResponse({"customer_id": shop.sessions[sid]["customer_id"]}), sid)

    @app.post("/signup")
    async def signup(request: Request) -> Response:
        data = await body(request)
        email, name = data.get("email"), data.get("name")
        if not shop_logic.valid_signup(email, name):
            return error(400, "email and name required")
        assert isinstance(email, str) and isinstance(name, str)
        number = shop_logic.begin_signup(shop)
        await shop.aio()
        mid, sid = shop_logic.end_signup(shop, number, email, name)
        respguard.set_requester(request, respguard.Identity(mid, email=email))
        return with_session_cookie(JSONResponse({"customer_id": mid}, status_code=201), sid)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        shop.drop_session(request.cookies.get(SESSION_COOKIE))
        respguard.unbind(request)
        response = Response(status_code=204)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
        return response

    @app.get("/api/me")
    async def me(request: Request, session: Session | None = current) -> Response:
        if session is None:
            return error(401, "login required")
        loaded = shop_logic.begin_render(shop, session["customer_id"])
        await shop.aio()
        record = shop_logic.end_render(shop, loaded)
        shop.note_rendered(request.headers.get("x-request-id"), record["customer_id"])
        return JSONResponse(record, headers={"Cache-Control": shop_logic.me_cache_control(shop)})

    @app.get("/mypage")
    async def mypage(request: Request, session: Session | None = current) -> Response:
        if session is None:
            return HTMLResponse("<!doctype html>\n<p>Please log in.</p>\n", status_code=401)
        loaded = shop_logic.begin_render(shop, session["customer_id"])
        await shop.aio()
        record = shop_logic.end_render(shop, loaded)
        shop.note_rendered(request.headers.get("x-request-id"), record["customer_id"])
        return HTMLResponse(shop_logic.render_mypage(record))

    @app.post("/api/customers/{customer_id}/card")
    async def card(request: Request, customer_id: str, session: Session | None = current) -> Response:
        # With the guard, another customer's id never gets here: the dependency refused it.
        if session is None:
            return error(401, "login required")
        if customer_id not in shop.records:
            return error(404, "not found")
        if not shop_logic.may_write_card(shop, session["customer_id"], customer_id):
            return error(403, "forbidden")
        card_last4 = (await body(request)).get("card_last4")
        if not shop_logic.valid_card(card_last4):
            return error(400, "card_last4 must be 4 digits")
        assert isinstance(card_last4, str)
        await shop.aio()
        return JSONResponse(shop_logic.write_card(shop, customer_id, card_last4))

    @app.get("/api/newsletter/preview")
    async def newsletter(session: Session | None = current) -> Response:
        if session is None:
            return error(401, "login required")
        await shop.aio()
        return JSONResponse(shop_logic.newsletter(shop, session["customer_id"]))

    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok")

    if guard:
        # No ``requester=``: the login dependency is respguard's only source of the requester.
        options = shop_logic.guard_options(secret)
        app.add_middleware(RespGuardMiddleware, guard=respguard.Guard(**options), write_check="app")
    return app


def app_from_env() -> FastAPI:
    """``create_app`` configured by ``RESPGUARD_EXAMPLE_BUG``, ``_GUARD`` (1/0) and ``_SECRET``."""
    return create_app(
        bug=os.environ.get("RESPGUARD_EXAMPLE_BUG", "none") or "none",
        guard=shop_logic.env_flag(os.environ.get("RESPGUARD_EXAMPLE_GUARD"), "RESPGUARD_EXAMPLE_GUARD", True),
        secret=os.environ.get("RESPGUARD_EXAMPLE_SECRET") or DEMO_SECRET,
    )
