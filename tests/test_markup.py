"""respguard._markup: the page's markup as the WHATWG tokenizer reads it.

HtmlAttribute reads owners with a pattern over the page text minus what :func:`markup_text`
cuts (comments, raw-text elements). The cut must never hide an attribute a browser builds:
checked against html5lib's DOM (the reader model's parser), on hand-picked pages and on
generated ones; and what it cuts is what no browser makes an attribute of.
"""

from __future__ import annotations

import base64
import html

import html5lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respguard import HtmlAttribute
from respguard._headers import Headers
from respguard._markup import (
    MAX_FRAME_DEPTH,
    Page,
    UnreadableFrame,
    data_url_page,
    markup_text,
    pages_within,
    unescape_attribute,
)
from respguard._scan import RequestInfo, ResponseView


def owners(page: str) -> list[str]:
    """What HtmlAttribute reads in a UTF-8 page."""
    body = page.encode("utf-8", "surrogatepass")
    request = RequestInfo("GET", "/", "http", {}, lambda raw: [])
    headers = Headers([(b"content-type", b"text/html; charset=utf-8")])
    view = ResponseView(request, 200, headers, "html", "text/html", body, "utf-8")
    return HtmlAttribute("data-owner").owners(view)


def dom_owners(page: str) -> list[str]:
    """What a browser builds (html5lib, scripting on and off; template contents too, as a superset)."""
    found: list[str] = []
    for scripting in (True, False):
        root = html5lib.parse(page, treebuilder="etree", namespaceHTMLElements=False, scripting=scripting)
        for element in root.iter():
            if isinstance(element.tag, str):
                found.extend(v.strip() for k, v in element.attrib.items() if k == "data-owner" and v.strip())
    return found


@pytest.mark.parametrize(
    ("page", "read"),
    [
        # Cut: never attributes to a browser.
        ('<li data-owner="1"></li><script>q = \'[data-owner="\' + me + \'"]\'</script>', ["1"]),
        ('<li data-owner="1"></li><style>li[data-owner="2"] { color: red }</style>', ["1"]),
        ('<!-- <li data-owner="2"> --><li data-owner="1">', ["1"]),
        ('<!--><li data-owner="1">', ["1"]),
        ('<!---><li data-owner="1">', ["1"]),
        ('<!-- a --!><li data-owner="1">', ["1"]),
        ('<textarea><li data-owner="2"></textarea><li data-owner="1">', ["1"]),
        ('<title><li data-owner="2"></title><li data-owner="1">', ["1"]),
        ('<? <li data-owner="2"> ?><li data-owner="1">', ["1"]),
        ('<script><!--<script>x</script> <b data-owner="2"></script><li data-owner="1">', ["1"]),
        ('<script><!-- </script><li data-owner="1">', ["1"]),
        ('<style x="</style>"><li data-owner="2"></style><li data-owner="1">', ["1"]),
        # Kept: a browser builds these, or may.
        ('<a title="<script>"><li data-owner="9"></li><a title="</script>">', ["9"]),
        ('<a b="c><style>"><li data-owner="9">', ["9"]),
        ('<a =b><style>x</style><li data-owner="9">', ["9"]),
        ('<script>-->x</script><li data-owner="9">', ["9"]),
        ('<svg><style><li data-owner="9"></style></svg>', ["9"]),
        ('<select><style><li data-owner="9"></style></select>', ["9"]),
        ('<noscript><li data-owner="9"></noscript>', ["9"]),
        ('<iframe srcdoc=\'<li data-owner="9">\'></iframe>', ["9", "9"]),  # the page's text, and srcdoc's page
        ('<scripts><li data-owner="9"></scripts>', ["9"]),
        # In svg a CDATA section is text to its "]]>": what follows is markup, whatever a comment says.
        ('<svg><![CDATA[ > <!-- ]]><rect data-owner="9"/> --></svg>', ["9"]),
        # HTML inside svg (an integration point): the textarea's text holds the "</svg>".
        ('<svg><foreignObject><textarea></svg><style></textarea><div data-owner="9">', ["9"]),
        ('<select></textarea><style><select><li data-owner="9">', ["9"]),
        # Regions read a second way still cut a script outside them.
        ('<select><option>a</option></select><script>q = \'[data-owner="x"]\'</script><li data-owner="1">', ["1"]),
        # A page with svg is not cut (foreign content: no reading of ours follows it closely enough).
        ('<svg><path d="M0 0"/></svg><script>q = \'[data-owner="x"]\'</script><li data-owner="1">', ["x", "1"]),
        ('<script<li data-owner="9">', ["9"]),
    ],
)
def test_reads_what_the_tokenizer_reads(page: str, read: list[str]) -> None:
    assert owners(page) == read
    assert set(dom_owners(page)) <= set(owners(page))


