"""The response bodies the suite serves: user records, HTML pages, no personal data, an image."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

#: The requester every benchmark request authenticates as (an int id in the JSON, as most APIs have it).
OWN_ID = 42
OTHER_ID = 43


@dataclass(frozen=True)
class Body:
    name: str
    content_type: str
    data: bytes
    size_label: str  # "1k", "64k", "1m", "256k"
    kind: str  # "json", "html", "nopd", "image"


def _record(i: int, owner: int) -> dict[str, object]:
    return {
        "user_id": owner,
        "order_no": f"A-{100000 + i}",
        "name": "Hanako Yamada",
        "email": "hanako.yamada@example.jp",
        "address": {"postal": "100-0001", "city": "Chiyoda-ku, Tokyo", "line": f"1-{i % 9 + 1}-1 Chiyoda"},
        "phone": "03-1234-5678",
        "card_last4": "4242",
        "plan": "premium",
        "monthly_fee": 1990,
        "history": [{"title": f"Film {i}-{j}", "watched_at": f"2023-01-{j + 10}T20:00:00Z"} for j in range(2)],
    }


def json_records(size: int, owner: int = OWN_ID) -> bytes:
    """A JSON list of user records, all owned by ``owner``, about ``size`` bytes (compact, as Starlette writes)."""
    parts: list[bytes] = []
    total = len(b'{"items":[]}')
    while True:
        part = json.dumps(_record(len(parts), owner), separators=(",", ":"), ensure_ascii=False).encode()
        if total + len(part) + 1 > size and len(parts) > 1:
            return b'{"items":[' + b",".join(parts) + b"]}"
        parts.append(part)
        total += len(part) + 1


def html_page(size: int, owner: int = OWN_ID) -> bytes:
    """An HTML "my page" with one ``data-owner`` attribute per row, about ``size`` bytes."""
    head = (
        '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8"><title>My page</title></head>\n'
        f'<body data-owner="{owner}"><h1>Welcome back, Hanako</h1><table class="orders">\n'
    ).encode()
    tail = b"</table></body></html>\n"
    rows = []
    total = len(head) + len(tail)
    i = 0
    while True:
        row = (
            f'<tr class="order-row" data-owner="{owner}"><td>A-{100000 + i}</td><td>Film {i}</td>'
            f'<td>2023-01-{i % 20 + 10}</td><td>&yen;1,990</td><td><a href="/orders/{i}">Details</a></td></tr>\n'
        ).encode()
        if total + len(row) > size and rows:
            return head + b"".join(rows) + tail
        rows.append(row)
        total += len(row)
        i += 1


def no_personal_data(size: int) -> bytes:
    """A JSON product catalogue: no owner key anywhere."""
    parts: list[bytes] = []
    total = len(b'{"products":[]}')
    while True:
        item = {"sku": f"SKU-{len(parts):05d}", "title": "Streaming plan", "price": 1990, "tags": ["hd", "4k"]}
        part = json.dumps(item, separators=(",", ":")).encode()
        if total + len(part) + 1 > size and len(parts) > 1:
            return b'{"products":[' + b",".join(parts) + b"]}"
        parts.append(part)
        total += len(part) + 1


def image(size: int) -> bytes:
    rng = random.Random(3)
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(size - 8)


def all_bodies() -> list[Body]:
    return [
        Body("json-1k", "application/json", json_records(1024), "1k", "json"),
        Body("json-64k", "application/json", json_records(64 * 1024), "64k", "json"),
        Body("json-1m", "application/json", json_records(1024 * 1024), "1m", "json"),
        Body("html-1k", "text/html; charset=utf-8", html_page(1024), "1k", "html"),
        Body("html-64k", "text/html; charset=utf-8", html_page(64 * 1024), "64k", "html"),
        Body("nopd-1k", "application/json", no_personal_data(1024), "1k", "nopd"),
        Body("image-256k", "image/png", image(256 * 1024), "256k", "image"),
    ]
