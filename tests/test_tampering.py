"""Tampering (issue 4 §3): binding cookies, client-sent owner headers, header splitting.

Every bad binding cookie has a defined outcome and event, on both stacks:

========================  =========================================  ==========================
cookie                    outcome                                    event
========================  =========================================  ==========================
tampered / truncated      ignored (as if absent), a new binding set  binding_rejected/ignored
wrong key                 same                                       "binding cookie bad signature"
expired                   same                                       "binding cookie expired"
oversized (> 4096)        same                                       "binding cookie oversized"
signed, bad payload       same                                       "binding cookie malformed payload"
old key after rotation    accepted, re-signed with the new key       none
another user's (valid)    403, binding kept (not cleared)            session_drift/blocked
duplicate names           each verified; any other user's: drift    per cookie
========================  =========================================  ==========================
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import BINDING, GuardedStack, Reply, assert_block, binding_cookies, header_list, kinds
from ids import ALICE, BOB, CAROL
from itsdangerous import URLSafeTimedSerializer

from respguard import AuditEvent, BlockPage, Guard, HtmlAttribute, Identity, JsonKeys, OwnerHeader

SECRET = "tamper-secret-a1b2"
NEW_SECRET = "tamper-secret-new-c3d4"
EXTRACTORS = [JsonKeys("user_id"), HtmlAttribute(), OwnerHeader()]
OWN = b'{"user_id": "%s"}' % ALICE.encode()
FOREIGN = b'{"user_id": "%s"}' % BOB.encode()
JSON_CT = (("Content-Type", "application/json"),)


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def stack(kind: str, events: list[AuditEvent], **options: Any) -> GuardedStack:
    options.setdefault("secret_key", SECRET)
    options.setdefault("extractors", EXTRACTORS)
    return GuardedStack(kind, on_event=events.append, **options)


def cookie_for(identity: object, secret: Any = SECRET, **options: Any) -> str:
    guard = Guard(secret_key=secret, extractors=EXTRACTORS, **options)
    ident = identity if isinstance(identity, Identity) else Identity(identity)
    return guard.codec.dumps(ident)


def new_binding(headers: list[tuple[str, str]]) -> str:
    (cookie,) = binding_cookies(headers)
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert value, cookie
    return value


def own_reply(requester: object = ALICE, body: bytes = OWN) -> Reply:
    return Reply(requester=requester, chunks=(body,))


# --------------------------------------------------------------------------- a valid binding


def test_a_valid_binding_passes_without_reissue(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(), cookie=cookie_for(ALICE))
    assert result.status == 200 and result.body == OWN
    assert binding_cookies(result.headers) == []
    assert events == []


# --------------------------------------------------------------------------- rejected cookies


def _tampered() -> str:
    """One payload character changed (not the last one: its low bits may be base64 padding)."""
    value = cookie_for(ALICE)
    return value[:4] + ("A" if value[4] != "A" else "B") + value[5:]


def _malformed_payload() -> str:
    serializer = URLSafeTimedSerializer(SECRET.encode(), salt="respguard.binding")
    return serializer.dumps(["not", "a", "binding"])


def _expired(monkeypatch: pytest.MonkeyPatch) -> str:
    real = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real - 15 * 24 * 3600)
        return cookie_for(ALICE)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda mp: _tampered(), "binding cookie bad signature"),
        (lambda mp: cookie_for(ALICE)[:-7], "binding cookie bad signature"),
        (lambda mp: cookie_for(ALICE).split(".")[0], "binding cookie bad signature"),
        (lambda mp: cookie_for(ALICE, "some-other-secret"), "binding cookie bad signature"),
        (lambda mp: "%00%0d%0a" + "x" * 40, "binding cookie bad signature"),
        (lambda mp: "A" * 5000, "binding cookie oversized"),
        (_expired, "binding cookie expired"),
        (lambda mp: _malformed_payload(), "binding cookie malformed payload"),
    ],
    ids=["tampered", "truncated", "payload-only", "wrong-key", "garbage", "oversized", "expired", "payload"],
)
def test_a_bad_binding_cookie_is_ignored_logged_and_replaced(
    kind: str, make: Any, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    value = make(monkeypatch)
    result = s.send(own_reply(), headers=[("Cookie", f"{BINDING}={value}")], cookie="")
    assert result.status == 200 and result.body == OWN
    fresh = new_binding(result.headers)
    assert fresh != value and s.guard.codec.loads(fresh).id_hash == s.guard.codec.hash(ALICE)
    assert [(e.kind.value, e.action.value, e.reason) for e in events] == [("binding_rejected", "ignored", reason)]
    assert events[0].requester == s.guard.hasher(ALICE)


def test_an_empty_binding_cookie_is_no_binding(kind: str) -> None:
    """A cleared cookie a client still sends ("respguard_bind=", as Django's test client does) is
    no binding: a new one is set, nothing is logged, and a mismatch is still blocked."""
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(), headers=[("Cookie", f"{BINDING}=")], cookie="")
    assert (result.status, result.body) == (200, OWN)
    assert s.guard.codec.loads(new_binding(result.headers)).id_hash == s.guard.codec.hash(ALICE)
    assert events == []
    blocked = s.send(Reply(headers=JSON_CT, chunks=[FOREIGN]), headers=[("Cookie", f"{BINDING}=")], cookie="")
    assert_block(blocked.status, blocked.headers, blocked.body, original=FOREIGN, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_a_bad_cookie_never_lets_a_mismatch_through(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(Reply(requester=ALICE, chunks=(FOREIGN,)), headers=[("Cookie", f"{BINDING}={_tampered()}")])
    # the block replaces the bad cookie with the requester's binding, as a pass would
    assert_block(result.status, result.headers, result.body, sets_binding=True, original=FOREIGN)
    assert kinds(events) == [("binding_rejected", "ignored"), ("owner_mismatch", "blocked")]


def test_an_anonymous_request_does_not_read_the_binding(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(requester=None, body=b'{"news": 1}'), headers=[("Cookie", f"{BINDING}={_tampered()}")])
    assert result.status == 200 and result.body == b'{"news": 1}'
    assert binding_cookies(result.headers) == [] and events == []


# --------------------------------------------------------------------------- rotation


def test_rotated_key_old_verifies_new_signs(kind: str) -> None:
    events: list[AuditEvent] = []
    old_cookie = cookie_for(ALICE, SECRET)
    s = stack(kind, events, secret_key=[SECRET, NEW_SECRET])
    result = s.send(own_reply(), cookie=old_cookie)
    assert result.status == 200 and result.body == OWN and events == []
    fresh = new_binding(result.headers)  # re-signed by the newest key
    new_only = Guard(secret_key=NEW_SECRET, extractors=EXTRACTORS).codec
    assert new_only.loads(fresh).key_index == 0
    old_only = Guard(secret_key=SECRET, extractors=EXTRACTORS).codec
    with pytest.raises(Exception, match="bad signature"):
        old_only.loads(fresh)
    # The re-signed cookie now passes without another re-issue.
    again = s.send(own_reply(), cookie=fresh)
    assert again.status == 200 and binding_cookies(again.headers) == [] and events == []


def test_a_retired_key_is_rejected(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events, secret_key=NEW_SECRET)
    result = s.send(own_reply(), cookie=cookie_for(ALICE, SECRET))
    assert result.status == 200
    assert [e.reason for e in events] == ["binding cookie bad signature"]


def test_rotation_still_catches_a_replayed_cookie_of_another_user(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events, secret_key=[SECRET, NEW_SECRET])
    result = s.send(own_reply(), cookie=cookie_for(BOB, SECRET))
    assert_block(result.status, result.headers, result.body, clears_binding=False, original=OWN)
    assert kinds(events) == [("session_drift", "blocked")]


# --------------------------------------------------------------------------- replay and duplicates


def test_another_users_valid_cookie_replayed_is_session_drift(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(), cookie=cookie_for(BOB))
    assert_block(result.status, result.headers, result.body, clears_binding=False, original=OWN)
    assert kinds(events) == [("session_drift", "blocked")]
    assert events[0].requester == s.guard.hasher(ALICE)


def test_a_binding_with_another_email_facet_is_drift(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    bound = cookie_for(Identity(ALICE, email="alice@example.test"))
    result = s.send(own_reply(requester=Identity(ALICE, email="bob@example.test")), cookie=bound)
    assert_block(result.status, result.headers, result.body, clears_binding=False, original=OWN)
    assert kinds(events) == [("session_drift", "blocked")]


@pytest.mark.parametrize(
    ("values", "expect", "event_kinds"),
    [
        ([ALICE, ALICE], "pass", []),
        ([ALICE, BOB], "drift", [("session_drift", "blocked")]),
        ([BOB, ALICE], "drift", [("session_drift", "blocked")]),
        ([ALICE, "tampered"], "pass", [("binding_rejected", "ignored")]),
        (["tampered", BOB], "drift", [("binding_rejected", "ignored"), ("session_drift", "blocked")]),
        (["tampered", "tampered"], "rebind", [("binding_rejected", "ignored")]),  # one event a request
    ],
)
def test_duplicate_binding_cookies(kind: str, values: list[str], expect: str, event_kinds: list[Any]) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    parts = [f"{BINDING}={_tampered() if v == 'tampered' else cookie_for(v)}" for v in values]
    result = s.send(own_reply(), headers=[("Cookie", "; ".join(["theme=dark", *parts]))], cookie="")
    assert kinds(events) == event_kinds
    if expect == "drift":
        assert_block(result.status, result.headers, result.body, clears_binding=False, original=OWN)
    else:
        assert result.status == 200 and result.body == OWN
        assert len(binding_cookies(result.headers)) == (1 if expect == "rebind" else 0)


def test_a_quoted_cookie_value_is_read(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(), headers=[("Cookie", f'{BINDING}="{cookie_for(BOB)}"')], cookie="")
    assert result.status == 403 and kinds(events) == [("session_drift", "blocked")]


# --------------------------------------------------------------------------- client-sent owner header


@pytest.mark.parametrize("sent", [BOB, ALICE, f"{ALICE}, {BOB}", "", "*"])
def test_a_client_sent_owner_header_never_influences_the_decision(kind: str, sent: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    own = s.send(own_reply(), headers=[("X-Data-Owner", sent)])
    assert own.status == 200 and own.body == OWN and events == []
    assert [v for k, v in header_list(own.headers) if k == "x-data-owner"] == []
    foreign = s.send(Reply(requester=ALICE, chunks=(FOREIGN,)), headers=[("X-Data-Owner", sent)], cookie="")
    assert_block(foreign.status, foreign.headers, foreign.body, original=FOREIGN, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].owners == (s.guard.hasher(BOB),)


# --------------------------------------------------------------------------- header splitting


def _no_crlf(headers: list[tuple[str, str]]) -> None:
    for name, value in headers:
        for ch in "\r\n\x00":
            assert ch not in name and ch not in value, (name, value)


@pytest.mark.parametrize(
    "requester", [f"{ALICE}\r\nSet-Cookie: evil=1", Identity(CAROL, email="c@example.test\r\nX-Evil: 1"), "\n"]
)
def test_ids_with_crlf_cannot_split_the_binding_cookie(kind: str, requester: object) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(Reply(requester=requester, chunks=(b"{}",)))
    assert result.status == 200
    _no_crlf(result.headers)
    assert len(binding_cookies(result.headers)) == 1


def test_request_id_with_crlf_is_not_echoed(kind: str) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(Reply(requester=ALICE, chunks=(FOREIGN,)), headers=[("X-Request-ID", "abc\tdef")])
    _no_crlf(result.headers)
    assert events[0].request_id is None


@pytest.mark.parametrize(
    "option",
    [
        {"binding_path": "/\r\nSet-Cookie: evil=1"},
        {"binding_domain": "example.test\r\nX-Evil: 1"},
        {"binding_path": "/;Domain=evil.test"},
        {"binding_domain": "example.test; SameSite=None"},
        {"block_page": BlockPage(content_type="text/plain\r\nSet-Cookie: evil=1")},
        {"block_page": BlockPage(content_type="text/plain; charset=utf-8\n")},
    ],
    ids=["path-crlf", "domain-crlf", "path-semicolon", "domain-semicolon", "page-crlf", "page-lf"],
)
def test_options_that_would_split_headers_fail_at_start_up(option: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(option))):
        Guard(secret_key=SECRET, extractors=EXTRACTORS, **option)


@pytest.mark.parametrize(
    "page",
    [
        BlockPage(content_type="text/plain\r\nSet-Cookie: evil=1"),
        BlockPage(status=200, body=FOREIGN),
        BlockPage(status=302),
        BlockPage(content_type="text/plain; charset=\u00fc\u4e00"),
    ],
    ids=["crlf", "status-200", "status-302", "non-latin1"],
)
def test_a_bad_page_from_block_response_falls_back_to_the_default_block(kind: str, page: BlockPage) -> None:
    """``block_response`` runs per request: a page that would split headers or not block is replaced."""
    events: list[AuditEvent] = []
    s = stack(kind, events, block_response=lambda event: page)
    result = s.send(Reply(requester=ALICE, chunks=(FOREIGN,)))
    assert_block(result.status, result.headers, result.body, original=FOREIGN, sets_binding=True)
    _no_crlf(result.headers)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def _signed_raw(raw: bytes) -> str:
    """A value signed with the real key whose payload is not base64/JSON (e.g. another format)."""
    import base64

    signer = URLSafeTimedSerializer(SECRET.encode(), salt="respguard.binding").make_signer()
    return signer.sign(base64.urlsafe_b64encode(raw).rstrip(b"=")).decode()


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b'"just a string"', b"[]"])
def test_a_signed_but_unreadable_payload_is_rejected_not_a_crash(kind: str, raw: bytes) -> None:
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(), headers=[("Cookie", f"{BINDING}={_signed_raw(raw)}")], cookie="")
    assert result.status == 200 and result.body == OWN
    assert new_binding(result.headers)
    assert [(e.kind.value, e.reason) for e in events] == [("binding_rejected", "binding cookie malformed payload")]


def test_a_cached_verified_binding_still_catches_drift_and_foreign_data(kind: str) -> None:
    """After a binding was verified once (and may be cached for speed), the same cookie still decides."""
    events: list[AuditEvent] = []
    s = stack(kind, events)
    cookie = cookie_for(ALICE)
    for _ in range(3):
        ok = s.send(own_reply(), cookie=cookie)
        assert ok.status == 200 and ok.body == OWN and binding_cookies(ok.headers) == []
    foreign = s.send(Reply(requester=ALICE, chunks=(FOREIGN,)), cookie=cookie)
    assert_block(foreign.status, foreign.headers, foreign.body, original=FOREIGN)
    drift = s.send(own_reply(requester=BOB, body=FOREIGN), cookie=cookie)
    assert_block(drift.status, drift.headers, drift.body, clears_binding=False, original=FOREIGN)
    facet = s.send(own_reply(requester=Identity(ALICE, email="bob@example.test")), cookie=cookie)
    assert facet.status == 200  # no e-mail was bound: a facet added later is not drift
    assert kinds(events) == [("owner_mismatch", "blocked"), ("session_drift", "blocked")]


@pytest.mark.parametrize("order", ["binding-second", "binding-first"])
def test_a_binding_in_a_second_cookie_header_is_still_checked(kind: str, order: str) -> None:
    """HTTP/2 sends cookies as several Cookie fields; ASGI servers pass them as repeated headers,
    WSGI servers (gunicorn, werkzeug) join them with a comma. Another user's binding in any of
    them is still drift, never a fresh binding for the current requester."""
    events: list[AuditEvent] = []
    s = stack(kind, events)
    cookies = [("Cookie", "theme=dark"), ("Cookie", f"{BINDING}={cookie_for(BOB)}")]
    if order == "binding-first":
        cookies.reverse()
    result = s.send(own_reply(), headers=cookies, cookie="")
    assert_block(result.status, result.headers, result.body, clears_binding=False, original=OWN)
    assert kinds(events) == [("session_drift", "blocked")]
    ok = s.send(own_reply(), headers=[("Cookie", "theme=dark"), ("Cookie", f"{BINDING}={cookie_for(ALICE)}")])
    assert ok.status == 200 and binding_cookies(ok.headers) == []


def test_comma_joined_cookie_header_is_read(kind: str) -> None:
    """gunicorn joins repeated Cookie headers with ',' (no space)."""
    events: list[AuditEvent] = []
    s = stack(kind, events)
    result = s.send(own_reply(), headers=[("Cookie", f"theme=dark,{BINDING}={cookie_for(BOB)}")], cookie="")
    assert result.status == 403 and kinds(events) == [("session_drift", "blocked")]
