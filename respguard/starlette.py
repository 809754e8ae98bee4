"""Starlette/FastAPI helpers.

The middleware is :class:`respguard.ASGIMiddleware` (pure ASGI); for ``add_middleware``
use its typed twin::

    app.add_middleware(RespGuardMiddleware, guard=Guard(secret_key=SECRET, extractors=[JsonKeys("user_id")]))

With Starlette's ``AuthenticationMiddleware`` the requester is ``scope["user"].identity``;
otherwise tell respguard from the endpoint (:func:`set_requester`) or from a
FastAPI dependency (:func:`requester_dependency`).

Writes: with ``RespGuardMiddleware(..., write_check="app")``, a write whose requester only
the app knows (a FastAPI login dependency) is checked by :func:`requester_dependency`, right
after that login ran and before the endpoint: on the router's path parameters, the parsed
query, form and JSON body (Starlette caches the body, so the endpoint still reads it).
"""

from __future__ import annotations

import dataclasses
import email.message
import re
import typing
from collections.abc import Callable, MutableMapping
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response

from ._context import find_context, rebind, set_requester, unbind
from ._events import EventKind
from ._exchange import exchange_of
from ._guard import Guard
from ._identity import RequesterLike
from ._inbound import NO_JSON, FormOwner, JsonBodyOwner, Named, PathOwner, QueryOwner, Spellings, json_string
from ._verdict import Verdict
from ._write import WRITE_CHECK_KEY, WRITE_KEY, body_was_read, check_named, unchecked_write
from .asgi import ASGIApp, ASGIMiddleware, Receive, Scope, Send

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


_REFUSED_KEY = "respguard.write_refused"


