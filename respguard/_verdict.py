"""What the guard answers: the verdict an adapter sends, the block page, a foreign owner."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from ._cache import PRIVATE
from ._events import AuditEvent
from ._headers import RawHeaders

DEFAULT_BLOCK_BODY = b"Forbidden: respguard withheld this response because it carried another person's data.\n"


class Owner(NamedTuple):
    """A foreign owner handed to a policy: its kind (``"id"``, ``"email"``...) and id."""

    kind: str
    id: str


@dataclass(frozen=True)
class BlockPage:
    """What a blocked request gets instead of the app's response."""

    status: int = 403
    body: bytes = DEFAULT_BLOCK_BODY
    content_type: str = "text/plain; charset=utf-8"


class Verdict:
    """What the adapter sends: ``body is None`` means "the app's own body, as it was"."""

    __slots__ = ("status", "headers", "body", "blocked")

    def __init__(self, status: int, headers: RawHeaders, body: bytes | None, blocked: bool) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.blocked = blocked


_HEADER_TEXT = re.compile(r"[\x20-\x7e\xa0-\xff]+")


def valid_page(page: object) -> bool:
    """A page that really blocks and whose headers can't be split."""
    return (
        isinstance(page, BlockPage)
        and isinstance(page.status, int)
        and 400 <= page.status <= 599
        and isinstance(page.body, bytes)
        and isinstance(page.content_type, str)
        and _HEADER_TEXT.fullmatch(page.content_type) is not None
    )


def block_verdict(
    page: BlockPage,
    block_response: Callable[[AuditEvent], BlockPage] | None,
    event: AuditEvent,
    binding_cookie: bytes | None,
    head: bool,
) -> Verdict:
    """The block page for ``event``: none of the original headers, no byte of the original body;
    ``binding_cookie``, respguard's own ``Set-Cookie`` for the browser's binding, if any.

    ``block_response`` may build a page per event; one that raises, would not block, or
    whose headers would split falls back to ``page``.
    """
    build: Callable[[AuditEvent], object] | None = block_response  # its answer is checked, not trusted
    if build is not None:
        try:
            chosen = build(event)
            if isinstance(chosen, BlockPage) and valid_page(chosen):
                page = chosen
        except Exception:
            pass
    headers: RawHeaders = [
        (b"content-type", page.content_type.encode("latin-1")),
        (b"content-length", str(len(page.body)).encode("ascii")),
        # private too: Fastly's generated VCL passes on "private" only, and would store (and
        # serve to others) a block page sent with "no-store" alone (a 404 page, say).
        (b"cache-control", PRIVATE),
        (b"x-content-type-options", b"nosniff"),
    ]
    if binding_cookie is not None:
        headers.append((b"set-cookie", binding_cookie))
    return Verdict(page.status, headers, b"" if head else page.body, True)
