"""respguard: refuse to render a response that carries another user's personal data.

The core (this package minus :mod:`respguard.flask` and :mod:`respguard.starlette`)
imports no web framework.
"""

from importlib.machinery import EXTENSION_SUFFIXES

from . import _exchange as _exchange_module
from ._context import add_owner, rebind, set_requester, unbind
from ._events import Action, AuditEvent, EventKind
from ._exchange import Exchange
from ._extractors import CustomExtractor, Extractor, HtmlAttribute, JsonKeys, OwnerHeader, ScanError
from ._guard import DEFAULT_MAX_BODY_BYTES, Guard
from ._identity import Identity
from ._inbound import FormOwner, JsonBodyOwner, PathOwner, QueryOwner
from ._pii import BulkPII
from ._routes import Route
from ._scan import RequestInfo, ResponseView
from ._verdict import BlockPage, Owner, Verdict
from .asgi import ASGIMiddleware
from .wsgi import WSGIMiddleware

__version__ = "0.1.0"

#: Whether the core runs compiled (mypyc, built with ``RESPGUARD_COMPILE=1``) or as pure Python.
compiled: bool = (_exchange_module.__file__ or "").endswith(tuple(EXTENSION_SUFFIXES))

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "ASGIMiddleware",
    "Action",
    "AuditEvent",
    "BlockPage",
    "BulkPII",
    "CustomExtractor",
    "EventKind",
    "Exchange",
    "Extractor",
    "FormOwner",
    "Guard",
    "HtmlAttribute",
    "Identity",
    "JsonBodyOwner",
    "JsonKeys",
    "Owner",
    "OwnerHeader",
    "PathOwner",
    "QueryOwner",
    "RequestInfo",
    "ResponseView",
    "Route",
    "ScanError",
    "Verdict",
    "WSGIMiddleware",
    "compiled",
    "add_owner",
    "rebind",
    "set_requester",
    "unbind",
]
