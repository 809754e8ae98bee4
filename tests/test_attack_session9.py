"""Adversarial findings, session 9: the response side, judged by what the real reader takes from
it (Chromium, ``fetch().json()``, httpx's ``.json()``, a spreadsheet opening an export).

1. **A phone or card export passed the bulk check unread.** ``BulkPII(kinds=("phone", ...))``
   proves a body harmless without reading it when it holds too few digits to spell more than
   ``threshold`` numbers (ten digits a phone, thirteen a card). The proof counted the body's
   *other* bytes instead: ``len(body) - len(body.translate(None, NOT_DIGITS))`` is the number of
   non-digits. A CSV of 30 phone numbers (``090-1234-0000`` a line: 89 non-digits, under
   ``20 * 10``) or of 25 card numbers went out (200) under any type the check reads, while the
   same numbers padded with words were blocked. Fixed: the digits are counted.
2. **A range of a JSON export typed as a download.** A ``206`` of a scanned type is refused, and
   a plain GET of a body of a type nothing reads is sniffed (``{`` opens JSON, and
   ``fetch().json()`` parses it whatever the type). A ``206`` of such a type streamed through
   unread ("a video's ranges stream"): the requester chooses the range, so ``Range: bytes=0-``
   on bob's export served as ``application/octet-stream`` (Starlette's ``FileResponse``,
   Werkzeug's ``send_file``) gave the whole record, 206, that the plain GET refused, and
   ``bytes=1-`` gave all of it but the ``{`` as text. Fixed: a ``206`` of a type nothing reads is
   refused (``scan_error``, "partial content cannot be scanned") unless its type is one media
   players and viewers fetch by ranges (``video/*``, ``audio/*``, ``image/*``, ``font/*``,
   ``application/pdf``), which still stream; a JSON body served under such a type is left,
   documented (strict xfail below).
3. **An untyped text body is text to a browser.** Chromium renders a body without a
   Content-Type and without binary bytes as ``text/plain`` (MIME Sniffing's "rules for
   identifying an unknown MIME type"); respguard streamed any untyped body that did not open
   like JSON or a page through unread, so the bulk check never counted the addresses of an
   export served without a type (30 addresses, 200); nor those of one served as a download
   (``application/octet-stream``, ``application/csv``). Left, documented (strict xfails below):
   reading them means holding every untyped or download body that opens with a printable byte
   (up to ``max_body_bytes``, past which it is refused as oversize) where it streams today.

Checked and holding (no test added): every ``+json`` type and ``text/json``, ``text/x-json``,
``application/x-json`` (JSON, or JSON under another type); XML, RSS, Atom and SVG alone (read as
pages); a 3xx/4xx/5xx page; duplicate attributes (either order), ``data-owner\f=``, upper case,
``<p/data-owner>``; ``<template>`` and ``<noscript>`` (read); ``<textarea>``, ``<title>``, ``<xmp>``,
``<plaintext>`` (text, no attribute in the DOM); a NUL in an attribute name (U+FFFD: another name);
a byte-order mark, JavaScript's white space and the XSSI prefix combined; JSON nested past
Python's limit under ``text/html`` with an owner key (``scan_error``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from _attacks import guarded
from conftest import BLOCK_BODY, GuardedStack, Reply, kinds
from ids import BOB

from respguard import AuditEvent, BulkPII

PHONES_AND_CARDS = BulkPII(("email", "phone", "card"))
BULK = [("bulk_personal_data", "blocked")]
PARTIAL = [("scan_error", "blocked")]

# ------------------------------------------------------------------ 1. the digit proof counted non-digits

_PHONE_LISTS = {
    "dashed": "\n".join(f"090-1234-{n:04d}" for n in range(30)),
    "bare": "\n".join(f"0901234{n:04d}" for n in range(30)),
    "csv": "name,phone\n" + "\n".join(f"p{n},03-1234-{n:04d}" for n in range(30)),
}


def _luhn(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return body + str((10 - total % 10) % 10)


_CARDS = "\n".join(_luhn(f"411111111111{n:03d}") for n in range(25))


@pytest.mark.parametrize("name", sorted(_PHONE_LISTS))
@pytest.mark.parametrize("content_type", ["text/csv", "text/plain", "text/vcard", "application/json"])
def test_a_phone_list_is_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], name: str, content_type: str
) -> None:
    """30 distinct phone numbers, few separators: 200 with every one of them, before."""
    body = _PHONE_LISTS[name]
    if content_type == "application/json":
        body = json.dumps({"phones": body.splitlines()})
    stack = guarded(make_stack, events, bulk_pii=PHONES_AND_CARDS)
    got = stack.send(Reply(headers=[("Content-Type", content_type)], chunks=[body.encode()]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == BULK
    assert events[0].counts == (("phone", 30),)
    assert "090-1234" not in events[0].to_json() and "1234" not in events[0].to_json()


def test_a_card_list_is_counted(make_stack: Callable[..., GuardedStack], events: list[AuditEvent]) -> None:
    got = guarded(make_stack, events, bulk_pii=PHONES_AND_CARDS).send(
        Reply(headers=[("Content-Type", "text/csv")], chunks=[_CARDS.encode()])
    )
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == BULK
    assert events[0].counts == (("card", 25),)


def test_control_twenty_phones_pass(make_stack: Callable[..., GuardedStack], events: list[AuditEvent]) -> None:
    body = "\n".join(f"090-1234-{n:04d}" for n in range(20)).encode()
    got = guarded(make_stack, events, bulk_pii=PHONES_AND_CARDS).send(
        Reply(headers=[("Content-Type", "text/csv")], chunks=[body])
    )
    assert (got.status, got.body) == (200, body)
    assert events == []


def test_the_digit_proof_counts_digits() -> None:
    """The proof itself: a body of many numbers is never 'surely under' the threshold."""
    bulk = BulkPII(("phone", "card"))
    nobody = lambda kind, value: False  # noqa: E731
    for body in (*_PHONE_LISTS.values(), _CARDS):
        assert not bulk.surely_under(body.encode(), "text", "/")
        assert bulk.over(body.encode(), "text", "/", nobody)
    assert bulk.surely_under(b"no numbers here, only words " * 100, "text", "/")


# ------------------------------------------------------------------ 2. a range of a JSON download

_EXPORT = json.dumps({"records": [{"user_id": BOB, "note": f"n{n}"} for n in range(3)]}).encode()


def _range_reply(content_type: str, first: int) -> Reply:
    """What a file server answers ``Range: bytes=<first>-`` with: 206 and the rest of the file."""
    content_range = f"bytes {first}-{len(_EXPORT) - 1}/{len(_EXPORT)}"
    headers = [("Content-Type", content_type), ("Content-Range", content_range), ("Accept-Ranges", "bytes")]
    return Reply(status=206, headers=headers, chunks=[_EXPORT[first:]])


@pytest.mark.parametrize("first", [0, 1, 12])
@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/zip", "application/x-download"])
def test_a_range_of_a_download_is_refused(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str, first: int
) -> None:
    """The plain GET is blocked (its first bytes open JSON); its ranges went out whole, 206."""
    stack = guarded(make_stack, events)
    plain = stack.send(Reply(headers=[("Content-Type", content_type)], chunks=[_EXPORT]))
    assert (plain.status, plain.body) == (403, BLOCK_BODY)
    events.clear()
    got = stack.send(_range_reply(content_type, first), headers=[("Range", f"bytes={first}-")])
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == PARTIAL
    assert events[0].reason == "partial content cannot be scanned"
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize("content_type", ["video/mp4", "audio/mpeg", "image/png", "font/woff2", "application/pdf"])
def test_control_media_ranges_stream(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    """A player's seek: the range goes out as the app sent it."""
    chunk = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4
    headers = [("Content-Type", content_type), ("Content-Range", f"bytes 100-{99 + len(chunk)}/100000")]
    got = guarded(make_stack, events).send(Reply(status=206, headers=headers, chunks=[chunk]))
    assert (got.status, got.body) == (206, chunk)
    assert events == []


