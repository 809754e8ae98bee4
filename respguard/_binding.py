"""The session-binding cookie: which identity this browser authenticated as.

The cookie holds keyed hashes of the identity (never the id in clear), signed
with itsdangerous. Keys rotate like itsdangerous keys: a list, oldest first;
the newest signs, every key verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadPayload, BadSignature, SignatureExpired, URLSafeTimedSerializer

from ._identity import Identity

#: Cookies longer than this are ignored unread (browsers cap a cookie at 4096 bytes).
MAX_COOKIE_LENGTH = 4096
_SALT = "respguard.binding"


@dataclass(frozen=True)
class Binding:
    """A verified binding: the hashes it holds, and the key generation that made them."""

    id_hash: str
    facet_hashes: Mapping[str, str]
    key_index: int
    issued_at: float


class BindingRejected(Exception):
    """The cookie was tampered with, expired, or signed by an unknown key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BindingCodec:
    """Signs and verifies binding cookies, and hashes identities for them."""

    def __init__(
        self,
        secret_keys: Sequence[bytes],
        *,
        cookie_name: str,
        max_age: int,
        secure: bool | None,
        path: str,
        domain: str | None,
        same_site: Literal["lax", "strict", "none"],
    ) -> None:
        # Newest key first: it signs, and verifying tries it first.
        self._keys = list(reversed(secret_keys))
        self._serializers = [URLSafeTimedSerializer(key, salt=_SALT) for key in self._keys]
        self._hash_keys = [hmac.new(key, b"respguard.binding-hash", hashlib.sha256).digest() for key in self._keys]
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.secure = secure
        self.path = path
        self.domain = domain
        self.same_site = same_site
        self._verified: dict[str, Binding] = {}
        self._hashes: dict[tuple[int, str], str] = {}

    def hash(self, text: str, key_index: int = 0) -> str:
        cache_key = (key_index, text)
        digest = self._hashes.get(cache_key)
        if digest is None:
            digest = hmac.new(
                self._hash_keys[key_index], text.encode("utf-8", "surrogatepass"), hashlib.sha256
            ).hexdigest()[:32]
            if len(self._hashes) >= 8192:
                self._hashes.clear()
            self._hashes[cache_key] = digest
        return digest

    def matches(self, binding: Binding, identity: Identity) -> bool:
        """Does ``identity`` agree with the binding on its id and every shared facet?"""
        index = binding.key_index
        if not hmac.compare_digest(self.hash(identity.id, index), binding.id_hash):
            return False
        for kind, bound in binding.facet_hashes.items():
            value = identity.facets.get(kind)
            if value is not None and not hmac.compare_digest(self.hash(kind + "\x00" + value, index), bound):
                return False
        return True

    def facet_matches(self, binding: Binding, kind: str, text: str) -> bool | None:
        """Does an owner of ``kind`` equal the facet bound at login? ``None``: none bound."""
        bound = binding.facet_hashes.get(kind)
        if bound is None:
            return None
        return hmac.compare_digest(self.hash(kind + "\x00" + text, binding.key_index), bound)

    def names(self, binding: Binding, text: str) -> bool:
        """Is ``text`` the id, or a facet, this binding holds the hashes of? (Uncached: an event
        tries many texts, which must not push the request's own hashes out of the cache.)"""
        key = self._hash_keys[binding.key_index]
        candidates = [text, *(kind + "\x00" + text for kind in binding.facet_hashes)]
        hashes = {binding.id_hash, *binding.facet_hashes.values()}
        for candidate in candidates:
            digest = hmac.new(key, candidate.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
            if digest in hashes:
                return True
        return False

    def dumps(self, identity: Identity) -> str:
        payload = {
            "i": self.hash(identity.id),
            "f": {k: self.hash(k + "\x00" + v) for k, v in sorted(identity.facets.items())},
        }
        return self._serializers[0].dumps(payload)

    def loads(self, value: str) -> Binding:
        """Verify a cookie value; raises :class:`BindingRejected` on any fault."""
        now = time.time()
        cached = self._verified.get(value)
        if cached is not None:
            if now - cached.issued_at <= self.max_age:
                return cached
            self._verified.pop(value, None)  # (another thread may have dropped it since the get)
            raise BindingRejected("expired")
        if len(value) > MAX_COOKIE_LENGTH:
            raise BindingRejected("oversized")
        expired = False
        for index, serializer in enumerate(self._serializers):
            try:
                payload, issued = serializer.loads(value, max_age=self.max_age, return_timestamp=True)
            except SignatureExpired:
                expired = True
                continue
            except BadSignature:
                continue
            except BadPayload:  # signed by this key, but not base64/JSON: never a crash
                raise BindingRejected("malformed payload") from None
            binding = self._binding(payload, index, issued.timestamp())
            if len(self._verified) >= 8192:
                self._verified.clear()
            self._verified[value] = binding
            return binding
        raise BindingRejected("expired" if expired else "bad signature")

    @staticmethod
    def _binding(payload: object, index: int, issued_at: float) -> Binding:
        if not isinstance(payload, dict):
            raise BindingRejected("malformed payload")
        id_hash = payload.get("i")
        facets = payload.get("f", {})
        if not isinstance(id_hash, str) or not isinstance(facets, dict):
            raise BindingRejected("malformed payload")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in facets.items()):
            raise BindingRejected("malformed payload")
        return Binding(id_hash, dict(facets), index, issued_at)

    def needs_refresh(self, binding: Binding) -> bool:
        """Re-issue bindings signed by an older key, or past half their life."""
        return binding.key_index != 0 or time.time() - binding.issued_at > self.max_age / 2

    def _attributes(self, secure: bool) -> str:
        parts = [f"Path={self.path}"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        parts.append("HttpOnly")
        parts.append("SameSite=" + self.same_site.capitalize())
        if secure:
            parts.append("Secure")
        return "; ".join(parts)

    def set_cookie(self, identity: Identity, https: bool) -> bytes:
        secure = https if self.secure is None else self.secure
        value = self.dumps(identity)
        return f"{self.cookie_name}={value}; Max-Age={self.max_age}; {self._attributes(secure)}".encode("latin-1")

    def clear_cookie(self, https: bool) -> bytes:
        secure = https if self.secure is None else self.secure
        return (
            f"{self.cookie_name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; {self._attributes(secure)}"
        ).encode("latin-1")