class WriteRefused(Exception):
    """Raised by :func:`requester_dependency` (or :func:`check_writes`) to stop the endpoint of a
    refused write; :class:`RespGuardMiddleware` answers it with the block page. Without that
    middleware it is a 500: the write is refused either way."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__("respguard refused a cross-owner write")
        self.verdict = verdict


class RespGuardMiddleware:
    """:class:`~respguard.ASGIMiddleware` with typed arguments, for ``add_middleware``.

    Starlette's typed ``add_middleware`` can't check a class taking ``**options``
    under ``mypy --strict``; this one takes a prepared :class:`~respguard.Guard`::

        app.add_middleware(RespGuardMiddleware, guard=Guard(secret_key=..., extractors=[...]))

    :param write_check: ``"middleware"`` (default): inbound rules are checked before the app
        runs, with the requesters known then. ``"app"``: a write whose requester only the
        app knows is checked in the app by :func:`requester_dependency` (or
        :func:`check_writes`); a write that reaches a 2xx/3xx response without that check
        is answered with the block page (the endpoint has run: give every write route the
        dependency).
    """

    def __init__(self, app: ASGIApp, guard: Guard, write_check: Literal["middleware", "app"] = "middleware") -> None:
        if write_check not in ("middleware", "app"):
            raise ValueError(f"write_check must be 'middleware' or 'app', not {write_check!r}")
        self.app = app
        self.guard = guard
        self.write_check = write_check
        # Wrapped, not subclassed: the compiled build's classes take no interpreted subclass.
        self.guarded = ASGIMiddleware(app, guard)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.guarded(scope, receive, send)
            return
        if self.write_check == "app":
            scope[WRITE_CHECK_KEY] = "app"
        started = False
        blocked = False

        async def guarded_send(message: Any) -> None:
            nonlocal started, blocked
            if blocked:
                return
            if message["type"] == "http.response.start":
                started = True
                refused = scope.get(_REFUSED_KEY)
                if isinstance(refused, Verdict):  # the app's error page for a refused write
                    blocked = True
                    await _send_verdict(send, refused)
                    return
                if message.get("status", 500) < 400 and unchecked_write(scope) and _may_name_owners(scope):
                    verdict = _refuse_unchecked(scope)
                    if verdict is not None:
                        blocked = True
                        await _send_verdict(send, verdict)
                        return
            await send(message)

        try:
            await self.guarded(scope, receive, guarded_send)
        except WriteRefused as refused:
            if blocked:
                return  # the block page went out in place of the app's error page
            if started:
                raise
            await _send_verdict(send, refused.verdict)


def _may_name_owners(scope: Scope) -> bool:
    """Could the unchecked write have named an owner? Where the middleware's parse found one and
    left it to the app (it knew no requester), or the route reads an owner field under another
    name than its rule's (an ``alias``, an ``AliasPath``, a ``Json[...]`` field, the whole body as
    one parameter), or its path is a ``PathOwner`` pattern the request spelled otherwise: what the
    in-app check would have read and the middleware did not.
    A write route that reads no owner field at all (a search, a log-out) runs without the check."""
    pending = scope.get(WRITE_KEY)
    if pending is None or pending.owners and not pending.decided:
        return True  # left to the app, which never read it
    exchange = exchange_of(find_context(scope))
    if exchange is None:
        return True
    rules = exchange.guard.inbound
    spellings = _route_spellings(rules, scope.get("route"))
    if spellings is not None and (
        spellings.json or spellings.paths or spellings.form or spellings.query or spellings.whole or spellings.strings
    ):
        return True
    # Decided before the app (the requester was known then), or nothing found: only what the route
    # reads besides the rules' own names is new (a pattern the path as written did not match).
    path = scope.get("path", "")
    named = Named(path, route=_route_template(scope))
    return any(isinstance(rule, PathOwner) and rule.routed(named) and rule.value_in(path) is None for rule in rules)


def _refuse_unchecked(scope: Scope) -> Verdict | None:
    exchange = exchange_of(find_context(scope))
    if exchange is None:
        return None
    pending = scope.get(WRITE_KEY)
    if pending is not None:
        pending.checked = True
    verdict: Verdict | None = exchange.refuse(EventKind.CROSS_OWNER_WRITE, "write not checked before the endpoint ran")
    return verdict


async def _send_verdict(send: Send, verdict: Verdict) -> None:
    await send({"type": "http.response.start", "status": verdict.status, "headers": verdict.headers})
    await send({"type": "http.response.body", "body": verdict.body or b"", "more_body": False})


async def write_refusal(request: Request) -> Response | None:
    """Check a write on what Starlette parsed, after the app's login (call :func:`set_requester`
    first): the block page to return, or ``None`` (the endpoint may go on).

    For plain Starlette endpoints; FastAPI apps use :func:`requester_dependency`. Without
    respguard's middleware, or for a request the inbound rules don't apply to, ``None``.
    """
    verdict = await _write_verdict(request)
    if verdict is None:
        return None
    response = Response(verdict.body or b"", status_code=verdict.status)
    response.raw_headers = list(verdict.headers)
    return response


async def _write_verdict(request: Request) -> Verdict | None:
    scope: MutableMapping[str, Any] = request.scope
    exchange = exchange_of(find_context(scope))
    if exchange is None:
        return None
    if not exchange.guard.checks_inbound(exchange.request):
        return None
    form: list[tuple[str, object]] = []
    files: list[str] = []
    document: object = NO_JSON
    route = scope.get("route")
    spellings = _route_spellings(exchange.guard.inbound, route)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip(" \t").lower()
    # A route with a Json[...] field reads JSON out of a form's strings, which the middleware does
    # not read without a FormOwner rule: FastAPI parsed the form (or the body) before any dependency.
    json_in_form = spellings is not None and spellings.strings and media in _FORM_TYPES
    if body_was_read(scope) or json_in_form:
        # Starlette caches what it parsed on the request, so the endpoint reads it again. A form
        # is parsed from the stream (FastAPI may have done so already): the middleware's parse
        # covers JSON in a form body.
        if media in _FORM_TYPES:
            parsed = await request.form()
            for key, value in parsed.multi_items():
                if isinstance(value, str):
                    form.append((key, value))
                else:
                    files.append(key)
        elif (await request.body()).strip():
            try:
                document = await request.json()
            except (ValueError, RecursionError):
                document = NO_JSON
    query: list[tuple[str, object]] = list(request.query_params.multi_items())
    if spellings is not None:
        form = spellings.rename(form, spellings.form)
        files = [spellings.form.get(name, name) for name in files]
        query = spellings.rename(query, spellings.query)
        whole = NO_JSON if spellings.whole is None else await _fastapi_body(request, route)
        if spellings.strings:  # a Json[...] form field (JSON metadata beside an upload) or query parameter
            documents = [json_string(value) for _, value in (*form, *query) if isinstance(value, str)]
            found = [item for item in documents if item is not NO_JSON]
            if found:
                document = found if document is NO_JSON else [document, *found]
        document = spellings.document(document, whole)
    named = Named(
        scope.get("path", ""),
        path_params=request.path_params,
        route=_route_template(scope),
        query=query,
        form=form,
        files=files,
        json=document,
    )
    verdict: Verdict | None = check_named(exchange, scope, lambda: named)
    return verdict


async def _fastapi_body(request: Request, route: Any) -> object:
    """What FastAPI validates a route's body parameter from (``get_request_handler``): the parsed
    JSON where it reads the body as JSON (an ``application/json`` or ``+json`` type as
    ``email.message`` parses it; no type, where the route's ``strict_content_type`` is off), else
    the body's bytes, from which Pydantic reads a ``str`` or an ``int`` (``text/plain`` ``1``).
    FastAPI has read the body before any dependency: it is Starlette's cached copy."""
    body = await request.body()
    if not body:
        return NO_JSON
    content_type = request.headers.get("content-type")
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        reads_json = message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        )
    else:
        strict = getattr(route, "strict_content_type", False)  # FastAPI < 0.123: no such option
        reads_json = not getattr(strict, "value", strict)  # a DefaultPlaceholder holds its value
    if not reads_json:
        return body.decode("utf-8", "replace")
    try:
        return await request.json()
    except (ValueError, RecursionError):
        return NO_JSON  # FastAPI answers 422


