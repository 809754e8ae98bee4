"""Django middleware: Django's response, turned into exchange events the way ``wsgi.py`` does.

Usage (``settings.py``)::

    INSTALLED_APPS = [..., "respguard.django.RespGuardConfig"]   # system checks
    MIDDLEWARE = [
        "django.middleware.gzip.GZipMiddleware",          # compression outside respguard
        "respguard.django.RespGuardMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        ...,
    ]
    RESPGUARD = {"extractors": [respguard.JsonKeys("customer_id")], "login_paths": ["/login/"]}

``settings.RESPGUARD`` holds :class:`~respguard.Guard`'s options, checked the same way (a
``ValueError`` naming the option); ``secret_key`` defaults to ``SECRET_KEY`` (with
``SECRET_KEY_FALLBACKS`` before it, for rotation). The requester is ``request.user.pk``
when ``request.user.is_authenticated`` (any ``django.contrib.auth`` backend, and Django
REST Framework's authentication, which sets ``request.user`` inside the view: it is read
when the response is ready), unless the view called :func:`respguard.set_requester`.
``login()``/``logout()`` re-bind the browser (``user_logged_in``/``user_logged_out``).
Inbound rules are checked in ``process_view``, after the authentication middleware, on the
values Django parsed (:mod:`respguard._django_owners`). The middleware runs under Django's
WSGI and ASGI handlers (sync and async capable).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core import checks
from django.core.files.uploadhandler import load_handler
from django.http import HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParser
from django.urls import Resolver404, resolve
from django.utils import translation

from ._context import ASGI_KEY, WSGI_KEY, RequestContext, context_of, rebind, unbind
from ._django_owners import django_named, querydict_pairs
from ._exchange import HOLD, Action, Exchange, State, exchange_of
from ._guard import GUARD_OPTIONS, Guard
from ._headers import RawHeaders
from ._identity import RequesterLike
from ._inbound import FormOwner, InboundError, JsonBodyOwner, PathOwner, Spellings
from ._scan import RequestInfo
from ._verdict import Verdict
from ._write import MALFORMED_FORM, Unreadable, read_owners
from .wsgi import environ_headers

__all__ = ["RespGuardConfig", "RespGuardMiddleware", "begin_exchange", "django_requester", "guard_from_settings"]

MIDDLEWARE_PATH = "respguard.django.RespGuardMiddleware"
_OPTIONS = frozenset(GUARD_OPTIONS)
_HELD = (State.HOLD, State.SNIFF)


# --------------------------------------------------------------------------- configuration


def guard_options() -> dict[str, Any]:
    """``settings.RESPGUARD`` as :class:`~respguard.Guard` keywords (``secret_key`` from Django's own)."""
    configured = getattr(settings, "RESPGUARD", {})
    if not isinstance(configured, Mapping):
        raise ValueError("settings.RESPGUARD must be a dict of respguard options")
    unknown = set(configured) - _OPTIONS
    if unknown:
        raise ValueError(f"settings.RESPGUARD: unknown option(s) {sorted(unknown)}")
    options = dict(configured)
    if "secret_key" not in options:
        secret = getattr(settings, "SECRET_KEY", "")
        if not secret:
            raise ValueError("secret_key must be a non-empty str/bytes (settings.RESPGUARD or SECRET_KEY)")
        options["secret_key"] = [*getattr(settings, "SECRET_KEY_FALLBACKS", []), secret]
    return options


def guard_from_settings() -> Guard:
    """The :class:`~respguard.Guard` ``settings.RESPGUARD`` describes (``ValueError`` if it is wrong)."""
    return Guard(**guard_options())


def django_requester(request: Any) -> RequesterLike:
    """``request.user.pk`` if the user is authenticated (``django.contrib.auth``, DRF), else ``None``."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "is_authenticated", False) is not True:
        return None
    pk = getattr(user, "pk", None)
    if isinstance(pk, bool) or pk is None:
        return None
    if isinstance(pk, (str, int)):
        return pk
    return str(pk)  # a UUID primary key


# --------------------------------------------------------------------------- the middleware


class _Refusal(HttpResponse):  # type: ignore[misc]
    """The block page ``process_view`` answered with: the write was refused before the view ran."""

    respguard_exchange: Exchange | None = None
    respguard_verdict: Verdict | None = None


class RespGuardMiddleware:
    """Guard every response of a Django project (``MIDDLEWARE``; see the module docstring)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[Any], Any], guard: Guard | None = None) -> None:
        self.get_response = get_response
        self.guard = guard if guard is not None else guard_from_settings()
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self._acall(request)
        exchange = begin_exchange(self.guard, request)
        try:
            response = self.get_response(request)
        finally:
            exchange.detach(answered=False)  # the view and its write check have run
        return self._finish(exchange, response)

    async def _acall(self, request: Any) -> Any:
        exchange = begin_exchange(self.guard, request)
        try:
            response = await self.get_response(request)
        finally:
            exchange.detach(answered=False)  # the view and its write check have run
        if isinstance(response, _Refusal) and response.respguard_exchange is exchange:
            return _refused(response)
        if not exchange.context.requester_set and self.guard.requester is None:
            # request.user may need the database: resolve it in a thread, before the exchange asks.
            requester = await sync_to_async(django_requester)(request)
            exchange.fallback = lambda _info: requester
        if response.streaming and response.is_async:
            return await self._afinish(exchange, response)
        if response.streaming:
            return await sync_to_async(self._finish)(exchange, response)
        return self._finish(exchange, response)

    def process_view(self, request: Any, view_func: Any, view_args: Any, view_kwargs: dict[str, Any]) -> Any:
        """Refuse a write that names another owner before the view runs (after authentication)."""
        guard = self.guard
        try:
            exchange = exchange_of(context_of(request))
        except LookupError:
            return None
        if exchange is None or not guard.inbound or not guard.checks_inbound(exchange.request):
            return None
        verdict: Verdict | None
        _authenticate_drf_view(request, view_func)
        limit = guard.max_body_bytes
        route = routed_pattern(guard.inbound, request, view_kwargs)
        spellings = drf_spellings(guard.inbound, view_func)
        owners = read_owners(
            exchange, lambda: django_named(guard.inbound, request, view_kwargs, limit, drf_form, route, spellings)
        )
        verdict = owners.verdict if isinstance(owners, Unreadable) else exchange.check_write(owners)
        if verdict is None:
            return None
        refusal = _Refusal()
        _as_block_page(refusal, verdict)
        refusal.respguard_exchange = exchange
        refusal.respguard_verdict = verdict
        return refusal

    # ------------------------------------------------------------------ the response
    def _finish(self, exchange: Exchange, response: Any) -> Any:
        if isinstance(response, _Refusal) and response.respguard_exchange is exchange:
            return _refused(response)
        raw = response_headers(response)
        action = exchange.start(response.status_code, raw)
        if exchange.state == State.PASS:
            return _passed(response, raw, action)  # the body goes out untouched (a file wrapper too)
        if exchange.state == State.DISCARD:
            return _blocked(response, action)
        if exchange.state == State.DONE:
            return _without_body(response, raw, action)
        if not response.streaming:
            return _document(exchange, response, raw, action)
        if response.is_async:
            chunks: Iterator[bytes] = iter(async_to_sync(_collect)(response.streaming_content))
        else:
            chunks = iter(response.streaming_content)
        if exchange.state == State.STREAM:
            response.streaming_content = _scanned(exchange, chunks)
            response.file_to_stream = None
            return _passed(response, raw, action)
        try:
            head, prefix = _hold(exchange, chunks)
        except BaseException:
            _close_resources(response)  # the app's iterator failed: Django never gets this response
            exchange.detach()
            raise
        if head.head is not None and head.head.blocked:
            return _blocked(response, head)
        rest: Iterable[bytes] = chunks if exchange.state == State.PASS else ()
        response.streaming_content = itertools.chain([prefix] if prefix else [], rest)
        response.file_to_stream = None
        return _passed(response, raw, head)

    async def _afinish(self, exchange: Exchange, response: Any) -> Any:
        """An async streaming response under the ASGI handler: read it with ``async for``."""
        raw = response_headers(response)
        action = exchange.start(response.status_code, raw)
        if exchange.state == State.PASS:
            return _passed(response, raw, action)
        if exchange.state == State.DISCARD:
            return _blocked(response, action)
        if exchange.state == State.DONE:
            return _without_body(response, raw, action)
        chunks = aiter(response.streaming_content)
        if exchange.state == State.STREAM:
            response.streaming_content = _ascanned(exchange, chunks)
            return _passed(response, raw, action)
        head: Action = action
        prefix = b""
        async for chunk in chunks:
            head = exchange.body(chunk, True)
            if exchange.state not in _HELD:
                break
        else:
            head = exchange.body(b"", False)
        prefix = head.body or b""
        if head.head is not None and head.head.blocked:
            return _blocked(response, head)
        passing = exchange.state == State.PASS
        response.streaming_content = _aprefixed(prefix, chunks if passing else None)
        return _passed(response, raw, head)


