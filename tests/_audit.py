"""The event audit: structural checks that no AuditEvent carries raw data.

:func:`event_problems` is the checker. ``tests/conftest.py`` feeds it every event
the ``respguard`` logger emitted in the whole session (a session-scoped autouse
fixture), and ``tests/test_event_audit.py`` proves it fails on bad events.

Rules, per event:

- ``requester`` is ``None`` or 32 lower-case hex digits; every ``owners`` item too;
  at most ``MAX_EVENT_OWNERS`` of them, and exactly ``min(owner_count, 20)``.
- ``reason`` is one of respguard's fixed phrases: a string literal of the
  ``respguard`` source, two of them joined (``"binding cookie " + "expired"``), or
  ``"<extractor>: <phrase>"`` / ``"<extractor> raised <ExceptionType>"`` for the
  extractor the event names. Body text, charset names taken from the body and
  tracebacks are none of these.
- no raw id of the registry appears in the event's JSON or ``repr``. Left out: the
  request ``path`` (the URL the app chose) and ``request_id`` (the token the client
  sent); events record both by design, and respguard already replaces the ids the
  event is about in them. Everything respguard read from the response is checked.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from collections.abc import Iterable
from pathlib import Path

import respguard
from respguard import Action, AuditEvent, EventKind

HEX32 = re.compile(r"[0-9a-f]{32}")
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")
_METHOD = re.compile(r"[A-Z]{1,16}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_EVENT_OWNERS = 20


@functools.lru_cache(maxsize=1)
def fixed_phrases() -> frozenset[str]:
    """Every string literal (and literal part of an f-string) in respguard's source."""
    phrases: set[str] = set()
    for path in Path(respguard.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
                phrases.add(node.value)
    return frozenset(phrases)


def _is_phrase(text: str) -> bool:
    phrases = fixed_phrases()
    if text in phrases:
        return True
    return any(text[:cut] in phrases and text[cut:] in phrases for cut in range(1, len(text)))


def reason_ok(event: AuditEvent) -> bool:
    reason = event.reason
    if not reason or len(reason) > 200 or "\n" in reason or "Traceback" in reason:
        return False
    if _is_phrase(reason):
        return True
    name = event.extractor
    if name:
        if reason.startswith(name + ": "):
            return _is_phrase(reason[len(name) + 2 :])
        if reason.startswith(name + " raised "):
            return _TYPE_NAME.fullmatch(reason[len(name) + 8 :]) is not None
    return False


def event_problems(event: object, raw_ids: Iterable[str]) -> list[str]:
    """Everything wrong with one event (empty: the event is clean)."""
    if not isinstance(event, AuditEvent):
        return [f"not an AuditEvent: {type(event).__name__}"]
    problems = []
    if not isinstance(event.kind, EventKind):
        problems.append("kind is not an EventKind")
    if not isinstance(event.action, Action):
        problems.append("action is not an Action")
    if event.requester is not None and not HEX32.fullmatch(event.requester):
        problems.append("requester is not a 32-hex hash")
    if not all(isinstance(o, str) and HEX32.fullmatch(o) for o in event.owners):
        problems.append("an owner is not a 32-hex hash")
    if len(event.owners) > MAX_EVENT_OWNERS:
        problems.append(f"{len(event.owners)} owner hashes (at most {MAX_EVENT_OWNERS})")
    if len(event.owners) != min(event.owner_count, MAX_EVENT_OWNERS):
        problems.append(f"{len(event.owners)} owner hashes for owner_count={event.owner_count}")
    if not isinstance(event.method, str) or not _METHOD.fullmatch(event.method):
        problems.append("method is not an HTTP method")
    if not isinstance(event.status, int):
        problems.append("status is not an int")
    if event.request_id is not None and not _REQUEST_ID.fullmatch(event.request_id):
        problems.append("request_id is not a plain token")
    if not isinstance(event.reason, str) or not reason_ok(event):
        problems.append(f"reason is not a fixed phrase: {event.reason!r}")
    scrubbed = dataclasses.replace(event, path="/", request_id=None)
    text = scrubbed.to_json() + repr(scrubbed)
    for raw in raw_ids:
        if raw and raw in text:
            problems.append(f"raw id {raw!r} in the event")
    return problems


def audit(events: Iterable[object], raw_ids: Iterable[str]) -> list[str]:
    """Problems of every event, each prefixed with the event's kind and path."""
    ids = tuple(raw_ids)
    report = []
    for event in events:
        for problem in event_problems(event, ids):
            where = f"{event.kind}/{event.path}" if isinstance(event, AuditEvent) else "?"
            report.append(f"{where}: {problem}")
    return report
