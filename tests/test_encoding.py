"""Bytes to text as browsers decode them (WHATWG Encoding standard, HTML prescan and sniffing)."""

from __future__ import annotations

import importlib.metadata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard._content import BodyDecodeError
from respguard._encoding import (
    DEFAULT_HTML_ENCODING,
    ENCODINGS,
    LABELS,
    UndecodableBody,
    bom_encoding,
    declared_anywhere,
    decode,
    html_encoding,
    html_encoding_candidates,
    html_encoding_guessed,
    lookup,
    meta_content_encoding,
    prescan_html,
    text_encoding,
    utf8_decode,
)

PROPS = settings(max_examples=300, deadline=None)

# --------------------------------------------------------------------------- labels


def test_the_label_table_is_the_standards() -> None:
    """Checked against webencodings 0.6.1, which follows the standard's encodings.json exactly."""
    webencodings = pytest.importorskip("webencodings")
    version = tuple(int(p) for p in importlib.metadata.version("webencodings").split(".")[:2])
    if version < (0, 6):
        pytest.skip("webencodings before 0.6 lacks labels the standard has (see respguard._encoding)")
    theirs = webencodings.LABELS
    assert set(LABELS) == set(theirs)
    assert {label: LABELS[label] for label in LABELS} == {label: theirs[label].lower() for label in LABELS}
    assert len(LABELS) == 228 and len(ENCODINGS) == 40


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("utf-8", "utf-8"),
        (" \t\n\x0c\rUTF8 \n", "utf-8"),
        ("unicode-1-1-utf-8", "utf-8"),
        ("x-unicode20utf8", "utf-8"),
        ("iso-8859-1", "windows-1252"),
        ("latin1", "windows-1252"),
        ("US-ASCII", "windows-1252"),
        ("ascii", "windows-1252"),
        ("iso-8859-9", "windows-1254"),
        ("gb2312", "gbk"),
        ("GB_2312-80", "gbk"),
        ("x-gbk", "gbk"),
        ("gb18030", "gb18030"),
        ("sjis", "shift_jis"),
        ("windows-31j", "shift_jis"),
        ("ms932", "shift_jis"),
        ("ks_c_5601-1987", "euc-kr"),
        ("big5-hkscs", "big5"),
        ("csiso2022jp", "iso-2022-jp"),
        ("iso-2022-kr", "replacement"),
        ("hz-gb-2312", "replacement"),
        ("iso-2022-cn-ext", "replacement"),
        ("utf-16", "utf-16le"),
        ("ucs-2", "utf-16le"),
        ("unicodefffe", "utf-16be"),
        ("koi8-ru", "koi8-u"),
        ("x-user-defined", "x-user-defined"),
        ("logical", "iso-8859-8-i"),
    ],
)
def test_lookup(label: str, name: str) -> None:
    assert lookup(label) == name


@pytest.mark.parametrize(
    "label",
    [
        "cp037",
        "utf-7",
        "utf-32",
        "latin-1",
        "cp932",
        "utf_8",
        "\u212aoi8-r",
        "utf-8\x00",
        "utf\u00a08",
        "",
        "  ",
        "replacement ",
    ],
)
def test_labels_browsers_do_not_know_name_nothing(label: str) -> None:
    expected = "replacement" if label == "replacement " else None
    assert lookup(label) == expected


# --------------------------------------------------------------------------- decode


def test_windows_1252_reads_every_byte_and_undefined_ones_are_c1_controls() -> None:
    assert decode(b"\x80\x81\x8d\x8f\x90\x9d\x9f", "windows-1252") == "\u20ac\x81\x8d\x8f\x90\x9d\u0178"
    assert decode(bytes(range(256)), lookup("iso-8859-1") or "") == decode(bytes(range(256)), "windows-1252")
    assert len(decode(bytes(range(256)), "windows-1252")) == 256
    assert "\ufffd" not in decode(bytes(range(256)), "windows-1252")


