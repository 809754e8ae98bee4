"""Issue 10: the write check where the framework parsed the request and the app's login ran.

- Flask: ``RespGuard(app, inbound=[...])`` checks when Flask dispatches the view, after every
  ``before_request`` function (registered before or after the extension, app or blueprint),
  with Flask-Login's ``current_user``, on ``view_args``, ``args``, ``form``/``files`` and
  ``get_json(silent=True, force=True)``.
- FastAPI: ``requester_dependency`` checks right after the login dependency; with
  ``write_check="app"`` the middleware leaves writes whose requester only the app knows to it,
  so ``dependency_overrides`` logins get their own writes.

Every refused row asserts the status, the block page body, the event, and that the view never ran.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import assert_block
from fastapi import Depends, FastAPI, Form, Header, HTTPException
from flask import Blueprint, Flask, request
from flask_login import LoginManager, UserMixin
from ids import ALICE, BOB, NUMERIC
from pydantic import BaseModel
from starlette.requests import Request
from starlette.testclient import TestClient

from respguard import (
    AuditEvent,
    BlockPage,
    FormOwner,
    Guard,
    JsonBodyOwner,
    JsonKeys,
    PathOwner,
    QueryOwner,
    set_requester,
)
from respguard.flask import RespGuard
from respguard.starlette import RespGuardMiddleware, requester_dependency

SECRET = "write-apps-secret-77e0"
BLOCK = BlockPage().body
MP_FOREIGN_UNQUOTED = (
    b"--XyZ\r\nContent-Disposition: form-data; name=customer_id\r\n\r\n" + BOB.encode() + b"\r\n--XyZ--\r\n"
)


def rules() -> list[Any]:
    return [
        PathOwner("/api/customers/{customer_id}/card"),
        JsonBodyOwner("customer_id"),
        FormOwner("customer_id"),
        QueryOwner("customer_id"),
    ]


def assert_refused(status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """The block page, exactly: status, body, headers; the binding cookie is kept (no Set-Cookie)."""
    assert (status, body) == (403, BLOCK)
    assert_block(status, headers, body, clears_binding=False)


def flask_headers(response: Any) -> list[tuple[str, str]]:
    return list(response.headers.items())


# ------------------------------------------------------------------ Flask


def flask_shop(events: list[AuditEvent], login: str = "hook", **options: Any) -> tuple[Flask, list[object]]:
    """A shop whose views write; ``login`` is how the app authenticates (``X-User`` header)."""
    app = Flask(__name__)
    app.secret_key = "flask-write-secret"
    writes: list[object] = []
    RespGuard(
        app, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append, secret_key=SECRET, **options
    )
    if login == "hook":

        @app.before_request  # registered after RespGuard(app): the check must still run after it
        def log_in() -> None:
            set_requester(request, request.headers.get("X-User"))

    elif login == "flask_login":
        manager = LoginManager(app)

        class User(UserMixin):
            def __init__(self, user_id: str) -> None:
                self.id = user_id

        @manager.request_loader
        def from_header(req: Any) -> User | None:
            user = req.headers.get("X-User")
            return User(user) if user else None

    @app.post("/api/customers/<customer_id>/card")
    def card(customer_id: str) -> str:
        writes.append(("path", customer_id))
        return "written"

    @app.post("/api/customers/<int:customer_id>/points")
    def points(customer_id: int) -> str:
        writes.append(("int", customer_id))
        return "written"

    @app.post("/api/card/json")
    def card_json() -> str:
        writes.append(("json", request.get_json(force=True)["customer_id"]))
        return "written"

    @app.post("/api/card/form")
    def card_form() -> str:
        writes.append(("form", request.form.get("customer_id")))
        return "written"

    @app.post("/api/card/query")
    def card_query() -> str:
        writes.append(("query", request.args.get("customer_id")))
        return "written"

    return app, writes


FLASK_REFUSED = [
    ("path", "/api/customers/" + BOB + "/card", {}),
    (
        "json-force-text-plain",
        "/api/card/json",
        {"data": '{"customer_id": "' + BOB + '"}', "content_type": "text/plain"},
    ),
    ("json-true", "/api/card/json", {"json": {"customer_id": True}}),
    ("json-float", "/api/card/json", {"json": {"customer_id": 1.5}}),
    ("form", "/api/card/form", {"data": {"customer_id": BOB}}),
    (
        "form-repeated",
        "/api/card/form",
        {"data": "customer_id=" + ALICE + "&customer_id=" + BOB, "content_type": "application/x-www-form-urlencoded"},
    ),
    (
        "multipart-unquoted",
        "/api/card/form",
        {"data": MP_FOREIGN_UNQUOTED, "content_type": "multipart/form-data; boundary=XyZ"},
    ),
    (
        "multipart-rfc2231",
        "/api/card/form",
        {
            "data": MP_FOREIGN_UNQUOTED.replace(b"name=customer_id", b"name*=utf-8''customer_id"),
            "content_type": "multipart/form-data; boundary=XyZ",
        },
    ),
    ("query", "/api/card/query?customer_id=" + BOB, {}),
]


@pytest.mark.parametrize("login", ["hook", "flask_login"])
@pytest.mark.parametrize(("row", "url", "kwargs"), FLASK_REFUSED, ids=[r[0] for r in FLASK_REFUSED])
def test_flask_refuses_a_foreign_write_before_the_view(login: str, row: str, url: str, kwargs: dict[str, Any]) -> None:
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, login)
    with app.test_client() as client:
        response = client.post(url, headers={"X-User": ALICE}, **kwargs)
    assert writes == []  # the view never ran
    assert_refused(response.status_code, flask_headers(response), response.data)
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


@pytest.mark.parametrize("login", ["hook", "flask_login"])
def test_flask_own_writes_run_after_the_apps_own_login(login: str) -> None:
    # No requester= and no binding cookie: only the app's own login knows who is asking.
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, login)
    with app.test_client() as client:
        assert client.post(f"/api/customers/{ALICE}/card", headers={"X-User": ALICE}).data == b"written"
        assert (
            client.post(
                "/api/card/json",
                headers={"X-User": ALICE},
                data='{"customer_id": "' + ALICE + '"}',
                content_type="text/plain",
            ).data
            == b"written"
        )
        assert client.post("/api/card/form", headers={"X-User": ALICE}, data={"customer_id": ALICE}).data == b"written"
        assert client.post(f"/api/card/query?customer_id={ALICE}", headers={"X-User": ALICE}).data == b"written"
    with app.test_client() as client:  # a browser of its own (the first is bound to Alice)
        assert client.post(f"/api/customers/{NUMERIC}/points", headers={"X-User": NUMERIC}).data == b"written"
    assert writes == [("path", ALICE), ("json", ALICE), ("form", ALICE), ("query", ALICE), ("int", int(NUMERIC))]
    assert events == []


def test_flask_anonymous_write_naming_an_owner_is_refused() -> None:
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, "flask_login")
    with app.test_client() as client:
        response = client.post(f"/api/customers/{ALICE}/card")
    assert writes == []
    assert_refused(response.status_code, flask_headers(response), response.data)
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


def test_flask_check_runs_after_blueprint_hooks_registered_last() -> None:
    events: list[AuditEvent] = []
    app = Flask(__name__)
    RespGuard(app, secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append)
    shop = Blueprint("shop", __name__)
    writes: list[str] = []

    @shop.before_request
    def log_in() -> None:
        set_requester(request, request.headers.get("X-User"))

    @shop.post("/api/customers/<customer_id>/card")
    def card(customer_id: str) -> str:
        writes.append(customer_id)
        return "written"

    app.register_blueprint(shop)
    with app.test_client() as client:
        assert client.post(f"/api/customers/{ALICE}/card", headers={"X-User": ALICE}).data == b"written"
        refused = client.post(f"/api/customers/{BOB}/card", headers={"X-User": ALICE})
    assert writes == [ALICE]
    assert_refused(refused.status_code, flask_headers(refused), refused.data)


def test_flask_a_hook_that_answers_first_still_answers() -> None:
    # A before_request function that returns a response means no view runs: nothing to check.
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, "hook")

    @app.before_request
    def maintenance() -> Any:
        return ("maintenance", 503)

    with app.test_client() as client:
        response = client.post(f"/api/customers/{BOB}/card", headers={"X-User": ALICE})
    assert (response.status_code, response.data, writes, events) == (503, b"maintenance", [], [])


def test_flask_write_check_middleware_refuses_before_flask_knows_the_user() -> None:
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, "hook", write_check="middleware")
    with app.test_client() as client:
        response = client.post(f"/api/customers/{ALICE}/card", headers={"X-User": ALICE})
    assert writes == []  # before the app: nobody is known yet
    assert_refused(response.status_code, flask_headers(response), response.data)
    with pytest.raises(ValueError, match="write_check"):
        RespGuard(Flask(__name__), secret_key=SECRET, extractors=[JsonKeys("x")], write_check="later")  # type: ignore[arg-type]


# ------------------------------------------------------------------ FastAPI


class Customer:
    def __init__(self, customer_id: str) -> None:
        self.id = customer_id


def current_customer(authorization: str | None = Header(default=None)) -> Customer:  # noqa: B008
    """The app's own login: a bearer token (here, the id itself)."""
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "log in")
    return Customer(authorization.removeprefix("Bearer "))


