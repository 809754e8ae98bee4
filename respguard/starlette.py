"""Starlette/FastAPI helpers.

The middleware is :class:`respguard.ASGIMiddleware` (pure ASGI); for ``add_middleware``
use its typed twin::

    app.add_middleware(RespGuardMiddleware, guard=Guard(secret_key=SECRET, extractors=[JsonKeys("user_id")]))

With Starlette's ``AuthenticationMiddleware`` the requester is ``scope["user"].identity``;
otherwise tell respguard from the endpoint (:func:`set_requester`) or from a
FastAPI dependency (:func:`requester_dependency`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ._context import rebind, set_requester, unbind
from ._guard import Guard
from ._identity import RequesterLike
from .asgi import ASGIApp, ASGIMiddleware


class RespGuardMiddleware(ASGIMiddleware):
    """:class:`~respguard.ASGIMiddleware` with one typed argument, for ``add_middleware``.

    Starlette's typed ``add_middleware`` can't check a class taking ``**options``
    under ``mypy --strict``; this one takes a prepared :class:`~respguard.Guard`::

        app.add_middleware(RespGuardMiddleware, guard=Guard(secret_key=..., extractors=[...]))
    """

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        super().__init__(app, guard)


def requester_dependency(
    dependency: Callable[..., Any], identity: Callable[[Any], RequesterLike] = lambda user: user
) -> Callable[..., Any]:
    """Wrap a FastAPI dependency that returns the current user so respguard learns it.

    ``identity`` maps the user object to its id (or an :class:`~respguard.Identity`)::

        CurrentUser = Depends(requester_dependency(get_current_user, lambda u: u.id))
    """
    from fastapi import Depends

    if inspect.iscoroutinefunction(dependency):

        async def publish_async(request: Request, user: Any = Depends(dependency)) -> Any:  # noqa: B008
            set_requester(request, identity(user) if user is not None else None)
            return user

        return publish_async

    def publish(request: Request, user: Any = Depends(dependency)) -> Any:  # noqa: B008
        set_requester(request, identity(user) if user is not None else None)
        return user

    return publish


__all__ = ["RespGuardMiddleware", "rebind", "requester_dependency", "set_requester", "unbind"]
