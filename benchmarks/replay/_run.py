"""One replay run: one server, one bug, guard off or on, many browsers.

Every simulated browser has its own cookie jar and knows who it is; every
request carries a unique ``X-Request-Id``; every response is classified by
:mod:`._classify`. The workload of each bug is the traffic that triggers it:

- ``shared-state``: many browsers reading ``/api/me`` and ``/mypage`` at once;
- ``login-mixup``: browsers logging out and in all the time;
- ``shared-id``: new members signing up at once, then reading their own record;
- ``cross-owner-write``: attackers writing to their victims' cards; each attack
  is followed by the victim reading its own record, so a write that happened is
  seen even when the response to the attacker was blocked;
- ``bulk-emails``: browsers opening the newsletter preview;
- ``shared-cache``: browsers reading ``/api/me`` through :class:`._proxy.CachingProxy`;
- ``none``: the correct app under a mix of all of it (sign-ups and attacks
  included; the app refuses the attacks itself, the guard refuses them first):
  the control row, where any leak or block of a browser's own data is the
  harness's or the guard's fault, never the app's.

With 2 workers, one worker is restarted (SIGTERM, its supervisor starts a new
one) when 40 % of the requests were sent.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from examples.customers import CUSTOMER_COUNT, make_record, password_of

from ._apps import RENDERED_HEADER, WORKER_HEADER, read_events
from ._classify import Outcome, Person, Tally, World, classify, classify_record, is_block, resolve_block
from ._http import CookieJar, HTTPError, Response, request
from ._proxy import UPSTREAM_ERROR_HEADER, UPSTREAM_STARTED_HEADER, CachingProxy

BINDING_COOKIE = "respguard_bind"

#: The last 20 customers (c0181..c0200) are only ever victims of the cross-owner-write attackers.
CUSTOMERS = CUSTOMER_COUNT
FIRST_VICTIM = CUSTOMERS - 19


#: Connection failures this long after the restart signal are attributed to the restart (seconds).
RESTART_WINDOW = 10.0


class Stop(Exception):
    """The run's request budget or time is used up."""


@dataclass
class Browser:
    """A simulated browser: who it is, its cookie jar, what it believes."""

    me: Person
    password: str = ""
    jar: CookieJar = field(default_factory=CookieJar)
    logged_in: bool = False
    #: the app handed it someone else's session (login-mixup without the guard)
    contaminated: bool = False
    card: str = ""
    bound_by: str | None = None


@dataclass
class Stats:
    """What the table's notes show besides the counters."""

    workers_seen: set[str] = field(default_factory=set)
    cross_worker: int = 0
    retried: int = 0
    restarts: int = 0
    restart_replaced: bool = False
    #: responses from the worker started by the restart, and those checking a binding an old worker issued
    new_worker_requests: int = 0
    new_worker_binding_checks: int = 0
    #: connection failures while a worker restarted, and those with no response byte at all
    errors_at_restart: int = 0
    resets_at_restart: int = 0
    unresolved_blocks: int = 0
    #: blocks resolved by the app's own note of whose record it rendered, and how often the event disagreed
    truth_checked: int = 0
    truth_disagreements: int = 0
    cache_hits: int = 0
    own_withheld_for_cache: int = 0
    attacks: int = 0
    side_effects: int = 0
    error_reasons: dict[str, int] = field(default_factory=dict)


