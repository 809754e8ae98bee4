"""Where an HTML page's markup is, as the HTML tokenizer reads it, and its JSON data blocks.

:class:`~respguard.HtmlAttribute` finds owners with a pattern over the page's text: a superset
of the attributes a browser builds. Text inside a comment or a raw-text element (``script``,
``style``, ``textarea``, ``title``...) is never an attribute to a browser, and scripts and
stylesheets name the attribute (``querySelectorAll('[data-owner="' + me + '"]')``): read there,
an own page would be refused. :func:`markup_text` cuts those contents out, reading the page as
the WHATWG tokenizer does (comments, tags and their quoted attribute values, RAWTEXT, RCDATA,
script data and its escapes), in one pass, once with scripting on (``<noscript>`` is raw text,
as in browsers) and once with it off (its content is markup): only what both readings cut is
cut. Where the tree builder may leave the tokenizer alone or read another language (``svg``,
``math``, ``select``, ``frameset``, a ``col`` in a ``template``), it cuts nothing: the superset
stands (fail closed).
"""

from __future__ import annotations

import base64
import html
import json
import re
import urllib.parse
from html.entities import html5 as _NAMED

from ._content import JS_SPACE
from ._encoding import UndecodableBody, decode, html_encoding
from ._mime import is_xml_essence

_WS = "\t\n\x0c\r "  # (the tokenizer reads after CR and CRLF became LF: CR is white space here)

