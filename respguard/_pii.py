"""Bulk personal data: one response carrying data of many distinct people (incident 3).

Counts distinct e-mail addresses, phone numbers (including Japanese formats) and
Luhn-valid card numbers in a body, as its reader gets them: an HTML page as it renders
(tags that don't break a line join their text, comments vanish, character references
are decoded, soft hyphens and zero-width characters are not on screen), with its
attribute values and scripts; JSON with its escapes decoded; every page decoded in the
charset the browser uses. The counts go into the event; the values never do.

Every pattern runs in linear time: the e-mail pattern only starts at the start of a run
of local-part characters (a lookbehind), so a run is read once however it ends, and the
phone and card patterns are bounded.
"""

from __future__ import annotations

import functools
import html
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping

from ._content import TEXT, opens_like_wide_json, wide_json_encoding
from ._encoding import bom_encoding, python_codec

EMAIL = "email"
PHONE = "phone"
CARD = "card"
KINDS = (EMAIL, PHONE, CARD)

_LOCAL = r"[A-Za-z0-9._%+-]"
_DOMAIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+"
#: A whole run of local-part characters, then '@' and a domain. The lookbehind makes every
#: match start where a run starts: a run without an '@' costs its length once, not 64 times.
_EMAIL = re.compile(rf"(?<!{_LOCAL}){_LOCAL}+@{_DOMAIN}")
_EMAIL_BYTES = re.compile(rf"{_LOCAL}{{1,64}}@{_DOMAIN}".encode())  # one quoted address (bounded input)
_MAX_LOCAL = 64
_PHONE = re.compile(
    r"(?<![\d+])(?<!\d[- ])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)|\d{1,4})[ .-]?\d{1,4}[ .-]?\d{3,4}"  # +81-90-1234-5678, +1 415 555 0100
    r"|0\d{1,4}-\d{1,4}-\d{3,4}"  # 03-1234-5678, 090-1234-5678
    r"|\(0\d{1,4}\)\s?\d{1,4}-\d{3,4}"  # (03) 1234-5678
    r"|0[5789]0\d{8}|0[1-9]\d{8}"  # 09012345678, 0312345678
    r")(?!\d)(?![- ]\d)",  # not a slice of a longer digit group (a card number)
    re.ASCII,
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)", re.ASCII)
_NOT_DIGITS = bytes(c for c in range(256) if not 48 <= c <= 57)

# ------------------------------------------------------------------ what a reader sees

#: Characters browsers don't draw (one list: the bulk check and event redaction drop them alike):
#: Unicode's Default_Ignorable_Code_Point, which the shaper
#: (HarfBuzz) renders as nothing: soft hyphen, zero-width space/joiners, word joiner, bidi
#: controls, BOM, Hangul fillers, variation selectors (and their supplement, U+E0100-E01EF),
#: tag characters (U+E0020-E007F), shorthand format controls, musical formatting controls.
INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
INVISIBLE_RE = re.compile(f"[{INVISIBLE}]+")
#: A URL whose reader shows its text percent-decoded, in a tag's attributes (the scheme in any
#: case): a ``mailto:`` link (a mail client), a ``data:`` URL (a frame's page, Fetch decodes it).
_DECODED_URL = re.compile("mailto:|data:", re.IGNORECASE)
#: Full-width ASCII (U+FF01-FF5E, ``ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ``) and the small '@' (U+FE6B) read as ASCII.
_WIDE = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_WIDE[0xFE6B] = 0x40
_WIDE_RE = re.compile("[\uff01-\uff5e\ufe6b]")
#: JSON/JavaScript string escapes: ``\u0040``, ``\u{40}``, ``\x40``.
_JSON_ESCAPE = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|.)", re.DOTALL)
_JS_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|u\{([0-9A-Fa-f]{1,6})\}|x([0-9A-Fa-f]{2}))")
#: What can make a '@' (U+0040, U+FF20 or U+FE6B) once decoded: references, escapes.
_AT_REF = re.compile(rb"&#(?:0*(?:64|65312|65131)(?![0-9])|[xX]0*(?:40|[fF][fF]20|[fF][eE]6[bB])(?![0-9A-Fa-f]))")
_AT_ESCAPE = re.compile(rb"\\(?:u(?:0040|[fF][fF]20|[fF][eE]6[bB])|x40|u\{0*(?:40|[fF][fF]20|[fF][eE]6[bB])\})")
_BACKSLASH_REF = re.compile(rb"&(?:#0*92(?![0-9])|#[xX]0*5[cC](?![0-9A-Fa-f])|bsol;)")
_REF_IN_ESCAPE = re.compile(rb"\\[^&\\]{0,9}&")
#: A '@' that isn't the byte '@' in UTF-8 (full-width and small commercial at).
_UTF8_WIDE_AT = (b"\xef\xbc\xa0", b"\xef\xb9\xab")