class Run:
    """The state of one run; users call :meth:`send` and :meth:`record`."""

    def __init__(
        self,
        *,
        port: int,
        bug: str,
        guard: bool,
        budget: int,
        users: int,
        seconds: float,
        secret: str,
        seed: int,
        events_dir: str | None,
        restart: Callable[[set[str]], Awaitable[bool]] | None = None,
        timeout: float = 15.0,
        trace: str | None = None,
    ) -> None:
        self.port = port
        self.bug = bug
        self.guard = guard
        self.budget = budget
        self.users = users
        self.deadline = time.monotonic() + seconds
        self.world = World(secret)
        self.tally = Tally()
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.events_dir = events_dir
        self.restart = restart
        self.timeout = timeout
        self.issued = 0
        self.pending: list[tuple[str, Person, str, str | None]] = []
        self.member_serial = 0
        self.restart_at: float | None = None
        self.workers_before_restart: set[str] | None = None
        self.trace: list[dict[str, Any]] | None = [] if trace else None
        self.trace_path = trace
        self._sent: dict[str, dict[str, Any]] = {}
        self._restart_task: asyncio.Task[None] | None = None
        for n in range(1, CUSTOMERS + 1):
            self.world.add(customer(n))

    # ------------------------------------------------------------------ requests
    def _ticket(self, extra: bool) -> str:
        if not extra and (self.issued >= self.budget or time.monotonic() > self.deadline):
            raise Stop
        self.issued += 1
        if self.restart is not None and self._restart_task is None and self.issued >= self.budget * 0.4:
            self._restart_task = asyncio.ensure_future(self._do_restart())
        return f"rp{self.issued}"

    async def _do_restart(self) -> None:
        assert self.restart is not None
        self.restart_at = time.monotonic()
        before = set(self.stats.workers_seen)
        self.workers_before_restart = before
        self.stats.restarts += 1
        self.stats.restart_replaced = await self.restart(before)

    async def send(
        self, browser: Browser, method: str, path: str, payload: Any = None, *, extra: bool = False
    ) -> tuple[str, Response | None]:
        """Send one request as ``browser``; ``extra`` requests (read-backs) are not refused by the budget."""
        rid = self._ticket(extra)
        headers = [("X-Request-Id", rid), ("Accept", "application/json, text/html")]
        cookie = browser.jar.header()
        if cookie:
            headers.append(("Cookie", cookie))
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            headers.append(("Content-Type", "application/json"))
        try:
            response: Response | None = await request(
                self.port, method, path, headers=headers, body=body, timeout=self.timeout
            )
        except HTTPError as exc:
            response = None
            self._failed(exc.reason, exc.started)
        if response is not None and response.status == 502 and response.header(UPSTREAM_ERROR_HEADER):
            # The caching proxy could not reach the server: the same failure, one hop further.
            self._failed(str(response.header(UPSTREAM_ERROR_HEADER)), bool(response.header(UPSTREAM_STARTED_HEADER)))
        if response is not None:
            self._observe(browser, response, bool(cookie and BINDING_COOKIE + "=" in cookie))
        if self.trace is not None:
            self._sent[rid] = {
                "rid": rid,
                "t": round(time.monotonic(), 4),
                "browser": id(browser),
                "as": browser.me.id,
                "request": f"{method} {path}",
                "cookies_sent": sorted(browser.jar.cookies) if cookie else [],
                "status": response.status if response is not None else None,
                "worker": response.header(WORKER_HEADER) if response is not None else None,
                "set_cookie": [
                    c.split("=", 1)[0] + ("=" if "=;" not in c else "=<cleared>")
                    for c in (response.header_values("set-cookie") if response is not None else [])
                ],
            }
        return rid, response

    def _failed(self, reason: str, started: bool) -> None:
        reasons = self.stats.error_reasons
        reasons[reason] = reasons.get(reason, 0) + 1
        if self.restart_at is not None and time.monotonic() - self.restart_at < RESTART_WINDOW:
            self.stats.errors_at_restart += 1
            if not started:
                self.stats.resets_at_restart += 1

    def _observe(self, browser: Browser, response: Response, sent_binding: bool) -> None:
        stats = self.stats
        stats.retried += response.retried
        worker = response.header(WORKER_HEADER)
        if worker:
            stats.workers_seen.add(worker)
            if sent_binding and browser.bound_by is not None and worker != browser.bound_by:
                stats.cross_worker += 1
            before = self.workers_before_restart
            if before is not None and worker not in before:
                stats.new_worker_requests += 1
                if sent_binding and browser.bound_by in before:
                    stats.new_worker_binding_checks += 1
        for line in response.header_values("set-cookie"):
            if line.startswith(BINDING_COOKIE + "="):
                value = line.split(";", 1)[0].split("=", 1)[1]
                browser.bound_by = worker if value else None
        browser.jar.update(response)

    def record(self, rid: str, response: Response | None, outcome: Outcome | None, me: Person, note: str) -> None:
        """Count ``outcome``; ``None`` (a block) is resolved with its event after the run."""
        if outcome is None:
            rendered = response.header(RENDERED_HEADER) if response is not None else None
            self.pending.append((rid, me, note, rendered))
            return
        self._add(rid, outcome, note)

    def _add(self, rid: str, outcome: Outcome, note: str) -> None:
        self.tally.add(outcome, f"{note} [{rid}]")
        if self.trace is not None:
            entry = self._sent.pop(rid, {"rid": rid})
            entry.update(outcome=outcome.value, note=note)
            self.trace.append(entry)

    def write_trace(self) -> None:
        if self.trace is None or self.trace_path is None:
            return
        with open(self.trace_path, "w", encoding="utf-8") as file:
            for entry in sorted(self.trace, key=lambda e: int(str(e["rid"])[2:])):
                file.write(json.dumps(entry) + "\n")

    def resolve(self) -> None:
        """Resolve every block with the event of its request id (and the app's own truth)."""
        events = read_events(self.events_dir) if self.events_dir else {}
        for rid, me, note, rendered in self.pending:
            found = events.get(rid, [])
            kinds = [e.get("kind") for e in found if e.get("action") == "blocked"]
            if not kinds:
                self.stats.unresolved_blocks += 1
            if "shared_cache" in kinds:
                # The app marked a personal page for shared caches: the proxy in front would
                # have stored it and served it to the next browser. Withheld, so counted as
                # blocked; how many were the browser's own page is shown apart.
                outcome = Outcome.BLOCKED
                if rendered == me.id:
                    self.stats.own_withheld_for_cache += 1
            elif rendered and me.id not in self.world.shared_ids:
                # The app's own note of whose record it rendered for this request; the event
                # must agree with it (a cross-check of the event-based resolution).
                outcome = Outcome.FALSE_BLOCK if rendered == me.id else Outcome.BLOCKED
                self.stats.truth_checked += 1
                if kinds and resolve_block(found, me, self.world) is not outcome:
                    self.stats.truth_disagreements += 1
            else:
                outcome = resolve_block(found, me, self.world)
            self._add(rid, outcome, note)
        self.pending = []

    def running(self) -> bool:
        return self.issued < self.budget and time.monotonic() <= self.deadline

    async def finish_restart(self) -> None:
        if self._restart_task is not None:
            await self._restart_task


