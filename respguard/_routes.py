"""Per-route rules: ``Route("/users/{user_id}/profile", ...)``, and the router that finds them.

A route pattern uses the frameworks' own ``{param}`` syntax and is matched exactly, segment
by segment: a literal segment matches itself, ``{name}`` (or ``{name:str}``) one non-empty
segment, ``{name:int}`` one segment of ASCII digits, and a trailing ``{name:path}`` the rest of
the path, as Starlette's converters do. There are no prefix globs. The router is compiled once,
at start-up, into a tree of segments; a request walks it once, carrying the (few) routes still
in play from one segment to the next, so the work is linear in the path. Where several routes
match, the most specific wins (a literal segment before a parameter before a path tail, read left
to right), as Werkzeug orders its rules.

:func:`patterns_overlap` answers "can one path match both?" for the start-up check that an
exemption never covers an inbound rule's path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from types import EllipsisType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._extractors import Extractor
    from ._identity import Identity
    from ._scan import RequestInfo
    from ._verdict import Owner

#: ``bulk_limit`` not given: the route keeps the guard's bulk check.
INHERIT: EllipsisType = ...

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")
_CONVERTERS = ("str", "int", "path")

# Segment kinds, in order of precedence (lower wins).
LITERAL, SEGMENT, DIGITS, TAIL = 0, 1, 1, 2


class Route:
    """The rules for one route of the app.

    :param pattern: the route in the frameworks' ``{param}`` syntax, ``"/users/{user_id}/profile"``;
        ``{name}``/``{name:str}`` is one segment, ``{name:int}`` one segment of digits, and a
        trailing ``{name:path}`` the rest of the path. Matched exactly, never as a prefix.
    :param extractors: the extractors for this route, replacing the guard's (``None``: the guard's).
    :param public_keys: JSON keys or HTML attributes that are public data on this route, not owners
        (a public list of ``username``): the extractors for them are not run here.
    :param bulk_limit: the bulk check's threshold here: an int, or ``None`` to turn it off
        (not given: the guard's ``bulk_pii``).
    :param policy: the policy for this route, replacing the guard's (``None``: the guard's).
    :param exempt: skip the response check on this route (inbound rules still run; start-up
        refuses an exempt route that covers an inbound rule's path).
    """

    __slots__ = ("pattern", "extractors", "public_keys", "bulk_limit", "policy", "exempt", "segments")

    def __init__(
        self,
        pattern: str,
        *,
        extractors: Sequence[Extractor | Callable[..., Iterable[object]]] | None = None,
        public_keys: Iterable[str] = (),
        bulk_limit: int | None | EllipsisType = INHERIT,
        policy: Callable[[Identity | None, Owner, RequestInfo], bool] | None = None,
        exempt: bool = False,
    ) -> None:
        self.segments = parse_pattern(pattern)
        if extractors is not None and (isinstance(extractors, (str, bytes)) or not extractors):
            raise ValueError(f"Route({pattern!r}): extractors must be a non-empty list, or None for the guard's")
        if isinstance(public_keys, str):
            raise ValueError(f"Route({pattern!r}): public_keys must be a list of keys, not a single string")
        keys = tuple(public_keys)
        if not all(isinstance(k, str) and k for k in keys):
            raise ValueError(f"Route({pattern!r}): public_keys must be non-empty strings")
        if bulk_limit is not INHERIT and bulk_limit is not None:
            if isinstance(bulk_limit, bool) or not isinstance(bulk_limit, int) or bulk_limit < 1:
                raise ValueError(f"Route({pattern!r}): bulk_limit must be a positive int or None")
        if policy is not None and not callable(policy):
            raise ValueError(f"Route({pattern!r}): policy must be callable")
        if not isinstance(exempt, bool):
            raise ValueError(f"Route({pattern!r}): exempt must be True or False")
        self.pattern = pattern
        self.extractors = None if extractors is None else tuple(extractors)
        self.public_keys = frozenset(keys)
        self.bulk_limit = bulk_limit
        self.policy = policy
        self.exempt = exempt

    def __repr__(self) -> str:
        return f"Route({self.pattern!r})"


Segment = tuple[int, str]  # (kind, literal text or "")


def parse_pattern(pattern: object) -> tuple[Segment, ...]:
    """A route pattern as segments; a pattern the router can't match exactly raises ``ValueError``."""
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise ValueError(f"Route({pattern!r}): the pattern must be a path starting with '/'")
    parts = pattern[1:].split("/")
    segments: list[Segment] = []
    for index, part in enumerate(parts):
        match = _PARAM.fullmatch(part)
        if match is None:
            if "{" in part or "}" in part:
                raise ValueError(
                    f"Route({pattern!r}): a parameter must be a whole segment, {{name}} or {{name:str|int|path}}"
                )
            segments.append((LITERAL, part))
            continue
        converter = match.group(2) or "str"
        if converter not in _CONVERTERS:
            raise ValueError(f"Route({pattern!r}): unknown converter {converter!r} (str, int or path)")
        if converter == "path":
            if index != len(parts) - 1:
                raise ValueError(f"Route({pattern!r}): a {{name:path}} parameter must be the last segment")
            segments.append((TAIL, ""))
        else:
            segments.append((SEGMENT, "") if converter == "str" else (DIGITS, "int"))
    return tuple(segments)


def _segment_matches(segment: Segment, text: str) -> bool:
    """Does a parameter segment take this text? (Literal segments are looked up by name.)"""
    if segment[1] == "int":
        return text.isascii() and text.isdigit()
    return bool(text)


class _Node:
    __slots__ = ("literals", "params", "tails", "ends")

    def __init__(self) -> None:
        self.literals: dict[str, _Node] = {}
        self.params: list[tuple[Segment, _Node]] = []  # {name}, {name:int}
        self.tails: list[int] = []  # route indexes whose {name:path} starts here
        self.ends: list[int] = []  # route indexes that end here


class Router:
    """Finds the rules of a path's route: compiled once, one walk of the path per request."""

    __slots__ = ("_root", "_rank", "_values")

    def __init__(self, entries: Sequence[tuple[tuple[Segment, ...], object]]) -> None:
        self._root = _Node()
        self._values = [value for _, value in entries]
        # Precedence: literal before parameter before tail, segment by segment (first listed breaks ties).
        self._rank = [tuple(kind for kind, _ in segments) for segments, _ in entries]
        for index, (segments, _) in enumerate(entries):
            node = self._root
            for segment in segments:
                kind, literal = segment
                if kind == TAIL:
                    node.tails.append(index)
                    break
                if kind == LITERAL:
                    node = node.literals.setdefault(literal, _Node())
                else:
                    for known, child in node.params:
                        if known == segment:
                            node = child
                            break
                    else:
                        child = _Node()
                        node.params.append((segment, child))
                        node = child
            else:
                node.ends.append(index)

    def resolve(self, path: str) -> object | None:
        """The value of the most specific route that matches ``path`` exactly, or ``None``."""
        if not path.startswith("/"):
            return None
        found: list[int] = []
        nodes = [self._root]
        for text in path[1:].split("/"):
            following: list[_Node] = []
            for node in nodes:
                found.extend(node.tails)  # a tail takes this segment and the rest (Starlette's path: ``.*``)
                child = node.literals.get(text)
                if child is not None:
                    following.append(child)
                for segment, param_child in node.params:
                    if _segment_matches(segment, text):
                        following.append(param_child)
            nodes = following
            if not nodes:
                break
        for node in nodes:
            found.extend(node.ends)  # ("/files" is not "/files/{rest:path}": its "/" is missing, as in Starlette)
        if not found:
            return None
        best = min(found, key=lambda index: (self._rank[index], index))
        return self._values[best]


# ------------------------------------------------------------------ can one path match both?

# Pattern tokens for the overlap check: a character, one segment ([^/]+), or the rest (.*).
_SEG = "\x00seg"
_REST = "\x00rest"


def route_tokens(segments: Sequence[Segment]) -> list[str]:
    tokens: list[str] = []
    for kind, literal in segments:
        tokens.append("/")
        if kind == LITERAL:
            tokens.extend(literal)
        elif kind == TAIL:
            tokens.append(_REST)
        else:
            tokens.append(_SEG)  # {name:int} too: a superset, so the check errs on "they overlap"
    return tokens


def placeholder_tokens(pattern: str, *, trailing_slash: bool) -> list[str]:
    """A PathOwner pattern (``{name}`` placeholders anywhere, each ``[^/]+``) as tokens."""
    tokens: list[str] = []
    last = 0
    for match in _PARAM.finditer(pattern):
        tokens.extend(pattern[last : match.start()])
        tokens.append(_SEG)
        last = match.end()
    tokens.extend(pattern[last:])
    if trailing_slash:
        tokens.append("/")
    return tokens


def exempt_path_tokens(path: str) -> list[str]:
    """An ``exempt_paths`` entry: an exact path, or a prefix ending in ``*``."""
    if path.endswith("*"):
        return [*path[:-1], _REST]
    return list(path)


def _closure(tokens: Sequence[str], states: Iterable[tuple[int, bool]]) -> frozenset[tuple[int, bool]]:
    todo = list(states)
    seen: set[tuple[int, bool]] = set()
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        index, started = state
        if index < len(tokens) and (tokens[index] == _REST or tokens[index] == _SEG and started):
            todo.append((index + 1, False))
    return frozenset(seen)


def _step(tokens: Sequence[str], states: frozenset[tuple[int, bool]], char: str) -> frozenset[tuple[int, bool]]:
    moved: list[tuple[int, bool]] = []
    for index, _started in states:
        if index == len(tokens):
            continue
        token = tokens[index]
        if token == _REST:
            moved.append((index, False))
        elif token == _SEG:
            if char != "/":
                moved.append((index, True))
        elif token == char:
            moved.append((index + 1, False))
    return _closure(tokens, moved)


def patterns_overlap(a: Sequence[str], b: Sequence[str]) -> bool:
    """Is there a path both token patterns match? (A product of two small automata, at start-up.)"""
    alphabet = {t for t in (*a, *b) if len(t) == 1} | {"/", "\x01"}  # "\x01": any other character
    start = (_closure(a, [(0, False)]), _closure(b, [(0, False)]))
    todo = [start]
    seen = {start}
    while todo:
        states_a, states_b = todo.pop()
        if (len(a), False) in states_a and (len(b), False) in states_b:
            return True
        for char in alphabet:
            pair = (_step(a, states_a, char), _step(b, states_b, char))
            if pair[0] and pair[1] and pair not in seen:
                seen.add(pair)
                todo.append(pair)
    return False


def covers_every_path(tokens: Sequence[str]) -> bool:
    """Is this exempt pattern a catch-all (``/*``, ``/{rest:path}``)?"""
    return list(tokens) == ["/", _REST]
