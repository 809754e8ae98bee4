"""The write as Django parsed it: the values the view will see, read by the guard's own rules.

:func:`django_named` turns Django's parse of a request (``resolver_match`` kwargs,
``request.GET``/``POST``/``FILES`` and the JSON body) into the :class:`~respguard._inbound.Named`
every framework hands the rules, so a Django write is judged by the same value rules as a
Flask or FastAPI one (:func:`respguard._inbound.named_owners`): a repeated owner field, a
boolean, a non-integral number, an object or a nested list is refused.

Django parses a form for ``POST`` only (``request.POST``); DRF's ``request.data`` parses the
form of every method, and of a wildcard type (``multipart/*`` selects its ``MultiPartParser``),
so such a body is parsed as DRF parses it, with Django's parsers (``parse_form``, which the
adapter passes in). A JSON body is read as ``json.loads(request.body)`` reads it, and also in
the charset its Content-Type names, as DRF's ``JSONParser`` decodes it.

Nothing here imports Django: the request is read through the attributes every
``HttpRequest`` has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._inbound import InboundRule, JsonBodyOwner, Named, Spellings, TooLarge
from ._write import named_json

#: ``(request, body, urlencoded, multipart) -> (fields, file field names)``: a form Django leaves
#: unparsed, as DRF's parsers read it (:func:`respguard.django.drf_form`).
FormParser = Callable[[Any, bytes, bool, bool], tuple[list[Any], list[str]]]

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def querydict_pairs(values: Any) -> list[tuple[str, object]]:
    """A Django ``QueryDict``'s fields in order, every repeat kept (``getlist``, not the last value)."""
    return [(name, value) for name in values for value in values.getlist(name)]


def _body(request: Any, limit: int) -> bytes:
    body: bytes = request.body
    if len(body) > limit:
        raise TooLarge
    return body


def _form_readings(content_type: str, params: Mapping[str, str]) -> tuple[bool, bool]:
    """(urlencoded, multipart): which of DRF's form parsers a Content-Type selects. DRF matches
    wildcards either way (``*/*``, ``multipart/*``, ``*/x-www-form-urlencoded``); a multipart
    reading needs a boundary to read anything."""
    main, _, sub = content_type.partition("/")
    urlencoded = main in ("application", "*") and sub in ("x-www-form-urlencoded", "*")
    multipart = main in ("multipart", "*") and sub in ("form-data", "*") and "boundary" in params
    return urlencoded, multipart


def django_named(
    rules: tuple[InboundRule, ...],
    request: Any,
    view_kwargs: Mapping[str, Any],
    limit: int,
    parse_form: FormParser,
    route: str | None = None,
    spellings: Spellings | None = None,
) -> Named:
    """The write as Django (and DRF) parse it; its JSON body read as ``json.loads(request.body)``
    reads it, and as DRF's ``JSONParser`` decodes it (in the request's charset). ``route``: the
    ``PathOwner`` pattern whose route Django matched (:func:`respguard.django.routed_pattern`);
    ``spellings``: the view's serializer's names for owner fields (:func:`respguard.django.drf_spellings`)."""
    keys = frozenset(key for rule in rules if isinstance(rule, JsonBodyOwner) for key in rule.names)
    content_type = request.content_type or ""
    body: bytes | None = None
    if keys:
        body = _body(request, limit)  # first: once Django has parsed a multipart body, it can't be read
    if request.method == "POST" and content_type in (_URLENCODED, _MULTIPART):
        form = querydict_pairs(request.POST)
        files = list(request.FILES.keys())
    else:  # Django parses no form here; DRF's request.data (or the view) may
        urlencoded, multipart = _form_readings(content_type, request.content_params)
        form, files = (
            parse_form(request, _body(request, limit), urlencoded, multipart) if urlencoded or multipart else ([], [])
        )
    query = querydict_pairs(request.GET)
    if spellings is not None:
        form = Spellings.rename(form, spellings.form)
        files = [spellings.form.get(name, name) for name in files]
    named = Named(request.path, path_params=dict(view_kwargs), route=route, query=query, form=form, files=files)
    if body is not None:
        # A view may json.loads(request.body) whatever the type says (fetch() sends JSON as
        # text/plain): read it as JSON wherever it parses; under a JSON type, malformed is refused.
        named.json = named_json(named, body, keys, strict=_is_json(content_type), charset=request.encoding)
        if spellings is not None:
            named.json = spellings.document(named.json)
    return named