def test_control_a_range_of_a_download_passes_without_json_extractors(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    """Nothing reads JSON (an HTML-only guard): a download's range is nobody's JSON to respguard."""
    from respguard import HtmlAttribute

    stack = make_stack(secret_key="k" * 16, extractors=[HtmlAttribute()], bind_sessions=False, on_event=events.append)
    stack.inner_lint = False
    got = stack.send(_range_reply("application/octet-stream", 1))
    assert (got.status, got.body) == (206, _EXPORT[1:])
    assert events == []


@pytest.mark.xfail(strict=True, reason="documented limit (README, 'Any type may be JSON to a script'): media ranges")
def test_limit_a_json_body_under_a_media_type_is_not_read_in_ranges(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent]
) -> None:
    got = guarded(make_stack, events).send(_range_reply("video/mp4", 0), headers=[("Range", "bytes=0-")])
    assert (got.status, got.body) == (403, BLOCK_BODY)


# ------------------------------------------------------------------ 3. untyped text and download exports (left)

_ADDRESSES = "\n".join(f"person{n}@example.com" for n in range(30)).encode()
_UNREAD_EXPORT = "documented limit (README, 'One response, many people', 'Not counted'): untyped text and downloads"


@pytest.mark.xfail(strict=True, reason=_UNREAD_EXPORT)
@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "application/csv"])
def test_limit_an_address_list_of_no_type_or_a_download_type_is_not_counted(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str | None
) -> None:
    """Chromium renders the untyped list as text/plain (a ``<pre>`` of 30 addresses); a download
    type opens in a spreadsheet. Counted: a 403 with one ``bulk_personal_data``."""
    headers = [("Content-Type", content_type)] if content_type else []
    headers.append(("Content-Disposition", "attachment; filename=people.csv"))
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[_ADDRESSES]))
    assert (got.status, got.body, kinds(events)) == (403, BLOCK_BODY, BULK)


@pytest.mark.parametrize("content_type", ["text/csv", "text/vcard", "text/calendar", "text/plain"])
def test_control_an_address_list_of_a_text_type_is_counted_as_a_download_too(
    make_stack: Callable[..., GuardedStack], events: list[AuditEvent], content_type: str
) -> None:
    headers = [("Content-Type", content_type), ("Content-Disposition", "attachment; filename=people")]
    got = guarded(make_stack, events).send(Reply(headers=headers, chunks=[_ADDRESSES]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == BULK
    assert events[0].counts == (("email", 30),)
    assert "person1@" not in events[0].to_json()
