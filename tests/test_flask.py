"""The WSGI path end to end: Flask apps with ``respguard.flask.RespGuard`` under the Flask test client.

Requester sources: ``set_requester`` in the view, and Flask-Login's ``current_user``
(whose ``login_user``/``logout_user`` re-bind the browser).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import (
    ALICE,
    BINDING,
    BLOCK_BODY,
    BOB,
    SECRET,
    assert_block,
    assert_no_raw_ids,
    assert_passed_headers,
    binding_cookies,
    guard_options,
    kinds,
)
from flask import Flask, Response, abort, jsonify, request, stream_with_context
from flask_login import LoginManager, UserMixin, login_user, logout_user
from werkzeug.middleware.lint import LintMiddleware

from respguard import AuditEvent, Guard, JsonKeys, set_requester
from respguard.flask import RespGuard

PROFILES = {
    ALICE: {"user_id": ALICE, "name": "Alice", "card_last4": "4242"},
    BOB: {"user_id": BOB, "name": "Bob", "card_last4": "1881"},
}


class AppError(Exception):
    pass


def cookie(client: Any, name: str) -> str | None:
    """The value of a cookie the test client holds (Werkzeug 2.3+'s get_cookie, else its cookie jar)."""
    get = getattr(client, "get_cookie", None)
    if get is not None:
        found = get(name)
        return None if found is None else str(found.value)
    for held in client.cookie_jar:  # Werkzeug 2.2
        if held.name == name:
            return str(held.value)
    return None


def shop(guarded: bool, events: list[AuditEvent] | None = None, **options: Any) -> Flask:
    """A small "my page" app: the requester comes from ``?as=``, the data shown from ``?shown=``."""
    app = Flask(__name__)
    app.secret_key = "flask-session-secret"

    def requester() -> str:
        user = request.args["as"]
        if guarded:
            set_requester(request, user)
        return user

    @app.get("/me")
    def me() -> Response:
        user = requester()
        response = jsonify(PROFILES[request.args.get("shown", user)])
        response.set_cookie("app_session", "s3cr3t")
        response.headers["X-App"] = "1"
        return response

    @app.get("/me.html")
    def me_html() -> str:
        user = request.args.get("shown", requester())
        return f'<main data-owner="{user}"><h1>{PROFILES[user]["name"]}</h1></main>'

    @app.get("/me.txt")
    def me_txt() -> Response:
        user = request.args.get("shown", requester())
        return Response("card on file", headers={"X-Data-Owner": user}, mimetype="text/plain")

    @app.get("/orders")
    def orders() -> Response:
        user = requester()
        shown = request.args.get("shown", user)

        def rows() -> Iterator[str]:
            yield '{"orders": ['
            yield f'{{"owner_id": "{user}"}},'
            yield f'{{"owner_id": "{shown}"}}'
            yield "]}"

        return Response(stream_with_context(rows()), mimetype="application/json")

    @app.get("/boom")
    def boom() -> str:
        requester()
        raise AppError("view failed for alice-7f3a")

    @app.get("/missing")
    def missing() -> str:
        requester()
        abort(404)

    if guarded:
        RespGuard(app, **guard_options(events, **options))
    app.wsgi_app = LintMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def all_headers(response: Any) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in response.headers.to_wsgi_list()]


@pytest.mark.parametrize("path", ["/me", "/me.html", "/me.txt", "/orders"])
def test_cross_owner_response_is_blocked(events: list[AuditEvent], path: str) -> None:
    client = shop(True, events).test_client()
    response = client.get(path, query_string={"as": ALICE, "shown": BOB})
    assert_block(response.status_code, all_headers(response), response.data, sets_binding=True)
    assert b"Bob" not in response.data and b"1881" not in response.data
    assert cookie(client, "app_session") is None
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events, "1881")


@pytest.mark.parametrize("path", ["/me", "/me.html", "/me.txt", "/orders"])
def test_own_data_passes_as_without_respguard(events: list[AuditEvent], path: str) -> None:
    plain = shop(False).test_client().get(path, query_string={"as": ALICE})
    client = shop(True, events).test_client()
    response = client.get(path, query_string={"as": ALICE})
    assert response.status_code == plain.status_code == 200
    assert response.data == plain.data
    assert_passed_headers(all_headers(response), all_headers(plain), binding=True)
    assert cookie(client, BINDING) is not None
    again = client.get(path, query_string={"as": ALICE})
    assert again.data == plain.data
    assert binding_cookies(all_headers(again)) == []
    assert events == []


def test_session_swap_is_drift(events: list[AuditEvent]) -> None:
    client = shop(True, events).test_client()
    assert client.get("/me", query_string={"as": ALICE}).status_code == 200
    swapped = client.get("/me", query_string={"as": BOB})
    assert_block(swapped.status_code, all_headers(swapped), swapped.data, clears_binding=False)
    assert client.get("/me", query_string={"as": ALICE}).status_code == 200
    assert kinds(events) == [("session_drift", "blocked")]


def test_head_and_error_pages(events: list[AuditEvent]) -> None:
    client = shop(True, events).test_client()
    head = client.head("/me.txt", query_string={"as": ALICE, "shown": BOB})
    assert_block(head.status_code, all_headers(head), head.data, head=True, sets_binding=True)
    missing = client.get("/missing", query_string={"as": ALICE})
    assert missing.status_code == 404 and b"Not Found" in missing.data
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_view_exception_propagates_when_testing(events: list[AuditEvent]) -> None:
    app = shop(True, events)
    app.testing = True
    with pytest.raises(AppError, match="view failed"):
        app.test_client().get("/boom", query_string={"as": ALICE})
    app.testing = False
    response = app.test_client().get("/boom", query_string={"as": ALICE})
    assert response.status_code == 500 and b"Internal Server Error" in response.data
    assert events == []


