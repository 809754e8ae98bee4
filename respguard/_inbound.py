"""Inbound owner rules: refuse a write to someone else's record before the app runs.

Each rule names where a request says whose record it touches: a path parameter,
a JSON body key, a form field, a query parameter. The guard compares those owners
with the requester it can know *before* the app runs (see the README).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from ._extractors import json_owner_values
from ._identity import ID, normalise

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class InboundRequest:
    """What the rules read: path, query string, content type and (buffered) body."""

    __slots__ = ("path", "query", "content_type", "body")

    def __init__(self, path: str, query: bytes, content_type: str, body: bytes) -> None:
        self.path = path
        self.query = query
        self.content_type = content_type
        self.body = body


def body_readable(content_type: str) -> bool:
    """Is the request body of a type some rule reads (JSON, urlencoded or multipart form)?

    Only those are read and replayed; any other upload streams to the app untouched.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    return media in _BODY_TYPES or media.endswith("+json")


_BODY_TYPES = frozenset({"application/json", "application/x-www-form-urlencoded", "multipart/form-data"})


class InboundError(Exception):
    """The request body could not be read by a rule; the guard refuses the request."""


class PathOwner:
    """The owner named by a path parameter: ``PathOwner("/users/{user_id}/card")``.

    :param pattern: a path with ``{name}`` placeholders (one path segment each).
    :param param: which placeholder names the owner (default: the only one).
    """

    needs_body = False

    def __init__(self, pattern: str, param: str | None = None, *, kind: str = ID) -> None:
        names = _PLACEHOLDER.findall(pattern) if isinstance(pattern, str) else []
        if not isinstance(pattern, str) or not pattern.startswith("/") or not names:
            raise ValueError(f"PathOwner(pattern={pattern!r}) needs a path with a {{placeholder}}")
        if param is None:
            if len(names) != 1:
                raise ValueError(f"PathOwner(param=...) must name one of {names}")
            param = names[0]
        if param not in names:
            raise ValueError(f"PathOwner(param={param!r}) is not a placeholder of {pattern!r}")
        regex = ""
        last = 0
        for match in _PLACEHOLDER.finditer(pattern):
            regex += re.escape(pattern[last : match.start()]) + f"(?P<{match.group(1)}>[^/]+)"
            last = match.end()
        regex += re.escape(pattern[last:])
        self.pattern = pattern
        self.param = param
        self.kind = kind
        self._regex = re.compile(regex + r"/?\Z")

    def owners(self, request: InboundRequest) -> list[str]:
        match = self._regex.match(request.path)
        if match is None:
            return []
        return [normalise(self.kind, match.group(self.param))]


class _Fields:
    needs_body = True

    def __init__(self, names: Iterable[str], kind: str, option: str) -> None:
        field_set = frozenset(names)
        if not field_set or not all(isinstance(n, str) and n for n in field_set):
            raise ValueError(f"{option}(...) needs at least one non-empty name")
        self.names = field_set
        self.kind = kind


class JsonBodyOwner(_Fields):
    """Owners named by keys of a JSON request body, at any depth."""

    def __init__(self, *keys: str, kind: str = ID) -> None:
        super().__init__(keys, kind, "JsonBodyOwner")

    def owners(self, request: InboundRequest) -> list[str]:
        media = request.content_type.split(";", 1)[0].strip().lower()
        if not (media == "application/json" or media.endswith("+json")):
            return []
        try:
            return json_owner_values(request.body, self.names, self.kind)
        except (ValueError, RecursionError) as exc:
            raise InboundError("malformed JSON request body") from exc


_MULTIPART_FIELD = re.compile(
    rb'content-disposition:[^\r\n]*;\s*name="([^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n(.*?)\r?\n--', re.I | re.S
)


class FormOwner(_Fields):
    """Owners named by form fields (urlencoded or multipart)."""

    def __init__(self, *names: str, kind: str = ID) -> None:
        super().__init__(names, kind, "FormOwner")

    def owners(self, request: InboundRequest) -> list[str]:
        media = request.content_type.split(";", 1)[0].strip().lower()
        pairs: list[tuple[str, str]]
        if media == "application/x-www-form-urlencoded":
            try:
                pairs = parse_qsl(request.body.decode("latin-1"), keep_blank_values=False)
            except ValueError as exc:
                raise InboundError("malformed form body") from exc
        elif media == "multipart/form-data":
            pairs = [
                (m.group(1).decode("utf-8", "replace"), m.group(2).decode("utf-8", "replace"))
                for m in _MULTIPART_FIELD.finditer(request.body)
            ]
        else:
            return []
        return [normalise(self.kind, v) for k, v in pairs if k in self.names and v]


class QueryOwner(_Fields):
    """Owners named by query-string parameters."""

    needs_body = False

    def __init__(self, *names: str, kind: str = ID) -> None:
        super().__init__(names, kind, "QueryOwner")

    def owners(self, request: InboundRequest) -> list[str]:
        if not request.query:
            return []
        pairs = parse_qsl(request.query.decode("latin-1"), keep_blank_values=False)
        return [normalise(self.kind, v) for k, v in pairs if k in self.names and v]


InboundRule = PathOwner | JsonBodyOwner | FormOwner | QueryOwner
