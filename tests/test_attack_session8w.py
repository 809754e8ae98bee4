"""Adversarial findings, session 8 (the write side): a hostile client names another owner's
record in a way one of the app's readers reads and respguard's check did not.

1. **A method override turns a GET into a write.** Flask's documented pattern
   (``HTTPMethodOverrideMiddleware``, "Adding HTTP Method Overrides") sets ``REQUEST_METHOD``
   from ``X-HTTP-Method-Override``, whatever the method was; installed on ``app.wsgi_app``
   before ``RespGuard(app)``, it runs inside respguard. ``GET /api/customers/bob-9c2e/card``
   with ``X-HTTP-Method-Override: DELETE`` was a GET to respguard (no write check) and
   Flask's DELETE view deleted bob's card; ``GET /api/cards`` overridden to ``PUT`` with
   ``{"customer_id": "bob-9c2e"}`` wrote it. The same with any ASGI app whose own
   override middleware (or a Django middleware) runs inside respguard.
2. **Django: a form body on PUT/PATCH/DELETE.** Django parses ``request.POST`` for ``POST``
   only, and respguard read the form from it; DRF's ``request.data`` (its ``FormParser`` and
   ``MultiPartParser``) parses the form of every method, and so does a view's own
   ``QueryDict(request.body)``: ``PUT owner_id=<bob>`` wrote bob's record.
3. **Django: JSON in the charset its Content-Type names.** DRF's ``JSONParser`` decodes the
   body with the request's charset (``application/json; charset=utf-7``); respguard read the
   bytes as ``json.loads`` detects them (UTF-8). In UTF-7 ``+ACI-`` is ``"``, so a string
   value in the UTF-8 reading holds a whole ``"owner_id": <bob>`` member in DRF's.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import BLOCK_BODY, SECRET, asgi_call, header_list, kinds
from flask import Flask, request
from ids import ALICE, BOB
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.test import create_environ

import respguard
from respguard import ASGIMiddleware, AuditEvent, FormOwner, JsonBodyOwner, JsonKeys, PathOwner, WSGIMiddleware

CARD = "/api/customers/{customer_id}/card"
FOREIGN_WRITE = "request names another owner's record"


def _rules() -> list[Any]:
    return [PathOwner(CARD), JsonBodyOwner("customer_id"), FormOwner("customer_id")]


def _options(events: list[AuditEvent]) -> dict[str, Any]:
    return {
        "secret_key": SECRET,
        "extractors": [JsonKeys("customer_id")],
        "inbound": _rules(),
        "on_event": events.append,
        "requester": lambda r: ALICE,
        "bind_sessions": False,
    }


# ------------------------------------------------------------------ 1. method overrides

#: The methods Flask's pattern lets the header name (its ``allowed_methods``).
_ALLOWED = frozenset(["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"])


class HTTPMethodOverrideMiddleware:
    """Flask's documented pattern ("Adding HTTP Method Overrides"), verbatim in substance."""

    bodyless_methods = frozenset(["GET", "HEAD", "OPTIONS", "DELETE"])

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
        if method in _ALLOWED:
            environ["REQUEST_METHOD"] = method
        if method in self.bodyless_methods:
            environ["CONTENT_LENGTH"] = "0"
        return self.app(environ, start_response)


class ASGIMethodOverride:
    """The same for an ASGI app: the scope's method from ``X-HTTP-Method-Override``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"x-http-method-override" and value.decode("latin-1").upper() in _ALLOWED:
                scope = {**scope, "method": value.decode("latin-1").upper()}
        await self.app(scope, receive, send)


class Cards:
    """A Starlette app and a Flask app with two writes: ``DELETE`` bob's card (its path names
    him) and ``PUT /api/cards`` (its JSON body does). ``writes`` records what ran."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, object]] = []

        async def delete(request: Request) -> JSONResponse:
            self.writes.append(("delete", request.path_params["customer_id"]))
            return JSONResponse({"ok": True})

        async def put(request: Request) -> JSONResponse:
            self.writes.append(("put", (await request.json())["customer_id"]))
            return JSONResponse({"ok": True})

        self.asgi = Starlette(
            routes=[Route(CARD, delete, methods=["DELETE"]), Route("/api/cards", put, methods=["PUT"])]
        )
        flask = Flask(__name__)
        flask.secret_key = SECRET

        @flask.delete("/api/customers/<customer_id>/card")
        def delete_card(customer_id: str) -> dict[str, bool]:
            self.writes.append(("delete", customer_id))
            return {"ok": True}

        @flask.put("/api/cards")
        def put_card() -> dict[str, bool]:
            self.writes.append(("put", request.get_json(force=True)["customer_id"]))
            return {"ok": True}

        self.flask = flask


