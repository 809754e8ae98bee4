"""The example apps: every route on both frameworks, every bug reproduced, the guard's answer.

Races are made certain, not likely: the shop's simulated I/O wait is replaced by a
two-party barrier, so two requests both pass the step before the wait before
either does the step after it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from starlette.testclient import TestClient
from werkzeug.middleware.lint import LintMiddleware

from examples import customers, flask_app, starlette_app
from examples.customers import Shop, make_record, render_mypage
from respguard import BlockPage

BLOCK_BODY = BlockPage().body
APPS = {"flask": flask_app, "starlette": starlette_app}
C1, C2 = "c0001", "c0002"


@dataclass
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def cookies_set(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def json(self) -> Any:
        return json.loads(self.body)


class Browser:
    """One browser (its own cookie jar) on a Flask or a Starlette example app."""

    def __init__(self, app: Any) -> None:
        self.flask = isinstance(app, Flask)
        self.client: Any = app.test_client() if self.flask else TestClient(app)

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> Reply:
        if self.flask:
            r = self.client.open(path, method=method, json=body, headers=headers)
            try:
                return Reply(r.status_code, r.get_data(), list(r.headers.items()))
            finally:
                r.close()  # closes the app's iterable, as a server would (LintMiddleware checks)
        r = self.client.request(method, path, json=body, headers=headers)
        return Reply(r.status_code, r.content, r.headers.multi_items())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: object = None) -> Reply:
        return self.request("POST", path, body)

    def login(self, cid: str) -> Reply:
        return self.post("/login", {"customer_id": cid, "password": "pw-" + cid})


def build(name: str, bug: str = "none", guard: bool = True) -> tuple[Any, Shop]:
    module: ModuleType = APPS[name]
    app = module.create_app(bug=bug, guard=guard)
    if isinstance(app, Flask):
        app.wsgi_app = LintMiddleware(app.wsgi_app)  # type: ignore[method-assign]
        return app, app.extensions["example_shop"]
    return app, app.state.shop


def race(shop: Shop) -> None:
    """Replace the shop's I/O wait by a barrier: the next two waits meet each other."""
    barrier = threading.Barrier(2, timeout=10)
    shop.io = barrier.wait  # type: ignore[assignment]

    async def wait() -> None:
        await asyncio.to_thread(barrier.wait)

    shop.aio = wait


def calm(shop: Shop) -> None:
    """The race is over: waits return at once."""
    shop.io = lambda: None

    async def wait() -> None:
        return None

    shop.aio = wait


def together(*calls: Callable[[], Reply]) -> list[Reply]:
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result(timeout=30) for f in futures]


def assert_blocked(reply: Reply, *absent: str) -> None:
    assert reply.status == 403
    assert reply.body == BLOCK_BODY
    assert reply.header("cache-control") == "private, no-store"
    for text in absent:
        assert text.encode() not in reply.body