CurrentCustomer = Depends(requester_dependency(current_customer, lambda c: c.id))


class Card(BaseModel):
    customer_id: int
    card_last4: str = "4242"


def fastapi_shop(
    events: list[AuditEvent], write_check: str = "app", guarded: bool = True
) -> tuple[FastAPI, list[object]]:
    app = FastAPI()
    writes: list[object] = []

    @app.post("/api/customers/{customer_id}/card")
    def card(customer_id: int, customer: Customer = CurrentCustomer) -> dict[str, str]:
        writes.append(("path", customer_id))
        return {"ok": "written"}

    @app.post("/api/card")
    def card_body(body: Card, customer: Customer = CurrentCustomer) -> dict[str, str]:
        writes.append(("json", body.customer_id))
        return {"ok": "written"}

    @app.post("/api/card/form")
    def card_form(customer_id: int = Form(), customer: Customer = CurrentCustomer) -> dict[str, str]:  # noqa: B008
        writes.append(("form", customer_id))
        return {"ok": "written"}

    @app.post("/api/card/query")
    def card_query(customer_id: int, customer: Customer = CurrentCustomer) -> dict[str, str]:
        writes.append(("query", customer_id))
        return {"ok": "written"}

    @app.post("/api/card/unchecked")
    def unchecked(body: Card) -> dict[str, str]:  # forgot the login dependency
        writes.append(("unchecked", body.customer_id))
        return {"ok": "written"}

    if guarded:
        guard = Guard(secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append)
        app.add_middleware(RespGuardMiddleware, guard=guard, write_check=write_check)  # type: ignore[arg-type]
    return app, writes