def _authenticate_drf_view(request: Any, view_func: Any) -> None:
    """A DRF view authenticates inside the view (tokens, HTTP Basic): for the write check, the same
    authenticators run now, and set ``request.user`` as the view's own run will."""
    view_class = getattr(view_func, "cls", None)
    if not isinstance(view_class, type):
        return
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) is True:
        return
    try:
        from rest_framework.views import APIView
    except ImportError:  # pragma: no cover - djangorestframework not installed
        return
    if not issubclass(view_class, APIView):
        return
    try:
        view = view_class(**getattr(view_func, "initkwargs", {}))
        view.initialize_request(request).user  # noqa: B018 - DRF sets the Django request's user too
    except Exception:
        return  # refused credentials: the view answers 401/403 itself; the check sees nobody


def routed_pattern(rules: Iterable[Any], request: Any, view_kwargs: Mapping[str, Any]) -> str | None:
    """The ``PathOwner`` pattern whose view Django routed the request to, where the request's path
    does not spell it: a ``<path:owner_id>`` holding a ``/``, a ``re_path`` without ``$``
    (``^old/(?P<owner_id>\\d+)`` takes ``/old/2/x``), another language's ``i18n_patterns`` prefix
    (``/fr/records/2/``). The pattern, filled with the view's keyword arguments, must resolve to
    the view the request resolved to (``None``: no pattern does)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    path: str = request.path
    script = path[: len(path) - len(request.path_info)].rstrip("/")
    for rule in rules:
        if not isinstance(rule, PathOwner) or rule.param not in view_kwargs or rule.matches(path):
            continue
        filled = rule.filled(view_kwargs)
        if filled is None or not filled.startswith(script + "/"):
            continue
        try:
            # in the default language: i18n_patterns' prefix is the active language's (a /fr/ request
            # has made it fr), and the pattern names the path as written
            with translation.override(settings.LANGUAGE_CODE):
                probe = resolve(filled[len(script) :], getattr(request, "urlconf", None))
        except Resolver404:
            continue
        if probe.func is match.func and rule.param in probe.kwargs:
            return rule.pattern  # the view the pattern's path reaches, which takes the owner from it
    return None


#: A DRF view class's serializer spellings, per guard's rules (a view class is made once).
_DRF_SPELLINGS: dict[tuple[type, tuple[Any, ...]], Spellings | None] = {}


def drf_spellings(rules: tuple[Any, ...], view_func: Any) -> Spellings | None:
    """What a DRF view's ``serializer_class`` reads owner fields under: a field whose ``source``
    is an owner key (``ownerId = IntegerField(source="owner_id")``: ``validated_data["owner_id"]``
    is the request's ``ownerId``), at any depth of nested serializers and lists of them."""
    view_class = getattr(view_func, "cls", None)
    serializer_class = getattr(view_class, "serializer_class", None)
    if not isinstance(view_class, type) or not isinstance(serializer_class, type):
        return None
    key = (view_class, rules)
    if key in _DRF_SPELLINGS:
        return _DRF_SPELLINGS[key]
    json_keys = frozenset(name for rule in rules if isinstance(rule, JsonBodyOwner) for name in rule.names)
    form_keys = frozenset(name for rule in rules if isinstance(rule, FormOwner) for name in rule.names)
    found = Spellings()
    spellings: Spellings | None = found
    try:
        stack = [serializer_class().fields]
        while stack:
            for name, field in stack.pop().items():
                source = getattr(field, "source", None)
                targets = {source, source.rsplit(".", 1)[-1]} if isinstance(source, str) else set()
                for keys, out in ((json_keys, found.json), (form_keys, found.form)):
                    owner = next((key for key in sorted(targets) if key in keys), None)
                    if owner is not None and name != owner:
                        out[name] = owner
                while getattr(field, "child", None) is not None:  # ListSerializer, ListField, DictField
                    field = field.child
                nested = getattr(field, "fields", None)
                if nested is not None and hasattr(nested, "items"):
                    stack.append(nested)
    except Exception:  # a serializer that needs its view's context to be made: nothing known of it
        spellings = None
    if len(_DRF_SPELLINGS) >= 256:
        _DRF_SPELLINGS.clear()
    _DRF_SPELLINGS[key] = spellings
    return spellings


def drf_form(request: Any, body: bytes, urlencoded: bool, multipart: bool) -> tuple[list[Any], list[str]]:
    """(fields, file field names) of a form Django leaves unparsed (a ``PUT``'s, a wildcard
    type's), as DRF's ``FormParser`` and ``MultiPartParser`` read it, with Django's parsers."""
    fields: list[Any] = []
    files: list[str] = []
    if urlencoded:
        encoding = request.encoding
        if encoding is not None and encoding.lower() != "utf-8":
            # DRF decodes it in that charset, a view's QueryDict(request.body) as UTF-8 (Django
            # refuses such a POST's): no one reading.
            raise InboundError(MALFORMED_FORM)
        parsed = QueryDict(body, encoding="utf-8")
        fields.extend(querydict_pairs(parsed))
    if multipart:
        handlers = [load_handler(handler, request) for handler in settings.FILE_UPLOAD_HANDLERS]
        post, uploads = MultiPartParser(request.META, io.BytesIO(body), handlers, request.encoding).parse()
        fields.extend(querydict_pairs(post))
        files.extend(uploads.keys())
    return fields, files


# --------------------------------------------------------------------------- translating


def begin_exchange(guard: Guard, request: Any) -> Exchange:
    """A request's exchange, its context where :func:`respguard.set_requester` finds it."""
    holder = getattr(request, "environ", None)
    key = WSGI_KEY
    if not isinstance(holder, dict):
        holder, key = getattr(request, "scope", None), ASGI_KEY
        if not isinstance(holder, dict):
            raise TypeError("respguard: a Django request with neither a WSGI environ nor an ASGI scope")
    context = holder.get(key)
    if not isinstance(context, RequestContext):  # an outer respguard middleware's is shared: one requester
        context = holder[key] = RequestContext()
    meta = request.META
    if key == ASGI_KEY and request.method == "HEAD" and holder.get("method") != "HEAD":
        # Django's ASGI request upper-cases the method in META; the server sends a body unless "HEAD".
        meta = {**meta, "REQUEST_METHOD": holder.get("method")}
    info = RequestInfo(request.method or "GET", request.path, request.scheme, meta, environ_headers)

    def user_of(_info: RequestInfo) -> RequesterLike:
        return django_requester(request)

    return Exchange(guard, info, context, user_of, meta.get("HTTP_COOKIE"), "HTTP_HX_REQUEST" in meta)


def response_headers(response: Any) -> RawHeaders:
    """The head Django's handlers send: ``response.items()``, then one ``Set-Cookie`` per cookie."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
    raw += [(b"set-cookie", c.output(header="").strip().encode("latin-1")) for c in response.cookies.values()]
    return raw


def _close_resources(response: Any) -> None:
    """Close what the app's response holds (files, iterators), as ``close()`` would, minus its signal."""
    closers = getattr(response, "_resource_closers", None)
    for closer in closers if isinstance(closers, list) else ():
        try:
            closer()
        except Exception:
            pass
    if isinstance(closers, list):
        closers.clear()


def _hold(exchange: Exchange, chunks: Iterator[bytes]) -> tuple[Action, bytes]:
    """Feed a held body until the exchange decides; the deciding action and the bytes to send first."""
    action = HOLD
    for chunk in chunks:
        if chunk:
            action = exchange.body(chunk, True)
            if exchange.state not in _HELD:
                break
    else:
        action = exchange.body(b"", False)
    return action, action.body or b""


def _document(exchange: Exchange, response: Any, raw: RawHeaders, start: Action) -> Any:
    """A whole ``HttpResponse``: one body event."""
    content = response.content
    action = exchange.body(content, False)
    head = start if start.head is not None else action
    if head.head is not None and head.head.blocked:
        return _blocked(response, head)
    body = action.body or b""
    passed = _passed(response, raw, head)
    if body != content:
        response.content = body  # filtered records, or a stream cut before a foreign record
        # After the head: a head decided at the start (an event stream) still says the app's length,
        # and a client would wait for the bytes the cut removed.
        if response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(body))
    return passed


