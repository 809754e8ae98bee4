"""Redaction for audit events: no id an event is about may reach the log.

Ids often sit in paths (``/users/alice/card``) and in request ids; an event
carries the path and the request id only with those ids taken out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def redact_path(path: str, ids: Iterable[str]) -> str:
    """The path for an event, with every id in ``ids`` replaced by ``{id}``."""
    known = set(ids)
    known.discard("")
    if not known or path == "/":
        return path
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if not segment:
            continue
        decoded = unquote(segment)
        if segment in known or decoded in known or decoded.casefold() in known:
            segments[index] = "{id}"
            continue
        for value in known:
            if len(value) >= 4 and value in segment:
                segment = segment.replace(value, "{id}")
        segments[index] = segment
    return "/".join(segments)


def safe_request_id(value: str | None, ids: Iterable[str]) -> str | None:
    """The client's request id, if it is a plain token and carries none of ``ids``; else ``None``."""
    if value is None or not _REQUEST_ID.fullmatch(value):
        return None
    if redact_path("/" + value, ids) != "/" + value:
        return None
    return value