@pytest.mark.parametrize(
    ("encoding", "body", "text"),
    [
        ("koi8-u", b"\xae\xbe", "\u045e\u040e"),  # KOI8-RU in browsers
        ("windows-1255", b"\xca", "\u05ba"),
        ("windows-1253", b"\x81\xaa", "\x81\ufffd"),  # 0xAA has no code point
        ("iso-8859-3", b"\xa5", "\ufffd"),
        ("windows-874", b"\x81\xdb", "\x81\ufffd"),
        ("x-user-defined", b"a\x80\xff", "a\uf780\uf7ff"),
        ("replacement", b"anything <p data-owner=bob>", "\ufffd"),
        ("replacement", b"", ""),
        ("utf-16le", b"a\x00\x00\xd8b\x00", "a\ufffdb"),  # a lone surrogate, then the next unit
        ("utf-16be", b"\x00a\xdc\x00", "a\ufffd"),
        ("utf-16le", b"a\x00b", "a\ufffd"),  # an odd byte at the end
        ("utf-8", b"\xf0\x80\x80A", "\ufffd\ufffd\ufffdA"),  # maximal subparts, as the standard says
        ("utf-8", b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),
        ("utf-8", b"\xe2\x82A", "\ufffdA"),
        ("shift_jis", b"\x82\xa0a\xa0\xfd", "\u3042a\ufffd\ufffd"),
        ("shift_jis", b"\x5c\x7e\x80\xb1", "\\~\x80\uff71"),
        ("euc-kr", b"\xb0\xa1", "\uac00"),
        ("euc-jp", b"\xa1\xc1\xa4\xa2", "\uff5e\u3042"),
        ("big5", b"\xa1\x45\xa4\x40", "\u2027\u4e00"),
        ("gb18030", b"\xa8\xbc\x81\x35\xf4\x37\xa3\xa0", "\u1e3f\ue7c7\u3000"),
        ("gbk", b"\xd6\xd0", "\u4e2d"),
        ("iso-2022-jp", b"plain <p>", "plain <p>"),
    ],
)
def test_decode_as_browsers_do(encoding: str, body: bytes, text: str) -> None:
    assert decode(body, encoding) == text


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gbk", b"\x81\x30"),  # a broken four-byte sequence: the browser's re-reading is not modelled
        ("gb18030", b"\x81\x30\x81"),
        ("euc-jp", b"\x8f\xa2\xb7"),  # FULLWIDTH TILDE to browsers, "~" to Python
        ("euc-jp", b"ok \x8f\xa2\xb7 ok"),
        ("euc-jp", b"\xad\xa1"),  # NEC's circled 1: browsers know it, Python's euc_jp does not
        ("euc-jp", b"\x8f\xa1\xa1"),
        ("big5", b"\xa2\x41"),
        ("big5", b"\x87\x7a"),  # an HKSCS-2008 character Python's big5hkscs lacks
        ("iso-2022-jp", b'\x1b$B$"\x1b(B'),
        ("iso-2022-jp", b"\x0e"),
        ("iso-2022-jp", b"\xa4"),
    ],
)
def test_readings_that_cannot_be_proved_are_refused(encoding: str, body: bytes) -> None:
    with pytest.raises(UndecodableBody) as raised:
        decode(body, encoding)
    assert isinstance(raised.value, BodyDecodeError)
    assert str(raised.value) in (
        "body has bytes browsers read as characters respguard does not know",
        "body holds bytes browsers decode differently",
        "body uses ISO-2022-JP escapes",
    )


@pytest.mark.parametrize(
    ("encoding", "body", "text"),
    [
        ("shift_jis", b"\x81", "\ufffd"),  # a leading byte at the end
        ("shift_jis", b'\x81"x', '\ufffd"x'),  # an ASCII byte after a leading byte is read again
        ("shift_jis", b"\x81\x7fa", "\ufffd\x7fa"),
        ("shift_jis", b"\x82\xfd!", "\ufffd!"),  # a non-ASCII one is not
        ("shift_jis", b"\xff\x82\xa0", "\ufffd\u3042"),
        ("euc-kr", b"\xb0", "\ufffd"),
        ("euc-kr", b"\x80\xb0\xa1", "\ufffd\uac00"),
        ("euc-kr", b'\xc9"', '\ufffd"'),
        ("big5", b"\xff\xa4\x40", "\ufffd\u4e00"),
        ("big5", b"\x81\x41", "\ufffdA"),
        ("gb18030", b"a\x80b", "a\u20acb"),
        ("gbk", b"\xff\xd6\xd0", "\ufffd\u4e2d"),
        ("euc-jp", b'\xa4"\xa4\xa2', '\ufffd"\u3042'),
    ],
)
def test_invalid_sequences_resynchronise_as_in_browsers(encoding: str, body: bytes, text: str) -> None:
    assert decode(body, encoding) == text


