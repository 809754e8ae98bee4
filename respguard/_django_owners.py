"""The owners a write names, read from what Django parsed: the values the view will see.

:func:`write_owners` reads the guard's inbound rules against Django's own parse of the
request (``resolver_match`` kwargs, ``request.POST``/``GET`` and the JSON body), so the
check and the view can't read the same bytes differently. A value that could be read
two ways fails closed (:class:`AmbiguousOwner`): a repeated owner field, a boolean, a
non-integral number, an object, or a list holding anything but plain ids.

Nothing here imports Django: the request is read through the attributes every
``HttpRequest`` has.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ._identity import normalise
from ._inbound import FormOwner, InboundRequest, InboundRule, JsonBodyOwner, PathOwner, QueryOwner


class AmbiguousOwner(Exception):
    """An owner field respguard can't read one way only; ``str(exc)`` is a fixed phrase."""


class BodyTooLarge(Exception):
    """The request body is over ``max_body_bytes``."""


def scalar_owner(value: object) -> str | None:
    """The text of one owner value as the view will compare it; ``None``: no owner."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise AmbiguousOwner("ambiguous owner field in request")
    if isinstance(value, str):
        return value or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        raise AmbiguousOwner("ambiguous owner field in request")
    if isinstance(value, uuid.UUID):
        return str(value)
    raise AmbiguousOwner("ambiguous owner field in request")


def _values(value: object) -> list[str]:
    """An owner key's value: one id, or a list of plain ids (never objects or nested lists)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, (list, dict)):
            raise AmbiguousOwner("ambiguous owner field in request")
        text = scalar_owner(item)
        if text is not None:
            out.append(text)
    return out


def json_owners(body: bytes, encoding: str, keys: frozenset[str]) -> list[str]:
    """The values of ``keys`` at any depth of a JSON body, decoded as the view's parser does."""
    if not body.strip():
        return []
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise AmbiguousOwner("malformed JSON request body") from exc
    found: list[str] = []

    def collect(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, value in pairs:
            if key in keys:
                if key in seen:
                    raise AmbiguousOwner("ambiguous owner field in request")
                seen.add(key)
                found.extend(_values(value))
        return dict(pairs)

    try:
        json.loads(text, object_pairs_hook=collect)
    except AmbiguousOwner:
        raise
    except (ValueError, RecursionError) as exc:
        raise AmbiguousOwner("malformed JSON request body") from exc
    return found


def _field(values: Sequence[str]) -> list[str]:
    if len(values) > 1:
        raise AmbiguousOwner("ambiguous owner field in request")
    return [v for v in values if v]


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def write_owners(
    rules: Sequence[InboundRule], request: Any, view_kwargs: Mapping[str, Any], max_body_bytes: int
) -> list[tuple[str, str]]:
    """Every ``(kind, normalised id)`` the rules find in a Django request, before its view runs."""
    owners: list[tuple[str, str]] = []
    content_type = request.content_type or ""
    for rule in rules:
        found: list[str]
        if isinstance(rule, PathOwner):
            matched = rule.owners(InboundRequest(request.path, b"", content_type, b""))
            if not matched:
                continue
            if rule.param in view_kwargs:
                found = _values(view_kwargs[rule.param])
            else:
                found = matched
        elif isinstance(rule, JsonBodyOwner):
            if not _is_json(content_type):
                continue
            body = request.body
            if len(body) > max_body_bytes:
                raise BodyTooLarge
            found = json_owners(body, request.encoding or "utf-8", rule.names)
        elif isinstance(rule, FormOwner):
            post = request.POST
            found = [v for name in sorted(rule.names) for v in _field(post.getlist(name))]
        elif isinstance(rule, QueryOwner):
            query = request.GET
            found = [v for name in sorted(rule.names) for v in _field(query.getlist(name))]
        else:  # pragma: no cover - Guard accepts no other rule
            continue
        owners.extend((rule.kind, normalise(rule.kind, text)) for text in found)
    return owners