def _asgi_send(app: Any, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    got = asgi_call(app, method=method, path=path, headers=raw, body=body)
    return got.status, got.body


def _wsgi_send(app: Any, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, bytes]:
    environ = create_environ(path, method=method, headers=headers, data=body)
    captured: list[Any] = []
    result = app(environ, lambda status, hdrs, exc_info=None: captured.extend([status, header_list(hdrs)]))
    out = b"".join(result)
    getattr(result, "close", lambda: None)()
    return int(captured[0][:3]), out


OVERRIDES: list[tuple[str, str, str, list[tuple[str, str]], bytes, str]] = [
    ("delete-by-path", "DELETE", f"/api/customers/{BOB}/card", [], b"", "/api/customers/{id}/card"),
    (
        "put-by-json-body",
        "PUT",
        "/api/cards",
        [("Content-Type", "application/json")],
        json.dumps({"customer_id": BOB}).encode(),
        "/api/cards",
    ),
]


def _guarded(kind: str, cards: Cards, events: list[AuditEvent], stack: str) -> Callable[..., tuple[int, bytes]]:
    """The override inside respguard: ``stack`` "middleware" wraps the app in ASGIMiddleware or
    WSGIMiddleware; "flask" is the Flask extension (the override installed before it)."""
    if kind == "asgi":
        asgi = ASGIMiddleware(ASGIMethodOverride(cards.asgi), **_options(events))
        return lambda *args: _asgi_send(asgi, *args)
    flask = cards.flask
    flask.wsgi_app = HTTPMethodOverrideMiddleware(flask.wsgi_app)  # type: ignore[method-assign]
    if stack == "flask":
        from respguard.flask import RespGuard

        options = _options(events)
        del options["requester"]
        RespGuard(flask, **options)
        flask.before_request(lambda: respguard.set_requester(request, ALICE))
        return lambda *args: _wsgi_send(flask, *args)
    wsgi = WSGIMiddleware(flask.wsgi_app, **_options(events))
    return lambda *args: _wsgi_send(wsgi, *args)


@pytest.mark.parametrize(
    ("kind", "stack"),
    [("asgi", "middleware"), ("wsgi", "middleware"), ("wsgi", "flask")],
    ids=["asgi", "wsgi", "flask"],
)
@pytest.mark.parametrize(
    ("row", "method", "path", "headers", "body", "logged"), OVERRIDES, ids=[row[0] for row in OVERRIDES]
)
def test_a_get_overridden_to_a_write_is_checked_as_the_write(
    kind: str, stack: str, row: str, method: str, path: str, headers: list[tuple[str, str]], body: bytes, logged: str
) -> None:
    """``GET`` with ``X-HTTP-Method-Override: DELETE`` (or ``PUT`` with bob's id in its JSON
    body), a method override inside respguard: bob's card was deleted (written), 200. Refused
    before the app runs, on each stack; the event logs the method as sent and no raw id."""
    cards = Cards()
    events: list[AuditEvent] = []
    send = _guarded(kind, cards, events, stack)
    status, body_out = send("GET", path, [*headers, ("X-HTTP-Method-Override", method.lower())], body)
    assert (status, body_out) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert (events[0].reason, events[0].path, events[0].method) == (FOREIGN_WRITE, logged, "GET")
    assert BOB not in events[0].to_json()
    assert cards.writes == []


@pytest.mark.parametrize("header", ["X-HTTP-Method", "X-Method-Override"])
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_other_override_headers_are_read_too(kind: str, header: str) -> None:
    """``X-HTTP-Method`` (OData, Microsoft's stacks) and ``X-Method-Override`` name the method
    too: a GET that carries one naming a write, with bob's id in its path, is refused."""
    events: list[AuditEvent] = []
    cards = Cards()
    if kind == "asgi":
        status, body = _asgi_send(
            ASGIMiddleware(cards.asgi, **_options(events)),
            "GET",
            f"/api/customers/{BOB}/card",
            [(header, "PATCH")],
            b"",
        )
    else:
        status, body = _wsgi_send(
            WSGIMiddleware(cards.flask.wsgi_app, **_options(events)),
            "GET",
            f"/api/customers/{BOB}/card",
            [(header, " Patch ")],
            b"",
        )
    assert (status, body) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].path == "/api/customers/{id}/card"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("override", ["GET", "HEAD", "OPTIONS", ""])
