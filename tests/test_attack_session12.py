"""Adversarial findings, session 12: the audit trail (what an AuditEvent's JSON carries).

1. **A UUID without its dashes** (or with them, for an id kept as ``uuid.hex``). Starlette's
   ``uuid`` convertor takes ``/users/550e8400e29b41d4a716446655440000`` (and upper case) as the
   dashed UUID, but the event's ``path`` and ``request_id`` kept the hex digits of the owner's
   id: redaction compared the id's one spelling. Fixed in ``_redact._folded_ids``: a UUID id is
   searched for in both spellings.
2. **A CustomExtractor's ScanError message** went into ``reason`` verbatim
   (``"custom:f: " + str(exc)``): a function that quotes what it could not read
   (``ScanError(f"no owner key in {data!r}")``, ``ScanError(str(value_error))``) put the body's
   text, and another user's address, in the log. Fixed (``_extractors.scan_reason``, the one
   way a ScanError becomes a reason): only respguard's own ScanError phrases are kept, any other
   message is ``"<extractor> raised ScanError"``.
3. **A path a ``PathOwner`` rule names, on a response event.** A write's event redacted the id
   the guard's ``PathOwner("/users/{user_id}/card")`` reads from its path, but a GET of the same
   path (``oversize``, ``scan_error``, ``shared_cache``: events about no owner read from the
   body) logged ``/users/bob-9c2e/card``. Fixed in ``Exchange._event_ids``: the ids the path
   rules name are redacted in every event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from _attacks import guarded
from conftest import BLOCK_BODY, SECRET, GuardedStack, Reply, kinds
from ids import BOB, BOB_EMAIL

from respguard import AuditEvent, CustomExtractor, PathOwner, ScanError

UUID = "550e8400-e29b-41d4-a716-446655440000"
HEX = UUID.replace("-", "")
JSON_CT = ("Content-Type", "application/json")


def _one(events: list[AuditEvent]) -> dict[str, Any]:
    assert len(events) == 1
    data: dict[str, Any] = json.loads(events[0].to_json())
    return data


def test_a_dashless_uuid_in_the_path_and_request_id_is_redacted(make_stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    stack = guarded(make_stack, events)
    body = json.dumps({"user_id": UUID}).encode()
    for path, request_id, shown in [
        (f"/users/{HEX}/card", HEX, "/users/{id}/card"),
        (f"/users/{HEX.upper()}.json", f"req-{HEX.upper()}", "/users/{id}.json"),
    ]:
        events.clear()
        got = stack.send(Reply(chunks=[body]), path=path, headers=[("X-Request-ID", request_id)])
        assert (got.status, got.body) == (403, BLOCK_BODY)
        assert kinds(events) == [("owner_mismatch", "blocked")]
        event = _one(events)
        assert (event["path"], event["request_id"]) == (shown, None)
        assert HEX not in events[0].to_json().lower()


def test_a_dashed_uuid_in_the_path_is_redacted_for_an_id_kept_as_hex(
    make_stack: Callable[..., GuardedStack],
) -> None:
    events: list[AuditEvent] = []
    stack = guarded(make_stack, events)
    got = stack.send(
        Reply(chunks=[json.dumps({"user_id": HEX}).encode()]),
        path=f"/users/{UUID.upper()}",
        headers=[("X-Request-ID", UUID)],
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)
    event = _one(events)
    assert (event["kind"], event["path"], event["request_id"]) == ("owner_mismatch", "/users/{id}", None)


def _quoting(body: bytes, headers: Any, view: Any) -> list[str]:
    raise ScanError(f"no owner key in {json.loads(body)!r}")


def test_a_custom_extractors_scan_error_message_is_not_the_reason(make_stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    stack = make_stack(
        secret_key=SECRET,
        extractors=[CustomExtractor(_quoting, media={"json"})],
        bind_sessions=False,
        on_event=events.append,
    )
    stack.inner_lint = False
    got = stack.send(Reply(headers=[JSON_CT], chunks=[json.dumps({"email": BOB_EMAIL}).encode()]), path="/x")
    assert (got.status, got.body) == (403, BLOCK_BODY)
    event = _one(events)
    assert (event["kind"], event["action"], event["extractor"], event["reason"]) == (
        "scan_error",
        "blocked",
        "custom:_quoting",
        "custom:_quoting raised ScanError",
    )
    assert BOB_EMAIL not in events[0].to_json()


def test_respguards_own_scan_error_phrase_is_still_the_reason(make_stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    got = guarded(make_stack, events).send(Reply(headers=[JSON_CT], chunks=[b'{"user_id": "x"']))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert _one(events)["reason"] == "json:owner_id,user_id: malformed JSON"


def test_a_get_event_redacts_the_id_a_path_rule_names(make_stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    stack = guarded(make_stack, events, inbound=[PathOwner("/users/{user_id}/card")], max_body_bytes=64)
    body = json.dumps({"user_id": BOB, "pad": "x" * 100}).encode()
    got = stack.send(Reply(chunks=[body]), path=f"/users/{BOB}/card")
    assert (got.status, got.body) == (403, BLOCK_BODY)
    event = _one(events)
    assert (event["kind"], event["action"], event["path"], event["reason"]) == (
        "oversize",
        "blocked",
        "/users/{id}/card",
        "body over max_body_bytes",
    )
    assert BOB not in events[0].to_json()