def _names_of(name: str, info: Any) -> set[str]:
    """Every key Pydantic may validate a field from: its name, ``alias``, ``validation_alias``."""
    names = {name}
    for alias in (getattr(info, "alias", None), getattr(info, "validation_alias", None)):
        if isinstance(alias, str):
            names.add(alias)
        for choice in getattr(alias, "choices", ()) or ():
            if isinstance(choice, str):
                names.add(choice)
    return names


def _paths_of(info: Any) -> list[tuple[str | int, ...]]:
    """The alias paths a field is validated from (an ``AliasPath`` alias, or one of its ``AliasChoices``)."""
    alias = getattr(info, "validation_alias", None)
    paths: list[tuple[str | int, ...]] = []
    for choice in [alias, *(getattr(alias, "choices", ()) or ())]:
        path = getattr(choice, "path", None)
        if isinstance(path, list) and path and all(isinstance(step, (str, int)) for step in path):
            paths.append(tuple(path))
    return paths


def _model_spellings(
    annotation: Any,
    keys: frozenset[str],
    out: dict[str, str],
    seen: set[tuple[int, int]],
    paths: dict[tuple[str | int, ...], str] | None,
) -> bool:
    """Spellings of owner keys among a model's fields, at any depth (``list[Model]``, ``Model | None``).
    ``paths``: where a JSON body's alias paths go; ``None`` for a form's or a query's model, whose
    fields Pydantic validates from a flat mapping (a repeated field is a list there, so
    ``AliasPath("cid", 1)`` is the second ``cid``): the path's first key is a spelling of the owner.
    ``True``: some field is ``Json[...]`` (Pydantic parses its string as JSON)."""
    strings = False
    stack: list[tuple[Any, dict[str, Any] | None]] = [(annotation, None)]
    while stack:
        node, inherited = stack.pop()
        kind = _class_of(node)
        config = _config_of(kind, inherited)
        if (id(node), id(config)) in seen:
            continue
        seen.add((id(node), id(config)))
        strings = strings or _is_json(node) or any(_is_json(item) for item in getattr(node, "__metadata__", ()))
        for name, info, annotation in _fields_of(kind, config):
            strings = strings or any(_is_json(item) for item in getattr(info, "metadata", ()) or ())
            names = _names_of(name, info)
            owner = next((key for key in sorted(names) if key in keys), None)
            if owner is not None:
                out.update((spelling, owner) for spelling in names if spelling != owner)
                if paths is None:
                    out.update((path[0], owner) for path in _paths_of(info) if isinstance(path[0], str))
                else:
                    paths.update((path, owner) for path in _paths_of(info))
            for index, item_owner in _positional_owners(annotation, keys):
                # a NamedTuple field: Pydantic reads it from a JSON array too, by position
                if paths is None:
                    out.update((spelling, item_owner) for spelling in names)
                else:
                    paths.update(((spelling, index), item_owner) for spelling in names)
            stack.append((annotation, config))
        stack.extend((item, config) for item in getattr(node, "__args__", ()) or ())
        stack.extend((item, config) for item in _aliased(node))
    return strings