OWN = NUMERIC
FOREIGN = "1"
TOKEN = {"Authorization": "Bearer " + OWN}

FASTAPI_REFUSED = [
    ("path", f"/api/customers/{FOREIGN}/card", {}),
    ("path-leading-zero", f"/api/customers/0{OWN}/card", {}),
    ("json", "/api/card", {"json": {"customer_id": int(FOREIGN)}}),
    ("json-true-coerced-to-1", "/api/card", {"json": {"customer_id": True}}),
    ("json-float-coerced", "/api/card", {"json": {"customer_id": float(OWN)}}),
    ("json-string-coerced", "/api/card", {"json": {"customer_id": FOREIGN}}),
    (
        "json-text-plain",
        "/api/card",
        {"content": '{"customer_id": ' + FOREIGN + "}", "headers": {"Content-Type": "text/plain"}},
    ),
    ("form", "/api/card/form", {"data": {"customer_id": FOREIGN}}),
    (
        "multipart-unquoted",
        "/api/card/form",
        {
            "content": MP_FOREIGN_UNQUOTED.replace(BOB.encode(), FOREIGN.encode()),
            "headers": {"Content-Type": "multipart/form-data; boundary=XyZ"},
        },
    ),
    ("query", f"/api/card/query?customer_id={FOREIGN}", {}),
    ("query-repeated", f"/api/card/query?customer_id={OWN}&customer_id={FOREIGN}", {}),
]