def whatwg_two_byte(body: bytes, codec: str, leads: tuple[range, ...], trails: tuple[range, ...]) -> str:
    """The standard's Shift_JIS / EUC-KR decoder state machine, its index looked up through ``codec``.

    (The index itself was checked against the standard's index files, pair by pair, when the
    codecs were chosen; this checks respguard's handling of everything around valid pairs.)
    """
    out: list[str] = []
    i = 0
    while i < len(body):
        byte = body[i]
        i += 1
        if any(byte in r for r in leads):
            if i >= len(body):
                out.append("\ufffd")  # a leading byte at the end
                break
            trail = body[i]
            i += 1
            char = None
            if any(trail in r for r in trails):
                try:
                    char = bytes([byte, trail]).decode(codec)
                except UnicodeDecodeError:
                    char = None
            if char is not None and len(char) == 1:
                out.append(char)
                continue
            if trail < 0x80:
                i -= 1  # an ASCII byte is read again
            out.append("\ufffd")
        elif byte < 0x80 or (codec == "cp932" and byte == 0x80):
            out.append(chr(byte))
        elif codec == "cp932" and 0xA1 <= byte <= 0xDF:
            out.append(chr(0xFF61 - 0xA1 + byte))
        else:
            out.append("\ufffd")
    return "".join(out)


two_byte_bodies = st.lists(
    st.one_of(
        st.binary(min_size=1, max_size=2),
        st.sampled_from([b"\x82\xa0", b"\xb0\xa1", b"\x81\x40", b'"', b"<", b"a", b"\x81", b"\xfd", b"\x80"]),
    ),
    max_size=10,
).map(b"".join)


@PROPS
@given(two_byte_bodies)
def test_shift_jis_and_euc_kr_are_the_standards_state_machines(body: bytes) -> None:
    if bom_encoding(body) is not None:
        return
    sjis = whatwg_two_byte(
        body, "cp932", (range(0x81, 0xA0), range(0xE0, 0xFD)), (range(0x40, 0x7F), range(0x80, 0xFD))
    )
    assert decode(body, "shift_jis") == sjis
    assert decode(body, "euc-kr") == whatwg_two_byte(body, "cp949", (range(0x81, 0xFF),), (range(0x41, 0xFF),))


def test_a_bom_overrides_the_encoding() -> None:
    assert decode(b"\xef\xbb\xbfcaf\xc3\xa9", "windows-1252") == "caf\u00e9"
    assert decode(b"\xff\xfea\x00", "shift_jis") == "a"
    assert decode(b"\xfe\xff\x00a", "replacement") == "a"
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfa", "utf-8") == "\ufeffa"  # one BOM only
    assert decode(b"caf\xc3\xa9", "windows-1252") == "caf\u00c3\u00a9"


def test_decode_takes_a_label_and_refuses_what_is_no_encoding() -> None:
    assert decode(b"\x81", "latin1") == "\x81"
    with pytest.raises(ValueError, match="not an encoding"):
        decode(b"x", "cp037")


@pytest.mark.parametrize(
    "bom_body", [(b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16be"), (b"\xff\xfe", "utf-16le"), (b"\xef\xbb", None)]
)
def test_bom_sniff(bom_body: tuple[bytes, str | None]) -> None:
    assert bom_encoding(bom_body[0] + b"x") == bom_body[1]


def whatwg_utf8(body: bytes) -> str:
    """The Encoding standard's UTF-8 decoder, step by step, with replacement (the reference)."""
    out: list[str] = []
    code_point = needed = seen = 0
    lower, upper = 0x80, 0xBF
    i = 0
    while i < len(body):
        byte = body[i]
        i += 1
        if needed == 0:
            if byte <= 0x7F:
                out.append(chr(byte))
            elif 0xC2 <= byte <= 0xDF:
                needed, code_point = 1, byte & 0x1F
            elif 0xE0 <= byte <= 0xEF:
                lower = 0xA0 if byte == 0xE0 else 0x80
                upper = 0x9F if byte == 0xED else 0xBF
                needed, code_point = 2, byte & 0xF
            elif 0xF0 <= byte <= 0xF4:
                lower = 0x90 if byte == 0xF0 else 0x80
                upper = 0x8F if byte == 0xF4 else 0xBF
                needed, code_point = 3, byte & 0x7
            else:
                out.append("\ufffd")
            continue
        if not lower <= byte <= upper:
            code_point = needed = seen = 0
            lower, upper = 0x80, 0xBF
            i -= 1  # restore the byte
            out.append("\ufffd")
            continue
        lower, upper = 0x80, 0xBF
        code_point = (code_point << 6) | (byte & 0x3F)
        seen += 1
        if seen == needed:
            out.append(chr(code_point))
            code_point = needed = seen = 0
    if needed:
        out.append("\ufffd")
    return "".join(out)


utf8ish = st.lists(
    st.one_of(
        st.binary(max_size=3),
        st.text(max_size=3).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"\xe0", b"\xed", b"\xf0", b"\xf4", b"\x80", b"\xbf", b"\xc0", b"\xf5", b"\xa0", b"\x90"]),
    ),
    max_size=12,
).map(b"".join)


