"""The FastAPI example (``examples/fastapi_app.py``): the requester comes only from its login dependency.

The same shop as the Starlette and Flask examples (``tests/test_examples.py``): every route
answers as the Starlette example does, every bug leaks without the guard and is blocked with
it. The guard has no ``requester=``: it learns who is asking from
``requester_dependency(current_customer, ...)``, which also checks a write before the
endpoint's own code runs (``write_check="app"``). Races are made certain with a two-party
barrier in place of the shop's simulated I/O wait.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from examples import customers, fastapi_app, starlette_app
from examples.customers import Session, Shop, make_record, render_mypage
from respguard import AuditEvent, BlockPage, Guard
from respguard.starlette import RespGuardMiddleware

BLOCK_BODY = BlockPage().body
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
    """One browser (its own cookie jar, its own event loop thread) on an ASGI example app."""

    def __init__(self, app: Any) -> None:
        self.client = TestClient(app)

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> Reply:
        r = self.client.request(method, path, json=body, headers=headers)
        return Reply(r.status_code, r.content, r.headers.multi_items())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, body: object = None, headers: dict[str, str] | None = None) -> Reply:
        return self.request("POST", path, body, headers)

    def login(self, cid: str) -> Reply:
        return self.post("/login", {"customer_id": cid, "password": "pw-" + cid})


def build(bug: str = "none", guard: bool = True) -> tuple[FastAPI, Shop]:
    app = fastapi_app.create_app(bug=bug, guard=guard)
    return app, app.state.shop


def race(shop: Shop) -> None:
    """Replace the shop's I/O wait by a barrier: the next two waits meet each other."""
    barrier = threading.Barrier(2, timeout=10)

    async def wait() -> None:
        await asyncio.to_thread(barrier.wait)

    shop.aio = wait


def calm(shop: Shop) -> None:
    """The race is over: waits return at once."""

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


@pytest.fixture(params=[False, True], ids=["unguarded", "guarded"])
def guard(request: pytest.FixtureRequest) -> Iterator[bool]:
    yield request.param


def logged(caplog: pytest.LogCaptureFixture) -> list[AuditEvent]:
    """respguard's audit events so far, in order (the test set ``caplog`` to INFO)."""
    return [r.respguard_event for r in caplog.records if hasattr(r, "respguard_event")]


# --------------------------------------------------------------------------- how it is guarded


def test_the_guard_has_no_requester_function_and_checks_writes_in_the_app() -> None:
    app, _ = build()
    [middleware] = app.user_middleware
    assert middleware.cls is RespGuardMiddleware  # type: ignore[comparison-overlap]
    assert middleware.kwargs["write_check"] == "app"
    guard = middleware.kwargs["guard"]
    assert isinstance(guard, Guard)
    assert guard.requester is None  # the login dependency is the only source
    assert build(guard=False)[0].user_middleware == []


def test_every_route_answers_as_the_starlette_example() -> None:
    """The same requests on both apps: the same statuses, bodies and headers (cookie values aside)."""
    script: list[tuple[str, str, object]] = [
        ("GET", "/api/me", None),
        ("GET", "/mypage", None),
        ("POST", "/api/customers/c0001/card", {"card_last4": "1234"}),
        ("POST", "/login", {"customer_id": C1, "password": "pw-c0002"}),
        ("POST", "/login", {"customer_id": C1, "password": "pw-c0001"}),
        ("GET", "/api/me", None),
        ("GET", "/mypage", None),
        ("POST", "/api/customers/c0001/card", {"card_last4": "1234"}),
        ("POST", "/api/customers/c0001/card", {"card_last4": "12a4"}),
        ("POST", "/api/customers/c0001/card", None),
        ("POST", "/api/customers/c0002/card", {"card_last4": "9999"}),
        ("POST", "/api/customers/c9999/card", {"card_last4": "9999"}),
        ("GET", "/api/newsletter/preview", None),
        ("POST", "/logout", None),
        ("GET", "/api/me", None),
        ("POST", "/signup", {"email": "x"}),
        ("POST", "/signup", {"email": "new@example.test", "name": "New Member"}),
        ("GET", "/api/me", None),
        ("GET", "/healthz", None),
    ]  # an unknown path is each framework's own 404 (FastAPI's is JSON)

    def shape(reply: Reply) -> tuple[int, bytes, list[tuple[str, str]]]:
        headers = []
        for key, value in reply.headers:
            key = key.lower()
            if key == "set-cookie":  # the session id and the binding are random and timed
                name, _, rest = value.partition("=")
                value = name + "=" + ("<cleared>" if rest.startswith(('"";', ";")) else "<value>")
            headers.append((key, value))
        return reply.status, reply.body, sorted(headers)

    for guard in (False, True):
        answers = []
        for module in (starlette_app, fastapi_app):
            browser = Browser(module.create_app(guard=guard))
            answers.append([shape(browser.request(method, path, body)) for method, path, body in script])
        starlette_answers, fastapi_answers = answers
        for step, (expected, got) in enumerate(zip(starlette_answers, fastapi_answers, strict=True)):
            assert got == expected, (guard, script[step])


