"""The README's recipes (## Recipes) run, and do what they say: exact statuses, bodies and events.

Each test runs one recipe's code block as it is in the README; where a recipe says why a line
is needed, a second run without that line shows what goes wrong.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient
from test_readme import README, run_blocks
from werkzeug.test import Client

from respguard import BlockPage

BLOCK = BlockPage().body


def recipe(title: str) -> str:
    """The python block under ``### title`` in the README's Recipes section."""
    text = README.read_text(encoding="utf-8")
    recipes = text[text.index("\n## Recipes\n") :]
    start = recipes.index(f"\n### {title}\n")
    end = recipes.find("\n### ", start + 1)
    found = re.findall(r"```python\n(.*?)```", recipes[start : end if end > 0 else None], re.S)
    assert len(found) == 1, title
    return str(found[0])


def run(title: str, *replace: tuple[str, str]) -> dict[str, Any]:
    code = recipe(title)
    for old, new in replace:
        assert old in code
        code = code.replace(old, new)
    return run_blocks("recipe_" + re.sub(r"\W+", "_", title.lower()), [code])


def binds(response: Any) -> bool:
    return any(v.startswith("respguard_bind=") and "Max-Age=0" not in v for v in response.headers.getlist("Set-Cookie"))


# ------------------------------------------------------------------ sign-up and password reset


def test_sign_up_binds_the_browser_to_the_new_user_even_when_it_was_someone_else() -> None:
    app = run("Sign-up and password reset")["app"]
    with app.test_client() as client:
        first = client.post("/signup", json={"email": "ann@example.com"})
        assert (first.status_code, first.json) == (200, {"user_id": "u1"}) and binds(first)
        again = client.post("/signup", json={"email": "bo@example.com"})  # the same browser, a new account
        assert (again.status_code, again.json) == (200, {"user_id": "u2"}) and binds(again)
        me = client.get("/api/me")
        assert (me.status_code, me.json) == (200, {"user_id": "u2"})


def test_sign_up_without_the_login_path_is_drift() -> None:
    app = run("Sign-up and password reset", ('login_paths=["/login", "/signup"]', 'login_paths=["/login"]'))["app"]
    with app.test_client() as client:
        assert client.post("/signup", json={"email": "ann@example.com"}).status_code == 200
        again = client.post("/signup", json={"email": "bo@example.com"})
        assert (again.status_code, again.data) == (403, BLOCK)


def test_password_reset_rebinds_to_the_user_the_token_names() -> None:
    namespace = run("Sign-up and password reset")
    app = namespace["app"]
    with app.test_client() as client:
        client.post("/signup", json={"email": "ann@example.com"})
        client.post("/signup", json={"email": "bo@example.com"})  # this browser is u2 now
        reset = client.post("/password-reset/token-for-u1")
        assert (reset.status_code, reset.json) == (200, {"user_id": "u1"}) and binds(reset)
        me = client.get("/api/me")
        assert (me.status_code, me.json) == (200, {"user_id": "u1"})
        unknown = client.post("/password-reset/token-for-u1")  # used up
        assert (unknown.status_code, unknown.json) == (400, {"error": "unknown token"})
    assert namespace["RESET_TOKENS"] == {}


def test_password_reset_without_rebind_is_blocked() -> None:
    app = run("Sign-up and password reset", ("respguard.rebind(request, user_id)", "pass"))["app"]
    with app.test_client() as client:
        client.post("/signup", json={"email": "ann@example.com"})
        client.post("/signup", json={"email": "bo@example.com"})
        reset = client.post("/password-reset/token-for-u1")
        assert (reset.status_code, reset.data) == (403, BLOCK)


# ------------------------------------------------------------------ staff views


def test_staff_view_is_allowed_and_audited_only_on_the_staff_route() -> None:
    namespace = run("Staff views, with an audit trail")
    app, audit = namespace["app"], namespace["AUDIT"]
    with TestClient(app) as staff:
        got = staff.get("/staff/customers/cust-9001", headers={"x-user": "staff-1"})
        assert (got.status_code, got.json()) == (200, {"customer_id": "cust-9001"})
        assert [(e.kind.value, e.action.value, e.path, e.reason) for e in audit] == [
            ("cross_owner_view", "allowed", "/staff/customers/{id}", "policy allowed a cross-owner view")
        ]
        assert audit[0].requester is not None and audit[0].owner_count == 1
        elsewhere = staff.get("/customers/cust-9001", headers={"x-user": "staff-1"})
        assert (elsewhere.status_code, elsewhere.content) == (403, BLOCK)
    with TestClient(app) as customer:
        other = customer.get("/staff/customers/cust-9002", headers={"x-user": "cust-9001"})
        assert (other.status_code, other.content) == (403, BLOCK)
        own = customer.get("/staff/customers/cust-9001", headers={"x-user": "cust-9001"})
        assert own.status_code == 200
    assert [(e.kind.value, e.action.value) for e in audit] == [
        ("cross_owner_view", "allowed"),
        ("owner_mismatch", "blocked"),
        ("owner_mismatch", "blocked"),
    ]


