"""Bulk personal data counted as the reader gets it: HTML as it renders, in its charset,
JSON and script escapes, full-width forms; own values never count."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard._pii import EMAIL, BulkPII, _count, _unescape, luhn_valid, render_html


def nobody(kind: str, value: str) -> bool:
    return False


def count(body: bytes, media: str = "html", charset: str | None = None) -> int:
    return _count(EMAIL, _unescape(body, media, charset), nobody, 0)


# ------------------------------------------------------------------ HTML as it renders


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("person1@example.com", 1),
        ("person1<wbr>@example.com", 1),
        ("person1<span>@</span>example.com", 1),
        ("<b>person1</b>@<i>example</i>.com", 1),
        ("person1<!-- hidden -->@example.com", 1),
        ("person1<!---->@example.com", 1),
        ("person1&commat;example.com", 1),
        ("person1&#64;example.com", 1),
        ("person1&#x40;example.com", 1),
        ("person1&#0064;example.com", 1),
        ("per&shy;son1@exam\u00adple.com", 1),
        ("person1@exa\u200bmple\u2060.com", 1),
        ("person1&#8203;@example.com", 1),
        ("person1\uff20example\uff0ecom", 1),  # full-width '@' and '.'
        ("\uff50\uff45\uff52\uff53\uff4f\uff4e1\uff20example.com", 1),  # full-width letters
        ("person1\ufe6bexample.com", 1),
        # attributes and scripts reach the reader too
        ('<a href="mailto:person1@example.com">person1@example.com</a>', 1),
        ('<input value="person1&#64;example.com">', 1),
        ("<i data-e='person1@example.com' title=\"a > b\"></i>", 1),
        ('<script type="application/json">{"e":"person1\\u0040example.com"}</script>', 1),
        ("<script>var e = 'person1\\x40example.com';</script>", 1),
        ('<div data-props="{&quot;e&quot;:&quot;person1\\u0040example.com&quot;}"></div>', 1),
        ("<textarea>person1&#64;example.com</textarea>", 1),
        ("<title>person1@example.com</title>", 1),
        # block boundaries keep neighbours apart: two addresses, not one merged
        ("<td>person1@example.com</td><td>person2@example.com</td>", 2),
        ("<p>person1@example.com<p>person2@example.com", 2),
        ("person1@example.com<br>person2@example.com", 2),
        # not on screen, or not an address
        ("<!-- person1@example.com -->", 0),
        ("<!-- person1@example.com", 0),
        ("<!--> person1@example.com", 1),  # the comment ended at once
        ("person1<p>@example.com", 0),
        ("&amp;person1&amp;example.com", 0),
        ("<ab@example.com>", 1),  # a tag to the parser, its text to a script reading the markup
    ],
)
def test_html_counts_what_the_reader_gets(page: str, expected: int) -> None:
    assert count(page.encode()) == expected


def test_raw_text_runs_to_its_end_tag_only() -> None:
    page = "<script>if (a<b) x = '</scripty>';</script >person1@example.com"
    assert render_html(page).split("\n")[0] == "person1@example.com"
    assert count(b"<plaintext><b>person1</b>&#64;example.com") == 0  # plaintext: no tags, no references
    assert count(b"<plaintext>person1<b>@example.com") == 0
    assert count(b"<plaintext>x person1@example.com") == 1


def test_a_quote_opens_a_value_only_after_equals() -> None:
    # b"c is an attribute name: the '>' after it ends the tag, and the text is shown.
    assert render_html('<a b"c>person1@example.com</a>').startswith("person1@example.com")
    # inside a quoted value '>' does not end the tag
    assert render_html('<a title="x>person1@example.com">y').startswith("y")


# ------------------------------------------------------------------ charsets


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [
        ("utf-8", "utf-8"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("utf-16", "utf-16-le"),  # the WHATWG label utf-16 is UTF-16LE
        (None, "utf-16"),  # a byte-order mark says it
        ("shift_jis", "shift_jis"),
        ("euc-jp", "euc-jp"),
        ("windows-1252", "cp1252"),
    ],
)
def test_pages_are_decoded_in_their_charset(charset: str | None, encoding: str) -> None:
    page = "".join(f"<p>人{n}\uff20example.com</p><p>p{n}@example.com</p>" for n in range(30))
    body = page.encode(encoding, "xmlcharrefreplace")
    bulk = BulkPII()
    assert bulk.over(body, "html", "/", nobody, charset=charset) == {"email": 60}
    assert not bulk.surely_under(body, "html", "/", charset=charset)
    text = page.replace("<p>", "").replace("</p>", "\n").encode(encoding, "xmlcharrefreplace")
    if encoding != "cp1252":
        assert bulk.over(text, "text", "/", nobody, charset=charset) == {"email": 60}
        assert not bulk.surely_under(text, "text", "/", charset=charset)


def test_a_byte_order_mark_wins_over_the_charset() -> None:
    body = "".join(f"<p>p{n}@example.com</p>" for n in range(21)).encode("utf-16")
    assert BulkPII().over(body, "html", "/", nobody, charset="windows-1252") == {"email": 21}


# ------------------------------------------------------------------ JSON


def test_json_as_fetch_reads_it() -> None:
    addresses = [f"p{n}\\u0040example.com" for n in range(21)]
    body = ('\ufeff{"to": ["' + '", "'.join(addresses) + '"], "x": "\xff"}').encode("utf-8")
    assert BulkPII().over(body, "json", "/", nobody) == {"email": 21}
    bad = body.replace(b"\xc3\xbf", b"\xff")  # an invalid byte: replaced, as fetch().json() does
    assert BulkPII().over(bad, "json", "/", nobody) == {"email": 21}


def test_json_nested_deeper_than_python_parses_still_counts_its_escapes() -> None:
    inner = json.dumps([f"p{n}@example.com" for n in range(21)]).replace("@", "\\u0040")
    body = ("[" * 5000 + inner + "]" * 5000).encode()
    assert BulkPII().over(body, "json", "/", nobody) == {"email": 21}


def test_wide_at_sign_in_json_is_not_a_shortcut() -> None:
    body = json.dumps([f"p{n}\uff20example.com" for n in range(21)], ensure_ascii=False).encode()
    assert not BulkPII().surely_under(body, "json", "/")
    assert BulkPII().over(body, "json", "/", nobody) == {"email": 21}


# ------------------------------------------------------------------ e-mail pattern edges


def test_local_part_is_the_last_64_characters_of_a_run() -> None:
    run = "x" * 100 + "@example.com"
    assert _count(EMAIL, run, lambda kind, value: value == "x" * 64 + "@example.com", 0) == 0
    assert count(b"a@b.c@d.com") == 1  # 'a@b.c', then '@d.com' has no local part
    assert count(b"a@a@a@a@a") == 0
    assert count(("a." * 5000).encode()) == 0


# ------------------------------------------------------------------ properties


def _obfuscations(local: str, domain: str) -> list[str]:
    return [
        f"{local}@{domain}",
        f"{local}<wbr>@{domain}",
        f"{local}<span>@</span>{domain}",
        f"{local}<!-- x -->@{domain}",
        f"{local}&commat;{domain}",
        f"{local}&#64;{domain}",
        f"{local}&#x40;{domain}",
        f"{local[:2]}&shy;{local[2:]}@{domain}",
        f"{local[:2]}\u00ad{local[2:]}@{domain}",
        f"{local}@{domain[:3]}\u200b{domain[3:]}",
        f"{local}\uff20{domain}",
        f"{local.upper()}@{domain}",
        f'<a href="mailto:{local}@{domain}">{local}@{domain}</a>',
        f'<script type="application/json">{{"e":"{local}\\u0040{domain}"}}</script>',
        f'<i data-e="{local}&#64;{domain}"></i>',
    ]


_SEPARATORS = ["<br>", "<p>", "\n", "</td><td>", ", ", " <b>and</b> ", "<li>"]
_CHARSETS = ["utf-8", "utf-16-le", "shift_jis", "windows-1252"]
THRESHOLD = 5


@settings(max_examples=150, deadline=None)
@given(
    st.integers(THRESHOLD - 2, THRESHOLD + 2),
    st.data(),
    st.sampled_from(_CHARSETS),
    st.sampled_from(_SEPARATORS),
)
def test_n_obfuscated_addresses_count_n(n: int, data: st.DataObject, charset: str, separator: str) -> None:
    items = []
    for i in range(n):
        forms = _obfuscations(f"person{i}", f"example{i % 3}.com")
        items.append(data.draw(st.sampled_from(forms)))
    page = "<html><body><table><tr><td>" + separator.join(items) + "</td></tr></table></body></html>"
    body = page.encode(charset, "xmlcharrefreplace")
    bulk = BulkPII(threshold=THRESHOLD)
    assert count(body, "html", charset) == n
    expected = {"email": n} if n > THRESHOLD else {}
    assert bulk.over(body, "html", "/", nobody, charset=charset) == expected
    if bulk.surely_under(body, "html", "/", charset=charset):
        assert expected == {}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 14), min_size=1, max_size=40), st.sampled_from(_CHARSETS), st.integers(0, 3))
def test_an_own_address_repeated_never_counts(forms: list[int], charset: str, foreign: int) -> None:
    own = "hanako@example.jp"
    items = [_obfuscations("hanako", "example.jp")[i] for i in forms]
    items += [f"other{i}@example.com" for i in range(foreign)]
    body = "<p>".join(items).encode(charset, "xmlcharrefreplace")
    mine = BulkPII(threshold=1)
    got = mine.over(body, "html", "/", lambda kind, value: value == own, charset=charset)
    assert got == ({"email": foreign} if foreign > 1 else {})


@pytest.mark.parametrize("encoding", ["utf-8", "shift_jis", "euc-jp", "gb18030", "utf-16-le"])
def test_no_shortcut_when_only_wide_at_signs_are_there(encoding: str) -> None:
    page = "".join(f"<p>p{n}\uff20example.com</p>" for n in range(21)).encode(encoding)
    bulk = BulkPII()
    assert not bulk.surely_under(page, "html", "/", charset=encoding)
    assert bulk.over(page, "html", "/", nobody, charset=encoding) == {"email": 21}


def test_full_width_digits_are_phone_numbers() -> None:
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    phones = "\n".join(f"090-1234-{n:04d}".translate(wide) for n in range(4))
    bulk = BulkPII(("phone",), threshold=3)
    for encoding in ("utf-8", "shift_jis"):
        body = phones.encode(encoding)
        assert not bulk.surely_under(body, "text", "/", charset=encoding)
        assert bulk.over(body, "text", "/", nobody, charset=encoding) == {"phone": 4}


@pytest.mark.parametrize("media", ["json", "text"])
def test_json_lines_with_escapes_count(media: str) -> None:
    body = "".join(json.dumps({"e": f"p{n}@example.com"}).replace("@", "\\u0040") + "\n" for n in range(21))
    assert BulkPII().over(body.encode(), media, "/", nobody) == {"email": 21}
    assert not BulkPII().surely_under(body.encode(), media, "/")


def test_references_for_other_characters_keep_the_shortcut() -> None:
    """Templates escape every quote (``&#39;``, ``&#34;``): that proves nothing about '@'."""
    page = ("<p>It&#39;s &#34;fine&#34;</p>" * 100 + "<p>a@example.com</p>" * 5).encode()
    assert BulkPII().surely_under(page, "html", "/")
    escaped = ('{"name": "\\u5c71\\u7530"},' * 100 + '{"e": "a@example.com"},' * 5).encode()
    assert BulkPII().surely_under(b"[" + escaped[:-1] + b"]", "json", "/")


@pytest.mark.parametrize(
    "at",
    [
        "&#64;",
        "&#0064;",
        "&#x40;",
        "&#X0040;",
        "&commat;",
        "&#65312;",
        "&#xff20;",
        "\\u0040",
        "\\x40",
        "\\u{40}",
        "&#92;u0040",
        "\\&#117;0040",
        "\\u00&#52;0",
        "&bsol;x40",
    ],
)
def test_every_way_to_write_an_at_sign_defeats_the_shortcut(at: str) -> None:
    page = "".join(f"<p>p{n}{at}example.com</p>" for n in range(21)).encode()
    assert not BulkPII().surely_under(page, "html", "/")
    assert BulkPII().over(page, "html", "/", nobody) == {"email": 21}


_AT_FORMS = [
    "@", "&#64;", "&#x40;", "&#X0040;", "&commat;", "\\u0040", "\\x40", "\\u{40}", "&#92;u0040", "\\&#117;0040",
    "\\u00&#52;0", "&bsol;x40", "\uff20", "\ufe6b", "<b>@</b>", "<!---->@", "&#39;", "\\u0041", "&#0", "&",
]  # fmt: skip
_NOISE = ["", " ", "<p>", "&#39;", "\u00ad", "<!--", "-->", "<script>", "</script>", '"', "\\", "<i x='>"]
_items = st.tuples(
    st.sampled_from(["p1", "p2", "p3", "p4"]),
    st.sampled_from(_AT_FORMS),
    st.sampled_from(["ex.com", "ex.jp"]),
    st.sampled_from(_NOISE),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_items, max_size=12), st.integers(1, 3), st.sampled_from(["html", "text", "json"]))
def test_the_shortcut_never_hides_what_the_count_finds(
    items: list[tuple[str, str, str, str]], threshold: int, media: str
) -> None:
    body = "".join("".join(item) for item in items).encode()
    bulk = BulkPII(threshold=threshold)
    counted = count(body, media)  # always read and counted, no shortcut
    assert bulk.over(body, media, "/", nobody) == ({"email": counted} if counted > threshold else {})
    if bulk.surely_under(body, media, "/"):
        assert counted <= threshold


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),  # the textbook example: doubled digits over 9 lose 9
        ("79927398710", False),
        ("5500000000000004", True),
        ("5500000000000005", False),
        ("18", True),  # 1 doubled is 2, + 8: 10
        ("91", True),  # 9 doubled is 18 -> 9, + 1: 10
        ("59", True),  # 5 doubled is 10 -> 1, + 9: 10
        ("51", False),
        ("0", True),
    ],
)
def test_luhn_check_digit(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid
