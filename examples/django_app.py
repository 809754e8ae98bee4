"""The example shop on Django (WSGI), guarded by :class:`respguard.django.RespGuardMiddleware`.

Run it::

    RESPGUARD_EXAMPLE_BUG=shared-state gunicorn -k gthread --threads 8 'examples.django_app:app_from_env()'

The same shop, routes and bug switches as the Flask and Starlette examples
(:mod:`examples.customers`). Django's settings are process-wide, so this module configures
them once (a minimal project on SQLite, ``RESPGUARD_EXAMPLE_DB`` or in memory), and each
:func:`create_app` builds its own handler: its middleware chain, its guard (``RESPGUARD``
is read when the chain is built) and its :class:`~examples.customers.Shop`, which it hands
to the views in the request (``request.META["example.shop"]``). ``app.shop`` is the shop.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

import django
from django.conf import settings

from . import customers as shop_logic
from .customers import DEMO_SECRET, SESSION_COOKIE, Shop

SHOP_KEY = "example.shop"
GUARD_KEY = "example.guard"
GUARD_MIDDLEWARE = "respguard.django.RespGuardMiddleware"

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("RESPGUARD_EXAMPLE_SECRET") or DEMO_SECRET,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["respguard.django.RespGuardConfig"],
        MIDDLEWARE=[],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.environ.get("RESPGUARD_EXAMPLE_DB") or ":memory:",
            }
        },
        USE_TZ=True,
    )
    django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import path  # noqa: E402

import respguard  # noqa: E402


class UseThisUrlconf:
    """Routes every request to this module's views, whatever ROOT_URLCONF the process has."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.urlconf = __name__
        return self.get_response(request)


# --------------------------------------------------------------------------- views


def _shop(request: HttpRequest) -> Shop:
    shop: Shop = request.META[SHOP_KEY]
    return shop


def _tell(request: HttpRequest, identity: respguard.Identity | None) -> None:
    if request.META.get(GUARD_KEY):
        respguard.set_requester(request, identity)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _session(request: HttpRequest) -> shop_logic.Session | None:
    session = _shop(request).session(request.COOKIES.get(SESSION_COOKIE))
    if session is not None:
        _tell(request, respguard.Identity(session["customer_id"], email=session["email"]))
    return session


def _with_session_cookie(response: HttpResponse, sid: str) -> HttpResponse:
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")
    return response


