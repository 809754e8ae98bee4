"""The example shop, shared by the Flask and the Starlette app: data, sessions, bugs.

Nothing here imports a web framework. Each app handler does the same three steps
around one simulated I/O wait (a database call), so a bug and its fix differ only
in what happens before and after the wait::

    token = begin_xxx(shop, ...)   # bug switches decide what is kept, and where
    shop.io() / await shop.aio()   # the same wait with or without the bug
    result = end_xxx(shop, token)

Bugs (``BUGS``), one at a time; ``"none"`` is the correct app:

- ``shared-state`` (incident 1): the customer being rendered is kept in a module
  global across the wait, so concurrent requests render each other's customer.
- ``login-mixup`` (incident 2): "the last login" is kept in a global across the
  wait, so a browser that logs in at the same moment as another gets its session.
- ``shared-id`` (incident 4): ``POST /signup`` reads the member counter, waits,
  then writes it back: two concurrent sign-ups get the same id, and the later
  record overwrites the earlier one (the session keeps the e-mail signed up with).
- ``cross-owner-write`` (incident 2): ``POST /api/customers/{id}/card`` writes to
  any customer's record; the correct app refuses with 403 itself.
- ``bulk-emails`` (incident 3): the newsletter preview carries the whole mailing list.
- ``shared-cache``: ``GET /api/me`` is sent ``Cache-Control: public, max-age=60``.

Ground truth for load tests: when a request carries ``X-Request-Id``, the shop
notes whose data each personal response was rendered with (:meth:`Shop.rendered`),
so a client can tell a false block (own data refused) from a real one.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import secrets
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from respguard import HtmlAttribute, Identity, JsonBodyOwner, JsonKeys, PathOwner, RequestInfo

#: The secret the examples use unless told otherwise (never use it in production).
DEMO_SECRET = "respguard-example-secret-change-me"

#: Every bug switch, and ``"none"`` for the correct app.
BUGS = ("none", "shared-state", "login-mixup", "shared-id", "cross-owner-write", "bulk-emails", "shared-cache")

#: How many fake customers exist: ``c0001`` .. ``c0200``.
CUSTOMER_COUNT = 200

#: The simulated I/O wait of every handler, in seconds (the same with or without a bug).
IO_DELAY = 0.005

SESSION_COOKIE = "sid"
ME_CACHE_CONTROL = "private, no-store"
BUGGY_CACHE_CONTROL = "public, max-age=60"

_GIVEN = ("Aiko", "Ben", "Chika", "Daisuke", "Emi", "Fumio", "Gen", "Hana", "Isamu", "Jun", "Kei", "Mei", "Nao")
_FAMILY = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi", "Kato")
_WARDS = ("Minato-ku", "Chuo-ku", "Shibuya-ku", "Shinjuku-ku", "Meguro-ku", "Setagaya-ku", "Taito-ku")
_PLANS = ("basic", "premium", "family")

Record = dict[str, str]
Session = dict[str, str]


# --------------------------------------------------------------------------- data


def customer_id(n: int) -> str:
    """The id of the ``n``-th fake customer (1-based): ``c0001``."""
    return f"c{n:04d}"


def password_of(cid: str) -> str:
    """Every fake customer's password: ``pw-<id>``."""
    return "pw-" + cid


def make_record(n: int) -> Record:
    """The deterministic record of customer ``n``; the keys are those ``GET /api/me`` returns."""
    cid = customer_id(n)
    return {
        "customer_id": cid,
        "email": f"{cid}@example.test",
        "name": f"{_GIVEN[n % len(_GIVEN)]} {_FAMILY[(n * 7) % len(_FAMILY)]}",
        "postal_address": f"{n % 9 + 1}-{n % 30 + 1}-{n % 12 + 1} {_WARDS[n % len(_WARDS)]}, Tokyo 1{n:02d}-{n:04d}",
        "phone": f"03-{1000 + n:04d}-{(n * 7919) % 10000:04d}",
        "card_last4": f"{(n * 4271) % 10000:04d}",
        "plan": _PLANS[n % len(_PLANS)],
    }


def all_records() -> dict[str, Record]:
    """A fresh copy of every fake customer's record, by id."""
    return {customer_id(n): make_record(n) for n in range(1, CUSTOMER_COUNT + 1)}