@pytest.mark.parametrize(("row", "url", "kwargs"), FASTAPI_REFUSED, ids=[r[0] for r in FASTAPI_REFUSED])
def test_fastapi_refuses_a_foreign_write_before_the_endpoint(row: str, url: str, kwargs: dict[str, Any]) -> None:
    events: list[AuditEvent] = []
    app, writes = fastapi_shop(events)
    headers = {**TOKEN, **kwargs.pop("headers", {})}
    with TestClient(app) as client:
        response = client.post(url, headers=headers, **kwargs)
    assert writes == []  # the endpoint never ran
    assert_refused(response.status_code, [(k, v) for k, v in response.headers.multi_items()], response.content)
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


def test_fastapi_own_writes_run_with_dependency_login_only() -> None:
    events: list[AuditEvent] = []
    app, writes = fastapi_shop(events)
    with TestClient(app) as client:
        assert client.post(f"/api/customers/{OWN}/card", headers=TOKEN).json() == {"ok": "written"}
        assert client.post("/api/card", headers=TOKEN, json={"customer_id": int(OWN)}).status_code == 200
        assert client.post("/api/card", headers=TOKEN, json={"customer_id": OWN}).status_code == 200
        assert client.post("/api/card/form", headers=TOKEN, data={"customer_id": OWN}).status_code == 200
        assert client.post(f"/api/card/query?customer_id={OWN}", headers=TOKEN).status_code == 200
    mine = int(OWN)
    assert writes == [("path", mine), ("json", mine), ("json", mine), ("form", mine), ("query", mine)]
    assert events == []


def test_fastapi_dependency_overrides_log_in_for_the_apps_own_tests() -> None:
    events: list[AuditEvent] = []
    app, writes = fastapi_shop(events)
    app.dependency_overrides[current_customer] = lambda: Customer(OWN)
    with TestClient(app) as client:
        assert client.post(f"/api/customers/{OWN}/card").status_code == 200
        refused = client.post(f"/api/customers/{FOREIGN}/card")
    assert writes == [("path", int(OWN))]
    assert_refused(refused.status_code, [(k, v) for k, v in refused.headers.multi_items()], refused.content)


def test_fastapi_a_write_route_without_the_dependency_is_answered_with_the_block_page() -> None:
    # write_check="app" trusts every write route to take requester_dependency; one that does
    # not has run by the time respguard sees its response: blocked, and logged to be fixed.
    events: list[AuditEvent] = []
    app, writes = fastapi_shop(events)
    with TestClient(app) as client:
        response = client.post("/api/card/unchecked", json={"customer_id": int(FOREIGN)})
    assert writes == [("unchecked", int(FOREIGN))]
    assert_refused(response.status_code, [(k, v) for k, v in response.headers.multi_items()], response.content)
    assert [(e.kind.value, e.action.value, e.reason) for e in events] == [
        ("cross_owner_write", "blocked", "write not checked before the endpoint ran")
    ]


def test_fastapi_write_check_middleware_refuses_what_only_a_dependency_knows() -> None:
    events: list[AuditEvent] = []
    app, writes = fastapi_shop(events, write_check="middleware")
    with TestClient(app) as client:
        response = client.post(f"/api/customers/{OWN}/card", headers=TOKEN)
    assert writes == []
    assert_refused(response.status_code, [(k, v) for k, v in response.headers.multi_items()], response.content)


def test_fastapi_without_the_middleware_the_helpers_do_nothing() -> None:
    # The guard switched off by configuration: requester_dependency and set_requester are no-ops.
    app, writes = fastapi_shop([], guarded=False)
    with TestClient(app) as client:
        assert client.post(f"/api/customers/{FOREIGN}/card", headers=TOKEN).status_code == 200
    assert writes == [("path", int(FOREIGN))]