def _class_of(node: Any) -> Any:
    """The class whose fields Pydantic validates a type from: a parametrized generic dataclass's or
    ``TypedDict``'s (``Wrap[str]``, a typing alias that forwards no dunder attribute) is its origin's."""
    origin = typing.get_origin(node)
    if isinstance(origin, type) and (dataclasses.is_dataclass(origin) or _is_typeddict(origin)):
        return origin
    return node


def _config_of(node: Any, inherited: dict[str, Any] | None) -> dict[str, Any] | None:
    """The config Pydantic builds a type's fields under: a model's ``model_config``, a Pydantic
    dataclass's or a ``@with_config`` type's ``__pydantic_config__``; a standard dataclass or
    ``TypedDict`` without one is built under the config of the type it is a field of
    (pydantic#10917: a model's ``alias_generator`` names its ``TypedDict`` field's keys too)."""
    own = getattr(node, "model_config", None) if isinstance(getattr(node, "model_fields", None), dict) else None
    if own is None and isinstance(node, type) and _is_typeddict(node):
        # a TypedDict has no real MRO: Pydantic looks its bases' config up (a @with_config base's)
        try:
            from pydantic._internal._decorators import get_attribute_from_bases
        except ImportError:  # pragma: no cover - a Pydantic without it: its own attribute only
            own = getattr(node, "__pydantic_config__", None)
        else:
            try:
                own = get_attribute_from_bases(node, "__pydantic_config__")
            except AttributeError:
                own = None
    elif own is None:
        own = getattr(node, "__pydantic_config__", None)
    return own if isinstance(own, dict) else inherited


def _positional_owners(annotation: Any, keys: frozenset[str]) -> list[tuple[int, str]]:
    """``(index, owner key)`` of a ``NamedTuple`` type's owner fields (``Optional`` and
    ``Annotated`` unwrapped): the items of the array Pydantic validates it from that name owners."""
    found: list[tuple[int, str]] = []
    stack = [annotation]
    while stack:
        node = stack.pop()
        names = getattr(node, "_fields", None)
        if isinstance(node, type) and issubclass(node, tuple) and isinstance(names, tuple):
            found.extend((index, name) for index, name in enumerate(names) if name in keys)
        elif typing.get_origin(node) in (typing.Union, typing.Annotated) or type(node).__name__ == "UnionType":
            stack.extend(getattr(node, "__args__", ()) or ())
    return found


def _is_json(item: object) -> bool:
    """Is this Pydantic's ``Json`` marker (``Json[Model]`` is ``Annotated[Model, Json]``)?"""
    kind = item if isinstance(item, type) else type(item)
    return kind.__name__ == "Json" and kind.__module__ == "pydantic.types"


