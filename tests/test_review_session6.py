"""Outside review of session 6 (52e0321..906d830): what it found; each test failed before its fix.

1. **A multipart write refused as ambiguous kept the owner it named in its event.** Session 6
   redacts the ids a refused write names (``named_texts``), but a multipart body whose parser
   raised :class:`Ambiguous` (two ``Content-Disposition`` headers, ``name*=``, ``NAME=``...) was
   never handed to it: the event's path (``/api/customers/bob-9c2e/notes``) and request id
   (``req-bob-9c2e``) showed bob's raw id, on both stacks.
2. **ASGI request headers as two-item lists crash a write on the compiled core.** The request's
   headers are no longer read as tuples (``request_headers``), and the write check's
   ``_content_type_of`` unpacks them as ``tuple[bytes, bytes]``: mypyc raises ``TypeError`` on a
   ``[name, value]`` list (the ASGI spec's type), where the pure core reads it.
3. **Redacting an event's path took the square of its length or worse.** A write naming many
   owners (all of them redacted from its event) with a long path: ids that overlap in it
   (``aaaa``, ``aaaaa``... in ``/aaaa...``, a 4,000-character path: 5.7 s; 16,000: over 100 s),
   or thousands of ids that almost match (50,000 ids, a 16,000-character path: about 7 s), each
   searched for over the whole path. Past a few occurrences per character, or a search budget,
   the path is now redacted whole (``{redacted}``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from conftest import BLOCK_BODY, kinds
from ids import ALICE, BOB
from test_write_middleware import MP, WriteApp, multipart, part, send_write

import respguard
from respguard import AuditEvent, JsonKeys

B = BOB.encode()
FOREIGN_WRITE = "request names another owner's record"
AMBIGUOUS_NAME = "ambiguous multipart field name"


# ------------------------------------------------------------------ 1. multipart refusals name their owner

MULTIPART: list[tuple[str, bytes]] = [
    ("owner-part-then-two-dispositions", multipart(
        part('form-data; name="customer_id"', B),
        part('form-data; name="note"', b"x", 'Content-Disposition: form-data; name="other"\r\n'),
    )),
    ("rfc2231-name", multipart(part("form-data; name*=utf-8''customer_id", B))),
    ("upper-NAME", multipart(part('form-data; NAME="customer_id"', B))),
    ("two-dispositions", multipart(
        part('form-data; name="note"', B, 'Content-Disposition: form-data; name="customer_id"\r\n')
    )),
]  # fmt: skip


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(("row", "body"), MULTIPART, ids=[row[0] for row in MULTIPART])
def test_an_ambiguous_multipart_write_event_redacts_the_owners_it_names(kind: str, row: str, body: bytes) -> None:
    """alice posts a multipart body naming bob to ``/api/customers/bob-9c2e/notes`` with
    ``X-Request-ID: req-bob-9c2e``: refused, and the event shows bob's id nowhere."""
    app = WriteApp()
    status, _, sent, events = send_write(
        kind,
        app,
        body=body,
        content_type=MP,
        path=f"/api/customers/{BOB}/notes",
        requester=lambda r: ALICE,
        bind_sessions=False,
        extra_headers=[("X-Request-ID", f"req-{BOB}")],
    )
    assert (status, sent) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert (events[0].reason, events[0].path, events[0].request_id) == (
        AMBIGUOUS_NAME,
        "/api/customers/{id}/notes",
        None,
    )
    assert BOB not in events[0].to_json()
    assert app.writes == []


# ------------------------------------------------------------------ 2. request headers as lists, on a write


@pytest.mark.parametrize(("customer", "status"), [(ALICE, 200), (BOB, 403)], ids=["own", "foreign"])
def test_a_write_with_request_headers_as_two_item_lists_is_checked(customer: str, status: int) -> None:
    """The ASGI spec's header type is ``Iterable[[bytes, bytes]]``: a write whose scope gives
    them as lists is checked (its own runs, bob's is refused), on the compiled core too."""
    events: list[AuditEvent] = []
    app = WriteApp()
    guarded = respguard.ASGIMiddleware(
        app.asgi,
        secret_key="review-session6-secret",
        extractors=[JsonKeys("customer_id")],
        inbound=[respguard.JsonBodyOwner("customer_id")],
        requester=lambda r: ALICE,
        bind_sessions=False,
        on_event=events.append,
    )
    body = b'{"customer_id": "' + customer.encode() + b'"}'
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/notes",
        "raw_path": b"/api/notes",
        "root_path": "",
        "query_string": b"",
        "headers": [[b"host", b"x"], [b"content-type", b"application/json"]],
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(guarded(scope, receive, send))
    out = b"".join(m.get("body", b"") for m in sent[1:])
    if status == 200:
        assert (sent[0]["status"], out, events) == (200, b"written", [])
        assert app.writes == [("/api/notes", body)]
    else:
        assert (sent[0]["status"], out) == (403, BLOCK_BODY)
        assert kinds(events) == [("cross_owner_write", "blocked")]
        assert events[0].reason == FOREIGN_WRITE
        assert app.writes == []


# ------------------------------------------------------------------ 3. linear redaction of many ids

MANY_IDS: dict[str, tuple[str, Any]] = {
    "overlapping": ("a", lambda n: ["a" * k for k in range(4, n // 10)]),
    "near-misses": ("a", lambda n: ["a" * 6 + f"{k:05d}" for k in range(n * 3)]),
}


def _refuse_many(kind: str, row: str, size: int) -> float:
    """alice's write names thousands of other owners (a valid JSON list) on a long path: refused,
    its event's path redacted whole; the best CPU time of three."""
    unit, make_ids = MANY_IDS[row]
    body = json.dumps({"customer_id": make_ids(size)}).encode()
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        status, _, sent, events = send_write(
            kind, WriteApp(), body=body, path="/" + unit * size, requester=lambda r: ALICE, bind_sessions=False
        )
        best = min(best, time.process_time() - started)
        assert (status, sent) == (403, BLOCK_BODY)
        assert kinds(events) == [("cross_owner_write", "blocked")]
        assert (events[0].reason, events[0].path) == (FOREIGN_WRITE, "{redacted}")
    return best


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("row", list(MANY_IDS))
def test_redacting_a_write_that_names_many_owners_is_linear(kind: str, row: str) -> None:
    """Four times the path and the ids cost at most about four times the CPU time (the search
    was quadratic: minutes for 4,000 overlapping ids or 50,000 near misses on a 16,000-character
    path); a ratio, not a wall clock, so the machine's load does not change it."""
    small, large = _refuse_many(kind, row, 4000), _refuse_many(kind, row, 16000)
    assert large < 10 * small + 0.02, (small, large)