@pytest.fixture(params=sorted(APPS))
def name(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


@pytest.fixture(params=[False, True], ids=["unguarded", "guarded"])
def guard(request: pytest.FixtureRequest) -> Iterator[bool]:
    yield request.param


# --------------------------------------------------------------------------- the correct app


# Werkzeug's LintMiddleware asks a 204 for "Content-Length: 0", which Werkzeug's own
# Response removes (RFC 9110: a 204 must not carry Content-Length); the lint is wrong here.
@pytest.mark.filterwarnings("ignore:204 responses must have an empty content length")
def test_login_me_mypage_logout(name: str, guard: bool) -> None:
    app, _ = build(name, guard=guard)
    browser = Browser(app)
    login = browser.login(C1)
    assert login.status == 200
    assert login.json() == {"customer_id": C1}
    sid = [c for c in login.cookies_set() if c.startswith("sid=")]
    assert len(sid) == 1 and "HttpOnly" in sid[0]
    assert any(c.startswith("respguard_bind=") for c in login.cookies_set()) is guard

    me = browser.get("/api/me")
    assert me.status == 200
    assert me.json() == make_record(1)
    assert me.header("cache-control") == "private, no-store"
    page = browser.get("/mypage")
    assert page.status == 200
    assert page.body == render_mypage(make_record(1)).encode()
    assert '<section data-owner="c0001">' in page.body.decode()

    logout = browser.post("/logout")
    assert (logout.status, logout.body) == (204, b"")
    assert any(c.startswith("sid=") for c in logout.cookies_set())
    cleared = [c for c in logout.cookies_set() if c.startswith("respguard_bind=;")]
    assert len(cleared) == (1 if guard else 0)  # unbind(): the binding goes with the session
    after = browser.get("/api/me")
    assert after.status == 401
    assert after.json() == {"error": "login required"}


def test_anonymous_and_bad_password(name: str, guard: bool) -> None:
    app, _ = build(name, guard=guard)
    browser = Browser(app)
    me = browser.get("/api/me")
    assert (me.status, me.json()) == (401, {"error": "login required"})
    assert browser.get("/mypage").status == 401
    # Guarded, an anonymous write naming a customer is refused before the view runs.
    assert browser.post("/api/customers/c0001/card", {"card_last4": "1234"}).status == (403 if guard else 401)
    assert browser.get("/api/newsletter/preview").status == 401
    bad = browser.post("/login", {"customer_id": C1, "password": "pw-c0002"})
    assert (bad.status, bad.json()) == (401, {"error": "bad credentials"})
    assert not any(c.startswith("sid=") for c in bad.cookies_set())
    unknown = browser.post("/login", {"customer_id": "c9999", "password": "pw-c9999"})
    assert unknown.status == 401
    health = browser.get("/healthz")
    assert (health.status, health.body) == (200, b"ok")


def test_card_write_own_and_refused(name: str, guard: bool) -> None:
    app, shop = build(name, guard=guard)
    browser = Browser(app)
    browser.login(C1)
    own = browser.post("/api/customers/c0001/card", {"card_last4": "1234"})
    assert (own.status, own.json()) == (200, {"customer_id": C1, "card_last4": "1234"})
    assert browser.get("/api/me").json()["card_last4"] == "1234"
    other = browser.post("/api/customers/c0002/card", {"card_last4": "9999"})
    if guard:  # refused by respguard's inbound rule before the view runs
        assert (other.status, other.body) == (403, BlockPage().body)
    else:  # refused by the correct app itself
        assert (other.status, other.json()) == (403, {"error": "forbidden"})
    assert shop.card_writes == {C1: 1}
    assert shop.records[C2]["card_last4"] == make_record(2)["card_last4"]
    assert browser.post("/api/customers/c0001/card", {"card_last4": "12a4"}).status == 400
    unknown = browser.post("/api/customers/c9999/card", {"card_last4": "1234"})
    assert unknown.status == (403 if guard else 404)


def test_newsletter_carries_only_own_address(name: str, guard: bool) -> None:
    app, _ = build(name, guard=guard)
    browser = Browser(app)
    browser.login(C2)
    reply = browser.get("/api/newsletter/preview")
    assert reply.status == 200
    data = reply.json()
    assert data["subject"] == "Spring news"
    assert data["body"].count("@example.test") == 1
    assert "c0002@example.test" in data["body"]


def test_signup_gets_own_member_record(name: str, guard: bool) -> None:
    app, _ = build(name, guard=guard)
    browser = Browser(app)
    signup = browser.post("/signup", {"email": "new@example.test", "name": "New Member"})
    assert (signup.status, signup.json()) == (201, {"customer_id": "m0001"})
    me = browser.get("/api/me").json()
    assert (me["customer_id"], me["email"], me["name"]) == ("m0001", "new@example.test", "New Member")
    assert browser.post("/signup", {"email": "x"}).status == 400


def test_concurrent_signups_get_distinct_ids_without_the_bug(name: str) -> None:
    app, shop = build(name, guard=True)
    a, b = Browser(app), Browser(app)
    race(shop)
    ra, rb = together(
        lambda: a.post("/signup", {"email": "a@example.test", "name": "A"}),
        lambda: b.post("/signup", {"email": "b@example.test", "name": "B"}),
    )
    assert sorted([ra.json()["customer_id"], rb.json()["customer_id"]]) == ["m0001", "m0002"]


def test_ground_truth_is_noted_per_request_id(name: str) -> None:
    app, shop = build(name, guard=True)
    browser = Browser(app)
    browser.login(C1)
    assert browser.get("/api/me", headers={"X-Request-Id": "r-1"}).status == 200
    assert browser.get("/mypage", headers={"X-Request-Id": "r-2"}).status == 200
    assert (shop.rendered("r-1"), shop.rendered("r-2"), shop.rendered("r-3")) == (C1, C1, None)


# --------------------------------------------------------------------------- construction


def test_unknown_bug_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="bug must be one of"):
        APPS[name].create_app(bug="no-such-bug")