_SPACE = "\t\n\f\r "
_MARKUP = re.compile(r"<(?:(/?)([A-Za-z][^\t\n\f\r />]*)|(!--)|[!?/])")
_ATTRIBUTE = re.compile(
    r"[\t\n\f\r /]*(?:(>)|[^\t\n\f\r />][^\t\n\f\r /=>]*[\t\n\f\r ]*"
    r"(?:=[\t\n\f\r ]*(?:\"[^\"]*(?:\"|\Z)|'[^']*(?:'|\Z)|[^\t\n\f\r >]*))?)"
)
_COMMENT_END = re.compile(r"--!?>")
#: Elements whose text is not markup (script and style data, or the rest of the page).
_RAW_TEXT = frozenset({"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript"})
#: Elements whose text is shown with character references decoded, but no tags inside.
_RCDATA = frozenset({"title", "textarea"})
_SPECIAL = _RAW_TEXT | _RCDATA | {"plaintext"}
#: Elements that start a new line (CSS ``display: block``, table cells, ``<br>``): their
#: neighbours' text is not joined on screen. Every other tag joins (``<span>``, ``<wbr>``, ``<b>``).
_BREAKS = frozenset(
    "address article aside blockquote br caption center dd details dialog dir div dl dt fieldset figcaption"
    " figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr img input legend li listing main menu nav ol"
    " optgroup option p plaintext pre section select summary table tbody td tfoot th thead tr ul".split()
)


#: In an XML page, the elements whose text runs on with their neighbours' (XHTML's phrasing
#: elements, SVG's text spans): any other element's siblings (a feed's ``<item>``, ``<author>``)
#: are apart to a feed reader and in Chromium's tree of an unstyled document.
_XML_INLINE = frozenset(
    "a abbr acronym b bdi bdo big button cite code data del dfn em font i ins kbd label mark nobr output q rp rt"
    " ruby s samp small span strike strong sub sup time tt u var wbr tspan textpath".split()
)


def _js_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2) or match.group(3), 16)
        return chr(code) if code <= 0x10FFFF else match.group()

    if "\\" not in text:
        return text
    # The escapes that hide an '@' most often, replaced in C; the regex takes the rest.
    text = text.replace("\\u0040", "@").replace("\\x40", "@")
    return _JS_ESCAPE.sub(one, text) if "\\" in text else text


def _on_screen(text: str) -> str:
    """Drop what browsers don't draw; full-width letters as their ASCII twins."""
    if not text.isascii():
        if INVISIBLE_RE.search(text):
            text = INVISIBLE_RE.sub("", text)
        if _WIDE_RE.search(text):
            text = text.translate(_WIDE)
    return text