def customer(n: int) -> Person:
    record = make_record(n)
    return Person(record["customer_id"], record["email"].lower())


# ---------------------------------------------------------------------- actions


async def login(run: Run, b: Browser) -> None:
    rid, response = await run.send(b, "POST", "/login", {"customer_id": b.me.id, "password": b.password})
    outcome = classify(response, b.me, run.world, expected=(200,))
    if outcome is Outcome.CORRECT:
        b.logged_in = True
    elif outcome is Outcome.LEAK:
        b.logged_in = b.contaminated = True  # it goes on with someone else's session, as a user would
    run.record(rid, response, outcome, b.me, "POST /login")


async def logout(run: Run, b: Browser) -> None:
    rid, response = await run.send(b, "POST", "/logout")
    run.record(rid, response, classify(response, b.me, run.world, expected=(204,)), b.me, "POST /logout")
    b.logged_in = b.contaminated = False
    b.jar.cookies.pop("sid", None)


async def read_me(run: Run, b: Browser, *, extra: bool = False) -> dict[str, Any] | None:
    rid, response = await run.send(b, "GET", "/api/me", extra=extra)
    outcome = classify_record(response, b.me, run.world)
    run.record(rid, response, outcome, b.me, "GET /api/me")
    if outcome is Outcome.CORRECT and response is not None:
        record = response.json()
        return record if isinstance(record, dict) else None
    _not_logged_in(b, response)
    return None


async def mypage(run: Run, b: Browser) -> None:
    rid, response = await run.send(b, "GET", "/mypage")
    outcome = classify(response, b.me, run.world, expected=(200,))
    if outcome is Outcome.CORRECT and response is not None and f'data-owner="{b.me.id}"'.encode() not in response.body:
        outcome = Outcome.OTHER
    run.record(rid, response, outcome, b.me, "GET /mypage")
    _not_logged_in(b, response)