def test_plaintext_makes_the_rest_text() -> None:
    assert markup_text('<li data-owner="1"><plaintext><li data-owner="2">') == '<li data-owner="1"><plaintext> '


def test_a_page_with_nothing_to_cut_is_the_same_string() -> None:
    page = '<ul><li data-owner="1">x</li></ul>'
    assert markup_text(page) is page


_PIECES = st.sampled_from(
    [
        "<script>", "</script>", "<SCRIPT >", "</script ", "<style>", "</style>", "<textarea>", "</textarea>",
        "<title>", "</title>", "<xmp>", "</xmp>", "<iframe>", "</iframe>", "<noscript>", "<template>",
        "<!--", "-->", "--!>", "<!-->", "<!", "<?", "</", "<", ">", "/", "=", '"', "'", " ", "\n", "-", "!",
        '<li data-owner="1">', '<li data-owner="2">', "<li data-owner=3>", "<li data-owner='4'>",
        " data-owner=\"5\"", '<a title="', '<a title=\'', "<a ", "<b>", "</b>", "x", "<p>",
        "<svg>", "</svg>", "<math>", "</math>", "<select>", "</select>", "<foreignObject>", "<plaintext>",
        "&lt;", "<![CDATA[", "]]>", "</noscript>", "<col>", "</template>",
        "<table>", "<head>", "<body>", "<frameset>",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=24))
def test_never_cuts_an_attribute_a_browser_builds(pieces: list[str]) -> None:
    page = "".join(pieces)
    assert_no_leak(dom_owners(page), owners(page))


def assert_no_leak(dom: list[str], read: list[str]) -> None:
    """Whoever asks, if the browser's DOM carries someone else's owner, respguard reads someone
    else's too. (Not every DOM value one for one: the pattern's superset may read
    ``data-owner=6<style/data-owner=6<script`` as one value where the DOM's attribute is
    ``6<script``; any value that is not the requester's blocks.)"""
    for requester in {*dom, "nobody"}:
        if any(value != requester for value in dom):
            assert any(value != requester for value in read), (requester, dom, read)


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ("&ltstyle>", "&ltstyle>"),  # a legacy name without ';' before a letter stays text in an attribute
        ("&lt;style>", "<style>"),
        ("&lt style", "< style"),
        ("&ampx", "&ampx"),
        ("&amp=", "&amp="),
        ("&#105;d", "id"),
        ("&#x41", "A"),
        ("&notit", "&notit"),
        ("&notin;", "\u2209"),
        ("a&b", "a&b"),
    ],
)
def test_attribute_values_decode_references_as_the_tokenizer_does(value: str, decoded: str) -> None:
    assert unescape_attribute(value) == decoded


def test_data_url_pages_are_read_as_fetch_reads_them() -> None:
    inner = '<p data-owner="9">'
    page = data_url_page("data:text/html;base64," + base64.b64encode(inner.encode()).decode())
    assert page is not None and (page.text, page.xml) == (inner, False)
    assert data_url_page("DA\nTA:Text/HTML ; Base64 ," + base64.b64encode(b"<p>x").decode()) is not None
    encoded = base64.b64encode(inner.encode("utf-16-le")).decode()
    utf16 = data_url_page("data:text/html;charset=utf-16le;base64," + encoded)
    assert utf16 is not None and utf16.text == inner
    svg = data_url_page("data:image/svg+xml,%3Csvg%20data-owner%3D9%2F%3E")
    assert svg is not None and (svg.text, svg.xml) == ("<svg data-owner=9/>", True)
    assert data_url_page("data:text/html;base64,PHA+eA=") is None  # forgiving base64: '=' where none may be
    assert data_url_page("data:image/png;base64,iVBOR") is None  # not a page
    assert data_url_page("data:,<p>") is None  # text/plain
    assert data_url_page("https://example.test/") is None


def test_pages_in_pages_are_read_eight_deep_and_no_deeper() -> None:
    page = '<p data-owner="9">'
    for _ in range(MAX_FRAME_DEPTH):
        page = '<iframe srcdoc="' + html.escape(page) + '"></iframe>'
    assert pages_within(Page(page, False))[-1].text == '<p data-owner="9">'
    with pytest.raises(UnreadableFrame, match="frames nested too deeply"):
        pages_within(Page('<iframe srcdoc="' + html.escape(page) + '"></iframe>', False))
