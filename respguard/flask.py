"""Flask extension: wraps ``app.wsgi_app``, publishes the requester, and checks writes in the app.

Usage::

    from respguard import JsonKeys
    from respguard.flask import RespGuard

    RespGuard(app, extractors=[JsonKeys("user_id")])   # secret: RESPGUARD_SECRET_KEY or app.secret_key

Options come from keyword arguments, else from ``RESPGUARD_<OPTION>`` config keys.
With Flask-Login installed and set up, ``current_user`` is the requester; else
call :func:`respguard.set_requester` in the view.

With ``inbound=[...]`` rules, a write is checked when Flask dispatches the view: after every
``before_request`` function (the app's and its blueprints', whenever they were registered),
so the app's own login has run, and on the values Flask parsed (``request.view_args``,
``request.args``, ``request.form``/``request.files``, ``request.get_json(silent=True,
force=True)``). ``write_check="middleware"`` checks before Flask runs instead, as the
framework-neutral middleware does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from flask import Flask, Response, request

from ._context import WSGI_KEY, RequestContext, rebind, unbind
from ._exchange import exchange_of
from ._guard import GUARD_OPTIONS, Guard
from ._inbound import NO_JSON, Named
from ._write import WRITE_CHECK_KEY, body_was_read, check_named, json_keys, named_json
from .wsgi import WSGIMiddleware

_OPTIONS = GUARD_OPTIONS
_WRITE_CHECKS = ("app", "middleware")


class RespGuard:
    """The Flask extension (``RespGuard(app)`` or ``RespGuard()`` + ``init_app(app)``).

    :param write_check: ``"app"`` (default): inbound rules are checked when Flask dispatches
        the view, after the app's login; ``"middleware"``: before Flask runs.
    :param options: :class:`~respguard.Guard` options.
    """

    def __init__(
        self, app: Flask | None = None, *, write_check: Literal["app", "middleware"] | None = None, **options: Any
    ) -> None:
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ValueError(f"RespGuard: unknown option(s) {sorted(unknown)}")
        if write_check is not None and write_check not in _WRITE_CHECKS:
            raise ValueError(f"write_check must be 'app' or 'middleware', not {write_check!r}")
        self.options = options
        self.write_check = write_check
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        options = dict(self.options)
        for name in _OPTIONS:
            key = "RESPGUARD_" + name.upper()
            if name not in options and key in app.config:
                options[name] = app.config[key]
        if "secret_key" not in options and app.secret_key:
            options["secret_key"] = app.secret_key
        if "secret_key" not in options:
            raise ValueError("RespGuard: secret_key is required (option, RESPGUARD_SECRET_KEY or app.secret_key)")
        write_check = self.write_check or app.config.get("RESPGUARD_WRITE_CHECK", "app")
        if write_check not in _WRITE_CHECKS:
            raise ValueError(f"write_check must be 'app' or 'middleware', not {write_check!r}")
        guard = Guard(**options)
        middleware = WSGIMiddleware(app.wsgi_app, guard)
        app.extensions["respguard"] = guard
        if guard.inbound and write_check == "app":
            app.wsgi_app = _InAppWrites(middleware)  # type: ignore[method-assign]
            # Flask has no hook between its before_request functions and the view: the check
            # wraps the dispatch, so it runs after every one of them, however late registered.
            if not isinstance(app.dispatch_request, _CheckedDispatch):
                app.dispatch_request = _CheckedDispatch(app.dispatch_request)  # type: ignore[method-assign]
        else:
            app.wsgi_app = middleware  # type: ignore[method-assign]
        app.after_request(_publish_requester)
        _follow_flask_login(app)


class _InAppWrites:
    """Marks each request so the middleware leaves writes whose requester only the app knows to the app."""

    def __init__(self, app: WSGIMiddleware) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ[WRITE_CHECK_KEY] = "app"
        return self.app(environ, start_response)


class _CheckedDispatch:
    """``app.dispatch_request`` that checks a write first (the view never runs if it is refused)."""

    def __init__(self, dispatch: Callable[[], Any]) -> None:
        self.dispatch = dispatch

    def __call__(self) -> Any:
        if request.routing_exception is None:
            refusal = _write_refusal()
            if refusal is not None:
                return refusal
        return self.dispatch()


def _write_refusal() -> Response | None:
    """The block page if this request is a write naming another owner's record, else ``None``."""
    environ = request.environ
    found = environ.get(WSGI_KEY)
    exchange = exchange_of(found if isinstance(found, RequestContext) else None)
    if exchange is None:
        return None
    context = exchange.context
    if not exchange.guard.checks_inbound(exchange.request):
        return None
    if not context.requester_set:
        requester = _flask_login_requester()
        if requester is not None:
            context.tell(requester)
    verdict = check_named(exchange, environ, lambda: _flask_named(exchange.guard))
    if verdict is None:
        return None
    # The block page is the whole response, and nobody's page: the response check that
    # follows must not judge it again as the requester's (no second event, no binding cookie).
    context.tell(None)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in verdict.headers]
    return Response(verdict.body or b"", status=verdict.status, headers=headers)