def render_mypage(record: Record) -> str:
    """The HTML "My page" of ``record`` (the same bytes in both apps)."""
    esc = html.escape
    rows = "".join(
        f"<dt>{label}</dt><dd{extra}>{esc(record[key])}</dd>\n"
        for key, label, extra in (
            ("customer_id", "Customer", ""),
            ("email", "E-mail", f' data-email="{esc(record["email"])}"'),
            ("name", "Name", ""),
            ("postal_address", "Address", ""),
            ("phone", "Phone", ""),
            ("card_last4", "Card", ""),
            ("plan", "Plan", ""),
        )
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>My page</title></head>\n'
        f'<body><h1>My page</h1>\n<section data-owner="{esc(record["customer_id"])}">\n<dl>\n{rows}</dl>\n'
        "</section></body></html>\n"
    )


def newsletter_text(record: Record, mailing_list: list[str] | None) -> str:
    """The newsletter body for ``record``; a ``mailing_list`` is pasted in (incident 3)."""
    text = (
        f"Hello {record['name']},\n\nSpring news from the example shop: new plans, same prices.\n\n"
        f"This preview was prepared for {record['email']}.\n"
    )
    if mailing_list is not None:
        text += "\n--- recipients ---\n" + ", ".join(mailing_list) + "\n"
    return text


def guard_options(secret: str, shop: Shop | None = None) -> dict[str, Any]:
    """The respguard configuration of both example apps (one place, for both).

    With ``shop``, the requester is also resolved from the session cookie, so the
    inbound write check knows who is asking before the view runs (the views still
    tell respguard themselves, which wins for the response).
    """
    options: dict[str, Any] = {
        "secret_key": secret,
        "extractors": [
            JsonKeys("customer_id"),
            JsonKeys("email", kind="email"),
            HtmlAttribute("data-owner"),
            HtmlAttribute("data-email", kind="email"),
        ],
        "login_paths": ["/login", "/signup"],
        # Incident 2, writes: refuse a card change for another customer before the view runs.
        "inbound": [PathOwner("/api/customers/{customer_id}/card"), JsonBodyOwner("customer_id")],
        # Incident 3: bulk_pii is on by default (more than 20 distinct e-mails blocks).
        # Shared caches: cache_control="private" is the default.
    }
    if shop is not None:
        options["requester"] = shop.requester_from_session
    return options


def check_bug(bug: str) -> str:
    if bug not in BUGS:
        raise ValueError(f"bug must be one of {', '.join(BUGS)}; not {bug!r}")
    return bug


def env_flag(value: str | None, name: str, default: bool) -> bool:
    """Parse a ``1``/``0`` environment flag."""
    if value is None or value == "":
        return default
    if value in ("1", "0"):
        return value == "1"
    raise ValueError(f"{name} must be 1 or 0, not {value!r}")


# --------------------------------------------------------------------------- the shop


class Shop:
    """One app instance's state: records, sessions, counters, the simulated I/O.

    ``io`` and ``aio`` are the simulated I/O wait (sync for Flask, async for
    Starlette); tests replace them (e.g. with a barrier) to make a race certain.
    """

    def __init__(self, bug: str = "none", io_delay: float = IO_DELAY) -> None:
        self.bug = check_bug(bug)
        self.io_delay = io_delay
        self.records = all_records()
        self.sessions: dict[str, Session] = {}
        self.card_writes: Counter[str] = Counter()
        self.next_member = 1
        self._lock = threading.Lock()
        self._rendered: dict[str, str] = {}
        self.io: Callable[[], None] = self._sleep
        self.aio: Callable[[], Awaitable[None]] = self._asleep

    def _sleep(self) -> None:
        time.sleep(self.io_delay)

    async def _asleep(self) -> None:
        await asyncio.sleep(self.io_delay)

    # sessions ------------------------------------------------------------
    def check_password(self, cid: object, password: object) -> bool:
        if not isinstance(cid, str) or not isinstance(password, str) or cid not in self.records:
            return False
        return hmac.compare_digest(password.encode(), password_of(cid).encode())

    def new_session(self, cid: str, email: str) -> str:
        sid = secrets.token_urlsafe(24)
        self.sessions[sid] = {"customer_id": cid, "email": email}
        return sid

    def session(self, sid: str | None) -> Session | None:
        return self.sessions.get(sid) if sid else None

    def requester_from_session(self, request: RequestInfo) -> Identity | None:
        """respguard's ``requester=``: who the ``sid`` cookie's session says is asking."""
        cookie = request.headers.get("cookie") or ""
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "sid":
                session = self.session(value)
                if session is not None:
                    return Identity(session["customer_id"], email=session["email"])
        return None

    def drop_session(self, sid: str | None) -> None:
        if sid:
            self.sessions.pop(sid, None)

    # ground truth --------------------------------------------------------
    def note_rendered(self, request_id: str | None, owner: str) -> None:
        """Remember whose data the response to ``request_id`` was rendered with."""
        if request_id:
            if len(self._rendered) >= 200_000:
                self._rendered.clear()
            self._rendered[request_id] = owner

    def rendered(self, request_id: str) -> str | None:
        """Whose data the app put in the response to ``request_id`` (``None``: not noted)."""
        return self._rendered.get(request_id)