def _fields_of(node: Any, config: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """``(name, FieldInfo or None, annotation)`` of each field Pydantic validates a type's object
    from: a model's, a Pydantic dataclass's (``__pydantic_fields__``), a standard dataclass's, a
    ``TypedDict``'s or a ``NamedTuple``'s (their ``Field(...)``: a default, or ``Annotated`` metadata,
    with the aliases the ``alias_generator`` of ``config``, the one it is built under, makes)."""
    fields = getattr(node, "model_fields", None)
    if not isinstance(fields, dict):
        fields = getattr(node, "__pydantic_fields__", None)
    if isinstance(fields, dict):
        return [(name, info, getattr(info, "annotation", None)) for name, info in fields.items()]
    if not isinstance(node, type) or not (
        dataclasses.is_dataclass(node) or _is_typeddict(node) or _is_namedtuple(node)
    ):
        return []
    try:
        hints = typing.get_type_hints(node, include_extras=True)
    except Exception:  # an unresolvable forward reference: Pydantic could not build it either
        return []
    if dataclasses.is_dataclass(node):
        defaults = {f.name: f.default for f in dataclasses.fields(node)}
    else:  # a NamedTuple's defaults (Pydantic validates one from an object too, under its aliases)
        defaults = dict(getattr(node, "_field_defaults", None) or {})
    generator = config.get("alias_generator") if config is not None else None
    found: list[tuple[str, Any, Any]] = []
    for name, hint in hints.items():
        candidates = [defaults.get(name), *getattr(hint, "__metadata__", ())]
        info = next((item for item in candidates if type(item).__name__ == "FieldInfo"), None)
        if generator is not None:
            info = _Generated(info, name, generator)
        found.append((name, info, hint))
    return found


class _Generated:
    """A field's ``FieldInfo`` (or none) with the aliases its type's ``alias_generator`` makes: a
    ``validation_alias`` of every one (Pydantic takes the field's own alias first; either is read)."""

    __slots__ = ("alias", "validation_alias")

    def __init__(self, info: Any, name: str, generator: Any) -> None:
        self.alias = getattr(info, "alias", None)
        made: list[Any] = [getattr(info, "validation_alias", None)]
        for make in (generator, getattr(generator, "alias", None), getattr(generator, "validation_alias", None)):
            if callable(make) and not hasattr(make, "validation_alias"):  # a function, not an AliasGenerator
                try:
                    made.append(make(name))
                except Exception:  # a generator that fails: Pydantic could not build the type either
                    pass
        self.validation_alias = _Choices(
            [c for alias in made for c in [alias, *(getattr(alias, "choices", ()) or ())] if c is not None]
        )


class _Choices:
    """Aliases to read a field under, as ``AliasChoices`` holds them (strings, alias paths)."""

    __slots__ = ("choices",)

    def __init__(self, choices: list[Any]) -> None:
        self.choices = choices


def _is_namedtuple(node: type) -> bool:
    return issubclass(node, tuple) and isinstance(getattr(node, "_fields", None), tuple)


def _aliased(node: Any) -> list[Any]:
    """The type a type alias names, which Pydantic validates in its place: a ``TypeAliasType``'s
    value (``type Cards = list[Card]``, or a parametrized one's origin's) and a ``NewType``'s
    supertype."""
    origin = typing.get_origin(node) or node
    if type(origin).__name__ == "TypeAliasType":
        return [getattr(origin, "__value__", None)]
    if isinstance(node, typing.NewType):
        return [node.__supertype__]
    return []


def _is_typeddict(node: type) -> bool:
    if typing.is_typeddict(node):
        return True
    try:
        import typing_extensions
    except ImportError:  # pragma: no cover - Pydantic depends on it
        return False
    return bool(typing_extensions.is_typeddict(node))


def _route_spellings(rules: tuple[Any, ...], route: Any) -> Spellings | None:
    """What a FastAPI route reads owner fields under (``None``: not a FastAPI route)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    json_keys = frozenset(name for rule in rules if isinstance(rule, JsonBodyOwner) for name in rule.names)
    form_keys = frozenset(name for rule in rules if isinstance(rule, FormOwner) for name in rule.names)
    query_keys = frozenset(name for rule in rules if isinstance(rule, QueryOwner) for name in rule.names)
    spellings = Spellings()
    body: list[Any] = []
    seen: set[tuple[int, int]] = set()
    query_seen: set[tuple[int, int]] = set()
    stack = [dependant]
    while stack:
        node = stack.pop()
        stack.extend(getattr(node, "dependencies", ()) or ())
        for field in getattr(node, "query_params", ()) or ():
            _add_param(field, query_keys, spellings.query)
            # a query parameter model (``Annotated[Filter, Query()]``): FastAPI reads its fields' aliases
            info = getattr(field, "field_info", None)
            strings = _model_spellings(getattr(info, "annotation", None), query_keys, spellings.query, query_seen, None)
            # a Json[...] query parameter (``meta: Annotated[Json[Meta], Query()]``): its string is parsed
            strings = strings or any(_is_json(item) for item in getattr(info, "metadata", ()) or ())
            spellings.strings = spellings.strings or strings
        body.extend(getattr(node, "body_params", ()) or ())
    # One reading of the whole body, as FastAPI's route reads it (``is_body_form``): a form where
    # any body parameter is a Form() or File(), every Body() parameter then taken from the form too.
    form = _reads_form(route, body)
    for field in body:
        info = getattr(field, "field_info", None)
        _add_param(field, form_keys if form else json_keys, spellings.form if form else spellings.json)
        strings = _model_spellings(
            getattr(info, "annotation", None),
            form_keys if form else json_keys,
            spellings.form if form else spellings.json,
            seen,
            None if form else spellings.paths,
        )
        strings = strings or any(_is_json(item) for item in getattr(info, "metadata", ()) or ())
        spellings.strings = spellings.strings or strings
    embedded = getattr(route, "_embed_body_fields", None)
    if embedded is None and body:
        # An older FastAPI has no such flag: a lone body field is the whole body unless its
        # FieldInfo says embed (Body(embed=True), and every Form() and File()), as its
        # request_body_to_args reads it.
        embedded = bool(getattr(getattr(body[0], "field_info", None), "embed", False))
    if len({getattr(field, "name", None) for field in body}) == 1 and embedded is not True:
        field = body[0]
        info = getattr(field, "field_info", None)
        if getattr(getattr(info, "annotation", None), "model_fields", None) is None:
            names = _names_of(getattr(field, "name", ""), info) | {getattr(field, "alias", "")}
            spellings.whole = next((key for key in sorted(names) if key in json_keys), None)
    return spellings


def _reads_form(route: Any, body: list[Any]) -> bool:
    """Does FastAPI read this route's body as a form? Its ``body_field`` is a ``Form`` (``File`` is
    one) where any body parameter is (``get_body_field``); the parameters themselves otherwise."""
    from fastapi import params

    body_field = getattr(route, "body_field", None)
    if body_field is not None:
        return isinstance(getattr(body_field, "field_info", None), params.Form)
    return any(isinstance(getattr(field, "field_info", None), params.Form) for field in body)


def _add_param(field: Any, keys: frozenset[str], out: dict[str, str]) -> None:
    names = _names_of(getattr(field, "name", ""), getattr(field, "field_info", None))
    alias = getattr(field, "alias", None)
    if isinstance(alias, str):
        names.add(alias)
    owner = next((key for key in sorted(names) if key in keys), None)
    if owner is not None:
        out.update((spelling, owner) for spelling in names if spelling != owner)


def _route_template(scope: MutableMapping[str, Any]) -> str | None:
    """The matched route's path, as the app is mounted (``root_path`` + ``route.path``), its
    converters dropped (``{customer_id:path}`` is ``{customer_id}``): the path a
    :class:`~respguard.PathOwner` pattern names, where the request's own path is spelled otherwise."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str):
        return None
    return _CONVERTER.sub(r"{\1}", str(scope.get("root_path", "")) + path)


