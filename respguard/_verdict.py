"""What the guard answers: the verdict an adapter sends, the block page, a foreign owner."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

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