def _refs(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _tag_end(text: str, position: int) -> int:
    """Where a tag whose name ends at ``position`` ends (after its '>'), as the HTML tokenizer
    reads attributes: a quote opens a value only after '='. ``len(text)``: it never ends."""
    close = text.find(">", position)
    if close < 0:
        return len(text)
    if '"' not in text[position:close] and "'" not in text[position:close]:
        return close + 1  # no quoted value: the first '>' ends it
    size = len(text)
    while position < size:
        match = _ATTRIBUTE.match(text, position)
        if match is None:
            return size
        if match.group(1):
            return match.end()
        position = match.end()
    return size


def render_html(text: str, xml: bool = False, apart: bool = False) -> str:
    """The text a reader gets from a page: what is on screen, then attribute values and
    script/style text (scripts read them), each on its own line. ``xml``: an XML page, whose
    comments and processing instructions are read apart (Chromium shows an XML document without
    style as its tree, a feed as its source text), and whose sibling elements are apart (a feed
    reader shows each ``<author>``), while an element within a run of text joins it
    (``person0@exa<x/>mple.com`` is one address to the element's ``textContent``); with ``apart``,
    every element but an inline one is apart from its neighbours (the tree view's reading: the
    caller counts both, as neither is a superset of the other)."""
    shown: list[str] = []
    hidden: list[str] = []
    position = 0
    size = len(text)
    # (XML) For each open element, has it held text? An element ended since the last text is
    # apart from a sibling that starts next only where their parent holds no text of its own
    # (``<item><author>..</author><title>..</title></item>``); within a run of text it joins
    # (``person0@<e>exa</e><f>mple.com</f>`` is one address to the parent's ``textContent``).
    texty: list[bool] = []
    closed = False
    while position < size:
        match = _MARKUP.search(text, position)
        if match is None:
            shown.append(_refs(text[position:]))
            break
        if match.start() > position:
            run = text[position : match.start()]
            shown.append(_refs(run))
            if xml and not run.isspace():
                closed = False
                if texty:
                    texty[-1] = True
        name = match.group(2)
        if match.group(3):  # <!-- comment -->, also the abrupt <!--> and <!--->
            after = match.end()
            if text.startswith(">", after) or text.startswith("->", after):
                position = text.find(">", after) + 1
                continue
            closing = _COMMENT_END.search(text, after)
            if xml:
                # Its own node in the tree Chromium shows: its text is read apart, while the text
                # around it joins (``person0@exa<!---->mple.com`` is one address to textContent).
                hidden.append(text[after : size if closing is None else closing.start()])
            position = size if closing is None else closing.end()
            continue
        if name is None:  # <!DOCTYPE>, <?xml?>, </ 3>: a bogus comment up to '>'
            if xml and text.startswith("<?", match.start()):
                # An XML page's processing instruction, shown in its tree (a feed's source) to "?>".
                after = match.start() + 2
                pi_end = text.find("?>", after)
                hidden.append(text[after:] if pi_end < 0 else text[after:pi_end])  # (a node apart, as a comment)
                position = size if pi_end < 0 else pi_end + 2
                continue
            if text.startswith("<![CDATA[", match.start()):
                after = match.start() + 9
                cdata_end = text.find("]]>", after)
                if xml:
                    # In an XML page (a feed, XHTML, SVG) a CDATA section is text, shown as written
                    # to its "]]>".
                    shown.append(text[after:] if cdata_end < 0 else text[after:cdata_end])
                    position = size if cdata_end < 0 else cdata_end + 3
                    continue
                # In HTML a bogus comment to the first '>' (what follows is markup again), but text
                # to its "]]>" inside <svg> or <math>: that text is read apart too (a superset).
                hidden.append(text[after:] if cdata_end < 0 else text[after:cdata_end])
            close = text.find(">", match.end())
            position = size if close < 0 else close + 1
            continue
        end = _tag_end(text, match.end())
        if end - match.end() > 1 or not name.isalnum():
            # attributes: values a script reads, or the page shows (input values); and a name
            # like ``<bob@example.com>`` that is markup to the parser but text in the source
            attributes = _refs(text[match.start(2) : end])
            hidden.append(attributes)
            if "%" in attributes and _DECODED_URL.search(attributes) is not None:
                # and as such a URL's reader decodes it: a mail client opens
                # ``mailto:bob%40example.com`` (Django's ``urlencode`` filter writes an '@' so) with
                # bob's address, a frame shows a data: URL's text (an asset's ``icon%402x.png`` is
                # no address to anyone)
                hidden.append(urllib.parse.unquote(attributes))
        tag = name.lower()
        position = end
        breaks = tag in _BREAKS
        if breaks:
            shown.append("\n")
        if xml:
            inline = tag.rpartition(":")[2] in _XML_INLINE
            if apart and not inline and not breaks:
                shown.append("\n")
            if match.group(1):  # an end tag
                if texty:
                    texty.pop()
                closed = True
            else:
                if closed and not breaks and not inline and not (texty and texty[-1]):
                    shown.append("\n")  # a sibling of the element that ended, in element-only content
                closed = False
                if text[end - 2 : end] != "/>":
                    texty.append(False)
        if match.group(1) or end >= size or tag not in _SPECIAL:
            continue  # an end tag, or an element whose content is markup
        if tag == "plaintext":  # the rest of the page is shown as it is
            shown.append(text[end:])
            position = size
            break
        content_end = _raw_text_end(text, end, tag)
        content = text[end:content_end]
        if tag in _RCDATA:
            shown.append("\n" + _refs(content) + "\n")
        else:
            hidden.append(content)
        position = content_end
    if hidden:
        shown.append("\n")
        shown.append("\n".join(hidden))
    return "".join(shown)


def _raw_text_end(text: str, position: int, tag: str) -> int:
    """Where ``</tag`` (any case, then a space, '/' or '>') ends this element's text."""
    pattern = _end_tag(tag)
    match = pattern.search(text, position)
    return len(text) if match is None else match.start()


@functools.lru_cache(maxsize=16)
def _end_tag(tag: str) -> re.Pattern[str]:
    return re.compile(rf"</{tag}(?=[\t\n\f\r />])", re.IGNORECASE)


# ------------------------------------------------------------------ charsets


@functools.lru_cache(maxsize=64)
def _codec(charset: str | None) -> str:
    """Python's codec for a charset name (``utf-8`` when Python has none)."""
    return python_codec(charset) or "utf-8"


@functools.lru_cache(maxsize=64)
def _wide_at_bytes(codec: str) -> tuple[bytes, ...] | None:
    """The bytes of a non-ASCII '@' (full-width, small) in ``codec``; ``None``: the byte '@'
    does not bound the '@'s of this charset (UTF-16/32, ISO-2022 and other stateful ones)."""
    if codec.startswith(("utf-16", "utf-32", "iso2022", "utf-7", "hz")) or "@".encode(codec, "replace") != b"@":
        return None
    found = []
    for ch in ("\uff20", "\ufe6b"):
        try:
            found.append(ch.encode(codec))
        except UnicodeEncodeError:
            continue
    return tuple(found)


def _wide_at_in(body: bytes) -> bool:
    """Does a UTF-8 body hold a full-width or small '@' (read as '@')?"""
    # ``find``, not ``in``: see surely_under.
    return body.find(b"\xef") >= 0 and (body.find(_UTF8_WIDE_AT[0]) >= 0 or body.find(_UTF8_WIDE_AT[1]) >= 0)


@functools.lru_cache(maxsize=64)
def _writes_wide_digits(codec: str) -> bool:
    try:
        "\uff10".encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _decode(body: bytes, charset: str | None) -> str:
    """The body as the browser decodes it: a byte-order mark wins, then ``charset``; invalid bytes replaced."""
    codec = _codec(bom_encoding(body) or charset)
    if codec.startswith("utf-8"):
        codec = "utf-8-sig"
    elif codec == "utf-16":
        codec = "utf-16-le" if not body.startswith(b"\xfe\xff") else "utf-16"
    text = body.decode(codec, "replace")
    return text[1:] if text.startswith("\ufeff") else text


def _json_strings(text: str) -> str:
    """A JSON body with its strings unescaped, so ``\\u0040`` can't hide an ``@``.

    Parsed, then written again without ASCII escapes (both in C): the escapes that remain
    (quotes, backslashes, control characters) become spaces, which end an address as the
    characters they stand for would.
    """
    try:
        written = json.dumps(json.loads(text), ensure_ascii=False, check_circular=False)
    except (ValueError, RecursionError):
        return _js_unescape(text)  # a script may still read it (JSON.parse nests deeper): decode every escape
    return _JSON_ESCAPE.sub(" ", written) if "\\" in written else written


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _digits(raw: str) -> str:
    return raw.encode("ascii").translate(None, _NOT_DIGITS).decode("ascii")


class BulkPII:
    """Block a response that carries more than ``threshold`` distinct values of a kind.

    :param kinds: which detectors run: ``"email"`` (default), ``"phone"``, ``"card"``.
        Phone and card detectors scan every digit-heavy body with a regex, so they
        are opt-in; e-mail detection is nearly free (it counts ``@`` first).
    :param threshold: more than this many distinct values of one kind blocks (default 20).
    :param limits: per-path overrides, ``{"/admin/mailing/*": 20000, "/export": None}``;
        ``None`` turns the check off for those paths. Exact paths, or prefixes ending in ``*``.
    """

    def __init__(
        self,
        kinds: Iterable[str] = (EMAIL,),
        *,
        threshold: int = 20,
        limits: Mapping[str, int | None] | None = None,
    ) -> None:
        kind_set = tuple(dict.fromkeys(kinds))
        unknown = set(kind_set) - set(KINDS)
        if unknown or not kind_set:
            raise ValueError(f"BulkPII(kinds=...) must be some of {KINDS}, got {sorted(unknown) or 'nothing'}")
        if not isinstance(threshold, int) or threshold < 1:
            raise ValueError("BulkPII(threshold=...) must be a positive int")
        self.kinds = kind_set
        self.threshold = threshold
        self._exact: dict[str, int | None] = {}
        self._prefixes: list[tuple[str, int | None]] = []
        for path, limit in (limits or {}).items():
            if not isinstance(path, str) or not path.startswith("/"):
                raise ValueError(f"BulkPII(limits=...): {path!r} must be a path starting with '/'")
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise ValueError(f"BulkPII(limits=...): limit for {path!r} must be a positive int or None")
            if path.endswith("*"):
                self._prefixes.append((path[:-1], limit))
            else:
                self._exact[path] = limit
        self._prefixes.sort(key=lambda item: -len(item[0]))
        self._uniform = not self._exact and not self._prefixes  # one threshold for every path
        self._email_only = self.kinds == (EMAIL,)

    def threshold_for(self, path: str) -> int | None:
        if path in self._exact:
            return self._exact[path]
        for prefix, limit in self._prefixes:
            if path.startswith(prefix):
                return limit
        return self.threshold

    def over(
        self,
        body: bytes,
        media: str,
        path: str,
        own: Callable[[str, str], bool],
        *,
        charset: str | None = None,
        xml: bool = False,
    ) -> dict[str, int]:
        """Kinds whose distinct foreign values exceed the path's threshold, with their counts.

        ``charset`` is the one the browser decodes an HTML or text page in (a byte-order
        mark still wins); JSON is always UTF-8, as ``fetch().json()`` reads it. ``xml``: an
        HTML-class body is an XML page (its comments are read, its sibling elements apart).
        """
        threshold = self.threshold_for(path)
        if threshold is None or not body:
            return {}
        found: dict[str, int] = {}
        readings: list[str] = []
        for kind in self.kinds:
            if _surely_under(kind, body, media, threshold, charset):
                continue
            if not readings:
                readings = _readings(body, media, charset, xml)
            # Each reading counted on its own (one address folded is not two people).
            count = max(_count(kind, text, own, threshold) for text in readings)
            if count > threshold:
                found[kind] = count
        return found

    def values(
        self,
        body: bytes,
        media: str,
        own: Callable[[str, str], bool],
        *,
        charset: str | None = None,
        xml: bool = False,
    ) -> dict[str, set[str]]:
        """The distinct foreign values of each kind in one record of a stream, as its reader reads
        them: a stream is one response, so its records' values add up (the caller keeps the sum
        and compares it with :meth:`threshold_for`)."""
        found: dict[str, set[str]] = {}
        readings: list[str] = []
        for kind in self.kinds:
            if not body or _surely_under(kind, body, media, 0, charset):
                continue  # not one value of this kind
            if not readings:
                readings = _readings(body, media, charset, xml)
            # The reading that names the most (not their union: one address folded is not two people).
            values = max((_distinct(kind, text, own) for text in readings), key=len)
            if values:
                found[kind] = values
        return found

    def surely_under(self, body: bytes, media: str, path: str, *, charset: str | None = None) -> bool:
        """Speed only: ``True`` when :meth:`over` is sure to find nothing, proved without counting."""
        threshold = self.threshold if self._uniform else self.threshold_for(path)
        if threshold is None or not body:
            return True
        # ``find`` rather than ``in``: on bytes, ``in`` first tries the needle as an int (CPython
        # raises and clears a TypeError each time); this runs on every response.
        if self._email_only and media == "json" and body.find(b"\\") < 0 and not _wide_at_in(body):
            # The common case, inlined: no escape can hide an '@', so at most ``threshold`` of them is enough.
            if len(body) <= 8192:
                return body.count(b"@") <= threshold or _one_address(body)
            return _at_most(body, b"@", threshold) or _one_address(body)
        for kind in self.kinds:
            if not _surely_under(kind, body, media, threshold, charset):
                return False
        return True


def _surely_under(kind: str, body: bytes, media: str, threshold: int, charset: str | None) -> bool:
    """Cheap proofs that a body can't hold more than ``threshold`` distinct values of ``kind``."""
    codec = _codec("utf-8" if media == "json" else bom_encoding(body) or charset)
    wide = _wide_at_bytes(codec)
    if wide is None:
        return False  # '@' and digits are not single bytes in this charset: count
    if kind != EMAIL:
        if media != "json" and body.find(b"&") >= 0 and body.find(b"&#") >= 0:
            return False  # a digit written as a reference
        if _holds_escape(body):
            return False  # escaped digits
        wide_digits = body.find(b"\xef") >= 0 and body.find(b"\xef\xbc") >= 0
        if wide_digits if codec == "utf-8" else _writes_wide_digits(codec):
            return False  # full-width digits
        digits = len(body.translate(None, _NOT_DIGITS))  # the digits (every other byte deleted)
        return digits <= threshold * (10 if kind == PHONE else 13)
    if _hides_at(body, media, wide):
        # Escapes or references, most of them for something else (``&#39;`` is in every
        # escaped template): bound the '@' they can make, or count.
        return 0 <= _at_bound(body, media, wide) <= threshold
    # Every address has an '@': at most ``threshold`` of them can't exceed it.
    one = threshold >= 1 and media == "json"  # (one distinct address is not "none")
    return _at_most(body, b"@", threshold) or (one and body.find(b"\\") < 0 and _one_address(body))


def _at_bound(body: bytes, media: str, wide: tuple[bytes, ...]) -> int:
    """At most how many '@' the reader's text of this body can hold (``-1``: can't tell).

    Each comes from a byte '@', a wide '@', an escape (``\\u0040``, ``\\x40``, ``\\u{40}``)
    or, in a page, ``&commat;`` or a numeric reference. A reference that makes a backslash,
    or one right after a backslash, could build an escape: then nobody can tell.
    """
    bound = body.count(b"@") + (sum(body.count(form) for form in wide) if _holds_any(body, wide) else 0)
    if body.find(b"\\") >= 0:
        bound += len(_AT_ESCAPE.findall(body))
    if media != "json" and body.find(b"&") >= 0:
        # (in a page, also a reference that makes the '%' of a %40 a URL's reader decodes)
        unbounding = _BACKSLASH_OR_PERCENT_REF if media == "html" else _BACKSLASH_REF
        if unbounding.search(body) or (body.find(b"\\") >= 0 and _REF_IN_ESCAPE.search(body)):
            return -1
        if media == "html" and body.find(b"%") >= 0 and body.find(b"&#") >= 0:
            return -1  # a numeric reference may make a digit of a %40 (``%&#52;0``): count
        bound += body.count(b"&commat;") + len(_AT_REF.findall(body))
    if media == "html":
        bound += body.count(b"%40")  # a URL's '@', as its reader decodes it (mailto:)
    return bound


def _holds_escape(body: bytes) -> bool:
    """Does the body hold a ``\\u`` or ``\\x`` escape? (``find``, not ``in``: see :meth:`BulkPII.surely_under`;
    the backslash first, one ``memchr``: a two-byte search is many times slower.)"""
    return body.find(b"\\") >= 0 and (body.find(b"\\u") >= 0 or body.find(b"\\x") >= 0)


def _holds_any(body: bytes, forms: tuple[bytes, ...]) -> bool:
    """Does the body hold one of these multi-byte forms? A form's first byte is looked for first
    (one ``memchr``: most pages hold none of them), then the forms themselves."""
    find = body.find
    for form in forms:
        if find(form[:1]) >= 0 and find(form) >= 0:
            return True
    return False


def _hides_at(body: bytes, media: str, wide: tuple[bytes, ...]) -> bool:
    """Could reading the body as its reader does (:func:`_unescape`) turn something into an '@'?"""
    if _holds_any(body, wide):
        return True
    if _holds_escape(body):
        return True  # JSON escapes (malformed JSON is read with script escapes), script strings in a page
    if media == "html":  # numeric references, &commat;, &bsol;, &percnt;: one pass, from each '&'
        # (and a URL's %40, which its reader decodes: memchr to the first '%', then the search)
        percent = body.find(b"%")
        if percent >= 0 and body.find(b"%40", percent) >= 0:
            return True
        return body.find(b"&") >= 0 and _AT_MAKING_REF.search(body) is not None
    return False


_AT_MAKING_REF = re.compile(rb"&(?:#|commat;|bsol;|percnt;)")
#: References that make a backslash, or a '%' (a URL's %40 may be written with one): one pass.
_BACKSLASH_OR_PERCENT_REF = re.compile(
    rb"&(?:#(?:0*(?:92|37)(?![0-9])|[xX]0*(?:5[cC]|25)(?![0-9A-Fa-f]))|bsol;|percnt;?)"
)


def _at_most(body: bytes, byte: bytes, limit: int) -> bool:
    """Does ``byte`` occur at most ``limit`` times? (a few ``memchr`` calls, not a count of the body)."""
    find = body.find
    position = -1
    for _ in range(limit + 1):
        position = find(byte, position + 1)
        if position < 0:
            return True
    return False


def _one_address(body: bytes) -> bool:
    """Is every '@' of this JSON body inside a ``"..."`` copy of one same address? The caller
    made sure the body holds no backslash and no wide '@' (the count reads decoded strings).

    Then the e-mail pattern (no quote in it) matches that address at every '@' and
    nothing else: the body holds one distinct address. ``False``: can't tell.
    """
    first = body.find(b"@")
    start = body.rfind(b'"', 0, first)
    end = body.find(b'"', first)
    if first < 0 or start < 0 or end < 0:
        return False
    address = body[start + 1 : end]
    if _EMAIL_BYTES.fullmatch(address) is None:
        return False
    # Each quoted copy holds one '@': as many copies as '@' means no '@' elsewhere.
    return body.count(b'"' + address + b'"') == body.count(b"@")


def _unescape(body: bytes, media: str, charset: str | None = None, xml: bool = False, apart: bool = False) -> str:
    """The text the reader gets from the body (see the module docstring)."""
    if media == "json":
        text = _decode(body, "utf-8")  # fetch().json(): UTF-8, BOM stripped, invalid bytes replaced
        if "\\" in text:
            text = _json_strings(text)
        wide = _wide_json_reading(body)
        if wide is not None:
            text += "\n" + wide  # UTF-16/32 to json.loads (Python's clients' .json())
        return _on_screen(text)
    text = _decode(body, charset)
    if media == "html":
        text = render_html(text, xml, apart)
    text = _js_unescape(text)
    if opens_like_wide_json(body):  # JSON to Python's clients' .json(), whatever the type says
        wide = _wide_json_reading(body)
        if wide is not None:
            text += "\n" + wide
    return _on_screen(text)


#: A folded line's break (RFC 5545 3.1, RFC 6350 3.2), which an iCalendar or vCard reader takes
#: out: line breaks (CRLF, LF or a bare CR, one or more: the ``icalendar`` library's
#: ``(\r?\n)+[ \t]``, vobject's CR) and a space or tab. One character class, never alternatives:
#: a CRLF that ``\r\n|\r|\n`` reads two ways makes a run of them exponential.
_FOLD = re.compile(r"(?<![\r\n])[\r\n]+[ \t]")
#: An iCalendar text (one that opens so, any case), and the lines of its properties that hold an event's id.
_CALENDAR = re.compile(r"[\ufeff\s]*begin:vcalendar", re.IGNORECASE)
_EVENT_IDS = re.compile(
    r"^(?:uid|related-to)[;:][^\r\n]*(?:[\r\n]+[ \t][^\r\n]*)*", re.IGNORECASE | re.MULTILINE
)  # (with its folded continuation lines; the classes never overlap: linear)
#: What makes a text a calendar or a contact list, whose reader unfolds its lines (any case).
_FOLDED_CONTENT = re.compile(r"begin:v(?:calendar|card)", re.IGNORECASE)


def _readings(body: bytes, media: str, charset: str | None, xml: bool) -> list[str]:
    """The texts the body's readers get: one, but for an XML page (two: see :func:`render_html`)
    and for text, which is also read with its lines
    unfolded (a calendar's or a contact list's reader), and, where its charset is not UTF-8, in
    UTF-8 (``fetch().text()``, and a downloaded file's reader, who never sees the label)."""
    text = _unescape(body, media, charset, xml)
    if media != TEXT:
        # An XML page, also as its tree shows it: every element apart (a parent's own text joins
        # its children's runs in the first reading: ``Team:<m>p0@...</m><m>p1@...</m>``).
        return [text, _unescape(body, media, charset, xml, apart=True)] if xml else [text]
    readings = [text]
    if _codec(bom_encoding(body) or charset) != "utf-8":
        readings.append(_unescape(body, media, "utf-8"))
    for reading in readings[:]:
        unfolded = _unfolded(reading)
        if unfolded is not None:
            readings.append(unfolded)
    if _CALENDAR.match(text) is not None or _CALENDAR.match(readings[-1]) is not None:
        # A calendar's UID (and RELATED-TO, which names one) is an event's id, not a person's
        # address, though Google's and Outlook's read like one (``7kq...@google.com``): an export
        # of 25 events of one person is one person.
        readings = [_EVENT_IDS.sub("", reading) for reading in readings]
    return readings


def _unfolded(text: str) -> str | None:
    """An iCalendar or vCard text (a ``BEGIN:VCALENDAR`` or ``BEGIN:VCARD`` line, whatever its
    type), unfolded as its readers unfold it (the ``icalendar`` library's ``(\r?\n)+[ \t]``,
    vobject's bare CR too); ``None`` for any other text (a log's tab-indented continuation lines
    are no folds: unfolded, one address followed by 22 words would be 22 addresses) or where no
    line break is followed by white space. (The look-behind starts a fold at the first break of a
    run only: linear in a body of line breaks.)"""
    unfolded = _FOLD.sub("", text)
    if unfolded == text or _FOLDED_CONTENT.search(unfolded) is None:  # (unfolded first, as its readers do)
        return None
    return unfolded


def _wide_json_reading(body: bytes) -> str | None:
    """A body ``json.loads`` reads as UTF-16/32 (a byte-order mark, or zero bytes: Python's
    clients' ``.json()``), in that reading; else ``None``."""
    encoding = wide_json_encoding(body)
    if encoding is None:
        return None
    text = body.decode(encoding, "replace")
    return _json_strings(text) if "\\" in text else text


def _count(kind: str, text: str, own: Callable[[str, str], bool], threshold: int) -> int:
    """How many distinct foreign values of ``kind`` ``text`` holds."""
    return len(_distinct(kind, text, own))


def _distinct(kind: str, text: str, own: Callable[[str, str], bool]) -> set[str]:
    """Distinct foreign values of ``kind`` in ``text``: matched in C, each distinct one judged once."""
    seen: set[str] = set()
    if kind == EMAIL:
        # Lower-cased once (addresses are ASCII: lower is their case fold), so case variants
        # are one value before any is judged.
        for value in set(_EMAIL.findall(text.lower())):
            at = value.index("@")
            if at > _MAX_LOCAL:
                value = value[at - _MAX_LOCAL :]
            if value not in seen and not own(EMAIL, value):
                seen.add(value)
    elif kind == PHONE:
        for raw in set(_PHONE.findall(text)):
            value = _digits(raw)
            if value not in seen and not own(PHONE, value):
                seen.add(value)
    else:
        for raw in set(_CARD.findall(text)):
            value = _digits(raw)
            if 13 <= len(value) <= 19 and value not in seen and luhn_valid(value) and not own(CARD, value):
                seen.add(value)
    return seen
