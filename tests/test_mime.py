"""Content-Type as browsers and ``fetch()`` read it (Fetch "extract a MIME type", MIME Sniffing "parse").

Table rows are the standards' own examples and web-platform-tests' cases
(``fetch/content-type/resources/content-types.json``, ``mimesniff/mime-types/resources/mime-types.json``).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard import _content
from respguard._mime import (
    HTML,
    JSON,
    OTHER,
    TEXT,
    MimeType,
    extract_mime_type,
    is_html_mime,
    is_javascript_mime,
    is_json_mime,
    is_xml_mime,
    media_class,
    parse_mime_type,
    split_header_value,
)


def ct(*values: str) -> list[tuple[bytes, bytes]]:
    """One Content-Type header per value, with another header in between (it must not matter)."""
    headers = []
    for value in values:
        headers.append((b"Content-Type", value.encode("latin-1")))
        headers.append((b"x-other", b"text/plain"))
    return headers


def extracted(headers: list[tuple[bytes, bytes]]) -> str | None:
    mime = extract_mime_type(headers)
    return None if mime is None else mime.serialize()


# --------------------------------------------------------------------------- the attacks


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Content-Type", b"bogus, application/json")],
        [(b"content-type", b"bogus"), (b"CONTENT-TYPE", b"application/json")],
        [(b"Content-Type", b"application/json"), (b"Content-Type", b"*/*")],
        [(b"Content-Type", b"application/json"), (b"Content-Type", b"")],
        [(b"Content-Type", b'text/html;x="a,text/plain", application/json')],
    ],
)
def test_the_last_valid_type_is_the_one_scripts_see(headers: list[tuple[bytes, bytes]]) -> None:
    mime = extract_mime_type(headers)
    assert mime is not None
    assert mime.essence == "application/json"
    assert media_class(mime) == JSON


def test_a_later_value_of_the_same_essence_keeps_the_earlier_charset() -> None:
    mime = extract_mime_type([(b"Content-Type", b"text/html;charset=gbk, text/html")])
    assert mime == MimeType("text/html", (("charset", "gbk"),))
    assert mime.charset == "gbk"


def test_a_quoted_comma_does_not_split() -> None:
    mime = extract_mime_type([(b"Content-Type", b'text/plain;charset="a,b"')])
    assert mime == MimeType("text/plain", (("charset", "a,b"),))


def test_no_content_type_or_nothing_valid_is_failure() -> None:
    assert extract_mime_type([]) is None
    assert extract_mime_type([(b"x-content-type", b"text/html")]) is None
    assert extract_mime_type(ct("bogus")) is None
    assert extract_mime_type(ct("*/*")) is None
    assert extract_mime_type(ct("")) is None


# --------------------------------------------------------------------------- Fetch's examples

FETCH_EXAMPLES = [
    (["text/plain;charset=gbk, text/html"], "text/html"),
    (["text/html;charset=gbk;a=b, text/html;x=y"], "text/html;x=y;charset=gbk"),
    (["text/html;charset=gbk;a=b", "text/html;x=y"], "text/html;x=y;charset=gbk"),
    (["text/html;charset=gbk", "x/x", "text/html;x=y"], "text/html;x=y"),
    (["text/html", "cannot-parse"], "text/html"),
    (["text/html", "*/*"], "text/html"),
    (["text/html", ""], "text/html"),
]

#: web-platform-tests fetch/content-type/resources/content-types.json: (values, mimeType).
WPT_CONTENT_TYPES = [
    (["", "text/plain"], "text/plain"),
    (["text/plain", ""], "text/plain"),
    (["text/html", "text/plain"], "text/plain"),
    (["text/plain;charset=gbk", "text/html"], "text/html"),
    (["text/plain;charset=gbk", "text/html;charset=windows-1254"], "text/html;charset=windows-1254"),
    (["text/plain;charset=gbk", "text/plain"], "text/plain;charset=gbk"),
    (["text/plain;charset=gbk", "text/plain;charset=windows-1252"], "text/plain;charset=windows-1252"),
    (["text/html;charset=gbk", 'text/html;x=",text/plain'], 'text/html;x=",text/plain";charset=gbk'),
    (["text/html;charset=gbk", "text/plain", "text/html"], "text/html"),
    (["text/plain", "*/*"], "text/plain"),
    (["text/html", "*/*"], "text/html"),
    (["*/*", "text/html"], "text/html"),
    (["text/plain", "*/*;charset=gbk"], "text/plain"),
    (["text/html", "*/*;charset=gbk"], "text/html"),
    (['text/html;x="', "text/plain"], 'text/html;x=", text/plain"'),
    (['text/html;"', "text/plain"], "text/html"),
]


@pytest.mark.parametrize(("values", "expected"), FETCH_EXAMPLES + WPT_CONTENT_TYPES)
def test_extract_a_mime_type(values: list[str], expected: str) -> None:
    assert extracted(ct(*values)) == expected


@pytest.mark.parametrize(("values", "expected"), WPT_CONTENT_TYPES)
def test_one_combined_header_is_the_same_as_several(values: list[str], expected: str) -> None:
    assert extracted([(b"content-type", ", ".join(values).encode("latin-1"))]) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nosniff,", ["nosniff", ""]),
        ("", [""]),
        ('text/html;", x/x', ['text/html;", x/x']),
        ('x/x;test="hi",y/y', ['x/x;test="hi"', "y/y"]),
        ("x / x,,,1", ["x / x", "", "", "1"]),
        ('"1,2", 3', ['"1,2"', "3"]),
        ('"\\', ['"\\']),
        ('a"b\\"c,d"e,f', ['a"b\\"c,d"e', "f"]),
    ],
)
def test_get_decode_and_split(value: str, expected: list[str]) -> None:
    assert split_header_value(value) == expected


# --------------------------------------------------------------------------- MIME Sniffing's parser

#: web-platform-tests mimesniff/mime-types/resources/mime-types.json: (input, serialized output or None).
WPT_MIME_TYPES = [
    ("text/html;charset=gbk", "text/html;charset=gbk"),
    ("TEXT/HTML;CHARSET=GBK", "text/html;charset=GBK"),
    ("text/html;charset=gbk(", 'text/html;charset="gbk("'),
    ("text/html;x=(;charset=gbk", 'text/html;x="(";charset=gbk'),
    ("text/html;charset=gbk;charset=windows-1255", "text/html;charset=gbk"),
    ("text/html;charset =gbk", "text/html"),
    ("text/html ;charset=gbk", "text/html;charset=gbk"),
    ("text/html; charset=gbk", "text/html;charset=gbk"),
    ("text/html;charset= gbk", 'text/html;charset=" gbk"'),
    ("text/html;charset='gbk'", "text/html;charset='gbk'"),
    ("text/html;charset='gbk", "text/html;charset='gbk"),
    ("text/html;charset=gbk'", "text/html;charset=gbk'"),
    ("text/html;test;charset=gbk", "text/html;charset=gbk"),
    ("text/html;test=;charset=gbk", "text/html;charset=gbk"),
    ("text/html;';charset=gbk", "text/html;charset=gbk"),
    ('text/html;";charset=gbk', "text/html;charset=gbk"),
    ("text/html ; ; charset=gbk", "text/html;charset=gbk"),
    ("text/html;;;;charset=gbk", "text/html;charset=gbk"),
    ('text/html;charset="gbk"', "text/html;charset=gbk"),
    ('text/html;charset="gbk', "text/html;charset=gbk"),
    ('text/html;charset=gbk"', 'text/html;charset="gbk\\""'),
    ('text/html;charset=" gbk"', 'text/html;charset=" gbk"'),
    ('text/html;charset="\\ gbk"', 'text/html;charset=" gbk"'),
    ('text/html;charset="\\g\\b\\k"', "text/html;charset=gbk"),
    ('text/html;charset="gbk"x', "text/html;charset=gbk"),
    ('text/html;charset="shift_jis"iso-2022-jp', "text/html;charset=shift_jis"),
    ("text/html;charset={gbk}", 'text/html;charset="{gbk}"'),
    ("text/html;" + "0123456789" * 13 + "=x;charset=gbk", "text/html;" + "0123456789" * 13 + "=x;charset=gbk"),
    ("x/x;test", "x/x"),
    ('x/x;test="\\', 'x/x;test="\\\\"'),
    ("text/html;test=\u00ff;charset=gbk", 'text/html;test="\u00ff";charset=gbk'),
    ("x/x;test=\ufffd;x=x", "x/x;x=x"),
    ("\r\n\t text/html \t;charset=gbk \n", "text/html;charset=gbk"),
    ("", None),
    ("\t", None),
    ("bogus", None),
    ("bogus/", None),
    ("bogus/ ", None),
    ("bogus/bogus/;", None),
    ("</>", None),
    ("(/)", None),
    ("text/html(;doesnot=matter", None),
    ("{/}", None),
    ("\u0100/\u0100", None),
    ("/html", None),
    ("text /html", None),
    ("text/ html", None),
]


@pytest.mark.parametrize(("text", "expected"), WPT_MIME_TYPES)
def test_parse_a_mime_type(text: str, expected: str | None) -> None:
    mime = parse_mime_type(text)
    assert (None if mime is None else mime.serialize()) == expected


def test_every_token_code_point_is_valid_and_lower_cased() -> None:
    token = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvxyz"
    mime = parse_mime_type(f"{token}/{token};{token}={token}")
    assert mime == MimeType(f"{token.lower()}/{token.lower()}", ((token.lower(), token),))


# --------------------------------------------------------------------------- groups and classes


@pytest.mark.parametrize(
    ("text", "json", "html", "js", "xml", "cls"),
    [
        ("application/json", True, False, False, False, JSON),
        ("text/json", True, False, False, False, JSON),
        ("application/problem+json;charset=utf-8", True, False, False, False, JSON),
        ("APPLICATION/LD+JSON", True, False, False, False, JSON),
        ("application/jsonx", False, False, False, False, OTHER),
        ("application/x-ndjson", False, False, False, False, OTHER),
        ("text/html", False, True, False, False, HTML),
        ("application/xhtml+xml", False, False, False, True, HTML),
        ("text/plain", False, False, False, False, TEXT),
        ("text/event-stream", False, False, False, False, TEXT),
        ("text/javascript", False, False, True, False, TEXT),
        ("application/x-javascript", False, False, True, False, OTHER),
        ("application/xml", False, False, False, True, HTML),
        ("Application/XML", False, False, False, True, HTML),
        ("application/xmlx", False, False, False, False, OTHER),
        ("text/xml", False, False, False, True, HTML),  # XML documents render with attributes: read as pages
        ("image/svg+xml", False, False, False, True, HTML),
        ("image/png", False, False, False, False, OTHER),
    ],
)
def test_groups(text: str, json: bool, html: bool, js: bool, xml: bool, cls: str) -> None:
    mime = parse_mime_type(text)
    assert mime is not None
    assert (is_json_mime(mime), is_html_mime(mime), is_javascript_mime(mime), is_xml_mime(mime)) == (
        json,
        html,
        js,
        xml,
    )
    assert media_class(mime) == cls
    # The same meaning as the media class respguard has today, for types it reads alike.
    assert _content.media_class(text)[0] == cls


def test_no_type_is_other_and_in_no_group() -> None:
    assert media_class(None) == OTHER
    assert not (is_json_mime(None) or is_html_mime(None) or is_javascript_mime(None) or is_xml_mime(None))
    assert (JSON, HTML, TEXT, OTHER) == (_content.JSON, _content.HTML, _content.TEXT, _content.OTHER)


# --------------------------------------------------------------------------- properties

PIECES = [b"text/html", b"application/json", b";", b",", b'"', b"\\", b"=", b"charset", b" ", b"\t", b"*/*"]
header_bytes = st.binary(max_size=60) | st.lists(st.sampled_from(PIECES), max_size=12).map(b"".join)
header_lists = st.lists(
    st.tuples(st.sampled_from([b"content-type", b"Content-Type", b"CONTENT-TYPE", b"x-a"]), header_bytes), max_size=5
)


@settings(max_examples=300, deadline=None)
@given(header_lists)
def test_extract_is_total_and_its_result_parses_back(headers: list[tuple[bytes, bytes]]) -> None:
    mime = extract_mime_type(headers)
    if mime is None:
        return
    assert mime.essence != "*/*"
    again = parse_mime_type(mime.serialize())
    assert again == mime


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x130), max_size=40))
def test_parse_is_total_and_serialization_is_a_fixed_point(text: str) -> None:
    mime = parse_mime_type(text)
    if mime is not None:
        assert parse_mime_type(mime.serialize()) == mime


@settings(max_examples=200, deadline=None)
@given(st.lists(header_bytes, min_size=1, max_size=4))
def test_repeated_headers_equal_one_comma_joined_header(values: list[bytes]) -> None:
    several = [(b"content-type", v) for v in values]
    assert extract_mime_type(several) == extract_mime_type([(b"content-type", b", ".join(values))])


def test_large_adversarial_values_are_read_in_one_pass() -> None:
    """Shapes that would cost quadratic time in a rescanning parser (100 000 pieces each)."""
    for value in (
        b'"\\' * 100_000,
        b";" * 100_000 + b"charset=utf-8",
        b"text/html" + b";a" * 100_000,
        b"text/html;a=" + b'"' * 100_000,
        b"," * 100_000 + b"application/json",
    ):
        extract_mime_type([(b"content-type", value)])
    assert extracted([(b"content-type", b"," * 100_000 + b"application/json")]) == "application/json"
