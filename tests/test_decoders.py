"""Content-Encoding decoders: exact output, every member and frame, limits, truncation, linear work."""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Callable
from typing import Any

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard import _content
from respguard._content import BodyDecodeError, DecodedTooLarge, StreamDecoder, decode_content

TEXT = b'{"user_id": 9, "name": "Ada"}\n' * 300


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def zstd(data: bytes) -> bytes:
    return bytes(zstandard.ZstdCompressor().compress(data))


ENCODED: dict[str, tuple[str, bytes]] = {
    "gzip": ("gzip", gzip.compress(TEXT, mtime=0)),
    "x-gzip": ("x-gzip", gzip.compress(TEXT, mtime=0)),
    "deflate-zlib": ("deflate", zlib.compress(TEXT)),
    "deflate-raw": ("deflate", raw_deflate(TEXT)),
    "br": ("br", brotli.compress(TEXT)),
    "zstd": ("zstd", zstd(TEXT)),
    "gzip-then-br": ("gzip, br", brotli.compress(gzip.compress(TEXT, mtime=0))),
    "identity-gzip": ("identity, GZIP", gzip.compress(TEXT, mtime=0)),
}


def streamed(body: bytes, coding: str, limit: int, size: int) -> bytes:
    decoder = StreamDecoder(coding, limit)
    out = [decoder.feed(body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(out) + decoder.end()


@pytest.mark.parametrize("name", ENCODED)
def test_each_coding_decodes_exactly(name: str) -> None:
    coding, body = ENCODED[name]
    assert decode_content(body, coding, len(TEXT)) == TEXT
    for size in (1, 7, 4096, len(body)):
        assert streamed(body, coding, len(TEXT), size) == TEXT


@pytest.mark.parametrize("name", ENCODED)
def test_one_byte_over_the_limit_is_too_large(name: str) -> None:
    coding, body = ENCODED[name]
    with pytest.raises(DecodedTooLarge):
        decode_content(body, coding, len(TEXT) - 1)
    for size in (1, 4096, len(body)):
        with pytest.raises(DecodedTooLarge):
            streamed(body, coding, len(TEXT) - 1, size)


@pytest.mark.parametrize("name", ENCODED)
def test_a_truncated_body_is_an_error(name: str) -> None:
    coding, body = ENCODED[name]
    # A zlib "deflate" body that fails is tried again as raw deflate, which fails differently.
    fixed = "^body cannot be decompressed$" if name == "deflate-zlib" else "^compressed body is truncated$"
    with pytest.raises(BodyDecodeError, match=fixed):
        decode_content(body[:-4], coding, 10 * len(TEXT))
    with pytest.raises(BodyDecodeError, match="^compressed body is truncated$"):
        streamed(body[:-4], coding, 10 * len(TEXT), 5)


def test_a_zstd_body_cut_inside_its_only_block_is_truncated() -> None:
    # stream_reader returned nothing for it, so it read as an empty body.
    body = zstd(b"hello world" * 100)
    with pytest.raises(BodyDecodeError, match="^compressed body is truncated$"):
        decode_content(body[:-3], "zstd", 1 << 20)


BOMBS: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("gzip", lambda d: gzip.compress(d, mtime=0)),
    ("deflate", zlib.compress),
    ("br", brotli.compress),
    ("zstd", zstd),
]


@pytest.mark.parametrize(("coding", "pack"), BOMBS, ids=[b[0] for b in BOMBS])
def test_a_bomb_stops_at_the_limit(coding: str, pack: Callable[[bytes], bytes]) -> None:
    bomb = pack(bytes(64 << 20))
    assert len(bomb) < 70_000
    with pytest.raises(DecodedTooLarge):
        decode_content(bomb, coding, 1 << 20)
    decoder = StreamDecoder(coding, 1 << 20)
    with pytest.raises(DecodedTooLarge):
        decoder.feed(bomb)


def test_every_gzip_member_is_read() -> None:
    body = gzip.compress(b"own ", mtime=0) + gzip.compress(b'{"user_id": 9}', mtime=0)
    assert decode_content(body, "gzip", 100) == b'own {"user_id": 9}'
    assert streamed(body, "gzip", 100, 3) == b'own {"user_id": 9}'


def test_every_zstd_frame_is_read() -> None:
    body = zstd(b"own ") + zstd(b'{"user_id": 9}')
    assert decode_content(body, "zstd", 100) == b'own {"user_id": 9}'
    assert streamed(body, "zstd", 100, 3) == b'own {"user_id": 9}'


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("deflate", zlib.compress(b"a") + zlib.compress(b"b")),
        ("deflate", raw_deflate(b"a") + b"junk"),
        ("gzip", gzip.compress(b"a", mtime=0) + b"\x00\x00"),
        ("br", brotli.compress(b"a") + b"junk"),
        ("zstd", zstd(b"a") + b"junk"),
        ("gzip", b"not gzip at all"),
    ],
)
def test_data_after_the_stream_or_garbage_is_an_error(coding: str, body: bytes) -> None:
    with pytest.raises(BodyDecodeError):
        decode_content(body, coding, 100)
    with pytest.raises(BodyDecodeError):
        streamed(body, coding, 100, 2)