def test_report_only(events: list[AuditEvent]) -> None:
    plain = shop(False).test_client().get("/me", query_string={"as": ALICE, "shown": BOB})
    response = shop(True, events, mode="report").test_client().get("/me", query_string={"as": ALICE, "shown": BOB})
    assert response.status_code == 200 and response.data == plain.data
    assert kinds(events) == [("owner_mismatch", "reported")]


# ------------------------------------------------------------------ the extension itself


def test_init_app_pattern_and_config_keys(events: list[AuditEvent]) -> None:
    app = Flask(__name__)
    app.config["RESPGUARD_SECRET_KEY"] = SECRET
    app.config["RESPGUARD_MODE"] = "report"
    app.config["RESPGUARD_ON_EVENT"] = events.append

    @app.get("/")
    def index() -> Response:
        set_requester(request, ALICE)
        return jsonify(user_id=BOB)

    extension = RespGuard(extractors=[JsonKeys("user_id")])
    extension.init_app(app)
    guard = app.extensions["respguard"]
    assert isinstance(guard, Guard) and guard.mode == "report"
    assert not hasattr(extension, "app")
    assert app.test_client().get("/").status_code == 200
    assert kinds(events) == [("owner_mismatch", "reported")]


def test_secret_falls_back_to_app_secret_key_and_is_required() -> None:
    app = Flask(__name__)
    with pytest.raises(ValueError, match="secret_key"):
        RespGuard(app, extractors=[JsonKeys("user_id")])
    app.secret_key = "app-secret"
    RespGuard(app, extractors=[JsonKeys("user_id")])
    assert isinstance(app.extensions["respguard"], Guard)


def test_bad_options_name_the_option() -> None:
    with pytest.raises(ValueError, match="no_such_option"):
        RespGuard(no_such_option=1)
    app = Flask(__name__)
    app.config["RESPGUARD_MODE"] = "block"
    with pytest.raises(ValueError, match="mode"):
        RespGuard(app, secret_key=SECRET, extractors=[JsonKeys("user_id")])


# ------------------------------------------------------------------ Flask-Login


class Member(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def login_shop(events: list[AuditEvent]) -> Flask:
    app = Flask(__name__)
    app.secret_key = "flask-session-secret"
    manager = LoginManager(app)

    @manager.user_loader
    def load(user_id: str) -> Member | None:
        return Member(user_id) if user_id in PROFILES else None

    @app.post("/login")
    def login() -> Response:
        login_user(Member(request.form["user"]))
        return jsonify(PROFILES[request.form["user"]])

    @app.post("/logout")
    def logout() -> Response:
        logout_user()
        return jsonify(ok=True)

    @app.get("/me")
    def me() -> Response:
        from flask_login import current_user

        shown = request.args.get("shown", current_user.get_id() if current_user.is_authenticated else BOB)
        return jsonify(PROFILES[shown])

    RespGuard(app, **guard_options(events))
    return app


def test_flask_login_current_user_is_the_requester(events: list[AuditEvent]) -> None:
    client = login_shop(events).test_client()
    anonymous = client.get("/me")
    assert_block(anonymous.status_code, all_headers(anonymous), anonymous.data)
    assert client.post("/login", data={"user": ALICE}).status_code == 200
    assert client.get("/me").json == PROFILES[ALICE]
    foreign = client.get("/me", query_string={"shown": BOB})
    assert_block(foreign.status_code, all_headers(foreign), foreign.data)
    assert kinds(events) == [("anonymous_personal_data", "blocked"), ("owner_mismatch", "blocked")]


def test_flask_login_session_swap_is_drift_and_login_user_rebinds(events: list[AuditEvent]) -> None:
    client = login_shop(events).test_client()
    assert client.post("/login", data={"user": ALICE}).status_code == 200
    assert client.get("/me").status_code == 200
    with client.session_transaction() as session:  # the session store hands this browser bob's session
        session["_user_id"] = BOB
    swapped = client.get("/me")
    assert_block(swapped.status_code, all_headers(swapped), swapped.data, clears_binding=False)
    assert swapped.data == BLOCK_BODY
    assert client.post("/login", data={"user": BOB}).status_code == 200  # a real login switches users
    assert client.get("/me").json == PROFILES[BOB]
    assert client.post("/logout").status_code == 200
    assert cookie(client, BINDING) is None
    assert client.post("/login", data={"user": ALICE}).status_code == 200
    assert client.get("/me").json == PROFILES[ALICE]
    assert kinds(events) == [("session_drift", "blocked")]


def test_streamed_generator_is_closed_once_whether_passed_or_blocked(events: list[AuditEvent]) -> None:
    closed: list[str] = []
    app = Flask(__name__)
    app.secret_key = "flask-session-secret"

    @app.get("/rows")
    def rows() -> Response:
        set_requester(request, ALICE)
        shown = request.args.get("shown", ALICE)

        def generate() -> Iterator[str]:
            try:
                yield "["
                yield f'{{"owner_id": "{shown}"}}'
                yield "]"
            finally:
                closed.append(shown)

        return Response(generate(), mimetype="application/json")

    RespGuard(app, **guard_options(events))
    app.wsgi_app = LintMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    client = app.test_client()
    own = client.get("/rows")
    assert own.status_code == 200 and own.data == b'[{"owner_id": "alice-7f3a"}]'
    foreign = client.get("/rows", query_string={"shown": BOB})
    assert_block(foreign.status_code, all_headers(foreign), foreign.data)
    assert closed == [ALICE, BOB]
    assert kinds(events) == [("owner_mismatch", "blocked")]