#: A Werkzeug rule's placeholder (``<customer_id>``, ``<path:customer_id>``, ``<int(signed=True):x>``),
#: spelled as a PathOwner pattern's (``{customer_id}``).
_FLASK_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def _flask_named(guard: Guard) -> Named:
    """The write as Flask parsed it; the body only where the middleware read it (and replays it)."""
    rule = request.url_rule
    route = None if rule is None else request.root_path + _FLASK_CONVERTER.sub(r"{\1}", rule.rule)
    named = Named(request.path, path_params=request.view_args, route=route, query=list(request.args.items(multi=True)))
    if body_was_read(request.environ):
        data = request.get_data(cache=True)  # first: the form is then parsed from the cached bytes
        named.form = list(request.form.items(multi=True))
        named.files = list(request.files.keys())
        document = request.get_json(silent=True, force=True)
        named.json = NO_JSON if document is None else document
        keys = json_keys(guard)
        if keys:
            named_json(named, data, keys, strict=False)  # a repeated owner key: Ambiguous
    return named


def _publish_requester(response: Response) -> Response:
    """Flask pops its context before the middleware sees the body: publish now."""
    context = request.environ.get(WSGI_KEY)
    if isinstance(context, RequestContext) and not context.requester_set:
        requester = _flask_login_requester()
        if requester is not None:
            context.tell(requester)
    return response


def _follow_flask_login(app: Flask) -> None:
    """``login_user()``/``logout_user()`` re-bind the browser, like a configured login path."""
    try:
        from flask_login import user_logged_in, user_logged_out
    except ImportError:  # pragma: no cover - flask_login not installed
        return

    def logged_in(sender: Flask, user: Any, **extra: Any) -> None:
        if request and isinstance(request.environ.get(WSGI_KEY), RequestContext):
            rebind(request, user.get_id())

    def logged_out(sender: Flask, user: Any = None, **extra: Any) -> None:
        if request and isinstance(request.environ.get(WSGI_KEY), RequestContext):
            unbind(request)

    try:
        user_logged_in.connect(logged_in, app, weak=False)
        user_logged_out.connect(logged_out, app, weak=False)
    except RuntimeError:
        # Flask < 2.3 without blinker: its signals are stubs, so login_user() would re-bind nothing
        # and every user switch would be blocked as drift. Say so at start-up instead.
        raise RuntimeError(
            "respguard follows Flask-Login's login_user()/logout_user() through Flask's signals, "
            "which need the blinker package on Flask < 2.3: pip install 'respguard[flask]' (or blinker)"
        ) from None


def _flask_login_requester() -> Any:
    from flask import current_app

    if getattr(current_app, "login_manager", None) is None:
        return None
    try:
        from flask_login import current_user
    except ImportError:  # pragma: no cover - flask_login not installed
        return None
    from ._identity import as_identity

    if not current_user or not current_user.is_authenticated:
        return None
    return as_identity(current_user.get_id())
