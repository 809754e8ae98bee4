"""The write as Django parsed it: the values the view will see, read by the guard's own rules.

:func:`django_named` turns Django's parse of a request (``resolver_match`` kwargs,
``request.GET``/``POST``/``FILES`` and the JSON body) into the :class:`~respguard._inbound.Named`
every framework hands the rules, so a Django write is judged by the same value rules as a
Flask or FastAPI one (:func:`respguard._inbound.named_owners`): a repeated owner field, a
boolean, a non-integral number, an object or a nested list is refused.

Nothing here imports Django: the request is read through the attributes every
``HttpRequest`` has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._inbound import InboundRule, JsonBodyOwner, Named, TooLarge
from ._write import named_json


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def django_named(rules: tuple[InboundRule, ...], request: Any, view_kwargs: Mapping[str, Any], limit: int) -> Named:
    """The write as Django parsed it; its JSON body read as ``json.loads(request.body)`` reads it."""
    keys = frozenset(key for rule in rules if isinstance(rule, JsonBodyOwner) for key in rule.names)
    body: bytes | None = None
    if keys:
        body = request.body  # first: once Django has parsed a multipart body, it can't be read
        if len(body) > limit:
            raise TooLarge
    form = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    query = [(name, value) for name in request.GET for value in request.GET.getlist(name)]
    named = Named(request.path, path_params=dict(view_kwargs), query=query, form=form, files=list(request.FILES.keys()))
    if body is not None:
        # A view may json.loads(request.body) whatever the type says (fetch() sends JSON as
        # text/plain): read it as JSON wherever it parses; under a JSON type, malformed is refused.
        named.json = named_json(named, body, keys, strict=_is_json(request.content_type or ""))
    return named
