"""The stream readers read as the client reads, in any chunking, in linear work.

Event-stream cases come from web-platform-tests ``eventsource/format-*`` (each body is what
its ``resources/message.py`` serves: the message, then ``\\n\\n`` unless ``newline=none``, then
``\\n``) and from the HTML standard's examples; JSON records from NDJSON practice and RFC 7464.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard._streams import Event, EventStreamReader, JsonLinesReader, Record, RecordTooLarge

BIG = 1 << 24


def wpt(message: bytes, newline: bool = True) -> bytes:
    """The body WPT's ``eventsource/resources/message.py`` serves."""
    return message + (b"\n\n" if newline else b"") + b"\n"


def events(body: bytes, chunks: list[int] | None = None, cap: int = BIG) -> list[Event]:
    reader = EventStreamReader(cap)
    out: list[Event] = []
    for piece in split(body, chunks):
        out += reader.feed(piece)
    return out + reader.end()


def records(body: bytes, chunks: list[int] | None = None, seq: bool = False, cap: int = BIG) -> list[Record]:
    reader = JsonLinesReader(cap, seq=seq)
    out: list[Record] = []
    for piece in split(body, chunks):
        out += reader.feed(piece)
    return out + reader.end()


def split(body: bytes, cuts: list[int] | None) -> list[bytes]:
    if cuts is None:
        return [body]
    points = sorted({min(max(c, 0), len(body)) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def dispatched(found: list[Event]) -> list[str]:
    return [e.data for e in found if e.dispatched]


LONG = b"x" * 2048
# (name, body, the data of each event a browser dispatches)
WPT_CASES: list[tuple[str, bytes, list[str]]] = [
    ("format-bom", wpt(b"\xef\xbb\xbfdata:1\n\n\xef\xbb\xbfdata:2\n\ndata:3"), ["1", "3"]),
    ("format-bom-2", wpt(b"\xef\xbb\xbf\xef\xbb\xbfdata:1\n\ndata:2\n\ndata:3"), ["2", "3"]),
    (
        "format-comments",
        wpt(b"data:1\r:\x00\n:\r\ndata:2\n:" + LONG + b"\rdata:3\n:data:fail\r:" + LONG + b"\ndata:4\n", False),
        ["1\n2\n3\n4"],
    ),
    ("format-field-data", wpt(b"data:\n\ndata\ndata\n\ndata:test"), ["", "\n", "test"]),
    (
        "format-field-parsing",
        wpt(
            b"data:\x00\ndata:  2\rData:1\ndata\x00:2\ndata:1\r\x00data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n"
            b" data:32\ndata:4\n",
            False,
        ),
        ["\x00\n 2\n1\n3\n\n4"],
    ),
    (
        "format-field-unknown",
        wpt(b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test"),
        ["test\n\ntest"],
    ),
    ("format-leading-space", wpt(b"data:\ttest\rdata: \ndata:test"), ["\ttest\n\ntest"]),
    ("format-newlines", wpt(b"data:test\r\ndata\ndata:test\r\n\r", False), ["test\n\ntest"]),
    ("format-null-character", wpt(b"data:\x00\n\n"), ["\x00"]),
    ("format-utf-8", wpt(b"data:ok\xe2\x80\xa6"), ["ok\u2026"]),
    ("format-data-before-final-empty-line", wpt(b"retry:1000\ndata:test1\n\nid:test\ndata:test2", False), ["test1"]),
    ("format-field-retry-bogus", wpt(b"retry:3000\rretry:1000x\rdata:x"), ["x"]),
    # The HTML standard's examples (9.2.5, 9.2.6).
    ("html-stock", b"data: YHOO\ndata: +2\ndata: 10\n\n", ["YHOO\n+2\n10"]),
    (
        "html-four-blocks",
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
        ["first event", "second event"],
    ),
    ("html-empty-data", b"data\n\ndata\ndata\n\ndata:", ["", "\n"]),
    ("html-space-after-colon", b"data:test\n\ndata: test\n\n", ["test", "test"]),
    # The case: a CRLF blank line after an LF line ends the event.
    ("lf-then-crlf", b"data: 9\n\r\ndata: 8\n\n", ["9", "8"]),
    ("cr-only", b"data: a\rdata: b\r\rdata: c\r\r", ["a\nb", "c"]),
    ("invalid-utf-8", b"data: \xff\xfe9\n\n", ["\ufffd\ufffd9"]),
    ("truncated-utf-8-at-line-end", b"data: \xe2\x80\ndata: \xf0\x9f\x98\r\n\r\n", ["\ufffd\n\ufffd"]),
    ("bom-mid-stream-is-data", b"data: \xef\xbb\xbfx\n\n", ["\ufeffx"]),
]


@pytest.mark.parametrize(("name", "body", "expected"), WPT_CASES, ids=[c[0] for c in WPT_CASES])
def test_dispatched_data_as_browsers_read_it(name: str, body: bytes, expected: list[str]) -> None:
    assert dispatched(events(body)) == expected
    assert dispatched(events(body, list(range(len(body))))) == expected  # a byte at a time


@pytest.mark.parametrize(("name", "body", "expected"), WPT_CASES, ids=[c[0] for c in WPT_CASES])
def test_every_two_way_split_reads_the_same(name: str, body: bytes, expected: list[str]) -> None:
    whole = events(body)
    for cut in range(0, min(len(body), 300) + 1):
        assert events(body, [cut]) == whole


def test_event_fields_types_and_ids() -> None:
    body = b"event:test\ndata:x\n\ndata:x\n\nevent: \ndata:y\n\nid: \xe2\x80\xa6\ndata:hello\n\ndata:again\n\n"
    found = events(body)
    assert [(e.type, e.data, e.last_event_id) for e in found] == [
        ("test", "x", ""),
        ("message", "x", ""),
        ("message", "y", ""),  # format-field-event-empty
        ("message", "hello", "\u2026"),  # format-field-id
        ("message", "again", "\u2026"),  # the id outlives its event
    ]


@pytest.mark.parametrize("value", [b"\x00\x00", b"x\x00", b"\x00x", b"x\x00x", b" \x00"])
def test_an_id_with_a_null_is_ignored(value: bytes) -> None:  # format-field-id-null
    found = events(b"id: 1\n\nid:" + value + b"\ndata:hello\n\n")
    assert [(e.data, e.last_event_id) for e in found if e.dispatched] == [("hello", "1")]


def test_blocks_offsets_and_text() -> None:
    body = b"\xef\xbb\xbf: ping\n\n\n\r\ndata: a\r\nid: 7\r\n\r\ndata: b"
    found = events(body)
    assert found == [
        Event(11, "", ": ping\n\n", True, False, False, "", ""),
        Event(31, "a", "data: a\r\nid: 7\r\n\r", True, False, True, "message", "7"),
        Event(39, "b", "data: b", False, False, False, "", "7"),
    ]
    assert body[3:11] == b": ping\n\n" and body[31:32] == b"\n"  # a CRLF's LF is no block's


def test_held_bytes_are_the_incomplete_block_only() -> None:
    reader = EventStreamReader(BIG)
    assert reader.feed(b"\xef\xbb") == [] and reader.held == 2
    assert reader.feed(b"\xbf\n\r\n: c") == [] and reader.held == 3
    assert reader.feed(b"\n\r") == [Event(11, "", ": c\n\r", True, False, False, "", "")]
    assert reader.held == 0 and reader.fed == 11
    assert reader.feed(b"\ndata: x\r") == [] and reader.held == 8
    assert reader.feed(b"\n") == [] and reader.held == 9
    assert reader.end() == [Event(21, "x", "data: x\r\n", False, False, False, "", "")]


def test_an_event_past_the_cap_stops_the_reader_without_holding_it() -> None:
    reader = EventStreamReader(100)
    assert reader.feed(b"data: 1\n\ndata: ") == [Event(9, "1", "data: 1\n\n", True, False, True, "message", "")]
    for _ in range(9):
        reader.feed(b"x" * 10)
    assert reader.held == 96
    with pytest.raises(RecordTooLarge) as raised:
        reader.feed(b"x" * 10 + b"\n\ndata: 2\n\n")
    assert raised.value.records == [] and str(raised.value) == "record over max_record_bytes"
    assert reader.held == 0
    with pytest.raises(RecordTooLarge):
        reader.feed(b"data: 3\n\n")  # spent


def test_records_completed_before_the_cap_travel_with_the_error() -> None:
    reader = EventStreamReader(50)
    with pytest.raises(RecordTooLarge) as raised:
        reader.feed(b"data: 1\n\n" + b"data: " + b"y" * 60)
    assert [e.data for e in raised.value.records] == ["1"]


def test_the_cap_holds_for_many_lines_of_one_event() -> None:
    reader = EventStreamReader(100)
    with pytest.raises(RecordTooLarge):
        for _ in range(20):
            reader.feed(b"data: 123456\n")
    assert reader.fed <= 100 + 13


# ---------------------------------------------------------------- JSON lines and sequences
JSON_CASES: list[tuple[str, bytes, bool, list[tuple[str, bool, bool]]]] = [
    ("ndjson", b'{"a":1}\n{"b":2}\n', False, [('{"a":1}', True, False), ('{"b":2}', True, False)]),
    ("crlf-and-blank-lines", b'{"a":1}\r\n\r\n\n  \n[2]\r\n', False, [('{"a":1}', True, False), ("[2]", True, False)]),
    ("bom-dropped", b'\xef\xbb\xbf{"a":1}\n', False, [('{"a":1}', True, False)]),
    (
        "unterminated-tail",
        b'{"a":1}\n{"user_id": 9}',
        False,
        [('{"a":1}', True, False), ('{"user_id": 9}', False, False)],
    ),
    (
        "invalid-byte-read-leniently",
        b'{"user_id": 9, "n": "\xff"}\n',
        False,
        [('{"user_id": 9, "n": "\ufffd"}', True, True)],
    ),
    (
        "rs-in-lines-mode",
        b'\x1e{"a":1}\n\x1e{"b":2}\x1e{"c":3}\n',
        False,
        [('{"a":1}', True, False), ('{"b":2}', True, False), ('{"c":3}', True, False)],
    ),
    # RFC 7464: RS leads each text; LF ends it but is not needed; RS alone separates.
    ("rfc7464", b'\x1e{"a":1}\n\x1e[2]\n', True, [('{"a":1}', True, False), ("[2]", False, False)]),
    (
        "rs-alone",
        b'\x1e{"a":1}\x1e{"user_id":9}\x1e\x1e\x1e3',
        True,
        [('{"a":1}', True, False), ('{"user_id":9}', True, False), ("3", False, False)],
    ),
    (
        "seq-pretty-printed",
        b'\x1e{\n "user_id":\n  9\n}\n\x1e1\n',
        True,
        [('{\n "user_id":\n  9\n}', True, False), ("1", False, False)],
    ),
    ("seq-invalid-byte", b'\x1e"\xc3"\n\x1e', True, [('"\ufffd"', True, True)]),
]


@pytest.mark.parametrize(("name", "body", "seq", "expected"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_records_as_clients_read_them(
    name: str, body: bytes, seq: bool, expected: list[tuple[str, bool, bool]]
) -> None:
    whole = records(body, seq=seq)
    assert [(r.data, r.complete, r.invalid) for r in whole] == expected
    for cut in range(len(body) + 1):
        assert records(body, [cut], seq=seq) == whole
    assert records(body, list(range(len(body))), seq=seq) == whole


def test_json_record_offsets_and_held() -> None:
    reader = JsonLinesReader(BIG)
    assert reader.feed(b'\n {"a":1}\r\n  {"b"') == [Record(11, '{"a":1}', '{"a":1}\r\n', True, False)]
    assert reader.held == 4 and reader.fed == 17
    assert reader.feed(b":2}\n") == [Record(21, '{"b":2}', '{"b":2}\n', True, False)]
    assert reader.held == 0 and reader.end() == []
    seq = JsonLinesReader(BIG, seq=True)
    assert seq.feed(b'\x1e{"a":1}\n\x1e{') == [Record(9, '{"a":1}', '{"a":1}\n', True, False)]
    assert seq.held == 1


def test_a_json_record_past_the_cap() -> None:
    reader = JsonLinesReader(10)
    with pytest.raises(RecordTooLarge) as raised:
        reader.feed(b"[1]\n" + b"[" * 11)
    assert [r.data for r in raised.value.records] == ["[1]"]
    reader = JsonLinesReader(10)
    with pytest.raises(RecordTooLarge):
        for _ in range(20):
            reader.feed(b"1")
    assert reader.fed == 11
    with pytest.raises(RecordTooLarge):
        JsonLinesReader(10).feed(b"[1]\n" + b"2" * 11 + b"\n")  # whole in one chunk: the same cap


def test_a_cap_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_record_bytes must be positive"):
        EventStreamReader(0)
    with pytest.raises(ValueError, match="max_record_bytes must be positive"):
        JsonLinesReader(0)


# ---------------------------------------------------------------- reference parsers, straight from the texts
@dataclass
class RefBlock:
    text: str
    data: str
    dispatched: bool
    type: str
    last_event_id: str
    complete: bool


_REF_LINE = re.compile(r"\r\n|\r|\n")


def reference_events(body: bytes) -> list[RefBlock]:
    """The HTML standard's event stream interpretation over the whole stream at once."""
    text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    blocks: list[RefBlock] = []
    start = -1
    data: list[str] = []
    kind = ""
    last_id = ""
    pos = 0

    def process(line: str) -> None:
        nonlocal kind, last_id
        if line.startswith(":"):
            return
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""
        if name == "data":
            data.append(value)
        elif name == "event":
            kind = value
        elif name == "id" and "\x00" not in value:
            last_id = value

    while True:
        match = _REF_LINE.search(text, pos)
        if match is None:
            break
        line = text[pos : match.start()]
        if line == "":
            if start >= 0:
                sent = bool(data)
                blocks.append(
                    RefBlock(
                        text[start : match.start() + 1],
                        "\n".join(data),
                        sent,
                        (kind or "message") if sent else "",
                        last_id,
                        True,
                    )
                )
            start, data, kind = -1, [], ""
        else:
            if start < 0:
                start = pos
            process(line)
        pos = match.end()
    if pos < len(text):
        if start < 0:
            start = pos
        process(text[pos:])
    if start >= 0:
        blocks.append(RefBlock(text[start:], "\n".join(data), False, "", last_id, False))
    return blocks


def reference_records(body: bytes, seq: bool) -> list[tuple[str, bool]]:
    """A client's reading: decode (BOM dropped), split at RS (and LF for lines), parse each."""
    text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    pieces = re.split("\x1e" if seq else "[\n\x1e]", text)
    out = [(p.strip(" \t\r\n"), True) for p in pieces[:-1]]
    out.append((pieces[-1].strip(" \t\r\n"), False))
    return [(data, complete) for data, complete in out if data]


TOKENS = [b"data", b"data:", b"event:", b"id:", b"retry:", b":", b" ", b"\r", b"\n", b"\r\n", b"x", b"9"]
TOKENS += [b"\xef\xbb\xbf", b"\xff", b"\xe2\x80", b"\x00", b"\x1e", b"{", b'"', b"\t"]
streams = st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join)
cuts = st.lists(st.integers(0, 400), max_size=12)


@settings(max_examples=300, deadline=None)
@given(streams, cuts)
def test_any_chunking_reads_the_same_events(body: bytes, chunking: list[int]) -> None:
    assert events(body, chunking) == events(body)


@settings(max_examples=300, deadline=None)
@given(streams)
def test_the_reader_agrees_with_the_reference_parser(body: bytes) -> None:
    found = events(body)
    assert [
        RefBlock(e.text, e.data, e.dispatched, e.type, e.last_event_id, e.complete) for e in found
    ] == reference_events(body)


@settings(max_examples=300, deadline=None)
@given(streams, cuts, st.booleans())
def test_any_chunking_reads_the_same_json_records(body: bytes, chunking: list[int], seq: bool) -> None:
    whole = records(body, seq=seq)
    assert records(body, chunking, seq=seq) == whole
    assert [(r.data, r.complete) for r in whole] == reference_records(body, seq)


@settings(max_examples=200, deadline=None)
@given(streams, cuts)
def test_released_bytes_never_pass_an_incomplete_record(body: bytes, chunking: list[int]) -> None:
    """``fed - held`` (what the caller may send) covers only whole blocks and the blank lines
    between them: every block a browser would read ends by then, or starts after."""
    reader = EventStreamReader(BIG)
    seen: list[Event] = []
    for piece in split(body, chunking):
        seen += reader.feed(piece)
        released = reader.fed - reader.held
        assert all(e.end <= released for e in seen)
    tail = reader.end()
    if tail:
        assert tail[0].end == len(body)


# ---------------------------------------------------------------- linear work
MIB = 1 << 20


def _work(reader: EventStreamReader | JsonLinesReader, chunks: list[bytes]) -> tuple[int, float]:
    found = 0
    for chunk in chunks:
        found += len(reader.feed(chunk))
    found += len(reader.end())
    return found, reader.examined / reader.fed


def _chunked(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("size", [1024, 100])
def test_one_huge_event_line_by_line_is_linear(size: int) -> None:
    body = (b"data: " + b"x" * 73 + b"\n") * (3 * MIB // 2 // 80) + b"\n"
    found, ratio = _work(EventStreamReader(2 * MIB), _chunked(body, size))
    assert found == 1 and ratio <= 5


@pytest.mark.parametrize("size", [1024, 100])
def test_one_huge_unterminated_line_is_linear(size: int) -> None:
    body = b"data: " + b"x" * (3 * MIB // 2) + b"\n\n"
    found, ratio = _work(EventStreamReader(2 * MIB), _chunked(body, size))
    assert found == 1 and ratio <= 5


def test_a_cr_at_every_chunk_end_is_linear() -> None:
    chunks = [b"data: " + b"x" * 90 + b"\r", b"\n"] * 8000 + [b"\r"]
    chunks += [b"\ndata: " + b"y" * 90 + b"\r"] * 8000 + [b"\r"]
    reader = EventStreamReader(2 * MIB)
    found, ratio = _work(reader, chunks)
    assert found == 2 and ratio <= 5


def test_blank_lines_alone_are_linear_and_hold_nothing() -> None:
    reader = EventStreamReader(100)
    for chunk in _chunked(b"\r" * MIB, 100):
        assert reader.feed(chunk) == [] and reader.held == 0
    assert reader.examined == MIB


@pytest.mark.parametrize("size", [1024, 100])
def test_json_lines_of_one_byte_records_are_linear(size: int) -> None:
    body = b"1\n" * (MIB // 2)
    found, ratio = _work(JsonLinesReader(MIB), _chunked(body, size))
    assert found == MIB // 2 and ratio <= 5


@pytest.mark.parametrize("seq", [False, True])
def test_one_huge_json_record_is_linear(seq: bool) -> None:
    body = b'\x1e{"a": "' + b"x\\n\n" * (MIB // 2) + b'"}\n\x1e1'
    found, ratio = _work(JsonLinesReader(4 * MIB, seq=seq), _chunked(body, 100))
    assert found == (2 if seq else MIB // 2 + 2) and ratio <= 5


def test_a_json_text_sequence_record_past_the_cap() -> None:
    reader = JsonLinesReader(10, seq=True)
    assert reader.feed(b"\x1e[1]\n\x1e") == [Record(5, "[1]", "[1]\n", True, False)]
    with pytest.raises(RecordTooLarge) as raised:
        for _ in range(3):
            reader.feed(b"[1,\n2,\n")  # LF ends no record in a sequence: one record grows
    assert raised.value.records == [] and reader.fed == 6 + 14


def test_json_reader_holds_a_possible_bom() -> None:
    reader = JsonLinesReader(BIG)
    assert reader.feed(b"\xef") == [] and reader.held == 1
    assert reader.feed(b"\xbb\xbf1\n") == [Record(5, "1", "1\n", True, False)] and reader.held == 0
    short = JsonLinesReader(BIG)
    assert short.feed(b"\xef\xbb") == [] and short.end() == [Record(2, "\ufffd", "\ufffd", False, True)]
