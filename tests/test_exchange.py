"""The one decision path: a response head is decided the same however the browser's binding is known.

Issue 9's leak: a browser whose binding was remembered (two ordinary requests) got a
``206 Partial Content`` JSON slice carrying another customer's data, while a first visit
had it blocked. Here every head of a table is sent three ways, on both stacks, in enforce
and report mode: on a first visit (no binding cookie), with a binding cookie verified for
the first time, and with one the guard remembers. The status, body and event kinds must
be the same each time, and are asserted exactly.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from conftest import ALICE, BLOCK_BODY, BOB, NO_REQUESTER, GuardedStack, Reply, binding_cookies

from respguard import AuditEvent, HtmlAttribute, JsonKeys, OwnerHeader, add_owner, rebind
from respguard._exchange import TRANSITIONS, Exchange, ProtocolError, State

FOREIGN = json.dumps({"user_id": BOB}).encode()
OWN = json.dumps({"user_id": ALICE}).encode()
JSON_TYPE = ("Content-Type", "application/json")

#: (case id, reply, method, path, expected status in enforce mode, expected event kinds)
HEADS: list[tuple[str, Reply, str, str, int, list[str]]] = [
    ("206-json-foreign", Reply(status=206, chunks=[FOREIGN]), "GET", "/me", 403, ["scan_error"]),
    ("206-json-own", Reply(status=206, chunks=[OWN]), "GET", "/me", 403, ["scan_error"]),
    ("206-untyped", Reply(status=206, headers=(), chunks=[FOREIGN]), "GET", "/me", 403, ["scan_error"]),
    ("206-image", Reply(status=206, headers=(("Content-Type", "image/png"),), chunks=[b"\x89PNG"]), "GET", "/me",
     206, []),
    ("head-foreign-header", Reply(headers=(JSON_TYPE, ("X-Data-Owner", BOB)), chunks=[]), "HEAD", "/me", 403,
     ["owner_mismatch"]),
    ("head-own", Reply(chunks=[]), "HEAD", "/me", 200, []),
    ("204-foreign-header", Reply(status=204, headers=(("X-Data-Owner", BOB),), chunks=[]), "GET", "/me", 403,
     ["owner_mismatch"]),
    ("304-own", Reply(status=304, headers=(), chunks=[], content_length=False), "GET", "/me", 304, []),
    ("repeated-content-type", Reply(headers=(("Content-Type", "text/plain"), JSON_TYPE), chunks=[FOREIGN]), "GET",
     "/me", 403, ["scan_error"]),
    ("odd-case-content-type", Reply(headers=(("CONTENT-TYPE", "Application/JSON"),), chunks=[FOREIGN]), "GET",
     "/me", 403, ["owner_mismatch"]),
    ("gzip-foreign", Reply(headers=(JSON_TYPE, ("Content-Encoding", "gzip")), chunks=[gzip.compress(FOREIGN)]),
     "GET", "/me", 403, ["owner_mismatch"]),
    ("unknown-encoding", Reply(headers=(JSON_TYPE, ("Content-Encoding", "x-secret")), chunks=[FOREIGN]), "GET",
     "/me", 403, ["scan_error"]),
    ("owner-header-foreign", Reply(headers=(JSON_TYPE, ("x-data-owner", BOB)), chunks=[OWN]), "GET", "/me", 403,
     ["owner_mismatch"]),
    ("declared-owner-foreign", Reply(hook=lambda holder: add_owner(holder, BOB), chunks=[b"{}"]), "GET", "/me", 403,
     ["owner_mismatch"]),
    ("exempt-foreign", Reply(chunks=[FOREIGN]), "GET", "/public/list", 200, []),
    ("login-own", Reply(chunks=[OWN]), "POST", "/login", 200, []),
    ("event-stream-foreign", Reply(headers=(("Content-Type", "text/event-stream"),),
     chunks=[b"data: " + OWN + b"\n\n", b"data: " + FOREIGN + b"\n\n"], content_length=False), "GET", "/me", 200,
     ["owner_mismatch"]),
    ("untyped-foreign", Reply(headers=(), chunks=[b"  ", FOREIGN]), "GET", "/me", 403, ["owner_mismatch"]),
    ("json-own", Reply(chunks=[OWN]), "GET", "/me", 200, []),
]  # fmt: skip


def _options(mode: str, events: list[AuditEvent]) -> dict[str, Any]:
    return {
        "secret_key": "exchange-secret",
        "extractors": [JsonKeys("user_id"), HtmlAttribute(), OwnerHeader()],
        "mode": mode,
        "login_paths": ["/login"],
        "exempt_paths": ["/public/*"],
        "on_event": events.append,
    }


def _answer(stack: GuardedStack, events: list[AuditEvent], reply: Reply, method: str, path: str) -> tuple[Any, ...]:
    events.clear()
    result = stack.send(reply, method=method, path=path)
    kinds = [e.kind.value for e in events if e.kind.value != "binding_rejected"]
    return result.status, result.body, kinds


@pytest.mark.parametrize("mode", ["enforce", "report"])
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(("case", "reply", "method", "path", "status", "expected"), HEADS, ids=[h[0] for h in HEADS])
def test_a_head_is_decided_the_same_first_visit_or_remembered(
    kind: str, mode: str, case: str, reply: Reply, method: str, path: str, status: int, expected: list[str]
) -> None:
    events: list[AuditEvent] = []
    stack = GuardedStack(kind, **_options(mode, events))
    stack.inner_lint = False  # a block decided on the head leaves the app's body unread
    first = _answer(stack, events, reply, method, path)
    own = Reply(chunks=[OWN])
    assert stack.send(own).status == 200 and stack.jar  # bound
    verified = _answer(stack, events, reply, method, path)
    assert stack.send(own).status == 200  # verified once more: remembered from now on
    remembered = _answer(stack, events, reply, method, path)
    assert first == verified == remembered, (first, verified, remembered)
    got_status, body, kinds = remembered
    assert kinds == expected
    if mode == "enforce":
        assert got_status == status
        if status == 403:
            assert body == (b"" if method == "HEAD" else BLOCK_BODY)
    else:
        assert got_status == reply.status  # report-only lets every response through
        assert body != BLOCK_BODY


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_206_leak_of_issue_9_is_blocked_with_a_remembered_binding(kind: str) -> None:
    """The attack as it was tried: two ordinary requests, then a range of another customer's JSON."""
    events: list[AuditEvent] = []
    stack = GuardedStack(kind, **_options("enforce", events))
    stack.inner_lint = False
    own = Reply(chunks=[OWN])
    assert [stack.send(own).status for _ in range(3)] == [200, 200, 200]
    events.clear()
    result = stack.send(Reply(status=206, headers=(JSON_TYPE, ("Content-Range", "bytes 0-19/40")), chunks=[FOREIGN]))
    assert (result.status, result.body) == (403, BLOCK_BODY)
    assert [(e.kind.value, e.action.value, e.reason) for e in events] == [
        ("scan_error", "blocked", "partial content cannot be scanned")
    ]
    assert binding_cookies(result.headers) == []  # a block keeps the binding: the browser stays bound