@PROPS
@given(utf8ish)
def test_utf8_decode_is_the_standards(body: bytes) -> None:
    if bom_encoding(body) in (None, "utf-8"):
        assert decode(body, "utf-8") == whatwg_utf8(body.removeprefix(b"\xef\xbb\xbf"))
    assert utf8_decode(body) == whatwg_utf8(body.removeprefix(b"\xef\xbb\xbf"))


_TOTAL = sorted(ENCODINGS - {"shift_jis", "euc-kr", "euc-jp", "big5", "gbk", "gb18030", "iso-2022-jp"})


@PROPS
@given(st.binary(max_size=40), st.sampled_from(_TOTAL))
def test_decode_never_raises_for_single_byte_and_unicode_encodings(body: bytes, encoding: str) -> None:
    text = decode(body, encoding)
    if encoding not in ("utf-8", "utf-16le", "utf-16be", "replacement") and bom_encoding(body) is None:
        assert len(text) == len(body)  # one character per byte


@PROPS
@given(
    st.binary(max_size=40), st.sampled_from(["shift_jis", "euc-kr", "euc-jp", "big5", "gbk", "gb18030", "iso-2022-jp"])
)
def test_multi_byte_decode_reads_or_refuses(body: bytes, encoding: str) -> None:
    try:
        text = decode(body, encoding)
    except UndecodableBody:
        return
    # Whatever is read, its ASCII bytes outside multi-byte sequences are the same characters.
    if body.isascii() and b"\x1b" not in body and b"\x0e" not in body and b"\x0f" not in body:
        assert text == body.decode("ascii")


def test_utf8_decode_is_what_fetch_reads_whatever_the_type() -> None:
    assert utf8_decode(b'\xef\xbb\xbf{"user_id": "bob\xff"}') == '{"user_id": "bob\ufffd"}'
    assert utf8_decode(b"\xef\xbb\xbf\xef\xbb\xbf[]") == "\ufeff[]"
    assert utf8_decode(b"\xff\xfe[\x00]\x00") == "\ufffd\ufffd[\x00]\x00"  # no UTF-16 for fetch()


@pytest.mark.parametrize(
    ("body", "charset", "fallback", "expected"),
    [
        (b"\xef\xbb\xbfx", "shift_jis", "windows-1252", "utf-8"),
        (b"x", "shift_jis", "windows-1252", "shift_jis"),
        (b"x", "cp037", "windows-1252", "windows-1252"),
        (b"x", None, "utf-8", "utf-8"),
        (b"x", " Latin1 ", "utf-8", "windows-1252"),
    ],
)
def test_text_encoding(body: bytes, charset: str | None, fallback: str, expected: str) -> None:
    assert text_encoding(body, charset, fallback) == expected


# --------------------------------------------------------------------------- the HTML prescan

