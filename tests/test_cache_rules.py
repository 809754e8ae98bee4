"""Shared-cache rules for personal responses: Cache-Control read as RFC 9111 says, and the
targeted fields (RFC 9213 and the vendor spellings) that CDNs obey over it."""

from __future__ import annotations

import pytest

from respguard._cache import is_cache_field, parse_directives, personal_headers, targeted_safe
from respguard._headers import RawHeaders

JSON = (b"content-type", b"application/json")
PRIVATE = (b"cache-control", b"private, no-store")
VARY = (b"vary", b"Cookie")


def h(*pairs: tuple[str, str]) -> RawHeaders:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


# ------------------------------------------------------------------ Cache-Control, RFC 9111


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        # no policy, or one that a shared cache may store under: replaced
        ([], [JSON, PRIVATE]),
        (["max-age=60"], [JSON, PRIVATE]),
        (["no-cache"], [JSON, PRIVATE]),  # stored, revalidated: still stored for everyone
        (['private="Set-Cookie"'], [JSON, PRIVATE]),  # qualified: only that field is private
        (['no-cache="Set-Cookie", max-age=60'], [JSON, PRIVATE]),
        (['private="a, b"'], [JSON, PRIVATE]),  # the comma is inside the quoted string
        (["no-store=1"], [JSON, PRIVATE]),  # not the bare directive: not trusted, replaced
        (['max-age=60, x="a\\"b"'], [JSON, PRIVATE]),
        (['private="unterminated'], [JSON, PRIVATE]),
        # an explicit private policy, on any line: kept as it is
        (["private"], [JSON, (b"cache-control", b"private")]),
        # private to RFC 9111, not to Fastly's VCL (a case-sensitive match): replaced (session 19)
        (["PRIVATE, Max-Age=5"], [JSON, PRIVATE]),
        (["private, Max-Age=5"], [JSON, (b"cache-control", b"private, Max-Age=5")]),
        # over several lines: one line (Fastly's VCL reads a field's first line only)
        (["max-age=600", "private"], [JSON, (b"cache-control", b"max-age=600, private")]),
        # no-store alone: Fastly's generated VCL passes on private only, and caches it (attack 15)
        (["no-store"], [JSON, PRIVATE]),
        (["max-age=0", "no-store"], [JSON, PRIVATE]),
    ],
)
def test_cache_control_is_read_as_rfc_9111_says(cache_control: list[str], expected: RawHeaders) -> None:
    headers = [JSON, *h(*(("cache-control", v) for v in cache_control))]
    assert personal_headers(headers, False) == expected


@pytest.mark.parametrize(
    "cache_control",
    [
        ["public"],
        ["Public, max-age=60"],
        ["s-maxage=60"],
        ["max-age=0", "S-MAXAGE=600"],  # repeated lines combine
        ["private, public"],  # contradicts itself: not trusted as private
        ["private, s-maxage=60"],
        ['private="x", public'],
        ['no-cache="a, public"'],  # a naive comma split reads public: some cache might
        ["no-store, public"],  # public, and no private: Fastly's generated VCL stores it
    ],
)
def test_cache_control_for_shared_caches_is_refused_or_rewritten(cache_control: list[str]) -> None:
    headers = [JSON, *h(*(("Cache-Control", v) for v in cache_control)), (b"etag", b'"1"')]
    assert personal_headers(headers, False) is None
    assert personal_headers(headers, False, rewrite_shared=True) == [JSON, (b"etag", b'"1"'), PRIVATE]


def test_vary_cookie() -> None:
    assert personal_headers([JSON], True) == [JSON, PRIVATE, VARY]
    assert personal_headers([JSON, (b"vary", b"Accept, COOKIE")], True) == [JSON, (b"vary", b"Accept, COOKIE"), PRIVATE]
    assert personal_headers([JSON, (b"vary", b"*")], True) == [JSON, (b"vary", b"*"), PRIVATE]
    kept = [JSON, (b"cache-control", b"private")]
    assert personal_headers(kept, True) == [*kept, VARY]
    assert personal_headers(kept, False) is kept  # nothing to change: no copy


def test_parse_directives() -> None:
    assert parse_directives('private="a, b", Max-Age=5 ,no-store') == (
        {"private": ["a, b"], "max-age": ["5"], "no-store": [None]},
        True,
    )
    assert parse_directives('x="a\\"b", y') == ({"x": ['a"b'], "y": [None]}, True)
    assert parse_directives("a b, c") == ({"a": [None], "c": [None]}, False)
    assert parse_directives('p="x') == ({"p": ["x"]}, False)


# ------------------------------------------------------------------ targeted fields


TARGETED = [
    "CDN-Cache-Control",
    "Cloudflare-CDN-Cache-Control",
    "Vercel-CDN-Cache-Control",
    "Netlify-CDN-Cache-Control",
    "Akamai-Cache-Control",
    "Surrogate-Control",
    "Edge-Control",
]