def test_helpers_without_any_middleware_are_no_ops() -> None:
    from respguard import add_owner, rebind, unbind

    for holder in ({}, {"type": "http"}, object()):
        set_requester(holder, ALICE)
        rebind(holder, ALICE)
        unbind(holder)
        add_owner(holder, BOB)
    assert holder is not None


def test_flask_report_mode_reports_a_foreign_write_once_and_lets_it_run() -> None:
    # requester= knows the user before the app: the middleware decides, the app does not repeat it.
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, "hook", mode="report", requester=lambda info: info.headers.get("x-user"))
    with app.test_client() as client:
        response = client.post(f"/api/customers/{BOB}/card", headers={"X-User": ALICE})
    assert (response.status_code, response.data) == (200, b"written")
    assert writes == [("path", BOB)]
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "reported")]


def test_flask_the_apps_own_login_wins_over_requester() -> None:
    # requester= says Alice (allowed before the app); the app's login says Bob: the app's requester
    # decides in the app, and differs from the binding the browser got as Alice.
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, "flask_login", requester=lambda info: ALICE)
    with app.test_client() as client:
        assert client.post(f"/api/customers/{ALICE}/card", headers={"X-User": ALICE}).status_code == 200
        events.clear()
        response = client.post(f"/api/customers/{ALICE}/card", headers={"X-User": BOB})
    assert writes == [("path", ALICE)]
    assert_refused(response.status_code, flask_headers(response), response.data)
    assert [(e.kind.value, e.action.value) for e in events] == [("session_drift", "blocked")]


def test_fastapi_app_mode_leaves_writes_the_middleware_decided_alone() -> None:
    # requester= knows the user before the app: the middleware decides; a route without the
    # dependency is then not the safety net's business.
    events: list[AuditEvent] = []
    app = FastAPI()
    writes: list[int] = []

    @app.post("/api/card/unchecked")
    def unchecked(body: Card) -> dict[str, str]:
        writes.append(body.customer_id)
        return {"ok": "written"}

    guard = Guard(
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=rules(),
        on_event=events.append,
        requester=lambda info: info.headers.get("x-user"),
    )
    app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")
    with TestClient(app) as client:
        own = client.post("/api/card/unchecked", json={"customer_id": int(OWN)}, headers={"X-User": OWN})
        foreign = client.post("/api/card/unchecked", json={"customer_id": 1}, headers={"X-User": OWN})
    assert own.json() == {"ok": "written"}
    assert_refused(foreign.status_code, list(foreign.headers.multi_items()), foreign.content)
    assert writes == [int(OWN)]
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


def test_flask_init_app_twice_checks_once() -> None:
    events: list[AuditEvent] = []
    app, writes = flask_shop(events, "hook")
    RespGuard(secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules()).init_app(app)
    with app.test_client() as client:
        response = client.post(f"/api/customers/{BOB}/card", headers={"X-User": ALICE})
    assert writes == []
    assert_refused(response.status_code, flask_headers(response), response.data)
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


def test_plain_starlette_endpoint_checks_with_write_refusal() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from respguard.starlette import write_refusal

    events: list[AuditEvent] = []
    writes: list[str] = []

    async def card(request: Request) -> Response:
        set_requester(request, request.headers.get("x-user"))  # the app's own login
        refusal = await write_refusal(request)
        if refusal is not None:
            return refusal
        writes.append((await request.json())["customer_id"])  # the body is still there
        return PlainTextResponse("written")

    guard = Guard(secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append)
    app = RespGuardMiddleware(Starlette(routes=[Route("/api/card", card, methods=["POST"])]), guard, "app")
    with TestClient(app) as client:
        own = client.post("/api/card", json={"customer_id": ALICE}, headers={"X-User": ALICE})
        foreign = client.post("/api/card", json={"customer_id": BOB}, headers={"X-User": ALICE})
    assert own.text == "written"
    assert_refused(foreign.status_code, list(foreign.headers.multi_items()), foreign.content)
    assert writes == [ALICE]
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


def published_login(request: Request, authorization: str = Header()) -> str:  # noqa: B008
    """A login dependency of the app's own that tells respguard itself."""
    customer = authorization.removeprefix("Bearer ")
    set_requester(request, customer)
    return customer