def test_an_empty_body_is_empty_and_an_unknown_coding_an_error() -> None:
    assert decode_content(b"", "gzip", 10) == b""
    assert StreamDecoder("gzip, br", 10).end() == b""
    with pytest.raises(BodyDecodeError, match="^unsupported content-encoding$"):
        StreamDecoder("gzip, compress", 10)
    with pytest.raises(BodyDecodeError, match="^compressed body is truncated$"):
        _content._gunzip(b"", 10)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(ENCODED)), st.lists(st.integers(1, 600), min_size=1, max_size=20))
def test_any_chunking_decodes_the_same(name: str, sizes: list[int]) -> None:
    coding, body = ENCODED[name]
    decoder = StreamDecoder(coding, len(TEXT))
    out, pos = [], 0
    for size in sizes:
        out.append(decoder.feed(body[pos : pos + size]))
        pos += size
    out.append(decoder.feed(body[pos:]))
    assert b"".join(out) + decoder.end() == TEXT


# ---------------------------------------------------------------- linear work
class _Counting:
    """A zlib/zstd decoder that counts the input bytes handed to it and copied back out."""

    handled = 0

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def decompress(self, data: Any, *limit: int) -> bytes:
        _Counting.handled += len(data)
        out: bytes = self.inner.decompress(data, *limit)
        return out

    @property
    def eof(self) -> bool:
        return bool(self.inner.eof)

    @property
    def unused_data(self) -> bytes:
        unused: bytes = self.inner.unused_data
        _Counting.handled += len(unused)
        return unused


def test_many_one_byte_gzip_members_decode_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    member = gzip.compress(b"x", mtime=0)
    body = member * ((2 << 20) // len(member))  # a 2 MiB body of one-byte members
    real = zlib.decompressobj
    monkeypatch.setattr(zlib, "decompressobj", lambda wbits: _Counting(real(wbits)))
    _Counting.handled = 0
    assert decode_content(body, "gzip", 1 << 20) == b"x" * (len(body) // len(member))
    assert _Counting.handled <= 8 * len(body)  # was members x body / 2: about 100 000 times more


def test_many_tiny_zstd_frames_decode_in_linear_work(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = zstd(b"x")
    body = frame * ((1 << 20) // len(frame))
    frames = _content._zstd_frames()
    real = frames.decompressobj

    class Frames:
        def decompressobj(self) -> _Counting:
            return _Counting(real())

    monkeypatch.setattr(_content, "_zstd_frames", lambda: Frames())
    _Counting.handled = 0
    assert decode_content(body, "zstd", 1 << 20) == b"x" * (len(body) // len(frame))
    assert _Counting.handled <= 8 * len(body)


def test_a_long_gzip_member_is_fed_in_growing_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    body = gzip.compress(random.Random(15).randbytes(1 << 20), mtime=0)  # incompressible
    calls: list[int] = []
    real = zlib.decompressobj

    class Recording(_Counting):
        def decompress(self, data: Any, *limit: int) -> bytes:
            calls.append(len(data))
            return super().decompress(data, *limit)

    monkeypatch.setattr(zlib, "decompressobj", lambda wbits: Recording(real(wbits)))
    assert len(decode_content(body, "gzip", 1 << 20)) == 1 << 20
    assert calls[:4] == [64, 128, 256, 512] and max(calls) == 64 * 1024


def test_a_compressed_event_stream_reads_as_it_streams() -> None:
    """``StreamDecoder`` then ``EventStreamReader``: each event comes out with the chunk that
    completes it, as the server flushed it (the shape an ``EventSource`` over gzip takes)."""
    from respguard._streams import EventStreamReader

    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    flushed = [packer.compress(b"data: own\r\n\r") + packer.flush(zlib.Z_SYNC_FLUSH)]
    flushed.append(packer.compress(b'\ndata: {"user_id": 9}\n\n') + packer.flush(zlib.Z_SYNC_FLUSH))
    flushed.append(packer.compress(b"data: tail") + packer.flush())
    decoder, reader = StreamDecoder("gzip", 1 << 20), EventStreamReader(1 << 20)
    seen = [[e.data for e in reader.feed(decoder.feed(chunk))] for chunk in flushed]
    assert seen == [["own"], ['{"user_id": 9}'], []]
    assert reader.held == len(b"data: tail")
    tail = reader.feed(decoder.end()) + reader.end()
    assert [(e.data, e.complete) for e in tail] == [("tail", False)]