async def newsletter(run: Run, b: Browser) -> None:
    rid, response = await run.send(b, "GET", "/api/newsletter/preview")
    run.record(rid, response, classify(response, b.me, run.world, expected=(200,)), b.me, "GET /newsletter")
    _not_logged_in(b, response)


async def own_card(run: Run, b: Browser) -> None:
    value = f"{run.rng.randrange(10000):04d}"
    rid, response = await run.send(b, "POST", f"/api/customers/{b.me.id}/card", {"card_last4": value})
    run.record(rid, response, classify(response, b.me, run.world, expected=(200,)), b.me, "POST own card")
    if response is not None and response.status == 200:
        b.card = value
    _not_logged_in(b, response)


async def signup(run: Run, b: Browser) -> None:
    run.member_serial += 1
    serial = run.member_serial
    email = f"member-{serial:05d}-{run.rng.randrange(16**6):06x}@members.test"
    run.world.emails.add(email.encode())  # known before any response can carry it
    name = f"Member {serial}"
    b.jar.cookies.clear()
    rid, response = await run.send(b, "POST", "/signup", {"email": email, "name": name})
    mid = None
    if response is not None and response.status == 201:
        try:
            mid = response.json().get("customer_id")
        except (ValueError, AttributeError):
            mid = None
    if isinstance(mid, str):
        b.me = Person(mid, email)
        run.world.add(b.me)
        b.logged_in = True
    else:
        b.me = Person("m----", email)
        b.logged_in = False
    run.record(rid, response, classify(response, b.me, run.world, expected=(201,)), b.me, "POST /signup")


def _not_logged_in(b: Browser, response: Response | None) -> None:
    if response is not None and response.status == 401:
        b.logged_in = False


# ---------------------------------------------------------------------- users


#: (action, weight) per bug for a logged-in customer's next request.
MIXES: dict[str, list[tuple[str, float]]] = {
    "none": [("me", 3), ("mypage", 2), ("card", 1), ("newsletter", 1), ("logout", 1.5)],
    "shared-state": [("me", 4.5), ("mypage", 4.5), ("card", 0.5), ("logout", 0.5)],
    "login-mixup": [("me", 3), ("mypage", 1), ("logout", 4)],
    "shared-id": [("me", 3), ("mypage", 2), ("logout", 1)],
    "cross-owner-write": [("me", 3), ("mypage", 1), ("card", 3), ("logout", 1)],
    "bulk-emails": [("newsletter", 5), ("me", 3), ("mypage", 1), ("logout", 1)],
    "shared-cache": [("me", 6), ("mypage", 2), ("logout", 2)],
}

ACTIONS: dict[str, Callable[[Run, Browser], Awaitable[Any]]] = {
    "me": read_me,
    "mypage": mypage,
    "card": own_card,
    "newsletter": newsletter,
    "logout": logout,
}


async def customer_user(run: Run, b: Browser, mix: list[tuple[str, float]]) -> None:
    names = [name for name, _ in mix]
    weights = [w for _, w in mix]
    while run.running():
        if not b.logged_in:
            await login(run, b)
            continue
        name = run.rng.choices(names, weights)[0]
        if name == "card" and b.contaminated:
            name = "me"
        await ACTIONS[name](run, b)


async def member_user(run: Run, b: Browser) -> None:
    """Sign up, read the own record a few times, log out; again, as a new member."""
    while run.running():
        await signup(run, b)
        if not b.logged_in:
            continue
        for _ in range(run.rng.randint(1, 3)):
            if not b.logged_in:
                break
            await (read_me(run, b) if run.rng.random() < 0.6 else mypage(run, b))
        if b.logged_in:
            await logout(run, b)


async def attacker_user(run: Run, b: Browser, victims: list[Browser]) -> None:
    """Write to the victims' cards (IDOR); each attack is checked by the victim's read-back."""
    turn = 0
    while run.running():
        if not b.logged_in:
            await login(run, b)
            continue
        victim = victims[turn % len(victims)]
        turn += 1
        if not victim.logged_in:
            await login(run, victim)
            continue
        if run.rng.random() < 0.3:
            await read_me(run, b)
            continue
        await attack(run, b, victim)


