"""Where an HTML page's markup is, as the HTML tokenizer reads it.

:class:`~respguard.HtmlAttribute` finds owners with a pattern over the page's text: a superset
of the attributes a browser builds. Text inside a comment or a raw-text element (``script``,
``style``, ``textarea``, ``title``...) is never an attribute to a browser, and scripts and
stylesheets name the attribute (``querySelectorAll('[data-owner="' + me + '"]')``): read there,
an own page would be refused. :func:`markup_text` cuts those contents out, reading the page as
the WHATWG tokenizer does (comments, tags and their quoted attribute values, RAWTEXT, RCDATA,
script data and its escapes), in one pass. Where the tree builder may switch the tokenizer
otherwise (foreign content: ``svg``, ``math``; ``select``; ``frameset``), it cuts nothing: the
superset stands (fail closed).
"""

from __future__ import annotations

import re

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
#: the page as another language: nothing is cut.
_UNCERTAIN = re.compile(r"<(?:svg|math|select|frameset)", re.IGNORECASE | re.ASCII)
#: Anything to cut at all (a page without these is all markup).
_CUTTABLE = re.compile(
    r"<(?:[!?]|/[^A-Za-z]|script|style|xmp|iframe|noembed|noframes|textarea|title|plaintext)", re.IGNORECASE | re.ASCII
)
_END_TAGS: dict[str, re.Pattern[str]] = {
    name: re.compile(rf"</{name}(?=[{_WS}/>])", re.IGNORECASE | re.ASCII) for name in (*_RAW_TEXT, "script")
}
_SCRIPT_DATA = re.compile(rf"<!--|</script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
_SCRIPT_ESCAPED = re.compile(rf"-->|</script(?=[{_WS}/>])|<script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
_SCRIPT_DOUBLE_ESCAPED = re.compile(rf"-->|</script(?=[{_WS}/>])", re.IGNORECASE | re.ASCII)
_DASHES = re.compile(r"-*")


def markup_text(text: str) -> str:
    """``text`` with the content of its comments and raw-text elements cut out (each cut is one
    space), or ``text`` itself where there is nothing to cut or the tree builder may read it
    otherwise."""
    if _CUTTABLE.search(text) is None or _UNCERTAIN.search(text) is not None:
        return text
    kept: list[str] = []
    position = 0  # the start of the text not yet copied to kept
    scan = 0
    end = len(text)
    while True:
        token = _TOKEN.search(text, scan)
        if token is None:
            break
        if token.group(1) is None:  # a comment, a DOCTYPE, a bogus comment: never an attribute
            kept.append(text[position : token.start()])
            kept.append(" ")
            position = scan = token.end()
            continue
        scan = token.end()
        name = token.group(2)
        if token.group(1) != "<" or not name.isascii():
            continue  # an end tag (its attributes are dropped, but read: a superset), or another name
        name = name.lower()
        if name == "plaintext":
            kept.append(text[position : token.end()])
            return "".join(kept)  # the rest of the page is text
        if name == "script":
            close = _script_end(text, token.end())
        elif name in _RAW_TEXT:
            match = _END_TAGS[name].search(text, token.end())
            close = match.start() if match is not None else end
        else:
            continue
        kept.append(text[position : token.end()])
        kept.append(" ")
        position = scan = close
        if close >= end:
            break
    kept.append(text[position:])
    return "".join(kept)


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
        "text/x-javascript", "module", "",
    }
)  # fmt: skip


def _script_type(tag: str) -> str:
    """A script start tag's ``type`` (its first, as the tokenizer keeps it), stripped and
    lower-cased; ``""`` without one."""
    position = len("<script")
    while True:
        attribute = _ATTRIBUTE.match(tag, position)
        if attribute is None or attribute.end() == position:
            return ""
        position = attribute.end()
        if attribute.group(1).lower() == "type":
            value = attribute.group(2)
            if value is None:
                value = attribute.group(3)
            if value is None:
                value = attribute.group(4) or ""
            return value.strip(_WS).lower()


def data_blocks(text: str) -> list[str]:
    """The text of every ``<script>`` data block (a ``type`` that is no JavaScript MIME type:
    ``application/json``, ``application/ld+json``...). Scripts read it with
    ``JSON.parse(el.textContent)``: Next.js's ``__NEXT_DATA__``, embedded state. A superset: a
    ``<script`` inside an attribute value or a comment is read too."""
    blocks: list[str] = []
    position = 0
    while True:
        opening = _SCRIPT_OPEN.search(text, position)
        if opening is None:
            return blocks
        tag = _TOKEN.match(text, opening.start())
        assert tag is not None  # ("<script" always starts a tag token)
        end = _script_end(text, tag.end())
        if _script_type(tag.group(0)) not in _SCRIPT_TYPES:
            blocks.append(text[tag.end() : end])
        position = max(end, tag.end())