# --------------------------------------------------------------------------- the correct app


def test_login_me_mypage_logout(guard: bool) -> None:
    app, _ = build(guard=guard)
    browser = Browser(app)
    login = browser.login(C1)
    assert (login.status, login.json()) == (200, {"customer_id": C1})
    sid = [c for c in login.cookies_set() if c.startswith("sid=")]
    assert len(sid) == 1 and "HttpOnly" in sid[0]
    assert any(c.startswith("respguard_bind=") for c in login.cookies_set()) is guard
    me = browser.get("/api/me")
    assert (me.status, me.json()) == (200, make_record(1))
    assert me.header("cache-control") == "private, no-store"
    page = browser.get("/mypage")
    assert (page.status, page.body) == (200, render_mypage(make_record(1)).encode())
    logout = browser.post("/logout")
    assert (logout.status, logout.body) == (204, b"")
    cleared = [c for c in logout.cookies_set() if c.startswith("respguard_bind=")]
    assert len(cleared) == (1 if guard else 0)  # unbind(): the binding goes with the session
    after = browser.get("/api/me")
    assert (after.status, after.json()) == (401, {"error": "login required"})


def test_anonymous_and_bad_password(guard: bool) -> None:
    app, shop = build(guard=guard)
    browser = Browser(app)
    me = browser.get("/api/me")
    assert (me.status, me.json()) == (401, {"error": "login required"})
    assert browser.get("/mypage").status == 401
    assert browser.get("/api/newsletter/preview").status == 401
    # Guarded, an anonymous write naming a customer is refused by the dependency (nobody asks).
    anonymous = browser.post("/api/customers/c0001/card", {"card_last4": "1234"})
    if guard:
        assert_blocked(anonymous)
    else:
        assert (anonymous.status, anonymous.json()) == (401, {"error": "login required"})
    assert shop.card_writes == {}
    bad = browser.post("/login", {"customer_id": C1, "password": "pw-c0002"})
    assert (bad.status, bad.json()) == (401, {"error": "bad credentials"})
    assert not any(c.startswith("sid=") for c in bad.cookies_set())
    health = browser.get("/healthz")
    assert (health.status, health.body) == (200, b"ok")


def test_card_write_own_and_refused(guard: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="respguard")
    app, shop = build(guard=guard)
    browser = Browser(app)
    browser.login(C1)
    own = browser.post("/api/customers/c0001/card", {"card_last4": "1234"})
    assert (own.status, own.json()) == (200, {"customer_id": C1, "card_last4": "1234"})
    assert browser.get("/api/me").json()["card_last4"] == "1234"
    other = browser.post("/api/customers/c0002/card", {"card_last4": "9999"})
    if guard:  # refused by the login dependency's write check, before the endpoint
        assert_blocked(other, C2)
        [event] = [e for e in logged(caplog) if e.kind.value == "cross_owner_write"]
        assert (event.action.value, event.reason) == ("blocked", "request names another owner's record")
        assert event.requester is not None  # it was decided for the dependency's customer
    else:  # refused by the correct app itself
        assert (other.status, other.json()) == (403, {"error": "forbidden"})
    assert shop.card_writes == {C1: 1}
    assert shop.records[C2]["card_last4"] == make_record(2)["card_last4"]
    bad = browser.post("/api/customers/c0001/card", {"card_last4": "12a4"})
    assert (bad.status, bad.json()) == (400, {"error": "card_last4 must be 4 digits"})
    unknown = browser.post("/api/customers/c9999/card", {"card_last4": "1234"})
    if guard:
        assert_blocked(unknown)
    else:
        assert (unknown.status, unknown.json()) == (404, {"error": "not found"})


