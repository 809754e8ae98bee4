"""Inbound owner rules: which values of a write name whose record it touches.

Each rule names where a request says whose record it touches: a path parameter,
a JSON body key, a form field, a query parameter. The rules never parse bytes
themselves: they read a :class:`Named`, the request as a framework parsed it
(Werkzeug's or python-multipart's form parser, ``json.loads``, the router's path
parameters). :func:`named_owners` turns it into the ``(kind, text)`` owners the
exchange decides on (``Exchange.check_write``), and raises :class:`Ambiguous`
for anything two readers could read differently (fail closed).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence

from ._identity import ID, normalise

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: ``Named.json`` when the body is not JSON (``None`` is JSON's ``null``).
NO_JSON: object = object()


class InboundError(Exception):
    """The request could not be read as its framework would read it: refused (``scan_error``).

    ``str(error)`` is a fixed phrase.
    """


class Ambiguous(InboundError):
    """An owner value two readers could read differently: refused (``cross_owner_write``).

    ``named`` is the request as far as it was parsed, and ``document`` a JSON body read with
    every repeated key kept (objects as tuples of pairs): what the refusal's event redacts.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.named: Named | None = None  # set by the reader that parsed the request
        self.document: object = NO_JSON


#: The fixed reasons of :class:`Ambiguous`.
class TooLarge(InboundError):
    """The request body a rule must read is over ``max_body_bytes``: refused as ``oversize``."""


REPEATED = "owner field repeated"
NOT_PLAIN = "owner field holds a value that is not a plain id"
FILE_FIELD = "owner field sent as a file"


class Named:
    """What a write names, as the framework parsed it.

    :param path: the request path (decoded, as the router matches it).
    :param path_params: the router's path parameters, where routing has run (else ``None``).
    :param route: the matched route's path template, converters dropped, where routing has run.
    :param query: the query parameters, in order, repeats kept.
    :param form: the form fields (urlencoded or multipart), in order, repeats kept.
    :param files: the names of the multipart parts sent as files.
    :param json: the parsed JSON body, or :data:`NO_JSON`.
    """

    __slots__ = ("path", "path_params", "route", "query", "form", "files", "json")

    def __init__(
        self,
        path: str,
        *,
        path_params: Mapping[str, object] | None = None,
        route: str | None = None,
        query: Sequence[tuple[str, object]] = (),
        form: Sequence[tuple[str, object]] = (),
        files: Sequence[str] = (),
        json: object = NO_JSON,
    ) -> None:
        self.path = path
        self.path_params = path_params
        self.route = route
        self.query = query
        self.form = form
        self.files = files
        self.json = json


def owner_texts(value: object, kind: str) -> list[str]:
    """The owner texts one value names: a plain string or integer names itself; ``None`` and
    ``""`` name nobody; a list names each item. Anything else (a boolean, a float, an object,
    a nested list) is read differently by different readers (Pydantic's lax mode turns
    ``true`` and ``1.0`` into ``1``): :class:`Ambiguous`."""
    if value is None:
        return []
    if isinstance(value, list):
        texts: list[str] = []
        for item in value:
            if isinstance(item, list):
                raise Ambiguous(NOT_PLAIN)
            texts.extend(owner_texts(item, kind))
        return texts
    text = _plain_text(value)
    if text is None:
        raise Ambiguous(NOT_PLAIN)
    return [normalise(kind, text)] if text else []


def _plain_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, uuid.UUID):  # a router's uuid converter
        return str(value)
    return None