def _scanned(exchange: Exchange, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A stream, record by record: the first foreign record ends it. However it ends (cut short
    by the client, the app's iterator raising), the exchange is over: a pending event is logged."""
    try:
        for chunk in chunks:
            action = exchange.body(chunk, True)
            if action.body:
                yield action.body
            if not action.more:
                return
        action = exchange.body(b"", False)
        if action.body:
            yield action.body
    finally:
        exchange.detach()


async def _ascanned(exchange: Exchange, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    try:
        async for chunk in chunks:
            action = exchange.body(chunk, True)
            if action.body:
                yield action.body
            if not action.more:
                return
        action = exchange.body(b"", False)
        if action.body:
            yield action.body
    finally:
        exchange.detach()


async def _aprefixed(prefix: bytes, rest: AsyncIterator[bytes] | None) -> AsyncIterator[bytes]:
    if prefix:
        yield prefix
    if rest is not None:
        async for chunk in rest:
            yield chunk


async def _collect(chunks: Any) -> list[bytes]:
    """An async iterator's chunks, for the WSGI handler (Django does the same, with a warning)."""
    return [chunk async for chunk in chunks]


def _passed(response: Any, raw: RawHeaders, action: Action) -> Any:
    """The app's response, with the head the exchange decided (its additions, or its rewrite)."""
    verdict = action.head
    if verdict is None:
        return response
    if verdict.status != response.status_code:
        response.status_code = verdict.status
    if verdict.headers != raw:
        _set_head(response, raw, verdict.headers)
    return response


def _without_body(response: Any, raw: RawHeaders, action: Action) -> Any:
    """A response with no body (1xx, 204, 304): the app's response, its body dropped (a
    streamed one is still closed with the response)."""
    if response.streaming:
        response.streaming_content = _aprefixed(b"", None) if response.is_async else iter(())
        response.file_to_stream = None
    else:
        response.content = b""
    return _passed(response, raw, action)


def _blocked(response: Any, action: Action) -> Any:
    """The block page in place of the app's response; the app's response is closed with it."""
    verdict = action.head
    assert verdict is not None
    page = HttpResponse()
    _as_block_page(page, verdict)
    closers = getattr(response, "_resource_closers", None)
    if isinstance(closers, list):
        page._resource_closers.extend(closers)  # the app's files and iterators, without a second request_finished
        closers.clear()
    else:  # pragma: no cover - every supported Django has _resource_closers
        page._resource_closers.append(response.close)
    return page


def _refused(refusal: _Refusal) -> Any:
    """A refusal on its way out: exactly the block page again (inner middleware may have added cookies)."""
    assert refusal.respguard_verdict is not None
    _as_block_page(refusal, refusal.respguard_verdict)
    return refusal


def _as_block_page(page: Any, verdict: Verdict) -> None:
    # Logged already: respguard's audit event is the block's log line, its path redacted. Django's
    # request logger would add "Forbidden: /records/<id>/" with the raw path (django.utils.log's
    # log_response skips a response marked so).
    page._has_been_logged = True
    page.status_code = verdict.status
    page.content = verdict.body or b""
    for name in list(page.headers):
        del page.headers[name]
    page.cookies = SimpleCookie()
    _set_head(page, [], verdict.headers)


def _set_head(response: Any, before: RawHeaders, after: RawHeaders) -> None:
    """Make ``response``'s headers and cookies say ``after`` (they say ``before`` now)."""
    plain_before = [h for h in before if h[0] != b"set-cookie"]
    plain_after = [h for h in after if h[0] != b"set-cookie"]
    if plain_after != plain_before:
        case = {name.lower(): name for name in response.headers}
        for name in list(response.headers):
            del response.headers[name]
        for key, value in plain_after:
            name = case.get(key.decode("latin-1"), key.decode("latin-1"))
            text = value.decode("latin-1")
            # Django keeps one value per name: list-valued fields (Vary, Cache-Control) are joined.
            response.headers[name] = response.headers[name] + ", " + text if name in response.headers else text
    cookies_before = [v for k, v in before if k == b"set-cookie"]
    cookies_after = [v for k, v in after if k == b"set-cookie"]
    if cookies_after == cookies_before:
        return
    if cookies_after[: len(cookies_before)] != cookies_before:
        response.cookies = SimpleCookie()
        cookies_before = []
    for line in cookies_after[len(cookies_before) :]:
        jar: SimpleCookie = SimpleCookie()
        jar.load(line.decode("latin-1"))
        for name, morsel in jar.items():
            response.cookies[name] = morsel


# --------------------------------------------------------------------------- log-in and log-out


def _logged_in(sender: Any, request: Any = None, user: Any = None, **extra: Any) -> None:
    if request is None:
        return
    try:
        context_of(request)
    except LookupError:
        return  # not a request respguard guards
    rebind(request, django_requester(_UserHolder(user)))


def _logged_out(sender: Any, request: Any = None, user: Any = None, **extra: Any) -> None:
    if request is None:
        return
    try:
        context_of(request)
    except LookupError:
        return
    unbind(request)


class _UserHolder:
    __slots__ = ("user",)

    def __init__(self, user: Any) -> None:
        self.user = user


user_logged_in.connect(_logged_in, dispatch_uid="respguard.django.rebind")
user_logged_out.connect(_logged_out, dispatch_uid="respguard.django.unbind")


# --------------------------------------------------------------------------- system checks


def check_configuration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check``: a wrong ``RESPGUARD``, a missing middleware, compression inside respguard."""
    messages: list[checks.CheckMessage] = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE_PATH not in middleware:
        if getattr(settings, "RESPGUARD", None) is not None:
            messages.append(
                checks.Warning(
                    "settings.RESPGUARD is set, but respguard's middleware is not in MIDDLEWARE.",
                    hint=f"Add {MIDDLEWARE_PATH!r} to MIDDLEWARE.",
                    id="respguard.W001",
                )
            )
        return messages
    try:
        guard_from_settings()
    except (ValueError, TypeError) as exc:
        messages.append(
            checks.Error(f"settings.RESPGUARD: {exc}", hint="See respguard's option table.", id="respguard.E001")
        )
    position = middleware.index(MIDDLEWARE_PATH)
    if "django.middleware.gzip.GZipMiddleware" in middleware[position + 1 :]:
        messages.append(
            checks.Warning(
                "GZipMiddleware is inside respguard's middleware: respguard reads compressed bodies, "
                "and blocks compressed streams.",
                hint=f"List GZipMiddleware before {MIDDLEWARE_PATH!r} in MIDDLEWARE.",
                id="respguard.W002",
            )
        )
    return messages


class RespGuardConfig(AppConfig):  # type: ignore[misc]
    """``INSTALLED_APPS = [..., "respguard.django.RespGuardConfig"]``: registers the system checks."""

    name = "respguard"
    label = "respguard"
    verbose_name = "respguard"
    default = False

    def ready(self) -> None:
        checks.register(check_configuration, "respguard")