# --------------------------------------------------------------------------- bug switches
# Each pair brackets the simulated I/O wait of one handler.

_current: Record | None = None  # shared-state: the deliberately global "current customer"
_last_login: str | None = None  # login-mixup: the deliberately global "last login"
#: Card writes per customer, process-wide (every app instance adds to it).
CARD_WRITES: Counter[str] = Counter()


def begin_render(shop: Shop, cid: str) -> Record:
    """Before the wait of ``GET /api/me`` and ``GET /mypage``: load the customer."""
    global _current
    record = dict(shop.records[cid])
    if shop.bug == "shared-state":
        _current = record
    return record


def end_render(shop: Shop, loaded: Record) -> Record:
    """After the wait: the record to render (the global one with ``shared-state``)."""
    if shop.bug == "shared-state" and _current is not None:
        return _current
    return loaded


def begin_login(shop: Shop, cid: str) -> str:
    """Before the wait of ``POST /login`` (credentials already checked)."""
    global _last_login
    if shop.bug == "login-mixup":
        _last_login = cid
    return cid


def end_login(shop: Shop, cid: str) -> str:
    """After the wait: the new session's id (another browser's with ``login-mixup``)."""
    owner = _last_login if shop.bug == "login-mixup" and _last_login is not None else cid
    return shop.new_session(owner, shop.records[owner]["email"])


def begin_signup(shop: Shop) -> int:
    """Before the wait of ``POST /signup``: read (``shared-id``) or take the next member number."""
    with shop._lock:
        number = shop.next_member
        if shop.bug != "shared-id":
            shop.next_member = number + 1
    return number


def end_signup(shop: Shop, number: int, email: str, name: str) -> tuple[str, str]:
    """After the wait: store the member; returns (member id, session id)."""
    if shop.bug == "shared-id":
        shop.next_member = number + 1  # the racy write-back
    mid = f"m{number:04d}"
    shop.records[mid] = {
        "customer_id": mid,
        "email": email,
        "name": name,
        "postal_address": "",
        "phone": "",
        "card_last4": "",
        "plan": "trial",
    }
    return mid, shop.new_session(mid, email)


def may_write_card(shop: Shop, session_cid: str, target_cid: str) -> bool:
    """Is the logged-in customer allowed to change ``target_cid``'s card? (IDOR with the bug)."""
    return shop.bug == "cross-owner-write" or session_cid == target_cid


def write_card(shop: Shop, target_cid: str, card_last4: str) -> Record:
    """The side effect of ``POST /api/customers/{id}/card``, counted per customer."""
    shop.records[target_cid]["card_last4"] = card_last4
    shop.card_writes[target_cid] += 1
    CARD_WRITES[target_cid] += 1
    return {"customer_id": target_cid, "card_last4": card_last4}


def newsletter(shop: Shop, cid: str) -> dict[str, str]:
    """The newsletter preview for ``cid`` (with every address pasted in, with ``bulk-emails``)."""
    mailing = [r["email"] for r in shop.records.values()] if shop.bug == "bulk-emails" else None
    return {"subject": "Spring news", "body": newsletter_text(shop.records[cid], mailing)}


def me_cache_control(shop: Shop) -> str:
    """``Cache-Control`` of ``GET /api/me`` (public with ``shared-cache``)."""
    return BUGGY_CACHE_CONTROL if shop.bug == "shared-cache" else ME_CACHE_CONTROL


def valid_card(value: object) -> bool:
    return isinstance(value, str) and len(value) == 4 and value.isascii() and value.isdigit()


def valid_signup(email: object, name: object) -> bool:
    return (
        isinstance(email, str)
        and 3 <= len(email) <= 254
        and "@" in email
        and isinstance(name, str)
        and 0 < len(name) <= 100
    )