def test_fastapi_check_writes_after_the_login_dependency() -> None:
    from respguard.starlette import check_writes

    events: list[AuditEvent] = []
    app = FastAPI()
    writes: list[int] = []

    @app.post("/api/customers/{customer_id}/card")
    def card(
        customer_id: int,
        customer: str = Depends(published_login),  # noqa: B008
        _: None = Depends(check_writes),  # noqa: B008  (after the login: FastAPI solves in order)
    ) -> dict[str, str]:
        writes.append(customer_id)
        return {"ok": "written"}

    guard = Guard(secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append)
    app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")
    with TestClient(app) as client:
        assert client.post(f"/api/customers/{OWN}/card", headers=TOKEN).status_code == 200
        foreign = client.post(f"/api/customers/{FOREIGN}/card", headers=TOKEN)
    assert writes == [int(OWN)]
    assert_refused(foreign.status_code, list(foreign.headers.multi_items()), foreign.content)


def test_flask_write_check_from_config() -> None:
    app = Flask(__name__)
    app.config["RESPGUARD_WRITE_CHECK"] = "middleware"
    writes: list[str] = []
    RespGuard(app, secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules())

    @app.before_request
    def log_in() -> None:
        set_requester(request, request.headers.get("X-User"))

    @app.post("/api/customers/<customer_id>/card")
    def card(customer_id: str) -> str:
        writes.append(customer_id)
        return "written"

    with app.test_client() as client:
        response = client.post(f"/api/customers/{ALICE}/card", headers={"X-User": ALICE})
    assert writes == []  # checked before Flask ran: nobody was known yet
    assert_refused(response.status_code, flask_headers(response), response.data)


def test_fastapi_app_mode_a_requester_function_that_knows_nobody_leaves_the_write_to_the_app() -> None:
    events: list[AuditEvent] = []
    app, writes = fastapi_shop(events)
    guard = Guard(
        secret_key=SECRET,
        extractors=[JsonKeys("customer_id")],
        inbound=rules(),
        on_event=events.append,
        requester=lambda info: info.headers.get("x-user"),  # a header only some clients send
    )
    app.user_middleware.clear()
    app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")
    with TestClient(app) as client:
        own = client.post(f"/api/customers/{OWN}/card", headers=TOKEN)
        foreign = client.post(f"/api/customers/{FOREIGN}/card", headers=TOKEN)
    assert own.status_code == 200
    assert_refused(foreign.status_code, list(foreign.headers.multi_items()), foreign.content)
    assert writes == [("path", int(OWN))]
    assert [(e.kind.value, e.action.value) for e in events] == [("cross_owner_write", "blocked")]


def test_fastapi_app_mode_wrapped_from_outside_answers_a_refused_write_with_the_block_page() -> None:
    """RespGuardMiddleware(write_check="app") around a FastAPI app (not through add_middleware):
    FastAPI's own error middleware sees the refusal first; the client still gets the block page."""
    from fastapi import Depends, FastAPI, Header
    from fastapi.testclient import TestClient

    from respguard import Guard, JsonKeys, PathOwner
    from respguard.starlette import RespGuardMiddleware, requester_dependency

    api = FastAPI()
    written: list[str] = []

    async def user(x_user: str = Header()) -> str:  # noqa: B008
        return x_user

    @api.post("/users/{user_id}/card")
    async def card(user_id: str, u: str = Depends(requester_dependency(user))) -> dict[str, bool]:  # noqa: B008
        written.append(user_id)
        return {"ok": True}

    guard = Guard(secret_key=SECRET, extractors=[JsonKeys("user_id")], inbound=[PathOwner("/users/{user_id}/card")])
    client = TestClient(RespGuardMiddleware(api, guard=guard, write_check="app"), raise_server_exceptions=False)
    refused = client.post("/users/u-2/card", headers={"x-user": "u-1"}, json={})
    assert (refused.status_code, refused.content) == (403, BlockPage().body)
    assert client.post("/users/u-1/card", headers={"x-user": "u-1"}, json={}).status_code == 200
    assert written == ["u-1"]
