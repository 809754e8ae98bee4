"""Who is asking, and whether this browser is bound to them (incident 2).

:class:`BindingMemory` remembers, per Cookie header, a binding that verified and
matched its requester, so that a browser's later requests skip the signature
check; :func:`load_bindings` and :func:`remember` are the one way bindings are read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._binding import Binding, BindingCodec, BindingRejected
from ._context import UNSET, RequestContext
from ._headers import cookie_values
from ._identity import Identity, RequesterLike, as_identity
from ._scan import RequestInfo

RequesterFunction = Callable[[RequestInfo], RequesterLike]


class Requester:
    """Who is asking, for one request: the first source that answers.

    ``set_requester`` (the app, at any time before the response), the ``requester=`` option
    (called at most once a request, its answer kept here, not in the context: the app may
    still say otherwise), the adapter's fallback (``scope["user"]``).
    """

    __slots__ = ("function", "fallback", "_asked", "_answer")

    def __init__(self, function: RequesterFunction | None, fallback: Callable[[RequestInfo], RequesterLike] | None):
        self.function = function
        self.fallback = fallback
        self._asked = False
        self._answer: Identity | None = None

    def resolve(self, context: RequestContext, request: RequestInfo) -> Identity | None:
        """The requester now; raises whatever a ``requester=`` or fallback callable raises."""
        requester = context.requester
        if requester is not UNSET:
            return requester
        if self.function is not None:
            if not self._asked:
                self._answer = as_identity(self.function(request))
                self._asked = True
            return self._answer
        if self.fallback is not None:
            return as_identity(self.fallback(request))
        return None


class BindingMemory:
    """Cookie header -> the binding verified for it: (requester, valid until, binding, refresh at)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Identity, float, Binding, float]] = {}

    def recall(self, cookie: str, requester: Identity) -> tuple[Binding, bool] | None:
        """The binding verified before for this Cookie header and requester, and whether it is due
        a refresh; ``None``: verify it."""
        entry = self._entries.get(cookie)
        if entry is None:
            return None
        bound_to, valid_until, binding, refresh_at = entry
        if bound_to is not requester and bound_to != requester:
            return None
        now = time.time()
        if now > valid_until:
            return None
        return binding, now > refresh_at

    def remember(self, cookie: str, requester: Identity, bindings: list[Binding], codec: BindingCodec) -> None:
        """Every binding in this Cookie header verified and matched ``requester``."""
        if len(self._entries) >= 8192:
            self._entries.clear()
        last = bindings[-1]
        refresh_at = last.issued_at + codec.max_age / 2 if last.key_index == 0 else float("-inf")
        self._entries[cookie] = (requester, min(b.issued_at for b in bindings) + codec.max_age, last, refresh_at)


def load_bindings(
    cookie: str | None, codec: BindingCodec, rejected: Callable[[str], None]
) -> tuple[list[Binding], bool]:
    """The valid binding cookies in the Cookie header, and whether every one verified.

    A bad one is reported once through ``rejected(reason)`` and ignored.
    """
    bindings: list[Binding] = []
    clean = True
    for value in cookie_values(cookie, codec.cookie_name) if cookie else ():
        try:
            bindings.append(codec.loads(value))
        except BindingRejected as exc:
            clean = False
            rejected(exc.reason)
    return bindings, clean
