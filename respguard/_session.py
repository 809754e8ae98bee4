"""Whether this browser is bound to who is asking (incident 2).

:class:`BindingMemory` remembers, per Cookie header, a binding that verified and
matched its requester, so that a browser's later requests skip the signature
check; :func:`load_bindings` and :meth:`BindingMemory.remember` are the one way bindings are read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ._binding import MAX_COOKIE_LENGTH, Binding, BindingCodec, BindingRejected
from ._headers import cookie_values
from ._identity import Identity


class BindingMemory:
    """A request's memory key (:func:`memory_key`: its Cookie header, or a long one's binding
    cookie) -> the binding verified for it: (requester, valid until, binding, refresh at)."""

    __slots__ = ("_entries", "capacity")

    def __init__(self, capacity: int = 8192) -> None:
        self._entries: dict[str, tuple[Identity, float, Binding, float]] = {}
        #: How many Cookie headers are remembered (all are forgotten when it is reached); 0: none,
        #: every request verifies its binding cookie anew.
        self.capacity = capacity

    def recall(self, cookie: str, requester: Identity) -> tuple[Binding, bool] | None:
        """The binding verified before for this memory key and requester, and whether it is due
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
        """Every binding the request with this memory key sent verified and matched ``requester``."""
        if len(self._entries) >= self.capacity:
            self._entries.clear()
            if not self.capacity:
                return
        last = bindings[-1]
        refresh_at = last.issued_at + codec.max_age / 2 if last.key_index == 0 else float("-inf")
        self._entries[cookie] = (requester, min(b.issued_at for b in bindings) + codec.max_age, last, refresh_at)


#: A Cookie header this long at most is its own memory key (most requests': read without a split).
_WHOLE_HEADER = MAX_COOKIE_LENGTH


def memory_key(cookie: str | None, name: str) -> str | None:
    """What :class:`BindingMemory` remembers a request by: its Cookie header, where that is no
    longer than ``MAX_COOKIE_LENGTH``; else the value of its one binding cookie (``None`` for
    none, or several: each is verified). A client's other cookies are its own to make as large as
    it likes (64 KB of padding beside a valid binding, 8,192 such requests: half a gigabyte
    remembered), and a binding cookie is at most ``MAX_COOKIE_LENGTH`` characters, or rejected: an
    entry holds 4 KB at most (32 MB for a full memory of 8,192)."""
    if not cookie:
        return None
    if len(cookie) <= _WHOLE_HEADER:
        return cookie
    found: str | None = None
    for value in cookie_values(cookie, name):
        if value:
            if found is not None:
                return None
            found = value
    # ("\x00": a value is never taken for a header, though no header that holds a binding is one)
    return "\x00" + found if found is not None and len(found) <= MAX_COOKIE_LENGTH else None


def load_bindings(
    cookie: str | None, codec: BindingCodec, rejected: Callable[[str], None]
) -> tuple[list[Binding], bool]:
    """The valid binding cookies in the Cookie header, and whether every one verified.

    A bad one is reported once through ``rejected(reason)`` and ignored.
    """
    bindings: list[Binding] = []
    clean = True
    for value in cookie_values(cookie, codec.cookie_name) if cookie else ():
        if not value:
            continue  # a cleared cookie a client still sends ("name="): no binding, nothing to reject
        try:
            bindings.append(codec.loads(value))
        except BindingRejected as exc:
            clean = False
            rejected(exc.reason)
    return bindings, clean