def _post_only(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def only_post(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return _error(405, "method not allowed")
        return view(request, **kwargs)

    return only_post


@_post_only
def login(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    _session(request)
    data = _body(request)
    cid, password = data.get("customer_id"), data.get("password")
    if not shop.check_password(cid, password):
        _tell(request, None)
        return _error(401, "bad credentials")
    assert isinstance(cid, str)
    # The credentials proved ``cid``: that is who this browser is.
    _tell(request, respguard.Identity(cid, email=shop.records[cid]["email"]))
    token = shop_logic.begin_login(shop, cid)
    shop.io()
    sid = shop_logic.end_login(shop, token)
    return _with_session_cookie(JsonResponse({"customer_id": shop.sessions[sid]["customer_id"]}), sid)


@_post_only
def signup(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    data = _body(request)
    email, name = data.get("email"), data.get("name")
    if not shop_logic.valid_signup(email, name):
        return _error(400, "email and name required")
    assert isinstance(email, str) and isinstance(name, str)
    number = shop_logic.begin_signup(shop)
    shop.io()
    mid, sid = shop_logic.end_signup(shop, number, email, name)
    _tell(request, respguard.Identity(mid, email=email))
    return _with_session_cookie(JsonResponse({"customer_id": mid}, status=201), sid)


@_post_only
def logout(request: HttpRequest) -> HttpResponse:
    _shop(request).drop_session(request.COOKIES.get(SESSION_COOKIE))
    if request.META.get(GUARD_KEY):
        respguard.unbind(request)
    response = HttpResponse(status=204)
    response.delete_cookie(SESSION_COOKIE, samesite="Lax")
    return response


def me(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    session = _session(request)
    if session is None:
        return _error(401, "login required")
    loaded = shop_logic.begin_render(shop, session["customer_id"])
    shop.io()
    record = shop_logic.end_render(shop, loaded)
    shop.note_rendered(request.headers.get("X-Request-Id"), record["customer_id"])
    response = JsonResponse(record)
    response["Cache-Control"] = shop_logic.me_cache_control(shop)
    return response


def mypage(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    session = _session(request)
    if session is None:
        return HttpResponse("<!doctype html>\n<p>Please log in.</p>\n", status=401, content_type="text/html")
    loaded = shop_logic.begin_render(shop, session["customer_id"])
    shop.io()
    record = shop_logic.end_render(shop, loaded)
    shop.note_rendered(request.headers.get("X-Request-Id"), record["customer_id"])
    return HttpResponse(shop_logic.render_mypage(record), content_type="text/html; charset=utf-8")


@_post_only
def card(request: HttpRequest, customer_id: str) -> HttpResponse:
    shop = _shop(request)
    session = _session(request)
    if session is None:
        return _error(401, "login required")
    if customer_id not in shop.records:
        return _error(404, "not found")
    if not shop_logic.may_write_card(shop, session["customer_id"], customer_id):
        return _error(403, "forbidden")
    card_last4 = _body(request).get("card_last4")
    if not shop_logic.valid_card(card_last4):
        return _error(400, "card_last4 must be 4 digits")
    assert isinstance(card_last4, str)
    shop.io()
    return JsonResponse(shop_logic.write_card(shop, customer_id, card_last4))


def newsletter(request: HttpRequest) -> HttpResponse:
    shop = _shop(request)
    session = _session(request)
    if session is None:
        return _error(401, "login required")
    shop.io()
    return JsonResponse(shop_logic.newsletter(shop, session["customer_id"]))


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("login", login),
    path("signup", signup),
    path("logout", logout),
    path("api/me", me),
    path("mypage", mypage),
    path("api/customers/<str:customer_id>/card", card),
    path("api/newsletter/preview", newsletter),
    path("healthz", healthz),
]


# --------------------------------------------------------------------------- the app


class DjangoShopApp:
    """One example app: a Django WSGI handler with its own middleware chain, guard and shop."""

    def __init__(self, shop: Shop, guard: bool, secret: str) -> None:
        self.shop = shop
        self.guard = guard
        middleware = [GUARD_MIDDLEWARE] if guard else []
        middleware.append(f"{__name__}.UseThisUrlconf")
        # The chain (and respguard's guard, from RESPGUARD) is built now, with these settings.
        with override_settings(MIDDLEWARE=middleware, RESPGUARD=shop_logic.guard_options(secret, shop)):
            self.handler = WSGIHandler()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[SHOP_KEY] = self.shop
        environ[GUARD_KEY] = self.guard
        return self.handler(environ, start_response)


def create_app(*, bug: str = "none", guard: bool = True, secret: str = DEMO_SECRET) -> DjangoShopApp:
    """The Django example app with ``bug`` switched on, guarded by respguard if ``guard``."""
    return DjangoShopApp(Shop(bug), guard, secret)


def app_from_env() -> DjangoShopApp:
    """``create_app`` configured by ``RESPGUARD_EXAMPLE_BUG``, ``_GUARD`` (1/0) and ``_SECRET``."""
    return create_app(
        bug=os.environ.get("RESPGUARD_EXAMPLE_BUG", "none") or "none",
        guard=shop_logic.env_flag(os.environ.get("RESPGUARD_EXAMPLE_GUARD"), "RESPGUARD_EXAMPLE_GUARD", True),
        secret=os.environ.get("RESPGUARD_EXAMPLE_SECRET") or DEMO_SECRET,
    )