# ------------------------------------------------------------------ token-only APIs


def test_token_only_api_switches_tokens_in_one_cookie_jar() -> None:
    client = Client(run("Token-only APIs")["app"])
    for token, user in (("token-a", "alice"), ("token-b", "bob"), ("token-a", "alice")):
        got = client.get(f"/users/{user}", headers={"Authorization": f"Bearer {token}"})
        assert (got.status_code, got.json) == (200, {"user_id": user})
        assert got.headers.getlist("Set-Cookie") == []
    foreign = client.get("/users/bob", headers={"Authorization": "Bearer token-a"})
    assert (foreign.status_code, foreign.data) == (403, BLOCK)
    anonymous = client.get("/users/bob")
    assert (anonymous.status_code, anonymous.data) == (403, BLOCK)


def test_token_api_with_bound_sessions_would_drift() -> None:
    client = Client(run("Token-only APIs", ("bind_sessions=False", "bind_sessions=True"))["app"])
    assert client.get("/users/alice", headers={"Authorization": "Bearer token-a"}).status_code == 200
    switched = client.get("/users/bob", headers={"Authorization": "Bearer token-b"})
    assert (switched.status_code, switched.data) == (403, BLOCK)


# ------------------------------------------------------------------ public profiles


def test_public_profiles_and_directory_with_private_settings() -> None:
    app = run("Public profile pages")["app"]
    with app.test_client() as anonymous:
        directory = anonymous.get("/people")
        assert (directory.status_code, directory.json) == (200, [{"username": "ann"}, {"username": "bob"}])
        profile = anonymous.get("/people/bob")
        assert (profile.status_code, profile.json) == (200, {"username": "bob", "bio": "Yo"})
        settings = anonymous.get("/people/bob/settings")
        assert (settings.status_code, settings.data) == (403, BLOCK)
    with app.test_client() as ann:
        with ann.session_transaction() as session:
            session["username"] = "ann"
        assert ann.get("/people/bob").status_code == 200
        own = ann.get("/people/ann/settings")
        assert (own.status_code, own.json["email"]) == (200, "ann@example.com")
        other = ann.get("/people/bob/settings")
        assert (other.status_code, other.data) == (403, BLOCK)


def test_without_the_routes_the_directory_is_blocked() -> None:
    app = run("Public profile pages", ('    respguard.Route("/people", public_keys=["username"]),\n', ""))
    with app["app"].test_client() as anonymous:
        assert anonymous.get("/people").status_code == 403
        assert anonymous.get("/people/bob").status_code == 200  # that route kept its rule


# ------------------------------------------------------------------ middleware order


ORIGIN = "https://app.example.com"


def test_middleware_order_gzip_cors_sessions_authentication() -> None:
    app = run("Middleware order: GZip, CORS, sessions, authentication")["app"]
    with TestClient(app) as client:
        login = client.post("/login/ann")
        assert (login.status_code, login.json()) == (200, {"user_id": "ann"})
        own = client.get("/users/ann/orders", headers={"Origin": ORIGIN, "Accept-Encoding": "gzip"})
        assert own.status_code == 200 and own.json() == {"user_id": "ann", "orders": ["tea"] * 100}
        assert own.headers["content-encoding"] == "gzip"  # compressed outside, after respguard read it
        assert own.headers["access-control-allow-origin"] == ORIGIN
        foreign = client.get("/users/bob/orders", headers={"Origin": ORIGIN, "Accept-Encoding": "gzip"})
        assert (foreign.status_code, foreign.content) == (403, BLOCK)
        assert foreign.headers["access-control-allow-origin"] == ORIGIN  # the script can read the 403
        assert "content-encoding" not in foreign.headers  # the page is under GZip's minimum size
        preflight = client.options(
            "/users/bob/orders", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ORIGIN


def test_cors_inside_respguard_loses_its_headers_on_a_block() -> None:
    outer = 'Middleware(CORSMiddleware, allow_origins=["https://app.example.com"], allow_credentials=True),\n'
    inner = "Middleware(RespGuardMiddleware, guard=guard),\n"
    title = "Middleware order: GZip, CORS, sessions, authentication"
    app = run(title, (outer, ""), (inner, inner + "        " + outer))
    with TestClient(app["app"]) as client:
        client.post("/login/ann")
        foreign = client.get("/users/bob/orders", headers={"Origin": ORIGIN})
        assert foreign.status_code == 403 and "access-control-allow-origin" not in foreign.headers


# ------------------------------------------------------------------ facet kinds


@pytest.mark.parametrize(("tenant", "status"), [("acme", 200), ("globex", 403), ("ACME", 403)])
def test_owners_of_any_kind(tenant: str, status: int) -> None:
    got = Client(run("Owners of any kind")["app"]).get(f"/tenants/{tenant}")
    assert got.status_code == status
    if status == 403:
        assert got.data == BLOCK
    else:
        assert got.json == {"member_id": "m-1", "tenant_id": tenant}
