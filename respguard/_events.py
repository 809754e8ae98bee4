"""Audit events: what respguard did and why, without the data it guards."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import Enum

logger = logging.getLogger("respguard")


class EventKind(str, Enum):
    """Why an event was emitted."""

    OWNER_MISMATCH = "owner_mismatch"
    SESSION_DRIFT = "session_drift"
    ANONYMOUS_PERSONAL_DATA = "anonymous_personal_data"
    CROSS_OWNER_VIEW = "cross_owner_view"
    SCAN_ERROR = "scan_error"
    OVERSIZE = "oversize"
    BINDING_REJECTED = "binding_rejected"
    CROSS_OWNER_WRITE = "cross_owner_write"
    BULK_PERSONAL_DATA = "bulk_personal_data"
    SHARED_CACHE = "shared_cache"
    FILTERED = "filtered"

    def __str__(self) -> str:
        return self.value


class Action(str, Enum):
    """What respguard did with the response the event is about."""

    BLOCKED = "blocked"
    REPORTED = "reported"  # report-only mode: it would have blocked
    ALLOWED = "allowed"  # a policy allowed it; logged for the audit trail
    PASSED = "passed"  # a fail-open option let it through unscanned
    IGNORED = "ignored"  # a bad binding cookie was ignored
    FILTERED = "filtered"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class AuditEvent:
    """One decision of the guard.

    ``requester`` and ``owners`` are keyed hashes (see :class:`OwnerHasher`), never
    the ids themselves; ``reason`` is a fixed phrase, never body text.
    """

    kind: EventKind
    action: Action
    method: str
    path: str
    status: int
    reason: str
    requester: str | None = None
    owners: tuple[str, ...] = ()
    owner_count: int = 0
    request_id: str | None = None
    extractor: str | None = None
    counts: tuple[tuple[str, int], ...] = ()

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["action"] = self.action.value
        data["owners"] = list(self.owners)
        data["counts"] = dict(self.counts)
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))


#: How many owner hashes an event lists; ``owner_count`` has the full number.
MAX_EVENT_OWNERS = 20


class OwnerHasher:
    """Keyed hashes of ids: stable enough to correlate events, useless to reverse.

    HMAC-SHA256 under a key derived from the guard's secret, truncated to 16
    bytes (32 hex digits).
    """

    __slots__ = ("_key", "_cache")

    def __init__(self, secret: bytes, purpose: bytes = b"respguard.audit-hash") -> None:
        self._key = hmac.new(secret, purpose, hashlib.sha256).digest()
        self._cache: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        digest = hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
        if len(self._cache) >= 4096:
            self._cache.clear()
        self._cache[text] = digest
        return digest


EventSink = Callable[[AuditEvent], object]  # its answer is ignored


def emit(event: AuditEvent, on_event: EventSink | None) -> None:
    """Log ``event`` on the ``respguard`` logger and hand it to the user's callback.

    A callback that raises is logged and swallowed: auditing never breaks a request.
    """
    level = logging.INFO if event.action in (Action.ALLOWED, Action.IGNORED, Action.FILTERED) else logging.WARNING
    if logger.isEnabledFor(level):
        logger.log(level, "respguard %s %s", event.action.value, event.to_json(), extra={"respguard_event": event})
    if on_event is not None:
        try:
            on_event(event)
        except Exception:
            logger.exception("respguard on_event callback raised")
