"""The event audit (issue 4 §3): the checker fails on bad events, and real events pass it.

The session-wide check itself lives in ``tests/conftest.py`` (``audit_every_event``):
it feeds every event of the session to :func:`_audit.audit`.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from _audit import HEX32, audit, event_problems, fixed_phrases
from conftest import SESSION_EVENTS, asgi_call, guard_options
from ids import ALICE, BOB, CROWD, RAW_IDS, YAMADA

from respguard import (
    Action,
    ASGIMiddleware,
    AuditEvent,
    CustomExtractor,
    EventKind,
    HtmlAttribute,
    JsonKeys,
    OwnerHeader,
    set_requester,
)

H = "0123456789abcdef0123456789abcdef"


def good(**changes: Any) -> AuditEvent:
    event = AuditEvent(
        kind=EventKind.OWNER_MISMATCH,
        action=Action.BLOCKED,
        method="GET",
        path="/me",
        status=200,
        reason="response carries another owner's data",
        requester=H,
        owners=(H,),
        owner_count=1,
    )
    return dataclasses.replace(event, **changes)


def test_a_clean_event_has_no_problem() -> None:
    assert event_problems(good(), RAW_IDS) == []
    assert (
        event_problems(
            good(
                kind=EventKind.BINDING_REJECTED,
                reason="binding cookie expired",
                owners=(),
                owner_count=0,
                requester=None,
            ),
            RAW_IDS,
        )
        == []
    )
    assert (
        event_problems(
            good(
                kind=EventKind.SCAN_ERROR,
                reason="json:user_id: malformed JSON",
                extractor="json:user_id",
                owners=(),
                owner_count=0,
            ),
            RAW_IDS,
        )
        == []
    )
    assert (
        event_problems(
            good(
                kind=EventKind.SCAN_ERROR,
                reason="custom:f raised KeyError",
                extractor="custom:f",
                owners=(),
                owner_count=0,
            ),
            RAW_IDS,
        )
        == []
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"reason": "response carries bob-9c2e's data"}, "reason is not a fixed phrase"),
        ({"reason": "Traceback (most recent call last):"}, "reason is not a fixed phrase"),
        (
            {"reason": "html:data-owner: body cannot be decoded as bob-9c2e", "extractor": "html:data-owner"},
            "reason is not a fixed phrase",
        ),
        ({"reason": '{"user_id": 1}'}, "reason is not a fixed phrase"),
        ({"requester": ALICE}, "requester is not a 32-hex hash"),
        ({"requester": H.upper()}, "requester is not a 32-hex hash"),
        ({"owners": (BOB,)}, "an owner is not a 32-hex hash"),
        ({"owners": (H,) * 21, "owner_count": 21}, "21 owner hashes (at most 20)"),
        ({"owners": (H, H), "owner_count": 1}, "2 owner hashes for owner_count=1"),
        ({"owners": (H,) * 5, "owner_count": 40}, "5 owner hashes for owner_count=40"),
        ({"extractor": "custom:" + BOB}, "raw id 'bob-9c2e' in the event"),
        ({"request_id": "a b"}, "request_id is not a plain token"),
        ({"method": "get\r\n"}, "method is not an HTTP method"),
    ],
)
def test_the_checker_fails_on_a_bad_event(changes: dict[str, Any], problem: str) -> None:
    problems = event_problems(good(**changes), RAW_IDS)
    assert any(p.startswith(problem) for p in problems), problems


def test_a_raw_id_anywhere_but_the_path_fails_the_audit() -> None:
    assert audit([good(reason=YAMADA)], RAW_IDS) == [
        f"owner_mismatch//me: reason is not a fixed phrase: {YAMADA!r}",
        f"owner_mismatch//me: raw id {YAMADA!r} in the event",
    ]
    # The path (the URL the app chose) and the client's request id are recorded by design: not flagged.
    assert audit([good(path="/users/" + ALICE)], RAW_IDS) == []
    assert audit([good(request_id=ALICE)], RAW_IDS) == []
    assert audit([good(extractor=ALICE)], RAW_IDS) == [f"owner_mismatch//me: raw id {ALICE!r} in the event"]
    assert audit(["not an event"], RAW_IDS) == ["?: not an AuditEvent: str"]


def test_fixed_phrases_come_from_the_respguard_source() -> None:
    phrases = fixed_phrases()
    assert "response carries another owner's data" in phrases
    assert "malformed JSON" in phrases
    assert ALICE not in phrases and BOB not in phrases


def test_the_session_capture_sees_events_from_the_logger() -> None:
    before = len(SESSION_EVENTS)
    app = ASGIMiddleware(_reply(b'{"user_id": "%s"}' % BOB.encode()), **guard_options())
    assert asgi_call(app).status == 403
    new = SESSION_EVENTS[before:]
    assert [(e.kind, e.action) for e in new] == [(EventKind.OWNER_MISMATCH, Action.BLOCKED)]
    assert logging.getLogger("respguard").isEnabledFor(logging.INFO)


def _reply(body: bytes, content_type: bytes = b"application/json", headers: tuple[Any, ...] = ()) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        set_requester(scope, ALICE)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type), *headers]}
        )
        await send({"type": "http.response.body", "body": body})

    return app


def _events_of(app: Any, body: bytes, content_type: bytes = b"application/json", **options: Any) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    guarded = ASGIMiddleware(app, **guard_options(events, **options))
    asgi_call(guarded, headers=[(b"cookie", b"respguard_bind=" + BOB.encode()), (b"x-data-owner", BOB.encode())])
    return events


def _raising(body: bytes, headers: Any, view: Any) -> list[str]:
    raise KeyError(BOB)


@pytest.mark.parametrize(
    ("body", "content_type", "options", "kinds"),
    [
        # owner ids of the body, and a crowd of them (hashes, capped at 20, exact count)
        (b'{"user_id": "%s"}' % BOB.encode(), b"application/json", {}, ["binding_rejected", "owner_mismatch"]),
        (
            ("[" + ",".join(f'{{"user_id": "{c}"}}' for c in CROWD) + "]").encode(),
            b"application/json",
            {},
            ["binding_rejected", "owner_mismatch"],
        ),
        # bodies whose text must not reach the reason
        (b'{"user_id": "' + BOB.encode() + b'"', b"application/json", {}, ["binding_rejected", "scan_error"]),
        # a charset label browsers don't know is ignored (the page reads as windows-1252), bad
        # bytes read as U+FFFD: the owners are found, and neither the label nor the bytes are logged
        (
            b'<meta charset="' + BOB.encode() + b'"><p data-owner="x">',
            b"text/html",
            {},
            ["binding_rejected", "owner_mismatch"],
        ),
        (
            b'<p data-owner="' + BOB.encode() + b'">\xff\xfe',
            b"text/html; charset=utf-8",
            {},
            ["binding_rejected", "owner_mismatch"],
        ),
        (b"{}", b"application/json", {"extractors": [CustomExtractor(_raising)]}, ["binding_rejected", "scan_error"]),
        (
            b'<p data-owner="x">',
            b"text/html; charset=" + BOB.encode(),
            {"extractors": [JsonKeys("user_id"), HtmlAttribute(), OwnerHeader()]},
            ["binding_rejected", "owner_mismatch"],
        ),
    ],
    ids=[
        "one-foreign",
        "crowd",
        "truncated-json",
        "charset-from-meta",
        "bad-bytes",
        "raising-custom",
        "charset-from-header",
    ],
)
def test_real_events_pass_the_audit(
    body: bytes, content_type: bytes, options: dict[str, Any], kinds: list[str]
) -> None:
    events = _events_of(_reply(body, content_type), body, content_type, **options)
    assert [e.kind.value for e in events] == kinds
    assert audit(events, RAW_IDS) == []
    for event in events:
        text = event.to_json()
        assert BOB not in text and ALICE not in text
        assert event.requester is not None and HEX32.fullmatch(event.requester)
    last = events[-1]
    if last.kind is EventKind.OWNER_MISMATCH:
        expected = len(CROWD) if b"crowd" in body else 1
        assert last.owner_count == expected
        assert len(last.owners) == min(expected, 20)
        assert len(set(last.owners)) == len(last.owners)