PRESCAN = [
    (b'<meta charset="shift_jis">', "shift_jis"),
    (b"<META CHARSET=SJIS>", "shift_jis"),
    (b"<meta charset='euc-jp'/>", "euc-jp"),
    (b"<meta/charset=koi8-r>", "koi8-r"),
    (b"<meta\ncharset = gbk >", "gbk"),
    (b'<meta http-equiv="Content-Type" content="text/html; charset=big5">', "big5"),
    (b'<meta content="text/html; charset=big5" http-equiv="content-type">', "big5"),
    (b"<meta content='text/html;charset=\"koi8-u\"' http-equiv=content-type>", "koi8-u"),
    (b'<meta content="text/html; charset=big5">', None),  # a content without the pragma is ignored
    (b'<meta http-equiv="refresh" content="0; charset=big5">', None),
    (b'<meta charset="utf-16">', "utf-8"),
    (b'<meta charset="utf-16be">', "utf-8"),
    (b'<meta charset="x-user-defined">', "windows-1252"),
    (b'<meta charset="cp037"><meta charset="koi8-r">', "koi8-r"),
    (b'<meta charset="cp037" content="text/html;charset=koi8-r" http-equiv=content-type>', None),
    (b'<meta charset="koi8-r" charset="gbk">', "koi8-r"),
    (b'<meta http-equiv=content-type content="charset=gbk" charset="koi8-r">', "koi8-r"),
    (b"<!-- <meta charset=gbk> --><meta charset=koi8-r>", "koi8-r"),
    (b"<!--><meta charset=gbk>", "gbk"),  # "<!-->" is a whole comment
    (b"<!---><meta charset=gbk>-->", "gbk"),  # "-->" may share the dashes of "<!--"
    (b'<p title="<meta charset=gbk>"><meta charset=koi8-r>', "koi8-r"),
    (b"<!DOCTYPE html><meta charset=gbk>", "gbk"),
    (b"<? <meta charset=gbk> ?><meta charset=koi8-r>", "koi8-r"),
    (b"</p <meta charset=gbk>><meta charset=koi8-r>", "koi8-r"),
    (b"<metacharset=gbk>", None),
    (b"<meta charset=gbk", None),  # runs off the end
    (b'<meta charset="gbk', None),
    (b"<meta name=x charset=gbk>", "gbk"),
    (b"<x<meta charset=gbk>", None),  # the tag is "x<meta", as the tokenizer reads it
    (b"< meta charset=gbk>", None),
    (b"no meta at all", None),
    (b" " * 1020 + b"<meta charset=gbk>", None),  # beyond the first 1024 bytes
    (b"<!--" + b"x" * 1025 + b"--><meta charset=iso8859-2>", None),  # html5lib-tests encoding/preparsed
]


@pytest.mark.parametrize(("body", "expected"), PRESCAN)
def test_prescan(body: bytes, expected: str | None) -> None:
    assert prescan_html(body) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"text/html; charset=gbk", "gbk"),
        (b"charset = 'koi8-r' ", "koi8-r"),
        (b'charset="koi8-r', None),
        (b"charsetx charset=gbk;x", "gbk"),
        (b"CHARSET=GBK", "gbk"),
        (b"charset=", None),
        (b"charset=cp037", None),
    ],
)
def test_meta_content_encoding(content: bytes, expected: str | None) -> None:
    assert meta_content_encoding(content) == expected


@pytest.mark.parametrize(
    ("body", "charset", "expected"),
    [
        (b"\xef\xbb\xbf<meta charset=gbk>", "koi8-r", "utf-8"),
        (b"<meta charset=gbk>", "koi8-r", "koi8-r"),
        (b"<meta charset=gbk>", "cp037", "gbk"),  # an unknown label is ignored, as browsers ignore it
        (b'<p data-owner="9">', "cp037", DEFAULT_HTML_ENCODING),
        (b"<p>", None, "windows-1252"),
        (b"<p>", "utf-16", "utf-16le"),
    ],
)
def test_html_encoding(body: bytes, charset: str | None, expected: str) -> None:
    assert html_encoding(body, charset) == expected
    assert html_encoding_candidates(body, charset)[0] == expected


