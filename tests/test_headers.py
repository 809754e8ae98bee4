"""Raw header lists (``_headers``): the case-insensitive view callables see as
``RequestInfo.headers``, the request's Cookie headers joined, and a cookie's values."""

from __future__ import annotations

import pytest

from respguard._headers import Headers, as_raw_headers, cookie_header, cookie_values, request_headers

RAW = [(b"Content-Type", b"text/html"), (b"x-tag", b"a"), (b"X-TAG", b"b"), (b"accept", b"*/*")]


def test_the_view_reads_names_in_any_case_and_keeps_repeats() -> None:
    headers = Headers(RAW)
    assert headers.get("content-type") == "text/html"
    assert headers.get("X-Tag") == "a"  # the first
    assert headers.get_all("x-tag") == ["a", "b"]
    assert headers.get_all("x-missing") == []
    assert headers.get("x-missing") is None
    assert headers.get("x-missing", "none") == "none"


def test_the_view_answers_in_and_iterates_lower_case_names() -> None:
    headers = Headers(RAW)
    assert ("CONTENT-TYPE" in headers, "x-missing" in headers, b"accept" in headers) == (True, False, False)
    assert list(headers) == [("content-type", "text/html"), ("x-tag", "a"), ("x-tag", "b"), ("accept", "*/*")]


def test_values_are_read_as_latin_1() -> None:
    assert Headers([(b"x-name", "Zoë".encode("latin-1"))]).get_all("x-name") == ["Zoë"]


def test_request_cookie_headers_are_joined_in_any_case() -> None:
    raw = [(b"cookie", b"a=1"), (b"host", b"x"), (b"Cookie", b"b=2"), (b"COOKIE", b"c=3")]
    assert request_headers(iter(raw)) == (raw, "a=1; b=2; c=3", False)
    assert request_headers([(b"Hx-Request", b"true")]) == ([(b"Hx-Request", b"true")], None, True)
    assert cookie_header([(b"host", b"x")]) is None
    assert cookie_header([(b"cookie", b"a=1")]) == "a=1"


def test_response_headers_become_tuples_once() -> None:
    tuples = [(b"a", b"1")]
    assert as_raw_headers(tuples) is tuples
    assert as_raw_headers([[b"a", b"1"]]) == tuples
    assert as_raw_headers(((b"a", b"1"),)) == tuples


@pytest.mark.parametrize(
    ("header", "values"),
    [
        ("respguard=v1; other=x; respguard=v2", ["v1", "v2"]),
        ("respguard=a=b", ["a=b"]),  # the value runs from the first '='
        ('respguard="v1"', ["v1"]),
        ('respguard=""', [""]),
        ('respguard="', ['"']),
        ("respguard=v1 , respguard= v2 ", ["v1", "v2"]),  # a server's "," join; white space trimmed
        ("xrespguard=v1; respguard", []),
    ],
)
def test_cookie_values(header: str, values: list[str]) -> None:
    assert cookie_values(header, "respguard") == values