def test_a_login_through_dependency_overrides_gets_its_own_writes_and_not_anothers() -> None:
    """The app's own tests log in without a cookie; respguard still learns who that is."""
    app, shop = build(bug="cross-owner-write")

    async def logged_in_as_c1() -> Session:
        return {"customer_id": C1, "email": "c0001@example.test"}

    app.dependency_overrides[fastapi_app.current_customer] = logged_in_as_c1
    browser = Browser(app)
    own = browser.post("/api/customers/c0001/card", {"card_last4": "4321"})
    assert (own.status, own.json()) == (200, {"customer_id": C1, "card_last4": "4321"})
    assert browser.get("/api/me").json() == {**make_record(1), "card_last4": "4321"}
    assert_blocked(browser.post("/api/customers/c0002/card", {"card_last4": "9999"}), C2)
    assert shop.card_writes == {C1: 1}


def test_newsletter_carries_only_own_address(guard: bool) -> None:
    app, _ = build(guard=guard)
    browser = Browser(app)
    browser.login(C2)
    reply = browser.get("/api/newsletter/preview")
    assert reply.status == 200
    data = reply.json()
    assert data["subject"] == "Spring news"
    assert data["body"].count("@example.test") == 1
    assert "c0002@example.test" in data["body"]


def test_signup_gets_own_member_record(guard: bool) -> None:
    app, _ = build(guard=guard)
    browser = Browser(app)
    signup = browser.post("/signup", {"email": "new@example.test", "name": "New Member"})
    assert (signup.status, signup.json()) == (201, {"customer_id": "m0001"})
    me = browser.get("/api/me").json()
    assert (me["customer_id"], me["email"], me["name"]) == ("m0001", "new@example.test", "New Member")
    bad = browser.post("/signup", {"email": "x"})
    assert (bad.status, bad.json()) == (400, {"error": "email and name required"})


def test_ground_truth_is_noted_per_request_id() -> None:
    app, shop = build()
    browser = Browser(app)
    browser.login(C1)
    assert browser.get("/api/me", headers={"X-Request-Id": "r-1"}).status == 200
    assert browser.get("/mypage", headers={"X-Request-Id": "r-2"}).status == 200
    assert (shop.rendered("r-1"), shop.rendered("r-2"), shop.rendered("r-3")) == (C1, C1, None)


@pytest.mark.parametrize("path", ["/api/me", "/mypage"])
def test_the_correct_app_under_the_same_race_serves_each_their_own(guard: bool, path: str) -> None:
    app, shop = build(guard=guard)
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


# --------------------------------------------------------------------------- construction


def test_unknown_bug_is_refused() -> None:
    with pytest.raises(ValueError, match="bug must be one of"):
        fastapi_app.create_app(bug="no-such-bug")


def test_app_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPGUARD_EXAMPLE_BUG", "shared-cache")
    monkeypatch.setenv("RESPGUARD_EXAMPLE_GUARD", "0")
    app = fastapi_app.app_from_env()
    assert app.user_middleware == []
    browser = Browser(app)
    browser.login(C1)
    me = browser.get("/api/me")
    assert me.header("cache-control") == "public, max-age=60"
    assert not any(c.startswith("respguard_bind=") for c in me.cookies_set())
    monkeypatch.setenv("RESPGUARD_EXAMPLE_GUARD", "1")
    monkeypatch.setenv("RESPGUARD_EXAMPLE_BUG", "")
    guarded = fastapi_app.app_from_env()
    assert guarded.state.shop.bug == "none" and len(guarded.user_middleware) == 1
    monkeypatch.setenv("RESPGUARD_EXAMPLE_GUARD", "yes")
    with pytest.raises(ValueError, match="RESPGUARD_EXAMPLE_GUARD must be 1 or 0"):
        fastapi_app.app_from_env()


# --------------------------------------------------------------------------- the bugs


@pytest.mark.parametrize("path", ["/api/me", "/mypage"])
def test_shared_state_leaks_and_the_guard_blocks(guard: bool, path: str) -> None:
    app, shop = build(bug="shared-state", guard=guard)
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