def test_candidates_cover_what_a_browser_may_switch_to() -> None:
    late = b"<p>hi</p>" + b" " * 2000 + b"<meta charset=koi8-r>"
    assert html_encoding_candidates(late, None) == ("windows-1252", "koi8-r")
    assert html_encoding_candidates(late, "utf-8") == ("utf-8",)  # certain: no change
    declared = b"<meta charset=gbk>" + b" " * 2000 + b"<meta charset=utf-16>"
    assert html_encoding_candidates(declared, None) == ("gbk", "utf-8")
    assert html_encoding_candidates(b"<p>caf\xc3\xa9</p>", None) == ("windows-1252", "utf-8")
    assert html_encoding_candidates(b"<p>caf\xe9</p>", None) == ("windows-1252",)
    assert html_encoding_candidates(b'<p>\x1b$B$"\x1b(B</p>', None) == ("windows-1252", "iso-2022-jp", "utf-8")
    assert html_encoding_candidates(b"<p>plain</p>", None) == ("windows-1252",)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<p>no declaration</p>", []),
        (b"<p>charset=koi8-r but no meta tag</p>", []),
        (b"<meta charset=koi8-r>", ["koi8-r"]),
        (b'<META CHARSET="  KOI8-R  ">', ["koi8-r"]),
        (b'<meta charset="&#107;oi8-r">', ["koi8-r"]),  # the parser decodes character references
        (b'<meta charset="&Tab;koi8-r">', ["koi8-r"]),
        (b'<meta http-equiv=content-type content="text/html; &#99;harset=gbk">', ["gbk"]),
        (b"<!-- <meta charset=gbk> --><meta content='charset=\"big5\"'>", ["gbk", "big5"]),  # a superset
        (b"<meta charset=utf-16le><meta charset=x-user-defined>", ["utf-8", "windows-1252"]),
        (b'<meta charset="koi8-r', ["koi8-r"]),  # no closing quote needed
        (b"<meta charset=cp037>", []),
    ],
)
def test_declared_anywhere_is_a_superset_of_what_the_parser_sees(body: bytes, expected: list[str]) -> None:
    assert declared_anywhere(body) == expected


def test_a_guessed_encoding_is_reported() -> None:
    assert html_encoding_guessed(b"<p data-owner='ren\xe9e'>", None)
    assert html_encoding_guessed(b"<p>\x1b$B</p>", "cp037")
    assert not html_encoding_guessed(b"<p data-owner='ren\xe9e'>", "latin1")
    assert not html_encoding_guessed(b"<meta charset=utf-8><p>ren\xc3\xa9e</p>", None)
    assert not html_encoding_guessed(b"\xef\xbb\xbf<p>\xc3\xa9</p>", None)
    assert not html_encoding_guessed(b"<p>plain ascii</p>", None)


@PROPS
@given(
    st.lists(
        st.sampled_from(
            [
                b"<",
                b">",
                b"meta",
                b" ",
                b"charset",
                b"=",
                b'"',
                b"'",
                b"gbk",
                b"<!--",
                b"-->",
                b"/",
                b"a",
                b"content",
                b"http-equiv",
                b"content-type",
                b"\xff",
            ]
        ),
        max_size=30,
    ).map(b"".join)
)
def test_prescan_is_total_and_names_only_real_encodings(body: bytes) -> None:
    found = prescan_html(body)
    assert found is None or found in ENCODINGS
    candidates = html_encoding_candidates(body, None)
    assert candidates and all(c in ENCODINGS for c in candidates)
    assert candidates[0] == (found or "windows-1252")


def test_large_adversarial_pages_are_read_in_one_pass() -> None:
    """Shapes that would cost quadratic time in a rescanning prescan (a few MB, one pass each)."""
    for body in (
        b"<meta " * 200_000,
        b"<a " + b"b=" * 200_000,
        b"<meta content=" + b"charset" * 200_000 + b">",
        b'<meta a="' * 200_000,
        b"<!--" * 200_000,
        b"<a" * 200_000,
        b'<meta charset="' * 200_000,
        b"<meta charset=&" * 200_000,
    ):
        assert html_encoding_candidates(body, None)[0] == "windows-1252"


# --------------------------------------------------------------------------- where Python's codecs differ