def test_app_from_env(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPGUARD_EXAMPLE_BUG", "shared-cache")
    monkeypatch.setenv("RESPGUARD_EXAMPLE_GUARD", "0")
    app = APPS[name].app_from_env()
    browser = Browser(app)
    browser.login(C1)
    me = browser.get("/api/me")
    assert me.header("cache-control") == "public, max-age=60"
    assert not any(c.startswith("respguard_bind=") for c in me.cookies_set())
    monkeypatch.setenv("RESPGUARD_EXAMPLE_GUARD", "yes")
    with pytest.raises(ValueError, match="RESPGUARD_EXAMPLE_GUARD must be 1 or 0"):
        APPS[name].app_from_env()


def test_fake_customers_are_deterministic() -> None:
    records = customers.all_records()
    assert len(records) == 200
    assert list(records)[0] == "c0001" and list(records)[-1] == "c0200"
    assert records["c0001"]["email"] == "c0001@example.test"
    assert len({r["email"] for r in records.values()}) == 200
    assert set(records["c0042"]) == {"customer_id", "email", "name", "postal_address", "phone", "card_last4", "plan"}
    assert customers.all_records() == records


# --------------------------------------------------------------------------- the bugs


@pytest.mark.parametrize("path", ["/api/me", "/mypage"])
def test_the_correct_app_under_the_same_race_serves_each_their_own(name: str, guard: bool, path: str) -> None:
    app, shop = build(name, guard=guard)
    a, b = Browser(app), Browser(app)
    assert a.login(C1).status == 200 and b.login(C2).status == 200
    race(shop)
    ra, rb = together(lambda: a.get(path), lambda: b.get(path))
    for reply, n in ((ra, 1), (rb, 2)):
        assert reply.status == 200
        if path == "/mypage":
            assert reply.body == render_mypage(make_record(n)).encode()
        else:
            assert reply.json() == make_record(n)


@pytest.mark.parametrize("path", ["/api/me", "/mypage"])
def test_shared_state_leaks_and_the_guard_blocks(name: str, guard: bool, path: str) -> None:
    app, shop = build(name, bug="shared-state", guard=guard)
    a, b = Browser(app), Browser(app)
    assert a.login(C1).status == 200 and b.login(C2).status == 200
    race(shop)
    ra, rb = together(lambda: a.get(path), lambda: b.get(path))
    # Both stored "their" customer in the global, then both rendered the last one stored.
    assert customers._current is not None
    intruder = customers._current["customer_id"]
    victim = C1 if intruder == C2 else C2
    leaked, fine = (ra, rb) if victim == C1 else (rb, ra)
    assert fine.status == 200 and intruder.encode() in fine.body
    if guard:
        assert_blocked(leaked, intruder, f"{intruder}@example.test")
    else:
        assert leaked.status == 200
        assert intruder.encode() in leaked.body and victim.encode() not in leaked.body


def test_login_mixup_leaks_and_the_guard_blocks(name: str, guard: bool) -> None:
    app, shop = build(name, bug="login-mixup", guard=guard)
    a, b = Browser(app), Browser(app)
    race(shop)
    ra, rb = together(lambda: a.login(C1), lambda: b.login(C2))
    calm(shop)
    # Both logins took the global "last login": the earlier one got the other's session.
    intruder = customers._last_login
    assert intruder in (C1, C2)
    victim = C1 if intruder == C2 else C2
    mixed, mixed_browser, other = (ra, a, rb) if victim == C1 else (rb, b, ra)
    assert other.status == 200 and other.json() == {"customer_id": intruder}
    if guard:
        assert_blocked(mixed, intruder)
        assert not any(c.startswith("sid=") for c in mixed.cookies_set())  # never got the session
        assert mixed_browser.get("/api/me").status == 401
    else:
        assert mixed.status == 200 and mixed.json() == {"customer_id": intruder}
        assert mixed_browser.get("/api/me").json() == make_record(int(intruder[1:]))


@pytest.mark.parametrize("path", ["/api/me", "/mypage"])
def test_shared_id_leaks_and_the_email_facet_blocks(name: str, guard: bool, path: str) -> None:
    app, shop = build(name, bug="shared-id", guard=guard)
    a, b = Browser(app), Browser(app)
    race(shop)
    ra, rb = together(
        lambda: a.post("/signup", {"email": "a@example.test", "name": "Alice A"}),
        lambda: b.post("/signup", {"email": "b@example.test", "name": "Bob B"}),
    )
    calm(shop)
    assert ra.json() == rb.json() == {"customer_id": "m0001"}  # one id, issued twice
    stored = shop.records["m0001"]["email"]
    loser, winner = (a, b) if stored == "b@example.test" else (b, a)
    loser_email = "a@example.test" if loser is a else "b@example.test"
    own = winner.get(path)
    assert own.status == 200 and stored.encode() in own.body
    seen = loser.get(path)
    if guard:
        assert_blocked(seen, stored)
    else:
        assert seen.status == 200
        assert stored.encode() in seen.body and loser_email.encode() not in seen.body


def test_cross_owner_write_happens_unguarded_and_never_guarded(name: str, guard: bool) -> None:
    app, shop = build(name, bug="cross-owner-write", guard=guard)
    browser = Browser(app)
    browser.login(C1)
    before = customers.CARD_WRITES[C2]
    reply = browser.post("/api/customers/c0002/card", {"card_last4": "9999"})
    if guard:
        # Refused by the inbound rule before the view runs: the write never happened.
        assert_blocked(reply, C2)
        assert shop.card_writes[C2] == 0 and customers.CARD_WRITES[C2] == before
        assert shop.records[C2]["card_last4"] == make_record(2)["card_last4"]
    else:
        assert (reply.status, reply.json()) == (200, {"customer_id": C2, "card_last4": "9999"})
        assert shop.card_writes[C2] == 1 and customers.CARD_WRITES[C2] == before + 1
        assert shop.records[C2]["card_last4"] == "9999"
    own = browser.post("/api/customers/c0001/card", {"card_last4": "4321"})
    assert (own.status, own.json()) == (200, {"customer_id": C1, "card_last4": "4321"})


def test_bulk_emails_pastes_the_mailing_list_and_the_guard_blocks(name: str, guard: bool) -> None:
    app, _ = build(name, bug="bulk-emails", guard=guard)
    browser = Browser(app)
    browser.login(C1)
    reply = browser.get("/api/newsletter/preview")
    if guard:
        assert_blocked(reply, "c0002@example.test", "c0200@example.test")
        return
    body = reply.json()["body"]
    assert body.count("@example.test") == 201  # own greeting + all 200 recipients
    assert all(f"{customers.customer_id(n)}@example.test" in body for n in range(1, 201))


def test_shared_cache_marks_the_personal_page_public_and_the_guard_blocks(name: str, guard: bool) -> None:
    app, _ = build(name, bug="shared-cache", guard=guard)
    browser = Browser(app)
    browser.login(C1)
    me = browser.get("/api/me")
    if guard:
        assert_blocked(me, "c0001@example.test")
        return
    assert me.status == 200 and me.json() == make_record(1)
    assert me.header("cache-control") == "public, max-age=60"