_CONVERTER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[^}]*\}")


async def check_writes(request: Request) -> None:
    """A FastAPI dependency: refuse a cross-owner write before the endpoint runs.

    It must run after the app's login: put it after the login dependency in the endpoint's
    parameters, or use :func:`requester_dependency`, which runs it itself.
    """
    verdict = await _write_verdict(request)
    if verdict is not None:
        # Kept in the scope too: an error middleware inside respguard may turn the exception into
        # a 500 before respguard sees it; respguard sends the block page in its place.
        request.scope[_REFUSED_KEY] = verdict
        raise WriteRefused(verdict)


def requester_dependency(
    dependency: Callable[..., Any], identity: Callable[[Any], RequesterLike] = lambda user: user
) -> Callable[..., Any]:
    """Wrap a FastAPI dependency that returns the current user so respguard learns it.

    ``identity`` maps the user object to its id (or an :class:`~respguard.Identity`)::

        CurrentUser = Depends(requester_dependency(get_current_user, lambda u: u.id))

    With inbound rules, a write is then checked right here, after the login and before the
    endpoint (see :class:`RespGuardMiddleware`'s ``write_check``). Without respguard's
    middleware it only returns the user.
    """
    from fastapi import Depends

    async def publish(request: Request, user: Any = Depends(dependency)) -> Any:  # noqa: B008
        set_requester(request, identity(user) if user is not None else None)
        await check_writes(request)
        return user

    return publish


__all__ = [
    "RespGuardMiddleware",
    "WriteRefused",
    "check_writes",
    "rebind",
    "requester_dependency",
    "set_requester",
    "unbind",
    "write_refusal",
]