class PathOwner:
    """The owner named by a path parameter: ``PathOwner("/users/{user_id}/card")``.

    Where its pattern matches the path, the owner is the matched segment, and also
    the router's own parameter of that name where routing has run (both must be the
    requester's).

    :param pattern: a path with ``{name}`` placeholders (one path segment each).
    :param param: which placeholder names the owner (default: the only one).
    """

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
        # ``[^/]+`` greedy, as the routers' own (Starlette's ``str`` convertor, Werkzeug's default
        # converter, Django's ``<str:...>``): where two placeholders share a segment
        # (``/files/{owner}.{ext}``), the first takes all it can, so ``/files/alice.smith.json`` is
        # ``alice.smith``'s file, not ``alice``'s.
        for match in _PLACEHOLDER.finditer(pattern):
            regex += re.escape(pattern[last : match.start()]) + f"(?P<{match.group(1)}>[^/]+)"
            last = match.end()
        regex += re.escape(pattern[last:])
        self.pattern = pattern
        self.param = param
        self.kind = kind
        # ``/?``: a trailing slash; ``\n?``: Starlette's route regex ends with ``$``, which also
        # matches before a final line feed (``%0A`` decoded), so ``.../card\n`` is its route.
        self._regex = re.compile(regex + r"/?\n?\Z")

    def matches(self, path: str) -> bool:
        """Does the pattern match this path as written?"""
        return self._regex.match(path) is not None

    def filled(self, values: Mapping[str, object]) -> str | None:
        """The pattern's path with each placeholder given its value (``None``: one has none)."""
        if not all(name in values for name in _PLACEHOLDER.findall(self.pattern)):
            return None
        return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), self.pattern)

    def routed(self, named: Named) -> bool:
        """Is the route the router matched this pattern's (however the request spelled its path:
        a ``{name:path}`` parameter holding a ``/``, a path outside the app's ``root_path``)?"""
        route = named.route
        return route is not None and route.rstrip("/") == self.pattern.rstrip("/")

    def named(self, named: Named) -> list[str]:
        match = self._regex.match(named.path)
        owners: list[str] = []
        if match is not None:
            owners.append(normalise(self.kind, match.group(self.param)))
        elif not self.routed(named):
            return []
        params = named.path_params
        if params is not None and self.param in params:
            owners.extend(owner_texts(params[self.param], self.kind))
        return owners


class _Fields:
    def __init__(self, names: Iterable[str], kind: str, option: str) -> None:
        field_set = frozenset(names)
        if not field_set or not all(isinstance(n, str) and n for n in field_set):
            raise ValueError(f"{option}(...) needs at least one non-empty name")
        self.names = field_set
        self.kind = kind

    def _pairs(self, pairs: Sequence[tuple[str, object]]) -> list[str]:
        """Owners of the named fields; a field given twice is ambiguous (readers keep the first or the last)."""
        owners: list[str] = []
        seen: set[str] = set()
        names = self.names
        for key, value in pairs:
            if key in names:
                if key in seen:
                    raise Ambiguous(REPEATED)
                seen.add(key)
                owners.extend(owner_texts(value, self.kind))
        return owners


class JsonBodyOwner(_Fields):
    """Owners named by keys of a JSON request body, at any depth.

    A body is read as JSON whatever its Content-Type says where it parses as JSON
    (Flask's ``get_json(force=True)``, scripts). A key given twice in one object, or
    holding a value that is not a plain string or integer, is refused.
    """

    def __init__(self, *keys: str, kind: str = ID) -> None:
        super().__init__(keys, kind, "JsonBodyOwner")

    def named(self, named: Named) -> list[str]:
        document = named.json
        if document is NO_JSON:
            return []
        owners: list[str] = []
        stack = [document]
        while stack:  # iterative: a deep document is not a deep Python stack
            node = stack.pop()
            if isinstance(node, dict):
                for key, value in node.items():
                    if key in self.names:
                        owners.extend(owner_texts(value, self.kind))
                    elif isinstance(value, (dict, list)):
                        stack.append(value)
            elif isinstance(node, list):
                stack.extend(item for item in node if isinstance(item, (dict, list)))
        return owners


class FormOwner(_Fields):
    """Owners named by form fields (urlencoded or multipart), as the framework's form parser reads them.

    A field given twice, or a part with an owner field's name sent as a file, is refused.
    """

    def __init__(self, *names: str, kind: str = ID) -> None:
        super().__init__(names, kind, "FormOwner")

    def named(self, named: Named) -> list[str]:
        if any(name in self.names for name in named.files):
            raise Ambiguous(FILE_FIELD)
        return self._pairs(named.form)


class QueryOwner(_Fields):
    """Owners named by query-string parameters (a parameter given twice is refused)."""

    def __init__(self, *names: str, kind: str = ID) -> None:
        super().__init__(names, kind, "QueryOwner")

    def named(self, named: Named) -> list[str]:
        return self._pairs(named.query)


InboundRule = PathOwner | JsonBodyOwner | FormOwner | QueryOwner