@pytest.mark.parametrize("field", TARGETED)
@pytest.mark.parametrize("policy", ["max-age=600", "public", "s-maxage=60", "no-cache", "max-age=60, no-cache"])
def test_a_targeted_field_that_stores_marks_the_response_for_shared_caches(field: str, policy: str) -> None:
    # The app's Cache-Control is private: the CDN obeys the targeted field instead.
    headers = [JSON, (b"cache-control", b"private, no-store"), (field.encode(), policy.encode())]
    assert personal_headers(headers, False) is None
    assert personal_headers(headers, False, rewrite_shared=True) == [
        JSON,
        (b"cache-control", b"private, no-store"),
        (field.encode(), b"no-store"),
    ]


@pytest.mark.parametrize("field", TARGETED)
def test_a_targeted_no_store_is_kept(field: str) -> None:
    headers = [JSON, (field.encode(), b"no-store, max-age=60")]
    assert personal_headers(headers, False) == [*headers, PRIVATE]


def test_targeted_private_counts_only_for_cache_control_spellings() -> None:
    assert targeted_safe(b"cdn-cache-control", [b"private"])
    assert targeted_safe(b"cloudflare-cdn-cache-control", [b"Private, max-age=60"])
    assert not targeted_safe(b"cdn-cache-control", [b'private="set-cookie"'])
    assert not targeted_safe(b"surrogate-control", [b"private"])  # not a Surrogate-Control directive
    assert not targeted_safe(b"surrogate-control", [b"no-store;device1"])  # targets one device only
    assert targeted_safe(b"edge-control", [b"bypass-cache"])
    assert not targeted_safe(b"edge-control", [b"!no-store, no-store"])  # Akamai: cache it anyway
    assert not targeted_safe(b"cdn-cache-control", [b"no-store", b"max-age=60, junk junk"])


def test_repeated_targeted_lines_become_one_no_store() -> None:
    headers = h(
        ("Content-Type", "text/html"),
        ("CDN-Cache-Control", "max-age=60"),
        ("Surrogate-Control", "no-store"),
        ("cdn-cache-control", "public"),
        ("X-Accel-Expires", "3600"),
        ("Cache-Control", "public"),
    )
    assert personal_headers(headers, True) is None
    assert personal_headers(headers, True, rewrite_shared=True) == [
        (b"Content-Type", b"text/html"),
        (b"CDN-Cache-Control", b"no-store"),
        (b"Surrogate-Control", b"no-store"),
        (b"X-Accel-Expires", b"0"),
        PRIVATE,
        VARY,
    ]


def test_x_accel_expires() -> None:
    assert personal_headers([JSON, (b"x-accel-expires", b"0")], False) == [JSON, (b"x-accel-expires", b"0"), PRIVATE]
    assert personal_headers([JSON, (b"X-Accel-Expires", b"@1700000000")], False) is None


def test_cache_fields_for_the_fast_path() -> None:
    for name in (b"cache-control", b"vary", b"cdn-cache-control", b"surrogate-control", b"x-accel-expires"):
        assert is_cache_field(name)
    for name in (b"content-type", b"etag", b"expires", b"x-cache"):
        assert not is_cache_field(name)


# ------------------------------------------------------------------ mutants the rules above let live (issue 14)


def test_a_malformed_cache_control_is_replaced_even_where_a_comma_split_reads_private() -> None:
    # The unclosed quote makes the field malformed: neither reading is trusted, whatever the naive one says.
    headers = [JSON, (b"cache-control", b'private, x="open')]
    assert personal_headers(headers, False) == [JSON, PRIVATE]


def test_the_comma_split_reading_splits_each_directive_at_its_equals_sign() -> None:
    # A naive cache reads ``s-maxage=60"`` out of the quoted string: shared, so not trusted as private.
    assert personal_headers([JSON, (b"cache-control", b'private, x="y, s-maxage=60"')], False) is None
    # it strips only blanks and quotes from a name: ``XPUBLIC`` is no ``public``
    kept = [JSON, (b"cache-control", b"private, XPUBLIC")]
    assert personal_headers(kept, False) is kept


def test_the_lines_of_a_targeted_field_are_read_as_one_comma_list() -> None:
    headers = [JSON, (b"cdn-cache-control", b"max-age=60"), (b"cdn-cache-control", b"no-store")]
    assert targeted_safe(b"cdn-cache-control", [b"max-age=60", b"no-store"])
    # and written as one: a cache that reads the first line only would store it for 60 s
    assert personal_headers(headers, False) == [JSON, (b"cdn-cache-control", b"max-age=60, no-store"), PRIVATE]


def test_vary_is_a_comma_list_without_blanks_too() -> None:
    headers = [JSON, (b"vary", b"Accept,Cookie")]
    assert personal_headers(headers, True) == [*headers, PRIVATE]


def test_parse_directives_at_the_end_of_the_field() -> None:
    assert parse_directives("private=") == ({"private": [""]}, True)
    # a backslash escapes the next character, a quote too; one at the very end escapes nothing
    assert parse_directives('x="\\"') == ({"x": ['"']}, False)
    assert parse_directives('x="a\\') == ({"x": ["a\\"]}, False)
    # junk skips to the next comma, not the last
    assert parse_directives("a b, c, d") == ({"a": [None], "c": [None], "d": [None]}, False)


def test_the_comma_split_reading_keeps_each_directive_argument() -> None:
    # A naive cache reads ``no-store=1`` (not bare: not trusted) and ``public`` out of the quoted string.
    assert personal_headers([JSON, (b"cache-control", b'private, x="a, no-store=1, public"')], False) is None