def test_a_get_overridden_to_a_read_stays_a_read(kind: str, override: str) -> None:
    """An override naming a safe method (or none) leaves the GET a read: no write check, no event
    (bob's path reaches the router, which has no GET route: 405; Flask answers OPTIONS itself).
    One naming any other method is a write (session 14: a router routes any method token)."""
    events: list[AuditEvent] = []
    cards = Cards()
    headers = [("X-HTTP-Method-Override", override)]
    if kind == "asgi":
        guarded: Any = ASGIMiddleware(ASGIMethodOverride(cards.asgi), **_options(events))
        status, _ = _asgi_send(guarded, "GET", f"/api/customers/{BOB}/card", headers, b"")
    else:
        cards.flask.wsgi_app = HTTPMethodOverrideMiddleware(cards.flask.wsgi_app)  # type: ignore[method-assign]
        guarded = WSGIMiddleware(cards.flask.wsgi_app, **_options(events))
        status, _ = _wsgi_send(guarded, "GET", f"/api/customers/{BOB}/card", headers, b"")
    assert status == (200 if (kind, override) == ("wsgi", "OPTIONS") else 405)
    assert events == []
    assert cards.writes == []


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_requesters_own_overridden_write_runs(kind: str) -> None:
    """alice's own card, overridden to DELETE: checked, and it runs."""
    cards = Cards()
    events: list[AuditEvent] = []
    send = _guarded(kind, cards, events, "middleware")
    status, body = send("GET", f"/api/customers/{ALICE}/card", [("X-HTTP-Method-Override", "DELETE")], b"")
    assert (status, json.loads(body)) == (200, {"ok": True})
    assert events == []
    assert cards.writes == [("delete", ALICE)]


# ------------------------------------------------------------------ 2, 3. Django and DRF

DJ_WRITES: list[object] = []


@pytest.fixture
def site() -> Iterator[Any]:
    """Django as tests/test_django.py configures it, with a DRF view and a plain view that read a
    write's body as their readers do; the guard reads ``PathOwner``, ``FormOwner`` and
    ``JsonBodyOwner`` for ``owner_id``. Yields the module that configured Django."""
    dj = pytest.importorskip("test_django")
    pytest.importorskip("rest_framework")
    from django.http import HttpResponse, JsonResponse, QueryDict
    from django.test import override_settings
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    class Records(APIView):
        def _write(self, request: Any) -> Response:
            DJ_WRITES.append(request.data.get("owner_id"))
            return Response({"saved": True})

        post = put = patch = delete = _write

    def plain_put(request: Any) -> HttpResponse:
        DJ_WRITES.append(QueryDict(request.body).get("owner_id"))  # a PUT's form, as a view reads it
        return JsonResponse({"saved": True})

    urls = types.ModuleType("attack8w_urls")  # a urlconf: hashable, as Django's resolver cache needs
    urls.urlpatterns = [
        path("drf8/records/", Records.as_view()),
        path("plain8/", plain_put),
        path("login/", dj.do_login),
    ]  # type: ignore[attr-defined]
    dj.call_command("migrate", run_syncdb=True, verbosity=0)
    from django.contrib.auth.models import User

    for name, password in (("alice", "pw-a"), ("bob", "pw-b")):
        if not User.objects.filter(username=name).exists():
            User.objects.create_user(name, password=password)
    inbound = [PathOwner("/records/{owner_id}/"), FormOwner("owner_id"), JsonBodyOwner("owner_id")]
    DJ_WRITES.clear()
    dj.EVENTS.clear()
    with override_settings(ROOT_URLCONF=urls, RESPGUARD=dj.base_options(inbound=inbound)):
        yield dj
    DJ_WRITES.clear()
    dj.EVENTS.clear()


def _pks() -> tuple[int, int]:
    from django.contrib.auth.models import User

    return User.objects.get(username="alice").pk, User.objects.get(username="bob").pk


def _basic() -> dict[str, str]:
    import base64

    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:pw-a").decode()}


def _multipart(owner: int, boundary: str = "XyZ") -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="owner_id"\r\n\r\n{owner}\r\n--{boundary}--\r\n'
    ).encode()


def _django_refused(site: Any, response: Any, kind: str, reason: str) -> None:
    site.assert_blocked(response, kind)
    assert kinds(site.EVENTS) == [(kind, "blocked")]
    assert site.EVENTS[0].reason == reason
    assert DJ_WRITES == []