class Spellings:
    """The names a route reads an owner field under, each mapped to the rule's name: a FastAPI
    parameter's or a Pydantic field's ``alias``, ``validation_alias`` and own name, a DRF
    serializer field's name for its ``source``; and the owner key a route's single, unembedded
    body parameter is (the whole JSON body is its value). The adapters build one from the route;
    the reading of a request through it is this one."""

    __slots__ = ("json", "paths", "form", "query", "whole", "strings")

    def __init__(self) -> None:
        self.json: dict[str, str] = {}
        #: an ``AliasPath`` (``AliasPath("customer", "id")``: ``{"customer": {"id": 7}}``), from
        #: any object of the body, to the rule's key
        self.paths: dict[tuple[str | int, ...], str] = {}
        self.form: dict[str, str] = {}
        self.query: dict[str, str] = {}
        self.whole: str | None = None
        #: a field of the route's types is ``Json[...]``: Pydantic parses a string (a JSON body's
        #: value, a form field) as JSON there; every such string is read as a document
        self.strings = False

    @staticmethod
    def rename(pairs: list[tuple[str, object]], names: dict[str, str]) -> list[tuple[str, object]]:
        # Renamed, not added: two spellings of one field are a repeat (Pydantic keeps one).
        return [(names.get(key, key), value) for key, value in pairs] if names else pairs

    def document(self, document: object, whole: object = NO_JSON) -> object:
        """The JSON body, with each value read under another spelling named by its rule's key;
        ``whole``: the value the route's unembedded body parameter is validated from."""
        extra: list[object] = []
        if self.whole is not None and whole is not NO_JSON:
            extra.append({self.whole: whole})
        if document is NO_JSON:
            return extra[0] if extra else document
        if self.json or self.paths or self.strings:
            stack = [document]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    for path, owner in self.paths.items():
                        found = _follow(node, path)
                        if found is not NO_JSON:
                            extra.append({owner: found})
                    for key, value in node.items():
                        if key in self.json:
                            extra.append({self.json[key]: value})
                    values: Iterable[object] = node.values()
                elif isinstance(node, list):
                    values = node
                else:
                    continue
                for value in values:
                    if isinstance(value, (dict, list)):
                        stack.append(value)
                    elif self.strings and isinstance(value, str):
                        parsed = json_string(value)
                        if parsed is not NO_JSON:  # read as a document of its own, as Pydantic reads it
                            extra.append(parsed)
                            stack.append(parsed)
        return [document, *extra] if extra else document


def json_string(text: str) -> object:
    """A string a ``Json[...]`` field holds, parsed as Pydantic parses it (``NO_JSON``: no object
    or array, or no JSON: Pydantic answers 422)."""
    if not text.lstrip(" \t\r\n").startswith(("{", "[")):
        return NO_JSON
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return NO_JSON


def _follow(node: object, path: tuple[str | int, ...]) -> object:
    """The value at an ``AliasPath`` from ``node``, as Pydantic looks it up (``NO_JSON``: none)."""
    for step in path:
        if isinstance(step, str) and isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node):
            node = node[step]
        else:
            return NO_JSON
    return node


def _plain_texts(value: object, kind: str, out: list[tuple[str, str]]) -> None:
    """Every plain string or integer in ``value``, at any depth (lists, and objects read with
    repeated keys kept: tuples of pairs)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        else:
            text = _plain_text(node)
            if text:
                out.append((kind, normalise(kind, text)))


def named_texts(rules: Iterable[InboundRule], named: Named) -> list[tuple[str, str]]:
    """Every id the rules' fields hold, read leniently (repeats, lists, values that are no plain
    id): the ids a refused write names, which its event must not show. Never raises."""
    out: list[tuple[str, str]] = []
    for rule in rules:
        if isinstance(rule, PathOwner):
            match = rule._regex.match(named.path)
            if match is not None or rule.routed(named):
                if match is not None:
                    out.append((rule.kind, normalise(rule.kind, match.group(rule.param))))
                params = named.path_params
                if params is not None and rule.param in params:
                    _plain_texts(params[rule.param], rule.kind, out)
        elif isinstance(rule, JsonBodyOwner):
            stack = [named.json]
            while stack:
                node = stack.pop()
                pairs: Iterable[object] = ()
                if isinstance(node, dict):
                    pairs = node.items()
                elif isinstance(node, (list, tuple)):
                    pairs = node
                for item in pairs:
                    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                        if item[0] in rule.names:
                            _plain_texts(item[1], rule.kind, out)
                        else:
                            stack.append(item[1])
                    elif isinstance(item, (dict, list, tuple)):
                        stack.append(item)
        else:
            for key, value in rule_pairs(rule, named):
                if key in rule.names:
                    _plain_texts(value, rule.kind, out)
    return out


def rule_pairs(rule: FormOwner | QueryOwner, named: Named) -> Sequence[tuple[str, object]]:
    return named.form if isinstance(rule, FormOwner) else named.query


def named_owners(rules: Iterable[InboundRule], named: Named) -> list[tuple[str, str]]:
    """Every ``(kind, text)`` owner the rules find in ``named``; raises :class:`Ambiguous`."""
    owners: list[tuple[str, str]] = []
    for rule in rules:
        owners.extend((rule.kind, text) for text in rule.named(named))
    return owners
