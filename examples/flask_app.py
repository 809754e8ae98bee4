"""The example shop on Flask (WSGI), guarded by :class:`respguard.flask.RespGuard`.

Run it::

    RESPGUARD_EXAMPLE_BUG=shared-state gunicorn -k gthread --threads 8 'examples.flask_app:app_from_env()'

``create_app(bug=..., guard=...)`` builds one instance; its :class:`~examples.customers.Shop`
is ``app.extensions["example_shop"]``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Response, g, jsonify, request

import respguard
from respguard.flask import RespGuard

from . import customers as shop_logic
from .customers import DEMO_SECRET, SESSION_COOKIE, Shop


def create_app(*, bug: str = "none", guard: bool = True, secret: str = DEMO_SECRET) -> Flask:
    """The Flask example app with ``bug`` switched on, guarded by respguard if ``guard``."""
    shop = Shop(bug)
    app = Flask(__name__)
    app.extensions["example_shop"] = shop

    def tell(identity: respguard.Identity | None) -> None:
        if guard:
            respguard.set_requester(request, identity)

    def error(status: int, message: str) -> Response:
        response = jsonify({"error": message})
        response.status_code = status
        return response

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    @app.before_request
    def load_session() -> None:
        session = shop.session(request.cookies.get(SESSION_COOKIE))
        g.session = session
        if session is not None:
            tell(respguard.Identity(session["customer_id"], email=session["email"]))

    def login_required() -> Response | None:
        if g.session is None:
            return error(401, "login required")
        return None

    def with_session_cookie(response: Response, sid: str) -> Response:
        response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")
        return response

    @app.post("/login")
    def login() -> Response:
        data = body()
        cid, password = data.get("customer_id"), data.get("password")
        if not shop.check_password(cid, password):
            tell(None)
            return error(401, "bad credentials")
        assert isinstance(cid, str)
        # The credentials proved ``cid``: that is who this browser is.
        tell(respguard.Identity(cid, email=shop.records[cid]["email"]))
        token = shop_logic.begin_login(shop, cid)
        shop.io()
        sid = shop_logic.end_login(shop, token)
        return with_session_cookie(jsonify({"customer_id": shop.sessions[sid]["customer_id"]}), sid)

    @app.post("/signup")
    def signup() -> Response:
        data = body()
        email, name = data.get("email"), data.get("name")
        if not shop_logic.valid_signup(email, name):
            return error(400, "email and name required")
        assert isinstance(email, str) and isinstance(name, str)
        number = shop_logic.begin_signup(shop)
        shop.io()
        mid, sid = shop_logic.end_signup(shop, number, email, name)
        tell(respguard.Identity(mid, email=email))
        response = jsonify({"customer_id": mid})
        response.status_code = 201
        return with_session_cookie(response, sid)

    @app.post("/logout")
    def logout() -> Response:
        shop.drop_session(request.cookies.get(SESSION_COOKIE))
        if guard:
            respguard.unbind(request)
        response = Response(status=204)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="Lax")
        return response

    @app.get("/api/me")
    def me() -> Response:
        refused = login_required()
        if refused is not None:
            return refused
        loaded = shop_logic.begin_render(shop, g.session["customer_id"])
        shop.io()
        record = shop_logic.end_render(shop, loaded)
        shop.note_rendered(request.headers.get("X-Request-Id"), record["customer_id"])
        response = jsonify(record)
        response.headers["Cache-Control"] = shop_logic.me_cache_control(shop)
        return response

    @app.get("/mypage")
    def mypage() -> Response:
        if g.session is None:
            return Response("<!doctype html>\n<p>Please log in.</p>\n", 401, mimetype="text/html")
        loaded = shop_logic.begin_render(shop, g.session["customer_id"])
        shop.io()
        record = shop_logic.end_render(shop, loaded)
        shop.note_rendered(request.headers.get("X-Request-Id"), record["customer_id"])
        return Response(shop_logic.render_mypage(record), mimetype="text/html")

    @app.post("/api/customers/<target>/card")
    def card(target: str) -> Response:
        refused = login_required()
        if refused is not None:
            return refused
        if target not in shop.records:
            return error(404, "not found")
        if not shop_logic.may_write_card(shop, g.session["customer_id"], target):
            return error(403, "forbidden")
        card_last4 = body().get("card_last4")
        if not shop_logic.valid_card(card_last4):
            return error(400, "card_last4 must be 4 digits")
        assert isinstance(card_last4, str)
        shop.io()
        return jsonify(shop_logic.write_card(shop, target, card_last4))

    @app.get("/api/newsletter/preview")
    def newsletter() -> Response:
        refused = login_required()
        if refused is not None:
            return refused
        shop.io()
        return jsonify(shop_logic.newsletter(shop, g.session["customer_id"]))

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    if guard:
        RespGuard(app, **shop_logic.guard_options(secret, shop))
    return app


def app_from_env() -> Flask:
    """``create_app`` configured by ``RESPGUARD_EXAMPLE_BUG``, ``_GUARD`` (1/0) and ``_SECRET``."""
    return create_app(
        bug=os.environ.get("RESPGUARD_EXAMPLE_BUG", "none") or "none",
        guard=shop_logic.env_flag(os.environ.get("RESPGUARD_EXAMPLE_GUARD"), "RESPGUARD_EXAMPLE_GUARD", True),
        secret=os.environ.get("RESPGUARD_EXAMPLE_SECRET") or DEMO_SECRET,
    )