#: Every valid sequence whose Python reading differs from the browser's (found by enumerating
#: every 1- to 4-byte sequence of each codec against the standard's index files), and the
#: browser's reading. (big5 0xA2 0x41 / 0x42 and euc-jp 0x8F 0xA2 0xB7 are refused instead.)
CORRECTED = [
    ("shift_jis", "a0", "\ufffd"), ("shift_jis", "fd", "\ufffd"), ("shift_jis", "fe", "\ufffd"),
    ("shift_jis", "ff", "\ufffd"),
    ("big5", "a145", "\u2027"), ("big5", "a14e", "\ufe51"), ("big5", "a1c2", "\u00af"), ("big5", "a1e3", "\uff5e"),
    ("big5", "a1f2", "\u2295"), ("big5", "a1f3", "\u2299"), ("big5", "a244", "\uffe5"), ("big5", "a246", "\uffe0"),
    ("big5", "a247", "\uffe1"),
    ("euc-jp", "a1c1", "\uff5e"), ("euc-jp", "a1c2", "\u2225"), ("euc-jp", "a1dd", "\uff0d"),
    ("euc-jp", "a1f1", "\uffe0"), ("euc-jp", "a1f2", "\uffe1"), ("euc-jp", "a2cc", "\uffe2"),
    ("gb18030", "8135f437", "\ue7c7"), ("gb18030", "a3a0", "\u3000"), ("gb18030", "a6d9", "\ufe10"),
    ("gb18030", "a6da", "\ufe12"), ("gb18030", "a6db", "\ufe11"), ("gb18030", "a6dc", "\ufe13"),
    ("gb18030", "a6dd", "\ufe14"), ("gb18030", "a6de", "\ufe15"), ("gb18030", "a6df", "\ufe16"),
    ("gb18030", "a6ec", "\ufe17"), ("gb18030", "a6ed", "\ufe18"), ("gb18030", "a6f3", "\ufe19"),
    ("gb18030", "a8bc", "\u1e3f"), ("gb18030", "fe59", "\u9fb4"), ("gb18030", "fe61", "\u9fb5"),
    ("gb18030", "fe66", "\u9fb6"), ("gb18030", "fe67", "\u9fb7"), ("gb18030", "fe6d", "\u9fb8"),
    ("gb18030", "fe7e", "\u9fb9"), ("gb18030", "fe90", "\u9fba"), ("gb18030", "fea0", "\u9fbb"),
]  # fmt: skip


@pytest.mark.parametrize(("encoding", "sequence", "text"), CORRECTED)
def test_pythons_differences_are_corrected(encoding: str, sequence: str, text: str) -> None:
    assert decode(b"<" + bytes.fromhex(sequence) + b">", encoding) == "<" + text + ">"


def two_byte_readings(codec: str) -> dict[str, int]:
    """How many 1- and 2-byte sequences Python's codec reads as each character."""
    counts: dict[str, int] = {}
    for lead in range(256):
        try:
            chars = [bytes([lead]).decode(codec)]
        except UnicodeDecodeError:
            chars = []
            for trail in range(256):
                try:
                    chars.append(bytes([lead, trail]).decode(codec))
                except UnicodeDecodeError:
                    pass
        for char in chars:
            counts[char] = counts.get(char, 0) + 1
    return counts


@pytest.mark.parametrize("encoding", ["shift_jis", "big5", "euc-jp", "gb18030"])
def test_each_corrected_character_has_one_source(encoding: str) -> None:
    """A correction replaces a character in the decoded text: sound only if one sequence gives it.

    This holds for the Python this runs on (a codec update that broke it would fail here).
    """
    from respguard._encoding import _MULTI_BYTE

    multi = _MULTI_BYTE[encoding]
    readings = two_byte_readings(multi.codec)
    for source in multi.fixes:
        char = chr(source)
        if char == "\u1e3f":  # gb18030's four-byte 0x81 0x35 0xF4 0x37
            assert bytes.fromhex("8135f437").decode(multi.codec) == char
            assert readings.get(char, 0) == 0
        else:
            assert readings.get(char, 0) == 1, (encoding, hex(source))


@pytest.mark.parametrize(
    ("codec", "expected"),
    [
        ("utf-8", True),
        ("utf-8-sig", True),  # its byte-order mark is written first and skipped
        ("ascii", True),
        ("latin-1", True),
        ("cp1252", True),
        ("shift_jis", True),
        ("utf-16", False),
        ("utf-32-le", False),
        ("cp037", False),  # EBCDIC: ASCII text is other bytes
        ("utf-7", False),  # +AHU- is u
        ("iso2022_jp", False),  # escape sequences decode to nothing
        ("hz", False),
        ("raw_unicode_escape", False),  # \U00000075 is u
        ("unicode_escape", False),
        ("shift_jis_2004", False),  # a backslash is a yen sign
        ("cp864", False),  # % is another character
        ("base64", None),  # no text encoding
        ("rot13", None),
    ],
)
def test_reads_ascii_is_the_one_answer_for_streams_and_forms(codec: str, expected: bool | None) -> None:
    """One decision: a stream's charset that hides ASCII is refused (``_plan``), and so is a
    multipart form's that a reader decodes names in (``_write``)."""
    import warnings

    from respguard._encoding import reads_ascii

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (unicode_escape warns on an invalid escape: the probe has none)
        assert reads_ascii(codec) is expected