def test_login_mixup_leaks_and_the_guard_blocks(guard: bool) -> None:
    app, shop = build(bug="login-mixup", guard=guard)
    a, b = Browser(app), Browser(app)
    race(shop)
    ra, rb = together(lambda: a.login(C1), lambda: b.login(C2))
    calm(shop)
    # Both logins took the global "last login": the earlier one got the other's session.
    intruder = customers._last_login
    assert intruder in (C1, C2)
    victim = C1 if intruder == C2 else C2
    mixed, mixed_browser, other = (ra, a, rb) if victim == C1 else (rb, b, ra)
    assert (other.status, other.json()) == (200, {"customer_id": intruder})
    if guard:
        assert_blocked(mixed, intruder)
        assert not any(c.startswith("sid=") for c in mixed.cookies_set())  # never got the session
        assert mixed_browser.get("/api/me").status == 401
    else:
        assert (mixed.status, mixed.json()) == (200, {"customer_id": intruder})
        assert mixed_browser.get("/api/me").json() == make_record(int(intruder[1:]))


@pytest.mark.parametrize("path", ["/api/me", "/mypage"])
def test_shared_id_leaks_and_the_email_facet_blocks(guard: bool, path: str) -> None:
    app, shop = build(bug="shared-id", guard=guard)
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


def test_cross_owner_write_happens_unguarded_and_is_refused_before_the_endpoint_guarded(
    guard: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="respguard")
    app, shop = build(bug="cross-owner-write", guard=guard)
    browser = Browser(app)
    browser.login(C1)
    # What the card endpoint's own code did: its first call into the shop, and its write.
    asked: list[tuple[str, str]] = []
    may_write = customers.may_write_card

    def spy(shop: Shop, session_cid: str, target_cid: str) -> bool:
        asked.append((session_cid, target_cid))
        return may_write(shop, session_cid, target_cid)

    monkeypatch.setattr(customers, "may_write_card", spy)
    before = customers.CARD_WRITES[C2]
    reply = browser.post("/api/customers/c0002/card", {"card_last4": "9999"})
    if guard:
        assert_blocked(reply, C2)
        assert asked == []  # the endpoint never ran: refused in the login dependency
        assert shop.card_writes[C2] == 0 and customers.CARD_WRITES[C2] == before
        assert shop.records[C2]["card_last4"] == make_record(2)["card_last4"]
        reasons = [e.reason for e in logged(caplog) if e.kind.value == "cross_owner_write"]
        assert reasons == ["request names another owner's record"]  # not "write not checked..."
    else:
        assert (reply.status, reply.json()) == (200, {"customer_id": C2, "card_last4": "9999"})
        assert asked == [(C1, C2)]
        assert shop.card_writes[C2] == 1 and customers.CARD_WRITES[C2] == before + 1
        assert shop.records[C2]["card_last4"] == "9999"
    own = browser.post("/api/customers/c0001/card", {"card_last4": "4321"})
    assert (own.status, own.json()) == (200, {"customer_id": C1, "card_last4": "4321"})
    assert asked[-1] == (C1, C1)


@pytest.mark.parametrize(
    "body",
    [
        {"card_last4": "9999", "customer_id": C2},  # the body names the victim (JsonBodyOwner)
        {"card_last4": "9999", "customer_id": [C1, C2]},
        {"card_last4": "9999", "customer_id": True},  # a value Pydantic would coerce
    ],
    ids=["body-owner", "list", "boolean"],
)
def test_own_path_with_a_foreign_or_ambiguous_body_owner_is_refused_before_the_endpoint(body: object) -> None:
    app, shop = build(bug="cross-owner-write")
    browser = Browser(app)
    browser.login(C1)
    assert_blocked(browser.post("/api/customers/c0001/card", body), C2)
    assert shop.card_writes == {}


def test_bulk_emails_pastes_the_mailing_list_and_the_guard_blocks(guard: bool) -> None:
    app, _ = build(bug="bulk-emails", guard=guard)
    browser = Browser(app)
    browser.login(C1)
    reply = browser.get("/api/newsletter/preview")
    if guard:
        assert_blocked(reply, "c0002@example.test", "c0200@example.test")
        return
    assert reply.status == 200
    body = reply.json()["body"]
    assert body.count("@example.test") == 201  # own greeting + all 200 recipients
    assert all(f"{customers.customer_id(n)}@example.test" in body for n in range(1, 201))