def test_every_state_move_is_in_the_table() -> None:
    """The states an exchange can be in, and an illegal move says which state and which event."""
    named = {v for k, v in vars(State).items() if not k.startswith("_")}
    moved_to = {s for targets in TRANSITIONS.values() for s in targets}
    assert moved_to <= named and {s for s, _ in TRANSITIONS} <= named
    from respguard import Guard
    from respguard._context import RequestContext
    from respguard._scan import RequestInfo

    guard = Guard(secret_key="exchange-secret", extractors=[JsonKeys("user_id")])
    context = RequestContext()
    context.tell(None)
    exchange = Exchange(guard, RequestInfo("GET", "/", "http", {}, lambda raw: []), context)
    with pytest.raises(ProtocolError, match="in state 'start'"):
        exchange.body(b"x", False)
    exchange.start(204, [])
    assert exchange.state == State.DONE  # no body: the response ends with its head
    with pytest.raises(ProtocolError, match="response start in state 'done'"):
        exchange.start(200, [])


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_rebind_on_a_held_document_sets_the_new_binding(kind: str) -> None:
    """A view that re-binds (log-in) and returns its own data: passed, and the cookie is the new one."""
    stack = GuardedStack(kind, secret_key="exchange-secret", extractors=[JsonKeys("user_id")])
    stack.send(Reply(chunks=[OWN]))
    before = stack.jar
    result = stack.send(Reply(chunks=[FOREIGN], requester=NO_REQUESTER, hook=lambda holder: rebind(holder, BOB)))
    assert (result.status, result.body) == (200, FOREIGN)
    assert stack.jar and stack.jar != before


