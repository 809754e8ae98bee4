"""Flask extension: wraps ``app.wsgi_app`` and publishes the requester from the view.

Usage::

    from respguard import JsonKeys
    from respguard.flask import RespGuard

    RespGuard(app, extractors=[JsonKeys("user_id")])   # secret: RESPGUARD_SECRET_KEY or app.secret_key

Options come from keyword arguments, else from ``RESPGUARD_<OPTION>`` config keys.
With Flask-Login installed and set up, ``current_user`` is the requester; else
call :func:`respguard.set_requester` in the view.
"""

from __future__ import annotations

import inspect
from typing import Any

from flask import Flask, Response, request

from ._context import WSGI_KEY, RequestContext, rebind, unbind
from ._guard import Guard
from .wsgi import WSGIMiddleware

_OPTIONS = [name for name in inspect.signature(Guard.__init__).parameters if name != "self"]


class RespGuard:
    """The Flask extension (``RespGuard(app)`` or ``RespGuard()`` + ``init_app(app)``)."""

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ValueError(f"RespGuard: unknown option(s) {sorted(unknown)}")
        self.options = options
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
        guard = Guard(**options)
        app.wsgi_app = WSGIMiddleware(app.wsgi_app, guard)  # type: ignore[method-assign]
        app.extensions["respguard"] = guard
        app.after_request(_publish_requester)
        _follow_flask_login(app)


def _publish_requester(response: Response) -> Response:
    """Flask pops its context before the middleware sees the body: publish now."""
    context = request.environ.get(WSGI_KEY)
    if isinstance(context, RequestContext) and not context.requester_set:
        requester = _flask_login_requester()
        if requester is not None:
            context.requester = requester
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

    user_logged_in.connect(logged_in, app, weak=False)
    user_logged_out.connect(logged_out, app, weak=False)


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