def test_shared_cache_marks_the_personal_page_public_and_the_guard_blocks(guard: bool) -> None:
    app, _ = build(bug="shared-cache", guard=guard)
    browser = Browser(app)
    browser.login(C1)
    me = browser.get("/api/me")
    if guard:
        assert_blocked(me, "c0001@example.test")
        return
    assert (me.status, me.json()) == (200, make_record(1))
    assert me.header("cache-control") == "public, max-age=60"


# --------------------------------------------------------------------------- in the replay


def test_the_replay_serves_the_fastapi_example_under_uvicorn_and_no_foreign_write_happens(tmp_path: Any) -> None:
    """One tiny real replay (uvicorn, 127.0.0.1, stopped in ``finally``) of ``cross-owner-write``."""
    from benchmarks.replay._apps import read_events
    from benchmarks.replay._run import replay
    from benchmarks.replay._servers import SERVERS, children, start_server

    specs = [s for s in SERVERS if s.framework == "fastapi"]
    assert [(s.name, s.workers) for s in specs] == [("fastapi-uvicorn", 1), ("fastapi-uvicorn", 2)]
    assert specs[0].command(8000)[3:5] == ["--factory", "benchmarks.replay._apps:fastapi_app"]
    secret = "replay-test-secret"

    async def scenario() -> tuple[Any, dict[str, Any]]:
        server = await start_server(
            specs[0], bug="cross-owner-write", guard=True, secret=secret, run_dir=str(tmp_path), store=None
        )
        try:
            run = await replay(
                port=server.port,
                bug="cross-owner-write",
                guard=True,
                budget=150,  # each attacker logs its victims in first
                users=6,
                seconds=10.0,
                secret=secret,
                seed=7,
                events_dir=server.events_dir,
            )
            events = read_events(server.events_dir)
        finally:
            server.stop()
        assert server.proc.poll() is not None and children(server.proc.pid) == []
        return run, events

    run, events = asyncio.run(asyncio.wait_for(scenario(), 40))
    counts = run.tally.counts
    assert run.stats.attacks > 0 and run.stats.side_effects == 0
    assert counts["blocked"] > 0
    assert counts["leaks"] == counts["false_blocks"] == counts["server_errors"] == counts["other"] == 0
    reasons = {e["reason"] for found in events.values() for e in found if e["action"] == "blocked"}
    assert reasons == {"request names another owner's record"}  # decided in the dependency, before the endpoint


# --------------------------------------------------------------------------- the write benchmark


def test_the_fastapi_write_benchmark_rows_and_its_checks_refuse_a_foreign_write() -> None:
    """``benchmarks.features.run_fastapi_write`` runs (no timings asserted), and the variants it
    times really check: the same request naming another owner is refused by each of them."""
    import json as json_module

    from benchmarks import features

    rows = features.run_fastapi_write(1, True, log=lambda line: None)
    assert [(r["feature"], r["case"]) for r in rows] == [
        ("inbound-fastapi", "fastapi write bare"),
        ("inbound-fastapi", "fastapi write guarded"),
        ("inbound-fastapi", "fastapi write + in-app check"),
        ("inbound-fastapi", "fastapi write guarded, requester="),
        ("inbound-fastapi", "fastapi write + middleware check"),
    ]
    assert rows[0]["us_over_bare"] == 0 and rows[1]["us_over_baseline"] == rows[3]["us_over_baseline"] == 0
    rules = [features.respguard.PathOwner("/users/{user_id}/card"), features.respguard.JsonBodyOwner("user_id")]
    extractors = [features.respguard.JsonKeys("user_id")]
    scope = features._fastapi_scope(features._cookie(features._guarded(b'{"ok": true}')))
    foreign = json_module.dumps({"user_id": features.OTHER, "card_last4": "4242", "note": "x"}).encode()
    in_app = features._fastapi_app(Guard(secret_key=features.SECRET, extractors=extractors, inbound=rules), in_app=True)
    middleware = features._fastapi_app(
        Guard(
            secret_key=features.SECRET,
            extractors=extractors,
            inbound=rules,
            requester=lambda request: request.headers.get("x-user"),
        ),
        in_app=False,
    )
    for app in (in_app, middleware):
        assert features._fetch(app, scope, features.POST_BODY) == (200, b'{"ok": true}')
        assert features._fetch(app, scope, foreign) == (403, BLOCK_BODY)
    bare = features._fastapi_app(None, in_app=False)
    assert features._fetch(bare, scope, foreign) == (200, b'{"ok": true}')