def _addresses(count: int) -> list[str]:
    return [f"person{n}@example.test" for n in range(count)]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_body_of_any_type_that_opens_like_json_is_read_as_json(kind: str) -> None:
    """fetch().json() parses a body whatever its type: JSON served as image/png (plain or
    gzipped) is read as JSON; a real image passes untouched."""
    events: list[AuditEvent] = []
    stack = GuardedStack(kind, **_options("enforce", events))
    png = ("Content-Type", "image/png")
    result = stack.send(Reply(headers=(png,), chunks=[FOREIGN]))
    assert (result.status, result.body) == (403, BLOCK_BODY)
    gzipped = Reply(headers=(png, ("Content-Encoding", "gzip")), chunks=[gzip.compress(FOREIGN)])
    result = stack.send(gzipped)
    assert (result.status, result.body) == (403, BLOCK_BODY)
    assert [e.kind.value for e in events if e.kind.value != "binding_rejected"] == ["owner_mismatch"] * 2
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    result = stack.send(Reply(headers=(png,), chunks=[image[:5], image[5:]]))
    assert (result.status, result.body) == (200, image)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_bulk_personal_data_is_counted_wherever_a_body_is_scanned(kind: str) -> None:
    """JSON lines with a Content-Length, and what filter mode leaves, are counted like any body."""
    events: list[AuditEvent] = []
    stack = GuardedStack(kind, secret_key="exchange-secret", extractors=[JsonKeys("user_id")], on_event=events.append)
    lines = b"".join(json.dumps({"user_id": ALICE, "email": a}).encode() + b"\n" for a in _addresses(25))
    result = stack.send(Reply(headers=(("Content-Type", "application/x-ndjson"),), chunks=[lines]))
    assert (result.status, result.body) == (403, BLOCK_BODY)
    assert [(e.kind.value, e.action.value, e.counts) for e in events] == [
        ("bulk_personal_data", "blocked", (("email", 25),))
    ]
    events.clear()
    filtering = GuardedStack(
        kind,
        secret_key="exchange-secret",
        extractors=[JsonKeys("user_id")],
        on_foreign_records="filter",
        on_event=events.append,
    )
    records = [{"user_id": BOB, "note": "x"}] + [{"user_id": ALICE, "cc": a} for a in _addresses(25)]
    result = filtering.send(Reply(chunks=[json.dumps(records).encode()]))
    assert (result.status, result.body) == (403, BLOCK_BODY)
    assert [(e.kind.value, e.action.value) for e in events] == [
        ("filtered", "filtered"),
        ("bulk_personal_data", "blocked"),
    ]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_cdn_field_on_a_personal_response_is_read_with_a_remembered_binding(kind: str) -> None:
    """RFC 9213: CDN-Cache-Control lets a CDN store the page for everyone, whatever Cache-Control says."""
    events: list[AuditEvent] = []
    stack = GuardedStack(kind, **_options("enforce", events))
    own = Reply(chunks=[OWN])
    assert [stack.send(own).status for _ in range(3)] == [200, 200, 200]  # bound, verified, remembered
    events.clear()
    cached = Reply(headers=(JSON_TYPE, ("CDN-Cache-Control", "max-age=600")), chunks=[OWN])
    result = stack.send(cached)
    assert (result.status, result.body) == (403, BLOCK_BODY)
    assert [(e.kind.value, e.action.value) for e in events] == [("shared_cache", "blocked")]
