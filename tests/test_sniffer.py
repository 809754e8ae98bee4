"""The sniffer's reading of a body's first bytes (respguard._bodies.Sniffer)."""

from __future__ import annotations

import gzip

import pytest

from respguard._bodies import Sniffer
from respguard._content import JS_SPACE, JSON, OTHER, opens_like_wide_json, sniff_media

#: What may follow a first byte: nothing, JSON, a page, UTF-16/32 JSON (its zero bytes, a mark),
#: and the rest of each white-space character AngularJS trims (in UTF-8) before JSON.
_RESTS = (b"", b'{"user_id": 9}', b"<p>", b'\x00{\x00"\x00', b"\x00\x00\x00[", b"\xff\x00[\x00") + tuple(
    char.encode()[1:] + b'{"user_id": 9}' for char in JS_SPACE if len(char.encode()) > 1
)


def _slow_reading(body: bytes, json_only: bool) -> str | None:
    """The media a body's whole opening gives by the readings the sniffer stands for."""
    if opens_like_wide_json(body):
        return JSON
    media = sniff_media(body)
    return OTHER if json_only and media is not None and media != JSON else media


@pytest.mark.parametrize("json_only", [True, False])
@pytest.mark.parametrize("first", range(256))
def test_a_first_byte_decides_as_the_whole_opening_does(first: int, json_only: bool) -> None:
    """The first-byte shortcut (an image, a PDF: OTHER at once) agrees with reading the opening
    in every way a client may: sniffing, a byte-order mark, UTF-16/32 JSON, the XSSI prefix."""
    for rest in _RESTS:
        body = bytes([first]) + rest
        fed = Sniffer(1 << 20, None, json_only).feed(body)
        if fed == OTHER:
            assert _slow_reading(body, json_only) == OTHER, body
        else:
            assert fed == _slow_reading(body, json_only) or fed is None, body


def test_a_png_is_other_on_its_first_byte() -> None:
    assert Sniffer(1 << 20, None, True).feed(b"\x89PNG\r\n\x1a\n") == OTHER
    assert Sniffer(1 << 20, None, False).feed(b"%PDF-1.7") == OTHER


@pytest.mark.parametrize(
    "body", [b' {"user_id": 9}', b'\xef\xbb\xbf{"user_id": 9}', b')]}\',\n{"a": 1}', b'{\x00"\x00']
)
def test_openers_that_wait_or_read_json_are_not_cut_short(body: bytes) -> None:
    assert Sniffer(1 << 20, None, True).feed(body) == JSON


def test_a_compressed_body_whose_first_piece_decodes_to_nothing_waits() -> None:
    """A gzip header alone decodes to no byte: nothing tells yet (the fuzz test's IndexError)."""
    body = gzip.compress(b'{"user_id": 9}', mtime=0)
    sniffer = Sniffer(1 << 20, "gzip", True)
    assert sniffer.feed(body[:10]) is None
    assert sniffer.feed(body[10:]) == JSON