FORMS: list[tuple[str, str, Callable[[int], bytes]]] = [
    ("urlencoded", "application/x-www-form-urlencoded", lambda owner: f"owner_id={owner}".encode()),
    ("multipart", "multipart/form-data; boundary=XyZ", _multipart),
    ("multipart-wildcard", "multipart/*; boundary=XyZ", _multipart),
    ("urlencoded-wildcard", "*/x-www-form-urlencoded", lambda owner: f"owner_id={owner}".encode()),
]


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
@pytest.mark.parametrize(("row", "content_type", "body"), FORMS, ids=[row[0] for row in FORMS])
def test_a_drf_form_of_any_method_is_read_as_drf_reads_it(
    site: Any, method: str, row: str, content_type: str, body: Callable[[int], bytes]
) -> None:
    """``PUT /drf8/records/`` with ``owner_id=<bob>``: Django's ``request.POST`` is empty for a PUT
    (and for a POST of ``multipart/*``, which DRF's ``MultiPartParser`` reads), so respguard
    saw no owner and DRF's ``request.data`` wrote bob's record (200). Refused before the view."""
    from django.test import Client

    alice, bob = _pks()
    response = Client().generic(method, "/drf8/records/", body(bob), content_type=content_type, **_basic())
    _django_refused(site, response, "cross_owner_write", FOREIGN_WRITE)
    assert site.EVENTS[0].owners == (site.hashed(bob),)  # hashed: the raw pk is in no field
    own = Client().generic(method, "/drf8/records/", body(alice), content_type=content_type, **_basic())
    assert (own.status_code, own.json(), DJ_WRITES) == (200, {"saved": True}, [str(alice)])


def test_a_plain_views_put_form_is_read(site: Any) -> None:
    """A plain Django view reading a PUT's form with ``QueryDict(request.body)``: refused."""
    alice, bob = _pks()
    client = site.logged_in("alice", "pw-a")
    form = "application/x-www-form-urlencoded"
    _django_refused(
        site, client.put("/plain8/", f"owner_id={bob}", content_type=form), "cross_owner_write", FOREIGN_WRITE
    )
    own = client.put("/plain8/", f"owner_id={alice}", content_type=form)
    assert (own.status_code, DJ_WRITES) == (200, [str(alice)])


def test_a_put_form_in_another_charset_is_refused(site: Any) -> None:
    """``PUT`` urlencoded with ``charset=utf-7``: DRF decodes the form in UTF-7, a view's
    ``QueryDict(request.body)`` in UTF-8 (Django refuses such a POST): refused as unreadable."""
    from django.test import Client

    alice, _ = _pks()
    body = f"owner_id={alice}&note=+ACY-owner+AF8-id+AD0-1".encode()
    response = Client().generic(
        "PUT", "/drf8/records/", body, content_type="application/x-www-form-urlencoded; charset=utf-7", **_basic()
    )
    _django_refused(site, response, "scan_error", "malformed form body")


def test_drf_json_in_its_declared_charset_is_read(site: Any) -> None:
    """``{"note": "+ACI-, +ACI-owner+AF8-id+ACI-: <bob>, +ACI-x+ACI-: +ACI-"}`` as
    ``application/json; charset=utf-7``: as UTF-8, a note; DRF's ``JSONParser`` decodes UTF-7 and
    reads ``{"note": "", "owner_id": <bob>, ...}``, and wrote bob's record (200). Refused."""
    from django.test import Client

    alice, bob = _pks()
    body = f'{{"note": "+ACI-, +ACI-owner+AF8-id+ACI-: {bob}, +ACI-x+ACI-: +ACI-", "y": 1}}'.encode()
    utf7 = "application/json; charset=utf-7"
    response = Client().generic("POST", "/drf8/records/", body, content_type=utf7, **_basic())
    _django_refused(site, response, "cross_owner_write", FOREIGN_WRITE)
    own = Client().generic("POST", "/drf8/records/", b'{"owner_id": %d}' % alice, content_type=utf7, **_basic())
    assert (own.status_code, DJ_WRITES) == (200, [alice])


def test_drf_json_in_utf16_as_declared_is_read(site: Any) -> None:
    """Control: bob's id in UTF-16 with a byte-order mark, declared: both readings are one
    document (``json.loads`` detects the mark), refused before and after the fix."""
    from django.test import Client

    _, bob = _pks()
    body = json.dumps({"owner_id": bob}).encode("utf-16")
    response = Client().generic(
        "PATCH", "/drf8/records/", body, content_type="application/json; charset=utf-16", **_basic()
    )
    _django_refused(site, response, "cross_owner_write", FOREIGN_WRITE)


class DjangoMethodOverride:
    """A Django middleware after respguard's that routes a request by ``X-HTTP-Method-Override``."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        method = request.META.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
        if method in _ALLOWED:
            request.method = method
        return self.get_response(request)


def test_django_get_overridden_to_a_put_is_checked(site: Any) -> None:
    """``GET`` with ``X-HTTP-Method-Override: PUT`` and a form naming bob, through a Django
    override middleware inside respguard's: DRF's ``put`` wrote bob's record. Refused."""
    from django.conf import settings
    from django.test import Client, override_settings

    _, bob = _pks()
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.DjangoMethodOverride"]):
        response = Client().generic(
            "GET",
            "/drf8/records/",
            f"owner_id={bob}".encode(),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_HTTP_METHOD_OVERRIDE="PUT",
            **_basic(),
        )
    _django_refused(site, response, "cross_owner_write", FOREIGN_WRITE)
    assert site.EVENTS[0].method == "GET"