#: One token of the data state, from its '<'. An attribute value in quotes runs to the same
#: quote, wherever it is; where there is none, the browser reads the rest of the page as that
#: value, so what this reads after it is never markup either.
_TOKEN = re.compile(
    r"<!--(?:>|->|.*?--!?>|.*)"  # a comment, to the first end the tokenizer takes (or the end)
    r"|<[!?][^>]*>?"  # a DOCTYPE, a bogus comment (<!...>, <?...>; CDATA outside foreign content)
    r"|</(?![A-Za-z])[^>]*>?"  # "</" then no letter: nothing, or a bogus comment
    r"|(</?)([A-Za-z][^\t\n\x0c\r />]*)"  # a start or end tag, its name
    r"(?:[\t\n\x0c\r /]+"  # ...white space and '/' between attributes
    r"|[^\t\n\x0c\r />][^\t\n\x0c\r />=]*"  # ...an attribute name ('=' may open one)
    r"(?:[\t\n\x0c\r ]*=[\t\n\x0c\r ]*(?:\"[^\"]*\"|'[^']*'|(?![\"'])[^\t\n\x0c\r >]*))?"  # ...its value
    r")*>?",
    re.DOTALL,
)
#: Elements whose content the tokenizer reads as text to their end tag (RAWTEXT and RCDATA;
#: ``noscript`` is not here: with scripting off it is markup).
_RAW_TEXT = frozenset({"style", "xmp", "iframe", "noembed", "noframes", "textarea", "title"})
#: Where the tree builder leaves the tokenizer in the data state for some of them, or reads
#: the page as another language: nothing is cut. (In a template, "in column group" ignores
#: every start tag after a ``col``: both present, nothing is cut.)
#: Foreign content (its integration points hold HTML again, its end tags may be ignored: no
#: reading of ours follows it closely enough) and framesets: nothing is cut.
_UNCUTTABLE = re.compile(r"<(?:svg|math|frameset)", re.IGNORECASE | re.ASCII)
_REGIONS = re.compile(r"<select", re.IGNORECASE | re.ASCII)
#: Start tags that close an open select (the select insertion mode).
_ENDS_SELECT = frozenset({"input", "keygen", "textarea"})
_TEMPLATE = re.compile(r"<template", re.IGNORECASE | re.ASCII)
_COL = re.compile(r"<col", re.IGNORECASE | re.ASCII)
_NOSCRIPT = re.compile(r"<noscript", re.IGNORECASE | re.ASCII)
#: Anything to cut at all (a page without these is all markup).
_CUTTABLE = re.compile(
    r"<(?:[!?]|/[^A-Za-z]|script|style|xmp|iframe|noembed|noframes|textarea|title|plaintext)", re.IGNORECASE | re.ASCII
)
_END_TAGS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"</{name}(?=[{_WS}/>])", re.IGNORECASE | re.ASCII) for name in (*_RAW_TEXT, "script", "noscript")
}
_SCRIPT_DATA = re.compile(rf"<!--|</script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
_SCRIPT_ESCAPED = re.compile(rf"-->|</script(?=[{_WS}/>])|<script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
_SCRIPT_DOUBLE_ESCAPED = re.compile(rf"-->|</script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
_DASHES = re.compile(r"-*")


def markup_text(text: str) -> str:
    """``text`` with the content of its comments and raw-text elements cut out (each cut is one
    space), or ``text`` itself where there is nothing to cut or the tree builder may read it
    otherwise.

    A page is read several ways where the tree builder may read it several ways: with scripting
    on and off (``<noscript>``); with HTML's rules everywhere, and with ``<select>`` as a region
    where no start tag but a script's switches the tokenizer (the select insertion mode before
    Chromium's customizable select). Only what every reading cuts is cut. Where what is left
    holds ``<svg``, ``<math``, ``<frameset``, or a ``<template`` and a ``<col``, the readings
    don't hold (those readings assume neither): nothing is cut. (Named only in a script or a
    comment, they are no elements: the page is cut.)"""
    if _CUTTABLE.search(text) is None:
        return text
    cuts: list[tuple[int, int]] | None = None
    for scripting, in_regions in _readings(text):
        reading = _cuts(text, scripting, in_regions)
        cuts = reading if cuts is None else _common(cuts, reading)
    if not cuts:
        return text
    kept: list[str] = []
    position = 0
    for start, end in cuts:
        kept.append(text[position:start])
        kept.append(" ")
        position = end
    kept.append(text[position:])
    markup = "".join(kept)
    if _UNCUTTABLE.search(markup) is not None:
        return text
    if _TEMPLATE.search(markup) is not None and _COL.search(markup) is not None:
        return text
    return markup


def _readings(text: str) -> list[tuple[bool, bool]]:
    """The ways the tree builder may read a page: (scripting, ``<select>`` as a region) pairs."""
    scriptings = (True, False) if _NOSCRIPT.search(text) is not None else (True,)
    regions = (False, True) if _REGIONS.search(text) is not None else (False,)
    return [(scripting, in_regions) for scripting in scriptings for in_regions in regions]


#: Raw-text elements whose text the page shows: a ``<textarea>``'s value (in its box, and to a
#: script's ``JSON.parse(el.value)``), a ``<title>`` in the tab (both RCDATA: their character
#: references are decoded), ``<xmp>`` and what follows ``<plaintext>`` as preformatted text.
_SHOWN_RCDATA = frozenset({"textarea", "title"})
_SHOWN = _SHOWN_RCDATA | {"xmp", "plaintext"}


def shown_raw_texts(text: str) -> list[str]:
    """The text of every raw-text element the page shows (:data:`_SHOWN`), as the page shows it
    (an RCDATA element's character references decoded), in every reading :func:`markup_text`
    makes of the page (a superset: cut or not, by every reading or by one). Each once, in order."""
    if _CUTTABLE.search(text) is None or not _may_show_json(text):
        return []
    found: dict[str, None] = {}
    for scripting, in_regions in _readings(text):
        spans: list[tuple[str, int, int]] = []
        _cuts(text, scripting, in_regions, spans)
        for name, start, end in spans:
            content = text[start:end]
            if name in _SHOWN_RCDATA and content.find("&") >= 0:
                content = html.unescape(content)
            found[content] = None
    return list(found)


_SHOWN_OPEN = re.compile(r"<(?:textarea|title|xmp|plaintext)(?=[\t\n\x0c\r />])", re.IGNORECASE | re.ASCII)
#: (After the white space a reader trims before it: ``String.prototype.trim``'s, NBSP and U+3000
#: too, which a page shows as space: ``<pre>&nbsp;{...}</pre>`` shows the record.)
_JSON_OPENING = re.compile("[" + re.escape(JS_SPACE) + r"]*[\[{&]")


def _may_show_json(text: str) -> bool:
    """Speed only: could a raw-text element the page shows open like JSON? Not when no start tag
    of one (read by the tag grammar, wherever it stands: a superset) is followed by ``{``, ``[``
    or a character reference (one may spell either) after white space. One search, and one
    match a start tag; a start tag found inside the last one matched (``<title a=x<title a=x``...,
    whose every match would run to the page's end: quadratic time) answers "maybe" at once."""
    matched = 0  # the end of the last start tag matched
    for opening in _SHOWN_OPEN.finditer(text):
        start = opening.start()
        if start < matched:
            return True  # (the cuts read the page, in linear time)
        tag = _TOKEN.match(text, start)
        if tag is not None:
            if _JSON_OPENING.match(text, tag.end()) is not None:
                return True
            matched = tag.end()
    return False


def _cuts(
    text: str, scripting: bool, regions: bool, shown: list[tuple[str, int, int]] | None = None
) -> list[tuple[int, int]]:
    """The spans of ``text`` that are not markup, in order: comments and the like whole, a
    raw-text element's content, the rest of the page after ``<plaintext>``. With ``scripting``,
    a ``<noscript>``'s content is raw text too (not cut: with scripting off it is markup). With
    ``regions``, inside ``<select>`` no start tag but a script's is raw text (only comments and
    scripts are cut there). ``shown`` gets the (name, start, end) of each cut a page shows as
    text (:data:`_SHOWN`)."""
    cuts: list[tuple[int, int]] = []
    scan = 0
    end = len(text)
    select = False
    while True:
        token = _TOKEN.search(text, scan)
        if token is None:
            return cuts
        scan = token.end()
        inside = regions and select
        if token.group(1) is None:  # a comment, a DOCTYPE, a bogus comment: never an attribute
            cuts.append((token.start(), token.end()))
            continue
        name = token.group(2)
        if not name.isascii():
            continue
        name = name.lower()
        if regions:
            if name == "select":
                select = token.group(1) == "<"  # (a select in a select closes it; kept open: a superset)
                continue
            if select and name in _ENDS_SELECT and token.group(1) == "<":
                select = False  # an input, keygen or textarea start tag closes the select
        if token.group(1) != "<" or inside and name != "script":
            # An end tag (its attributes are dropped, but read: a superset), or in a select (where
            # the old "in select" mode ignores raw-text start tags; a script's text is script data
            # in every mode, never tags).
            continue
        if name == "plaintext":
            cuts.append((token.end(), end))  # the rest of the page is text
            if shown is not None:
                shown.append((name, token.end(), end))
            return cuts
        if name == "script":
            close = _script_end(text, token.end())
        elif name in _RAW_TEXT or scripting and name == "noscript":
            match = _END_TAGS[name].search(text, token.end())
            close = match.start() if match is not None else end
        else:
            continue
        if name != "noscript":
            cuts.append((token.end(), close))
            if shown is not None and name in _SHOWN:
                shown.append((name, token.end(), close))
        scan = close
        if close >= end:
            return cuts


def _common(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans both lists cut (each list in order, its spans apart)."""
    common: list[tuple[int, int]] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            common.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return common


def _script_end(text: str, start: int) -> int:
    """Where a script element's content ends (its ``</script``), reading script data and its
    escaped and double-escaped states as the tokenizer does."""
    end = len(text)
    position = start
    while True:  # script data
        found = _SCRIPT_DATA.search(text, position)
        if found is None:
            return end
        if found.group(0)[1] == "/":
            return found.start()
        # "<!--": escaped dash dash; more dashes stay there, and '>' goes back to script data.
        dashes = _DASHES.match(text, found.end())
        assert dashes is not None  # ('-*' matches anywhere)
        position = dashes.end()
        if text.startswith(">", position):
            position += 1
            continue
        double = False
        while True:  # escaped, or double-escaped
            pattern = _SCRIPT_DOUBLE_ESCAPED if double else _SCRIPT_ESCAPED
            found = pattern.search(text, position)
            if found is None:
                return end
            token = found.group(0)
            position = found.end()
            if token == "-->":
                break  # back to script data
            if token[1] != "/":
                double = True  # "<script": double-escaped
            elif double:
                double = False  # "</script" in double-escaped: back to escaped
            else:
                return found.start()  # "</script" in escaped: the end


#: A script start tag's beginning (its whole tag is then read by :data:`_TOKEN`).
_SCRIPT_OPEN = re.compile(rf"<script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
#: One attribute of a tag, as the tokenizer reads it (the grammar of :data:`_TOKEN`).
_ATTRIBUTE = re.compile(
    r"[\t\n\x0c\r /]*([^\t\n\x0c\r />][^\t\n\x0c\r />=]*)"
    r"(?:[\t\n\x0c\r ]*=[\t\n\x0c\r ]*(?:\"([^\"]*)\"|'([^']*)'|(?![\"'])([^\t\n\x0c\r >]*)))?"
)
#: The HTML standard's JavaScript MIME type essence matches, and "module": scripts, not data.
_SCRIPT_TYPES = frozenset(
    {
        "application/ecmascript", "application/javascript", "application/x-ecmascript",
        "application/x-javascript", "text/ecmascript", "text/javascript", "text/javascript1.0",
        "text/javascript1.1", "text/javascript1.2", "text/javascript1.3", "text/javascript1.4",
        "text/javascript1.5", "text/jscript", "text/livescript", "text/x-ecmascript",
        "text/x-javascript", "module",
    }
)  # fmt: skip


def attribute_value(match: re.Match[str], first: int) -> str:
    """The raw value an attribute pattern matched in groups ``first`` to ``first + 2``
    (double-quoted, single-quoted, bare; ``""`` without a value)."""
    raw = match.group(first)
    if raw is None:
        raw = match.group(first + 1)
    if raw is None:
        raw = match.group(first + 2)
    return raw or ""


def _runs_as_script(tag: str) -> bool:
    """Does a browser run this script start tag's content as JavaScript (a classic script or a
    module)? Otherwise it is a data block. The HTML standard's "prepare the script element": no
    ``type`` or an empty one, and no ``language`` (or an empty one), is JavaScript; else the type
    is the ``type`` stripped of white space, or ``text/`` and the ``language``."""
    kind: str | None = None
    language: str | None = None
    position = len("<script")
    while True:
        attribute = _ATTRIBUTE.match(tag, position)
        if attribute is None or attribute.end() == position:
            break
        position = attribute.end()
        name = attribute.group(1).lower()
        if name not in ("type", "language") or (kind if name == "type" else language) is not None:
            continue  # (a repeated attribute: the tokenizer keeps the first)
        value = attribute_value(attribute, 2)
        if name == "type":
            kind = value
        else:
            language = value
    if kind == "":
        return True
    if kind is None:
        if not language:
            return True
        kind = "text/" + language
    return kind.strip(_WS).lower() in _SCRIPT_TYPES


def data_blocks(text: str) -> list[list[str]] | None:
    """The text of every ``<script>`` data block (a ``type`` that is no JavaScript MIME type:
    ``application/json``, ``application/ld+json``...). Scripts read it with
    ``JSON.parse(el.textContent)``: Next.js's ``__NEXT_DATA__``, embedded state.

    A superset, whatever the tree builder makes of the page: every ``<script`` start tag of such
    a type counts, even one inside a comment or an attribute value, and a JavaScript one hides
    nothing after it. Each block is read to the end script data gives it and to the first
    ``</script``, and, where it holds markup, as its text content (in ``<svg>`` a script's
    children are markup: comments dropped, references decoded, CDATA unwrapped, and it ends at
    the first ``</script`` end tag past them). Each block's readings are a list. ``None``: more
    than the page's size four times over to read (refused, fail closed: time stays linear)."""
    blocks: list[list[str]] = []  # each block's readings
    budget = 4 * len(text) + 4096
    position = 0
    while True:
        opening = _SCRIPT_OPEN.search(text, position)
        if opening is None:
            return blocks
        tag = _TOKEN.match(text, opening.start())
        assert tag is not None  # ("<script" always starts a tag token)
        position = tag.end()
        if _runs_as_script(tag.group(0)):
            continue
        first_end = _END_TAGS["script"].search(text, position)
        ends = (_script_end(text, position), first_end.start() if first_end else len(text), _markup_end(text, position))
        readings: list[str] = []
        for end in dict.fromkeys(ends):
            block = text[position:end]
            readings.append(block)
            budget -= len(block)
            if block.find("<") >= 0 or block.find("&") >= 0:
                readings.append(_text_content(block))
        blocks.append(readings)
        if budget < 0:
            return None


#: An attribute value that may open like JSON: ``{`` or ``[`` after white space, or a character
#: reference there (``&#123;``), quoted or not. Any ``=`` of the markup (a superset: inside another
#: value too); what does not parse once its references are decoded is no JSON to a script either.
_JSON_VALUE = re.compile(
    r"=[\t\n\x0c\r ]*(?:\"([\t\n\x0c\r ]*[\[{&][^\"]*)\"|'([\t\n\x0c\r ]*[\[{&][^']*)'|([\[{&][^\t\n\x0c\r >]*))"
)


def json_attributes(page: Page) -> list[str]:
    """The values of a page's attributes that open like JSON once their character references are
    decoded (``{`` or ``[`` after JSON white space): what a script reads with
    ``JSON.parse(el.dataset.page)`` (Inertia.js's ``data-page``, Livewire's ``wire:snapshot``, a
    component's ``data-props``). Read in the page's markup (not in scripts, styles or comments:
    no attribute is there), on any tag."""
    markup = page.markup()
    values: list[str] = []
    if markup.find("=") < 0:
        return values
    for match in _JSON_VALUE.finditer(markup):
        value = unescape_attribute(attribute_value(match, 1)).lstrip(" \t\n\r")
        if value[:1] in ("{", "["):
            values.append(value)
    return values


#: Only where a document ends is wanted: its numbers are kept as text (``int()`` of one over 4,300
#: digits raises a ValueError; ``JSON.parse`` reads it as a float).
_JSON_DECODER = json.JSONDecoder(parse_int=str, parse_float=str)
#: The first window a document is parsed in, doubled while the parse may have stopped at its end.
_WINDOW = 64
#: How far past a failure's position the parser may have looked (``-Infinity``, ``\\ud800\\udc00``).
_LOOKAHEAD = 16


def _document_end(text: str, start: int) -> tuple[int, int]:
    """``raw_decode(text, start)``: (where the document starting there ends, or -1 where none
    does; how many characters the parse read). Parsed in a window of the text that doubles while
    the parse may have stopped at the window's end: a failure's ``JSONDecodeError`` counts the
    lines of the whole string it was given up to the failure, so a page of many starts parsed
    in the whole text took time quadratic in its size. A document the window holds is the one
    the whole text holds (it ends at its last bracket); a failure well inside the window is the
    whole text's. RecursionError: nested deeper than Python parses."""
    size = _WINDOW
    while True:
        stop = start + size
        window = text[start:stop]
        try:
            _value, end = _JSON_DECODER.raw_decode(window)
        except json.JSONDecodeError as error:
            unterminated = error.msg.startswith("Unterminated string")  # (its position is the string's start)
            if stop >= len(text):
                return -1, len(window) if unterminated else error.pos
            if not unterminated and error.pos < len(window) - _LOOKAHEAD:
                return -1, error.pos
            size *= 2
            continue
        return start + end, end


def rendered_json(page: Page) -> list[str] | None:
    """The JSON documents a page shows as text: where a run of its text (in its markup: not in
    scripts, styles or comments) opens like JSON (``{`` or ``[`` after white space), the document
    that starts there in the page's text as it renders (tags dropped, character references
    decoded), as a person reads it on screen: Django REST Framework's browsable API renders a
    view's record into ``<pre>{ &quot;user_id&quot;: ...}</pre>``, its URLs wrapped in ``<a>``.
    A CDATA section's text is text there, to its ``]]>`` (an XML page's; in HTML, outside
    foreign content, it is a bogus comment the cut already dropped). A start inside a document
    already read is not read again. The text of each raw-text element the page shows
    (:func:`shown_raw_texts`: a ``<textarea>``'s value, ``<xmp>``...) that opens like JSON is read
    too, on its own; in an XML page, so is each comment's and processing instruction's text
    (Chromium shows an XML document without style as its tree, comments included). A document
    nested deeper than Python parses is given as the rest of its text (the caller refuses it if it
    names a key). ``None``: more than the page's size four times over to read (refused: time
    stays linear)."""
    markup = page.markup()
    pieces: list[str] = []
    starts: list[int] = []
    size = 0
    position = 0
    end = len(markup)
    while position <= end:
        token = _TOKEN.search(markup, position)
        stop = token.start() if token is not None else end
        cdata = token is not None and markup.startswith("<![CDATA[", stop)
        if stop > position or cdata:
            # A run of text (the text after the last tag too), references decoded; a CDATA
            # section's text as it is (an XML page's, or in <svg>: its text is shown, to ``]]>``).
            if cdata:
                close = markup.find("]]>", stop + 9)
                close = end if close < 0 else close
                piece = html.unescape(markup[position:stop]) + markup[stop + 9 : close]
            else:
                piece = html.unescape(markup[position:stop])
            if piece.lstrip(_JSON_SPACE)[:1] in ("{", "["):
                starts.append(size + len(piece) - len(piece.lstrip(_JSON_SPACE)))
            pieces.append(piece)
            size += len(piece)
            if cdata:
                position = close + 3
                continue
        if token is None:
            break
        position = token.end()
    texts = [("".join(pieces), starts)] if starts else []
    for shown in xml_comments(markup) if page.xml else shown_raw_texts(page.text):
        opening = len(shown) - len(shown.lstrip(_JSON_SPACE))
        if shown[opening : opening + 1] in ("{", "["):
            texts.append((shown, [opening]))
    found: list[str] = []
    budget = 4 * sum(len(text) for text, _ in texts) + 4096
    for text, text_starts in texts:
        covered = 0  # the end of the last document read
        for start in text_starts:
            if start < covered:
                continue
            try:
                end, read = _document_end(text, start)
            except RecursionError:
                found.append(text[start:])  # the rest, whole: every later start is in it
                budget -= len(text) - start
                covered = len(text)
            else:
                budget -= read
                if end >= 0:
                    found.append(text[start:end])
                    covered = end
            if budget < 0:
                return None
    return found


def xml_comments(text: str) -> list[str]:
    """An XML page's comments and processing instructions, each one's text (an unclosed one's to
    the end; each kind found in one pass): Chromium shows an XML document without style as its
    tree, comments and processing instructions included, and a feed (RSS, Atom) as its source text."""
    found: list[str] = []
    for opening, closing in (("<!--", "-->"), ("<?", "?>")):
        start = text.find(opening)
        while start >= 0:
            close = text.find(closing, start + len(opening))
            shown = text[start + len(opening) :] if close < 0 else text[start + len(opening) : close]
            if opening == "<?":
                parts = shown.split(None, 1)
                shown = parts[1] if len(parts) > 1 else ""  # a processing instruction's data, after its target
            found.append(shown)
            if close < 0:
                break
            start = text.find(opening, close + len(closing))
    return found


#: The white space before a record a page shows: what it shows as space and a script's
#: ``JSON.parse(el.textContent.trim())`` trims (JSON's, HTML's, NBSP, U+3000, a BOM...).
_JSON_SPACE = JS_SPACE


def _markup_end(text: str, start: int) -> int:
    """Where a script element's content ends when its children are markup (in ``<svg>``): at the
    first ``</script`` end tag, past comments, CDATA sections and attribute values."""
    scan = start
    while True:
        token = _TOKEN.search(text, scan)
        if token is None:
            return len(text)
        if text.startswith("<![CDATA[", token.start()):
            close = text.find("]]>", token.start() + 9)
            if close < 0:
                return len(text)
            scan = close + 3
            continue
        if token.group(1) == "</" and token.group(2).lower() == "script":
            return token.start()
        scan = token.end()


def _text_content(block: str) -> str:
    """A script's text as ``textContent`` gives it where its children are markup (in ``<svg>``):
    CDATA sections' text kept, comments and tags dropped (read by the tag grammar: a ``>`` in a
    quoted attribute value ends nothing), character references decoded."""
    kept: list[str] = []
    position = 0
    end = len(block)
    while True:
        opening = block.find("<", position)
        if opening < 0:
            kept.append(block[position:])
            break
        kept.append(block[position:opening])
        if block.startswith("<![CDATA[", opening):
            close = block.find("]]>", opening + 9)
            kept.append(block[opening + 9 : close if close >= 0 else end])
            position = close + 3 if close >= 0 else end
            continue
        token = _TOKEN.match(block, opening)
        if token is None:
            kept.append("<")
            position = opening + 1
            continue
        position = token.end()
    text = "".join(kept)
    return html.unescape(text) if text.find("&") >= 0 else text


_CHARACTER_REFERENCE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\x0c <&#;]{1,32};?)")


def unescape_attribute(value: str) -> str:
    """An attribute value's character references decoded as the tokenizer decodes them there: as
    :func:`html.unescape` does, except that a legacy named reference without its ';' followed by a
    letter, a digit or '=' stays text (``&ltstyle`` is ``&ltstyle`` in an attribute, for
    historical reasons; in text it would be ``<style``)."""
    return _CHARACTER_REFERENCE.sub(_attribute_reference, value) if value.find("&") >= 0 else value


def _attribute_reference(match: re.Match[str]) -> str:
    name = match.group(1)
    if name[0] == "#":
        return html.unescape(match.group(0))
    if name in _NAMED:
        return _NAMED[name]
    for length in range(len(name) - 1, 1, -1):  # the longest legacy name it starts with (html.unescape's rule)
        prefix = name[:length]
        if prefix in _NAMED:
            following = name[length]
            if following == "=" or following.isascii() and following.isalnum():
                return "&" + name
            return _NAMED[prefix] + name[length:]
    return "&" + name


_BASE64_TAIL = re.compile(r";[ ]*base64\Z", re.IGNORECASE | re.ASCII)
_URL_STRIPPED = re.compile(r"[\t\n\r]")
_BASE64_SPACE = re.compile(rb"[\t\n\x0c\r ]")
_BASE64_ALPHABET = re.compile(rb"[A-Za-z0-9+/]*")
_CHARSET_PARAMETER = re.compile(r";[\t\n\x0c\r ]*charset=(\"[^\"]*\"|[^;]*)", re.IGNORECASE | re.ASCII)
#: An attribute that may hold a page of its own: an iframe's ``srcdoc``, a ``src``/``data``
#: (iframe, frame, object, embed) whose value may be a ``data:`` URL of a page or a
#: ``javascript:`` URL (the frame's document is the string it gives: its percent-decoded source
#: is read as a page, a superset of a literal), or a ``<meta http-equiv=refresh>``'s ``content``,
#: which navigates a frame to its URL (any ``content`` that names a ``data:`` URL is read).
#: Values are read as the attribute pattern reads them (HTML white space only: a vertical tab is no space).
_FRAMED = re.compile(
    r"(?<![-\w:.])(srcdoc|src|data|content)[\t\n\x0c\r ]*=[\t\n\x0c\r ]*"
    r"(?:\"([^\"]*)\"|'([^']*)'|([^\t\n\x0c\r \"'>][^\t\n\x0c\r >]*))",
    re.IGNORECASE | re.ASCII,
)
MAX_FRAME_DEPTH = 8  # documents in documents: deeper is refused (fail closed)
#: An XML document type's declarations that add markup or attributes (an entity, an attribute
#: default): the XML parser expands them, respguard does not (refused, fail closed).
_XML_DECLARATIONS = re.compile(r"<!(?:ENTITY|ATTLIST)")
#: An XML page's stylesheet processing instructions, and the ``type`` pseudo-attributes in one.
#: Blink applies one of an XSLT type (``text/xsl``, ``text/xml``...) as XSLT, whose output is the
#: DOM: it may build any attribute (``<xsl:attribute name="{concat('data-','owner')}">``) from the
#: page's text or another document. Only a CSS one (no type, an empty one or ``text/css``) is
#: read past (a superset: any other ``type`` anywhere in it refuses the page).
_XML_STYLESHEET = re.compile(r"<\?xml-stylesheet(?:[^?]|\?(?!>))*", re.ASCII)
_PSEUDO_TYPE = re.compile(r"type[\t\n\r ]*=[\t\n\r ]*(?:\"([^\"]*)\"|'([^']*)')?", re.IGNORECASE | re.ASCII)


def _applies_xslt(text: str) -> bool:
    """Could an XML page's stylesheet processing instruction be applied as XSLT?"""
    for instruction in _XML_STYLESHEET.finditer(text):
        for kind in _PSEUDO_TYPE.finditer(instruction.group(0)):
            value = kind.group(1) if kind.group(1) is not None else kind.group(2)
            if value not in ("", "text/css"):
                return True
    return False


class UnreadableFrame(ValueError):
    """A page held in an attribute that respguard cannot read as the browser does (a fixed reason,
    one of :data:`UNREADABLE_REASONS`)."""


XML_DECLARATIONS = "XML entity or attribute declarations"
XSLT_STYLESHEET = "XML page with an XSLT stylesheet"
FRAMES_TOO_DEEP = "frames nested too deeply"
UNDECODABLE_FRAME = "framed page cannot be decoded"
#: Every reason an :class:`UnreadableFrame` gives (an event's reason may quote them).
UNREADABLE_REASONS = frozenset({XML_DECLARATIONS, XSLT_STYLESHEET, FRAMES_TOO_DEEP, UNDECODABLE_FRAME})


class Page:
    """A page's text, and whether it is XML (XHTML, SVG: no raw-text elements, DTD declarations)."""

    __slots__ = ("text", "xml", "_markup")

    def __init__(self, text: str, xml: bool) -> None:
        self.text = text
        self.xml = xml
        self._markup: str | None = None

    def markup(self) -> str:
        """Its markup: the text, less what :func:`markup_text` cuts from an HTML page (an XML page
        has no raw text); cut once, however many readers read it."""
        markup = self._markup
        if markup is None:
            markup = self._markup = self.text if self.xml else markup_text(self.text)
        return markup


def is_xml_type(media_type: str) -> bool:
    """Is a page of this MIME type essence parsed as XML (an XML type: not ``text/html``, nor a
    ``text/*`` type Turbo parses as HTML, nor none)?"""
    return is_xml_essence(media_type)


def pages_within(page: Page) -> list[Page]:
    """The page and every page its attributes hold, at any depth (a ``srcdoc``, decoded as an
    attribute value; a ``data:`` URL of a page type in a ``src`` or ``data``, and one a frame
    shows as text, as a ``<pre>`` of it), each read once.
    Raises :class:`UnreadableFrame` for an XML page with entity or attribute declarations or an
    XSLT stylesheet (its output is the DOM), a framed page that can't be decoded, or frames more
    than :data:`MAX_FRAME_DEPTH` deep."""
    found: list[Page] = []
    level = [page]
    for depth in range(MAX_FRAME_DEPTH + 1):
        framed: list[Page] = []
        for current in level:
            if current.xml and _XML_DECLARATIONS.search(current.text) is not None:
                raise UnreadableFrame(XML_DECLARATIONS)
            if current.xml and _applies_xslt(current.text):
                raise UnreadableFrame(XSLT_STYLESHEET)
            found.append(current)
            markup = current.markup()
            for match in _FRAMED.finditer(markup):
                value = unescape_attribute(attribute_value(match, 2))
                name = match.group(1).lower()
                if name == "srcdoc":
                    framed.append(Page(value, False))  # an iframe srcdoc document is HTML
                    continue
                if name == "content":
                    refresh = _refresh_url(value)
                    if refresh is None:
                        continue
                    value = refresh
                script = _javascript_source(value)
                inner = Page(script, False) if script is not None else data_url_page(value, shown=True)
                if inner is not None:
                    framed.append(inner)
        if not framed:
            return found
        if depth == MAX_FRAME_DEPTH:
            raise UnreadableFrame(FRAMES_TOO_DEEP)
        level = framed
    return found


_REFRESH_DATA_URL = re.compile(r"data:", re.IGNORECASE | re.ASCII)
_JAVASCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE | re.ASCII)
_URL_TRIMMED = "".join(map(chr, range(0x21)))


def _refresh_url(content: str) -> str | None:
    """The ``data:`` URL a refresh declaration (``0; url='data:...'``) may navigate to: from its
    first ``data:`` on (tabs and newlines dropped, as the URL parser drops them), to the quote
    that opened it, if one did (the HTML standard's shared declarative refresh steps: the URL
    string runs from past the quote to the next one, and the URL parser strips the C0 controls
    and spaces before ``data:``, so ``url=' data:...'`` is quoted too). ``None``: it names none."""
    content = _URL_STRIPPED.sub("", content)
    found = _REFRESH_DATA_URL.search(content)
    if found is None:
        return None
    url = content[found.start() :]
    quote = content[: found.start()].rstrip(_URL_TRIMMED)[-1:]
    if quote in ("'", '"'):
        url = url.split(quote, 1)[0]
    return url


#: What the text a frame shows may hold of a record, an address, a phone or a card number (a
#: text with none shows none of them: ``data:,Loading the next page``).
_SHOWN_RECORD = re.compile(r"[{\[@0-9]")


def refresh_frames_a_page(value: str) -> bool:
    """Does a refresh declaration (a ``Refresh`` header's value) navigate to a ``data:`` URL that
    is a page (HTML, XML), or one respguard can't decode, or one a frame shows as text (no type,
    ``text/*``, JSON) whose text may show a record, an address or a number (a ``{``, ``[``, ``@``
    or a digit)?"""
    url = _refresh_url(value)
    if url is None:
        return False
    try:
        if data_url_page(url) is not None:
            return True
        shown = data_url_page(url, shown=True)
    except UnreadableFrame:
        return True
    return shown is not None and _SHOWN_RECORD.search(shown.text) is not None


def _javascript_source(url: str) -> str | None:
    """A ``javascript:`` URL's script source (percent-decoded, as the browser runs it); ``None``
    for another URL."""
    url = _URL_STRIPPED.sub("", url).strip(_URL_TRIMMED)
    if _JAVASCRIPT_URL.match(url) is None:
        return None
    return urllib.parse.unquote(url[len("javascript:") :])


def data_url_page(url: str, shown: bool = False) -> Page | None:
    """The page a ``data:`` URL holds, as Fetch's data: URL processor reads it (tabs, newlines and
    the fragment dropped, percent-decoded, forgiving base64), when its type is a page (HTML, XML:
    ``*/*+xml``, ``text/xsl``), decoded as the frame decodes it (a byte-order mark, its charset, the HTML sniffing);
    with ``shown``, also as the page of a ``<pre>`` holding its text where a frame shows it as text
    (no type, ``text/*``, JSON: ``data:application/json,{"user_id": ...}`` shows the record);
    ``None`` otherwise. Raises :class:`UnreadableFrame` where respguard can't decode it."""
    url = _URL_STRIPPED.sub("", url).strip(_URL_TRIMMED)
    if url[:5].lower() != "data:":
        return None
    # The processor reads the URL without its fragment: a base64 body followed by "#top" decodes.
    media, comma, rest = url[5:].partition("#")[0].partition(",")
    if not comma:
        return None
    media = media.strip(_WS)
    body = urllib.parse.unquote_to_bytes(rest)
    base64_tail = _BASE64_TAIL.search(media)
    if base64_tail is not None:
        media = media[: base64_tail.start()]
        # Forgiving-base64 decode (the HTML standard).
        packed = _BASE64_SPACE.sub(b"", body)
        if len(packed) % 4 == 0:
            packed = packed[:-2] if packed.endswith(b"==") else packed[:-1] if packed.endswith(b"=") else packed
        if len(packed) % 4 == 1 or _BASE64_ALPHABET.fullmatch(packed) is None:
            return None
        body = base64.b64decode(packed + b"=" * (-len(packed) % 4))
    essence = media.split(";", 1)[0].strip(_WS).lower()
    # A framed data: URL's types that render as a page: HTML, and XML (XHTML, SVG, and Chromium
    # renders feeds and ``text/xsl`` as XML too). Every ``*/*+xml`` is read (a superset).
    page = essence == "text/html" or is_xml_essence(essence)
    # And those a frame shows as text: the page of a <pre> holding it (the record it shows is
    # read as a page's shown record is). No type, or one Fetch can't parse, is text/plain.
    shown = shown and not page and (
        "/" not in essence or essence.startswith("text/") or essence == "application/json" or essence.endswith("+json")
    )
    if not page and not shown:
        return None
    charset = _CHARSET_PARAMETER.search(media)
    label = charset.group(1).strip('"').strip(_WS) if charset is not None else None
    try:
        text = decode(body, html_encoding(body, label))
    except UndecodableBody as exc:
        raise UnreadableFrame(UNDECODABLE_FRAME) from exc
    if shown:
        return Page("<pre>" + html.escape(text, quote=False) + "</pre>", False)
    return Page(text, is_xml_type(essence))
