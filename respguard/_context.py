"""The per-request holder the app talks to through the helpers.

The adapters put one :class:`RequestContext` in the ASGI scope
(``scope["respguard"]``) or the WSGI environ (``environ["respguard.context"]``).
It is a mutable object, so code that copies the scope still reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._identity import Identity, RequesterLike, as_identity, normalise, owner_text

ASGI_KEY = "respguard"
WSGI_KEY = "respguard.context"


class RequestContext:
    """What the app told respguard about this request."""

    __slots__ = ("requester", "requester_set", "rebind", "unbind", "owners", "exchange")

    def __init__(self) -> None:
        #: The guard's state for this request (an ``Exchange``), where an adapter made it before
        #: the app ran: the write check reaches the decision through it (``_exchange.exchange_of``).
        self.exchange: object | None = None
        #: Who the app said is asking (:meth:`tell`); ``None`` for nobody, or while
        #: :attr:`requester_set` is false. (Plain attributes: the helpers run on every request.)
        self.requester: Identity | None = None
        #: Whether the app said who is asking (``requester`` is then its answer, ``None`` for nobody).
        self.requester_set = False
        self.rebind = False
        self.unbind = False
        self.owners: list[tuple[str, str]] = []

    def tell(self, identity: Identity | None) -> None:
        """The app says who is asking (``None``: nobody)."""
        self.requester = identity
        self.requester_set = True


#: Which attribute holds the scope/environ, per request type (``environ`` for Flask, ``scope`` for Starlette).
_HOLDER_ATTRIBUTES: dict[type, str] = {}


def _holder_of(request: object) -> object:
    """The scope or environ behind a framework's request object (or the object itself)."""
    attribute = _HOLDER_ATTRIBUTES.get(type(request))
    if attribute is not None:
        holder = getattr(request, attribute, None)
        if type(holder) is dict or isinstance(holder, Mapping):
            return holder
    # environ first: on Flask's request proxy a missing ``.scope`` costs a slow lookup.
    for attribute in ("environ", "scope"):
        holder = getattr(request, attribute, None)
        if isinstance(holder, Mapping):
            if len(_HOLDER_ATTRIBUTES) < 64:
                _HOLDER_ATTRIBUTES[type(request)] = attribute
            return holder
    return request


def find_context(request: object) -> RequestContext | None:
    """The :class:`RequestContext` of a Starlette/Flask/Werkzeug request, scope or environ,
    or ``None`` where no respguard middleware guards the request."""
    # A scope or an environ is a plain dict: the common, fast case.
    holder = request if type(request) is dict else _holder_of(request)
    if type(holder) is dict or isinstance(holder, Mapping):
        ctx = holder.get(ASGI_KEY)
        if ctx.__class__ is RequestContext:
            return ctx
        ctx = holder.get(WSGI_KEY)
        if isinstance(ctx, RequestContext):
            return ctx
    return None


def context_of(request: object) -> RequestContext:
    """Find the :class:`RequestContext` of a Starlette/Flask/Werkzeug request, scope or environ."""
    ctx = find_context(request)
    if ctx is None:
        raise LookupError(
            "respguard is not guarding this request: add respguard's ASGI/WSGI middleware "
            "(or the Flask extension) around the app"
        )
    return ctx


# The helpers below do nothing where no middleware guards the request, so the guard can be
# switched off by configuration (the middleware left out) without the app failing.


def set_requester(request: object, identity: RequesterLike) -> None:
    """Tell respguard who is asking: an id (str/int), an :class:`Identity`, or ``None``.

    Call it from the view/endpoint once the app has authenticated the user. Without
    respguard's middleware around the app it does nothing.
    """
    ctx = find_context(request)
    if ctx is not None:
        ctx.requester = as_identity(identity)
        ctx.requester_set = True


def rebind(request: object, identity: RequesterLike) -> None:
    """Bind this browser to ``identity`` (log-in, switch user): no drift is reported."""
    ctx = find_context(request)
    if ctx is None:
        return
    ctx.tell(as_identity(identity))
    ctx.rebind = True
    ctx.unbind = ctx.requester is None


def unbind(request: object) -> None:
    """Forget this browser's binding (log-out); the next authenticated response binds anew."""
    ctx = find_context(request)
    if ctx is None:
        return
    ctx.tell(None)
    ctx.rebind = True
    ctx.unbind = True


def add_owner(request: object, owner: object, kind: str = "id") -> None:
    """Declare that the response carries ``owner``'s data (for bodies no extractor reads)."""
    ctx = find_context(request)
    if ctx is None:
        return
    text = owner_text(owner)
    if text is not None:
        ctx.owners.append((kind, normalise(kind, text)))
