"""The session-binding cookie (incident 2): signing, rotation, rejection, and drift.

Codec tests use :class:`BindingCodec` directly; the rest run on both stacks.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest
from conftest import (
    ALICE,
    BINDING,
    BOB,
    OLD_SECRET,
    SECRET,
    GuardedStack,
    Reply,
    assert_block,
    assert_no_raw_ids,
    binding_cookies,
    binding_value,
    guard_options,
    is_clearing,
    kinds,
)
from itsdangerous import URLSafeTimedSerializer

from respguard import AuditEvent, Identity, rebind, unbind
from respguard._binding import MAX_COOKIE_LENGTH, Binding, BindingCodec, BindingRejected

MakeStack = Callable[..., GuardedStack]
JSON_CT = (("Content-Type", "application/json"),)


def codec(*keys: str, max_age: int = 3600, secure: bool | None = None) -> BindingCodec:
    return BindingCodec(
        [k.encode() for k in keys],
        cookie_name=BINDING,
        max_age=max_age,
        secure=secure,
        path="/",
        domain=None,
        same_site="lax",
    )


def signed_at(monkeypatch: pytest.MonkeyPatch, when: float, make: Callable[[], str]) -> str:
    """Sign a cookie as if the clock read ``when``."""
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: when)
        return make()


def own(user: str = ALICE) -> Reply:
    return Reply(requester=user, headers=JSON_CT, chunks=[f'{{"user_id": "{user}"}}'.encode()])


# ------------------------------------------------------------------ codec


def test_roundtrip_holds_hashes_not_ids() -> None:
    c = codec(SECRET)
    value = c.dumps(Identity(ALICE, email="alice@example.test"))
    payload = base64.urlsafe_b64decode(value.split(".")[0] + "==")
    assert ALICE.encode() not in payload and b"alice@example.test" not in payload
    binding = c.loads(value)
    assert c.matches(binding, Identity(ALICE))
    assert c.matches(binding, Identity(ALICE, email="ALICE@example.test"))
    assert not c.matches(binding, Identity(ALICE, email="bob@example.test"))
    assert not c.matches(binding, Identity(BOB))
    assert c.facet_matches(binding, "email", "alice@example.test") is True
    assert c.facet_matches(binding, "customer_no", "1") is None
    assert binding.key_index == 0 and not c.needs_refresh(binding)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda v: v[:-5] + ("A" if v[-5] != "A" else "B") + v[-4:],  # not the last char: its low bits are padding
        lambda v: v[: len(v) // 2],
        lambda v: "",
        lambda v: "not.a.cookie",
        lambda v: v.replace(".", "", 1),
    ],
    ids=["flipped", "truncated", "empty", "garbage", "no-separator"],
)
def test_tampered_values_are_rejected(mangle: Callable[[str], str]) -> None:
    c = codec(SECRET)
    with pytest.raises(BindingRejected) as rejected:
        c.loads(mangle(c.dumps(Identity(ALICE))))
    assert rejected.value.reason == "bad signature"


def test_wrong_key_oversized_and_malformed_payload() -> None:
    with pytest.raises(BindingRejected, match="bad signature"):
        codec(SECRET).loads(codec("another-key").dumps(Identity(ALICE)))
    with pytest.raises(BindingRejected, match="oversized"):
        codec(SECRET).loads("x" * (MAX_COOKIE_LENGTH + 1))
    forged = URLSafeTimedSerializer(SECRET.encode(), salt="respguard.binding").dumps(["not", "a", "dict"])
    with pytest.raises(BindingRejected, match="malformed payload"):
        codec(SECRET).loads(forged)
    other_purpose = URLSafeTimedSerializer(SECRET.encode(), salt="another-purpose").dumps({"i": "x", "f": {}})
    with pytest.raises(BindingRejected, match="bad signature"):
        codec(SECRET).loads(other_purpose)


def test_expired_is_rejected_and_half_life_refreshes(monkeypatch: pytest.MonkeyPatch) -> None:
    c = codec(SECRET, max_age=100)
    old = signed_at(monkeypatch, time.time() - 1000, lambda: c.dumps(Identity(ALICE)))
    with pytest.raises(BindingRejected, match="expired"):
        c.loads(old)
    middle = signed_at(monkeypatch, time.time() - 70, lambda: c.dumps(Identity(ALICE)))
    assert c.needs_refresh(c.loads(middle))


def test_key_rotation_old_key_verifies_new_key_signs() -> None:
    old_value = codec(OLD_SECRET).dumps(Identity(ALICE))
    rotated = codec(OLD_SECRET, SECRET)
    binding = rotated.loads(old_value)
    assert rotated.matches(binding, Identity(ALICE)) and not rotated.matches(binding, Identity(BOB))
    assert binding.key_index == 1 and rotated.needs_refresh(binding)
    new_value = rotated.dumps(Identity(ALICE))
    assert codec(SECRET).loads(new_value).key_index == 0
    with pytest.raises(BindingRejected):
        codec(OLD_SECRET).loads(new_value)


def test_a_facet_bound_under_an_old_key_is_compared_under_that_key() -> None:
    old_value = codec(OLD_SECRET).dumps(Identity(ALICE, email="alice@example.test"))
    rotated = codec(OLD_SECRET, SECRET)
    binding = rotated.loads(old_value)
    assert binding.key_index == 1
    assert rotated.facet_matches(binding, "email", "alice@example.test") is True
    assert rotated.facet_matches(binding, "email", "bob@example.test") is False
    assert rotated.facet_matches(binding, "phone", "0312345678") is None


def test_an_identity_is_matched_under_the_key_its_binding_was_made_with() -> None:
    old_value = codec(OLD_SECRET).dumps(Identity(ALICE, email="alice@example.test"))
    rotated = codec(OLD_SECRET, SECRET)
    binding = rotated.loads(old_value)
    assert rotated.matches(binding, Identity(ALICE, email="ALICE@example.test")) is True
    assert rotated.matches(binding, Identity(ALICE, email="bob@example.test")) is False
    assert rotated.matches(binding, Identity(ALICE)) is True  # a facet it does not carry: not compared


def test_a_binding_is_due_a_refresh_only_past_half_its_life(monkeypatch: pytest.MonkeyPatch) -> None:
    c = codec(SECRET, max_age=1000)
    issued = 1_700_000_000.0
    binding = Binding(c.hash(ALICE), {}, 0, issued)
    for age, due in ((400.0, False), (500.0, False), (501.0, True)):
        monkeypatch.setattr(time, "time", lambda age=age: issued + age)
        assert c.needs_refresh(binding) is due, age


def forged(payload: object, key: str = SECRET) -> str:
    """A cookie value signed with the real key and salt, holding ``payload``."""
    return URLSafeTimedSerializer(key.encode(), salt="respguard.binding").dumps(payload)


def test_a_payload_is_a_string_id_hash_and_string_facet_hashes() -> None:
    c = codec(SECRET)
    binding = c.loads(forged({"i": "abc"}))  # no facets at all: none bound
    assert (binding.id_hash, binding.facet_hashes, binding.key_index) == ("abc", {}, 0)
    for payload in ({"i": 7, "f": {}}, {"i": "abc", "f": []}, {"f": {}}, {"i": "abc", "f": {"email": 7}}):
        with pytest.raises(BindingRejected) as rejected:
            c.loads(forged(payload))
        assert rejected.value.reason == "malformed payload", payload


def test_a_verified_value_is_remembered_until_its_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    c = codec(SECRET, max_age=100)
    issued = 1_700_000_000
    value = signed_at(monkeypatch, issued, lambda: c.dumps(Identity(ALICE)))
    monkeypatch.setattr(time, "time", lambda: issued + 1)
    first = c.loads(value)
    assert c.loads(value) is first  # remembered, not verified again
    monkeypatch.setattr(time, "time", lambda: issued + 100)
    assert c.loads(value) is first  # exactly its max age: still valid
    monkeypatch.setattr(time, "time", lambda: issued + 101)
    for _ in range(2):  # forgotten once expired, and expired when verified again
        with pytest.raises(BindingRejected) as rejected:
            c.loads(value)
        assert rejected.value.reason == "expired"


def test_a_cookie_of_the_longest_length_a_browser_keeps_is_read() -> None:
    c = codec(SECRET)
    for value, reason in (("x" * MAX_COOKIE_LENGTH, "bad signature"), ("x" * (MAX_COOKIE_LENGTH + 1), "oversized")):
        with pytest.raises(BindingRejected) as rejected:
            c.loads(value)
        assert rejected.value.reason == reason


def test_a_full_verified_memory_starts_again() -> None:
    c = codec(SECRET)
    values = [c.dumps(Identity(f"user-{n}")) for n in range(8193)]
    loaded = [c.loads(v) for v in values[:8192]]
    assert c.loads(values[0]) is loaded[0]
    c.loads(values[8192])  # the 8193rd: the others are verified anew
    assert c.loads(values[0]) is not loaded[0] and c.loads(values[0]) == loaded[0]
    c = codec(SECRET)
    loaded = [c.loads(v) for v in values[:8191]]
    c.loads(values[8191])  # the 8192nd still fits
    assert c.loads(values[0]) is loaded[0]


def test_cookie_attributes() -> None:
    c = codec(SECRET, max_age=600)
    cookie = c.set_cookie(Identity(ALICE), https=False).decode()
    assert cookie.startswith(BINDING + "=")
    assert cookie.endswith("; Max-Age=600; Path=/; HttpOnly; SameSite=Lax")
    assert c.set_cookie(Identity(ALICE), https=True).decode().endswith("; SameSite=Lax; Secure")
    assert codec(SECRET, secure=False).set_cookie(Identity(ALICE), https=True).decode().endswith("SameSite=Lax")
    assert codec(SECRET, secure=True).set_cookie(Identity(ALICE), https=False).decode().endswith("; Secure")
    clear = c.clear_cookie(https=False).decode()
    assert is_clearing(clear) and "Expires=Thu, 01 Jan 1970 00:00:00 GMT" in clear


# ------------------------------------------------------------------ through the middleware


def test_first_authenticated_response_binds_and_later_ones_do_not(
    make_stack: MakeStack, events: list[AuditEvent]
) -> None:
    stack = make_stack(**guard_options(events))
    anonymous = stack.send(Reply(requester=None, headers=JSON_CT, chunks=[b'{"news": 1}']))
    assert anonymous.status == 200 and binding_cookies(anonymous.headers) == []
    first = stack.send(own())
    assert first.status == 200 and binding_value(first.headers)
    second = stack.send(own())
    assert second.status == 200 and binding_cookies(second.headers) == []
    assert events == []


def test_session_swap_is_drift_and_keeps_the_binding(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    assert stack.send(own(ALICE)).status == 200
    alice_cookie = stack.jar
    body = b'{"user_id": "bob-9c2e", "card": "1881"}'
    swapped = stack.send(Reply(requester=BOB, headers=JSON_CT, chunks=[body]))  # bob's own data, alice's browser
    assert_block(swapped.status, swapped.headers, swapped.body, clears_binding=False, original=body)
    assert kinds(events) == [("session_drift", "blocked")]
    assert stack.jar == alice_cookie
    assert stack.send(own(ALICE)).status == 200
    assert_no_raw_ids(events, "1881")


def test_drift_even_without_any_personal_data(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    stack.send(own(ALICE))
    got = stack.send(Reply(requester=BOB, headers=(("Content-Type", "image/png"),), chunks=[b"PNG"]))
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    assert kinds(events) == [("session_drift", "blocked")]


def test_another_users_valid_cookie_replayed_is_drift(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    stack.send(own(BOB))
    bobs_cookie = stack.jar
    assert bobs_cookie
    got = stack.send(own(ALICE), cookie=bobs_cookie)
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    assert kinds(events) == [("session_drift", "blocked")]


def test_duplicate_binding_cookies_must_all_match(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    stack.send(own(ALICE))
    alice = stack.jar
    stack.send(own(BOB), cookie="")
    bob = stack.jar
    both = [("Cookie", f"{BINDING}={alice}; other=1; {BINDING}={bob}")]
    got = stack.send(own(ALICE), cookie="", headers=both)
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    same = [("Cookie", f'{BINDING}={alice}; {BINDING}="{alice}"')]
    assert stack.send(own(ALICE), cookie="", headers=same).status == 200
    assert kinds(events) == [("session_drift", "blocked")]


def test_rebind_helper_switches_the_user(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    stack.send(own(ALICE))
    alice = stack.jar
    switched = stack.send(
        Reply(
            requester=BOB, headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"}'], hook=lambda holder: rebind(holder, BOB)
        )
    )
    assert switched.status == 200 and switched.body == b'{"user_id": "bob-9c2e"}'
    assert stack.jar not in (None, alice)
    assert stack.send(own(BOB)).status == 200
    got = stack.send(own(ALICE))
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    assert kinds(events) == [("session_drift", "blocked")]


def test_login_path_rebinds(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, login_paths=["/login", "/auth/*"]))
    stack.send(own(ALICE))
    assert stack.send(own(BOB), path="/login").status == 200
    assert stack.send(own(BOB)).status == 200
    assert stack.send(own(ALICE), path="/auth/switch").status == 200
    assert stack.send(own(ALICE)).status == 200
    assert stack.send(own(BOB), path="/login/extra").status == 403  # exact path only
    assert kinds(events) == [("session_drift", "blocked")]


def test_unbind_clears_and_the_next_login_binds_anew(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    stack.send(own(ALICE))
    logout = stack.send(Reply(requester=None, headers=JSON_CT, chunks=[b"{}"], hook=unbind))
    assert logout.status == 200
    (cookie,) = binding_cookies(logout.headers)
    assert is_clearing(cookie)
    assert stack.jar is None
    assert stack.send(own(BOB)).status == 200
    assert stack.jar
    assert events == []


@pytest.mark.parametrize("fault", ["tampered", "expired", "wrong-key", "garbage"])
def test_bad_binding_cookie_is_treated_as_absent(
    make_stack: MakeStack, events: list[AuditEvent], monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    stack = make_stack(**guard_options(events, binding_max_age=100))
    good = codec(SECRET, max_age=100).dumps(Identity(BOB))
    value = {
        "tampered": good[:-5] + ("A" if good[-5] != "A" else "B") + good[-4:],
        "expired": signed_at(monkeypatch, time.time() - 1000, lambda: codec(SECRET).dumps(Identity(BOB))),
        "wrong-key": codec("not-the-key").dumps(Identity(BOB)),
        "garbage": "%%%;;",
    }[fault]
    got = stack.send(own(ALICE), cookie=value)
    assert got.status == 200 and got.body == b'{"user_id": "alice-7f3a"}'
    assert binding_value(got.headers)  # bound afresh to the requester
    assert kinds(events) == [("binding_rejected", "ignored")]
    expected = "expired" if fault == "expired" else "bad signature"
    assert events[0].reason == "binding cookie " + expected
    assert_no_raw_ids(events, value)


def test_key_rotation_through_the_middleware(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    old = make_stack(**guard_options(events, secret_key=OLD_SECRET))
    old.send(own(ALICE))
    old_cookie = old.jar
    rotated = make_stack(**guard_options(events, secret_key=[OLD_SECRET, SECRET]))
    got = rotated.send(own(ALICE), cookie=old_cookie)
    assert got.status == 200
    new_cookie = binding_value(got.headers)
    assert new_cookie != old_cookie
    assert codec(SECRET).loads(new_cookie)
    drift = rotated.send(own(BOB), cookie=old_cookie)
    assert_block(drift.status, drift.headers, drift.body, clears_binding=False)
    assert kinds(events) == [("session_drift", "blocked")]


def test_binding_holds_across_workers_sharing_a_secret(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    worker_1 = make_stack(**guard_options(events))
    worker_2 = make_stack(**guard_options(events))
    worker_1.send(own(ALICE))
    assert worker_2.send(own(ALICE), cookie=worker_1.jar).status == 200
    assert worker_2.send(own(BOB), cookie=worker_1.jar).status == 403
    assert kinds(events) == [("session_drift", "blocked")]


def test_https_binding_is_secure_and_names_are_configurable(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, binding_cookie="__Host-bind", binding_max_age=60))
    got = stack.send(own(ALICE), scheme="https")
    (cookie,) = [v for k, v in got.headers if k == "set-cookie"]
    assert cookie.startswith("__Host-bind=")
    if stack.django is None:
        assert cookie.endswith("; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure")
    else:  # Django's SimpleCookie writes the same attributes in its own order
        attributes = sorted(a.strip() for a in cookie.split(";")[1:])
        assert attributes == ["HttpOnly", "Max-Age=60", "Path=/", "SameSite=Lax", "Secure"]


def test_bind_sessions_off(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, bind_sessions=False))
    first = stack.send(own(ALICE))
    assert first.status == 200 and binding_cookies(first.headers) == []
    second = stack.send(own(BOB), cookie=codec(SECRET).dumps(Identity(ALICE)))
    assert second.status == 200
    blocked = stack.send(Reply(headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"}']))
    assert blocked.status == 403 and binding_cookies(blocked.headers) == []
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_cookie_is_not_read_for_anonymous_requests(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    got = stack.send(Reply(requester=None, headers=JSON_CT, chunks=[b"{}"]), cookie="tampered")
    assert got.status == 200 and binding_cookies(got.headers) == []
    assert events == []


# ------------------------------------------------------------------ a drifted browser's user in the event


@pytest.mark.parametrize(
    ("path", "request_id", "logged_path", "logged_id"),
    [
        (f"/users/{ALICE}/card", None, "/users/{id}/card", None),
        (f"/contacts/{ALICE.upper()}.vcf", None, "/contacts/{id}.vcf", None),
        (f"/users/{ALICE.replace('-', '%2D')}", None, "/users/{id}", None),
        ("/mypage", f"req-{ALICE}-1700000000", "/mypage", None),
        ("/mypage", "req-42-1700000000", "/mypage", "req-42-1700000000"),  # no id of alice's: kept
        ("/" + "-".join("x" * 40), None, "{redacted}", None),  # too many runs to try: the path goes
    ],
)
def test_a_drift_event_never_shows_the_bound_users_id(
    make_stack: MakeStack, events: list[AuditEvent], path: str, request_id: str | None, logged_path: str,
    logged_id: str | None,
) -> None:
    # The browser is alice's; the app's session says bob (incident 1): the page alice's browser
    # asked for may name alice, whom respguard knows by the binding's hashes only.
    stack = make_stack(**guard_options(events))
    stack.send(own(ALICE))
    headers = [] if request_id is None else [("X-Request-ID", request_id)]
    got = stack.send(Reply(requester=BOB, headers=JSON_CT, chunks=[b"{}"]), path=path, headers=headers)
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    assert kinds(events) == [("session_drift", "blocked")]
    assert (events[0].path, events[0].request_id) == (logged_path, logged_id)
    assert ALICE not in events[0].to_json() and ALICE.upper() not in events[0].to_json()


def test_a_drift_event_never_shows_the_bound_users_e_mail(
    make_stack: MakeStack, events: list[AuditEvent]
) -> None:
    stack = make_stack(**guard_options(events))
    alice = Identity(ALICE, email="alice@example.com")
    assert stack.send(Reply(requester=alice, headers=JSON_CT, chunks=[b"{}"])).status == 200
    got = stack.send(Reply(requester=BOB, headers=JSON_CT, chunks=[b"{}"]), path="/contacts/alice@example.com.vcf")
    assert got.status == 403
    assert kinds(events) == [("session_drift", "blocked")]
    assert events[0].path == "/contacts/{id}.vcf"