async def attack(run: Run, b: Browser, victim: Browser) -> None:
    value = victim.card
    while value == victim.card:
        value = f"{run.rng.randrange(10000):04d}"
    run.stats.attacks += 1
    rid, response = await run.send(b, "POST", f"/api/customers/{victim.me.id}/card", {"card_last4": value})
    record = await read_me(run, victim, extra=True)  # the victim looks at its own record
    happened = record is not None and record.get("card_last4") == value
    if record is not None:
        victim.card = str(record.get("card_last4", ""))
    note = f"POST {victim.me.id}'s card"
    if happened:
        run.stats.side_effects += 1
        run.record(rid, response, Outcome.LEAK, b.me, note + " (the write happened)")
        return
    if response is not None and response.status == 403 and not is_block(response):
        run.record(rid, response, Outcome.CORRECT, b.me, note + " (the app refused)")
        return
    run.record(rid, response, classify(response, b.me, run.world, expected=()), b.me, note)


def browsers(run: Run, users: int) -> tuple[list[Browser], list[tuple[Browser, list[Browser]]], list[Browser]]:
    """Split ``users`` into customers, attackers (with their victims) and members, by bug."""
    bug = run.bug
    members = users if bug == "shared-id" else (users // 8 if bug == "none" else 0)
    attackers = {"cross-owner-write": max(2, users // 3), "none": max(2, users // 8)}.get(bug, 0)
    attackers = min(attackers, CUSTOMERS - FIRST_VICTIM + 1)  # one attacker per victim: read-backs stay exact
    n_customers = max(users - members - attackers, 0)
    pool = [customer(n) for n in range(1, FIRST_VICTIM)]
    run.rng.shuffle(pool)
    people = iter(pool)

    def customer_browser() -> Browser:
        return _browser(next(people))

    plain = [customer_browser() for _ in range(n_customers)]
    victims = [customer(n) for n in range(FIRST_VICTIM, CUSTOMERS + 1)]
    attacking = []
    for index in range(attackers):
        mine = victims[index::attackers]
        attacking.append((customer_browser(), [_browser(v) for v in mine]))
    member_browsers = [Browser(Person("m----", "")) for _ in range(members)]
    return plain, attacking, member_browsers


def _browser(me: Person) -> Browser:
    return Browser(me, password=password_of(me.id), card=make_record(int(me.id[1:]))["card_last4"])


async def drive(run: Run) -> None:
    """Run every simulated browser until the budget or the time is used up; resolve blocks."""
    plain, attacking, members = browsers(run, run.users)
    mix = MIXES[run.bug]
    tasks = [customer_user(run, b, mix) for b in plain]
    tasks += [attacker_user(run, b, victims) for b, victims in attacking]
    tasks += [member_user(run, b) for b in members]

    async def guarded(coro: Awaitable[None]) -> None:
        try:
            await coro
        except Stop:
            pass

    await asyncio.gather(*(guarded(t) for t in tasks))
    await run.finish_restart()
    run.resolve()
    run.write_trace()


async def replay(
    *,
    port: int,
    bug: str,
    guard: bool,
    budget: int,
    users: int,
    seconds: float,
    secret: str,
    seed: int,
    events_dir: str | None,
    restart: Callable[[set[str]], Awaitable[bool]] | None = None,
    trace: str | None = None,
) -> Run:
    """One run against a server listening on ``port`` (behind the caching proxy for ``shared-cache``)."""
    proxy = CachingProxy(port) if bug == "shared-cache" else None
    target = await proxy.start() if proxy is not None else port
    run = Run(
        port=target,
        bug=bug,
        guard=guard,
        budget=budget,
        users=users,
        seconds=seconds,
        secret=secret,
        seed=seed,
        events_dir=events_dir,
        restart=restart,
        trace=trace,
    )
    try:
        await drive(run)
    finally:
        if proxy is not None:
            run.stats.cache_hits = proxy.hits
            await proxy.close()
    return run
