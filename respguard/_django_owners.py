"""The write as Django parsed it: the values the view will see, read by the guard's own rules.

:func:`django_named` turns Django's parse of a request (``resolver_match`` kwargs,
``request.GET``/``POST``/``FILES`` and the JSON body) into the :class:`~respguard._inbound.Named`
every framework hands the rules, so a Django write is judged by the same value rules as a
Flask or FastAPI one (:func:`respguard._inbound.named_owners`): a repeated owner field, a
boolean, a non-integral number, an object or a nested list is refused.

Django parses a form for ``POST`` only (``request.POST``); DRF's ``request.data`` parses the
form of every method, and of a wildcard type (``multipart/*`` selects its ``MultiPartParser``),
so such a body is parsed here as DRF parses it, with Django's parsers (imported only then).
A JSON body is read as ``json.loads(request.body)`` reads it, and also in the charset its
Content-Type names, as DRF's ``JSONParser`` decodes it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ._inbound import NO_JSON, InboundError, InboundRule, JsonBodyOwner, Named, TooLarge
from ._write import MALFORMED_FORM, json_document

_URLENCODED = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


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


def _drf_form(request: Any, body: bytes, urlencoded: bool, multipart: bool) -> tuple[list[Any], list[str]]:
    """(fields, file field names) of a form Django leaves unparsed, as DRF's parsers read it."""
    fields: list[Any] = []
    files: list[str] = []
    if urlencoded:
        from django.http import QueryDict

        encoding = request.encoding
        if encoding is not None and encoding.lower() != "utf-8":
            # DRF decodes it in that charset, a view's QueryDict(request.body) as UTF-8 (Django
            # refuses a POST's): no one reading.
            raise InboundError(MALFORMED_FORM)
        parsed = QueryDict(body, encoding="utf-8")
        fields.extend((name, value) for name in parsed for value in parsed.getlist(name))
    if multipart:
        from django.conf import settings
        from django.core.files.uploadhandler import load_handler
        from django.http.multipartparser import MultiPartParser

        handlers = [load_handler(handler, request) for handler in settings.FILE_UPLOAD_HANDLERS]
        post, uploads = MultiPartParser(request.META, io.BytesIO(body), handlers, request.encoding).parse()
        fields.extend((name, value) for name in post for value in post.getlist(name))
        files.extend(uploads.keys())
    return fields, files


def django_named(rules: tuple[InboundRule, ...], request: Any, view_kwargs: Mapping[str, Any], limit: int) -> Named:
    """The write as Django (and DRF) parse it; its JSON body read as ``json.loads(request.body)``
    reads it, and as DRF's ``JSONParser`` decodes it (in the request's charset)."""
    document: object = NO_JSON
    keys = frozenset(key for rule in rules if isinstance(rule, JsonBodyOwner) for key in rule.names)
    content_type = request.content_type or ""
    if keys:
        # A view may json.loads(request.body) whatever the type says (fetch() sends JSON as
        # text/plain): read it as JSON wherever it parses; under a JSON type, malformed is refused.
        document = json_document(_body(request, limit), keys, strict=_is_json(content_type), charset=request.encoding)
    if request.method == "POST" and content_type in (_URLENCODED, _MULTIPART):
        form = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
        files = list(request.FILES.keys())
    else:  # Django parses no form here; DRF's request.data (or the view) may
        urlencoded, multipart = _form_readings(content_type, request.content_params)
        form, files = (
            _drf_form(request, _body(request, limit), urlencoded, multipart) if urlencoded or multipart else ([], [])
        )
    query = [(name, value) for name in request.GET for value in request.GET.getlist(name)]
    return Named(
        request.path,
        path_params=dict(view_kwargs),
        query=query,
        form=form,
        files=files,
        json=document,
    )
