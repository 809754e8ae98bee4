"""Owner extractors: whose personal data a response carries.

Each extractor has an exact method, :meth:`Extractor.owners`, and may have a cheap
one, :meth:`Extractor.only_own`, that proves from a byte search that the body
carries no owner but the requester. The cheap pass may only answer "proved clean"
(:data:`ABSENT` or :data:`OWN`) or "can't tell" (:data:`UNPROVEN`, falsy); whenever
it can't tell, the exact method decides.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Sequence
from html.entities import html5 as _NAMED_REFERENCES
from typing import Any, Protocol, cast

from ._content import HTML, JSON, TEXT, js_trimmed, strip_xssi_prefix
from ._encoding import ASCII_SAFE, utf8_decode
from ._headers import Headers
from ._identity import ID, normalise, owner_text
from ._markup import (
    UNREADABLE_REASONS,
    Page,
    UnreadableFrame,
    attribute_value,
    is_xml_type,
    pages_within,
    unescape_attribute,
)
from ._scan import ResponseView

#: ``only_own`` results. UNPROVEN is falsy so ``if only_own(...)`` reads "proved clean".
UNPROVEN = 0
ABSENT = 1  # proved: no owner of this extractor in the body
OWN = 2  # proved: owners present, every one is the requester


#: Why JSON deeper than Python's parser allows is refused (a script's parser may read it).
DEEP_JSON = "JSON nested too deeply"


class ScanError(Exception):
    """An extractor could not read the body; the guard blocks the response."""


#: respguard's own ScanError messages: an event's reason gives only these (a CustomExtractor's
#: message may quote the body it could not read).
_SCAN_PHRASES = frozenset({DEEP_JSON, "malformed JSON"}) | UNREADABLE_REASONS


def scan_reason(name: str, error: ScanError) -> str:
    """The event reason for ``error`` raised by the extractor ``name``: a fixed phrase always."""
    message = str(error)
    if type(error) is ScanError and message in _SCAN_PHRASES:
        return f"{name}: {message}"
    return f"{name} raised {type(error).__name__}"


class Extractor(Protocol):
    """What the guard asks of an extractor."""

    name: str
    kind: str
    media: frozenset[str]  # media classes scanned: "json", "html", "text", "other"; empty: headers only

    def owners(self, view: ResponseView) -> Iterable[str]:
        """Every owner id in the response, exactly (normalised text)."""
        ...

    def only_own(self, view: ResponseView, own: str | None) -> int:
        """:data:`ABSENT` or :data:`OWN` only if provably no owner but ``own``; else :data:`UNPROVEN`."""
        ...


# --------------------------------------------------------------------------- JSON


def json_owner_values(body: bytes, keys: frozenset[str], kind: str) -> list[str]:
    """The owners a JSON document names under ``keys``, at any depth, every duplicate key included.

    Values compare as a script reading the document compares them:

    * a string is its text (``""`` is no owner); a number is its exact value in a
      canonical text, so ``8``, ``8.0``, ``8e0`` and ``0.8e1`` are all ``"8"`` (and equal
      the requester ``"8"`` or ``8``), ``-0`` is ``"0"`` and ``1.50`` is ``"1.5"``;
    * a list under an owner key names every owner in it, nested lists at any depth;
      an object under an owner key names all of its scalar leaves (fail closed);
    * ``true``, ``false`` and ``null`` name nobody.

    An owner may be listed more than once (in the parser's order: inner objects first).
    Raises ``ValueError`` when the document is malformed, when a number under an owner
    key is too long to write out (an exponent adding more than :data:`_MAX_NUMBER_ZEROS`
    zeros) or is ``NaN``/``Infinity`` (no JSON to a script), and ``RecursionError`` when
    it nests deeper than Python's parser goes (``JSON.parse`` goes deeper: the caller
    blocks). The bytes are read as ``json.loads`` reads them (UTF-8, or UTF-16/32 by
    their zero bytes); a script's ``response.json()`` reads
    ``respguard._encoding.utf8_decode(body)``: give that to :func:`json_owner_values_text`.
    """
    if not body.strip():
        return []
    return _JsonOwners(keys, kind).read(body)


def _json_readings(body: bytes) -> list[str]:
    """What JSON parsers read: Fetch's UTF-8 decode, and a UTF-16/32 body as ``json.loads`` detects it."""
    readings = [utf8_decode(body)]
    detected = json.detect_encoding(body)
    if detected != "utf-8":
        readings.append(body.decode(detected, "replace"))
    stripped = strip_xssi_prefix(readings[0])  # Angular's HttpClient strips an XSSI prefix first
    if stripped is not None:
        readings.append(stripped)
    trimmed = js_trimmed(readings[0] if stripped is None else stripped)  # and AngularJS trims it
    if trimmed is not None:
        readings.append(trimmed)
    return readings


def json_owner_values_text(text: str, keys: frozenset[str], kind: str) -> list[str]:
    """:func:`json_owner_values` on already-decoded text (what ``response.json()`` parses)."""
    if not text.strip(_JSON_WHITESPACE):
        return []
    return _JsonOwners(keys, kind).read(text)


_JSON_WHITESPACE = " \t\n\r"
#: How many zeros an exponent may add to a number under an owner key before it is refused
#: (``1e999999999`` must not be written out in full).
_MAX_NUMBER_ZEROS = 64
_JSON_NUMBER = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")


class _JsonNumber:
    """A JSON number with a fraction or an exponent, kept as its literal text until it matters."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _JsonConstant:
    """``NaN``, ``Infinity`` or ``-Infinity``: Python's parser takes them, ``JSON.parse`` does not."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _int_text(text: str) -> str:
    """A JSON integer's canonical text: its literal (JSON has no leading zeros), ``-0`` as ``0``."""
    return "0" if text == "-0" else text


def canonical_number(text: str) -> str:
    """The exact value of a JSON number literal in one canonical decimal text.

    No exponent, no trailing zeros after the point, no point for an integral value,
    ``0`` for zero of either sign: two literals have the same text exactly when they are
    the same number. Works on the digits (never a float, never a huge integer); raises
    ``ValueError`` for a literal that is no JSON number or whose exponent would add more
    than :data:`_MAX_NUMBER_ZEROS` zeros.
    """
    match = _JSON_NUMBER.fullmatch(text)
    if match is None:
        raise ValueError("not a JSON number")
    sign, whole, fraction, exponent_text = match.groups()
    digits = (whole + (fraction or "")).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    # value = digits * 10 ** (exponent - len(fraction)); as stripped * 10 ** scale:
    scale = len(digits) - len(stripped) - len(fraction or "")
    if exponent_text is not None:
        exponent_digits = exponent_text.lstrip("+-").lstrip("0")
        if len(exponent_digits) > 18:
            raise ValueError("JSON number too long to compare")
        scale += -int(exponent_digits or "0") if exponent_text.startswith("-") else int(exponent_digits or "0")
    if scale >= 0:
        if scale > _MAX_NUMBER_ZEROS:
            raise ValueError("JSON number too long to compare")
        return sign + stripped + "0" * scale
    point = len(stripped) + scale  # digits before the decimal point
    if point > 0:
        return sign + stripped[:point] + "." + stripped[point:]
    if -point > _MAX_NUMBER_ZEROS:
        raise ValueError("JSON number too long to compare")
    return sign + "0." + "0" * -point + stripped


class _JsonOwners:
    """One read of a document: owner-key values are taken as the parser builds each object.

    The first parse keeps no tree (each object becomes the marker :data:`_OBJECT` once
    its owner keys are read), so it costs what a plain parse costs. Only when an object
    stands under an owner key, whose leaves are then needed, does a second parse keep
    the objects, as the parser's own lists of (key, value) pairs (a list whose items are
    tuples: arrays never hold tuples, so nothing is copied). Containers under owner keys
    are walked after that parse, each at most once: nested owner keys would otherwise
    walk the same leaves again and again.
    """

    __slots__ = ("keys", "kind", "found", "containers", "tree")

    def __init__(self, keys: frozenset[str], kind: str) -> None:
        self.keys = keys
        self.kind = kind
        self.found: list[str] = []
        self.containers: list[list[Any]] = []
        self.tree = False

    def read(self, document: str | bytes) -> list[str]:
        try:
            self._parse(document)
        except _NeedTree:
            self.found = []
            self.tree = True
            self._parse(document)
            self._walk()
        return self.found

    def _parse(self, document: str | bytes) -> None:
        json.loads(
            document,
            object_pairs_hook=self.take_object,
            parse_int=_int_text,
            parse_float=_JsonNumber,
            parse_constant=_JsonConstant,
        )

    def take_object(self, pairs: list[tuple[str, Any]]) -> object:
        keys = self.keys
        for key, value in pairs:
            if key in keys:
                if type(value) is list:
                    if not value:
                        continue
                    if self.tree:
                        self.containers.append(value)
                    else:
                        self._lists(value)
                elif value is _OBJECT:
                    raise _NeedTree
                else:
                    self._scalar(value)
        return pairs if self.tree else _OBJECT

    def _scalar(self, value: object) -> None:
        if type(value) is str:
            if value:
                self.found.append(normalise(self.kind, value))
        elif type(value) is _JsonNumber:
            self.found.append(normalise(self.kind, canonical_number(value.text)))
        elif type(value) is _JsonConstant:
            raise ValueError("JSON holds NaN or Infinity under an owner key")
        # True, False and None name nobody.

    def _lists(self, value: list[Any]) -> None:
        """The first parse: owners in (nested) lists under an owner key; an object in them needs the tree."""
        stack = [value]
        while stack:
            for item in stack.pop():
                if type(item) is list:
                    stack.append(item)
                elif item is _OBJECT:
                    raise _NeedTree
                else:
                    self._scalar(item)

    def _walk(self) -> None:
        """Every scalar leaf of the containers under owner keys, each container once, no recursion."""
        seen: set[int] = set()
        for container in self.containers:
            stack = [container]
            while stack:
                node = stack.pop()
                if id(node) in seen:
                    continue
                seen.add(id(node))
                is_object = type(node[0]) is tuple
                for item in node:
                    if is_object:
                        item = item[1]
                    if type(item) is list:
                        if item:
                            stack.append(item)
                    else:
                        self._scalar(item)


class _NeedTree(Exception):
    """An object stands under an owner key: read the document again, keeping its objects."""


#: What an object becomes in the first parse (its owner keys already read).
_OBJECT = object()


#: A JSON integer whose literal is its own canonical text: the only kind the byte proof
#: below may match as a bare number (``-0`` is the owner ``0``, so it can't prove ``-0``).
_JSON_INT = re.compile(r"0|-?[1-9][0-9]*")


class JsonKeys:
    """Owners are the values of the given keys, at any depth of a JSON body.

    Strings and numbers compare as the same text (``7`` == ``"7"``); a list under
    an owner key gives one owner per item; ``null`` and ``""`` are no owner.

    :param keys: the JSON keys that name an owner (``"user_id"``, ``"owner_id"``...).
    :param kind: the identity kind these owners are compared with (default ``"id"``).
    """

    __slots__ = ("keys", "kind", "name", "media", "_fast", "_own_literals", "_quoted", "_bare", "_references")

    def __init__(self, *keys: str, kind: str = ID) -> None:
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise ValueError("JsonKeys(keys=...) needs at least one non-empty key name")
        self.keys = frozenset(keys)
        self.kind = kind
        self.name = "json:" + ",".join(sorted(self.keys))
        self.media = frozenset({JSON})
        # The byte search is sound only for keys a serialiser writes as plain ASCII.
        self._fast = all(k.isascii() and k.isprintable() and '"' not in k and "\\" not in k for k in keys)
        self._own_literals: dict[str | None, tuple[tuple[bytes, ...], re.Pattern[bytes] | None]] = {}
        self._quoted = [b'"' + k.encode() + b'"' for k in sorted(self.keys)] if self._fast else []
        self._bare = [key[1:-1] for key in self._quoted]  # (a key in an attribute is quoted with references)
        self._references = _references_spelling(self.keys) if self._fast else None

    # exact ---------------------------------------------------------------
    def owners(self, view: ResponseView) -> list[str]:
        """The owners in every reading a JSON parser may make of the body: ``fetch().json()``'s
        (UTF-8, BOM stripped, bad bytes replaced, whatever the charset), and a UTF-16/32 body as
        JSON parsers detect it. Malformed in every reading: :class:`ScanError`."""
        found: list[str] = []
        parsed = False
        failure: ScanError | None = None
        for text in _json_readings(view.body):
            try:
                found.extend(json_owner_values_text(text, self.keys, self.kind))
                parsed = True
            except RecursionError:
                failure = ScanError(DEEP_JSON)
            except ValueError:
                failure = failure or ScanError("malformed JSON")
        if not parsed and failure is not None:
            raise failure
        return found

    def mentioned(self, text: str) -> bool:
        """Does the text hold one of the keys as a JSON string (``"user_id"``, or escaped)?"""
        return any('"' + key + '"' in text for key in self.keys) or (
            ("\\u" in text or "\\/" in text) and _has_escaped_key(text, self.keys)
        )

    def may_name(self, texts: Sequence[str]) -> bool:
        """Speed only: could :meth:`owners` find one of the keys in one of these JSON texts (each
        encoded as UTF-8)? ``False`` only where no reading it makes holds one: the keys (plain
        ASCII, as :meth:`prove` needs them) are not :meth:`mentioned` in the texts joined (by a
        character no escape or key holds: each text's escapes decode as they do alone), and
        ``json.loads`` reads each as UTF-8 (a zero byte in its first two would make it read
        UTF-16/32, other text: any zero byte answers yes)."""
        if not self._fast:
            return True
        joined = texts[0] if len(texts) == 1 else "\x01".join(texts)
        return "\x00" in joined or self.mentioned(joined)

    # cheap ---------------------------------------------------------------
    def _literals(self, own: str | None) -> tuple[tuple[bytes, ...], re.Pattern[bytes] | None]:
        cached = self._own_literals.get(own)
        if cached is not None:
            return cached
        literals: list[bytes] = []
        pattern: re.Pattern[bytes] | None = None
        if own is not None:
            forms = {json.dumps(own).encode(), json.dumps(own, ensure_ascii=False).encode()}
            values = [re.escape(f) for f in forms]
            if _JSON_INT.fullmatch(own):
                values.append(re.escape(own.encode()) + rb"(?![0-9.eE])")
            # Each literal ends where its value provably ends: a closing quote, or a byte
            # that cannot continue a JSON number. Counting them can't over-match.
            number = own.encode() if _JSON_INT.fullmatch(own) else None
            for key in sorted(self.keys):
                quoted = json.dumps(key).encode()
                for sep in (b":", b": "):
                    for form in sorted(forms):
                        literals.append(quoted + sep + form)
                    if number is not None:
                        for end in (b",", b"}", b" ", b"\n"):
                            literals.append(quoted + sep + number + end)
            keys_alt = b"|".join(re.escape(json.dumps(k).encode()) for k in sorted(self.keys))
            pattern = re.compile(rb"(?:" + keys_alt + rb")[ \t\r\n]*:[ \t\r\n]*(?:" + b"|".join(values) + rb")")
        if len(self._own_literals) > 1024:
            self._own_literals.clear()
        cached = self._own_literals[own] = (tuple(literals), pattern)
        return cached

    def only_own(self, view: ResponseView, own: str | None) -> int:
        return self.prove(view.body, view.charset, own)

    def prove(self, body: bytes, charset: str | None, own: str | None) -> int:
        """:meth:`only_own` on the bytes; ``charset`` is the body's (its BOM's, else the declared one)."""
        if not self._searchable(body, charset):
            return UNPROVEN
        quoted = self._quoted
        if len(quoted) == 1:
            key = quoted[0]
            position = body.find(key)
            if position < 0:
                return ABSENT
            if own is None:
                return UNPROVEN
            cached = self._own_literals.get(own)
            literals, pattern = cached if cached is not None else self._literals(own)
            # Most bodies hold a few keys: check each where it stands, in one pass.
            step = len(key)
            for _ in _WALK:
                if not body.startswith(literals, position):
                    return self._by_pattern(body, pattern)
                position = body.find(key, position + step)
                if position < 0:
                    return OWN
            total = body.count(key, position)  # many keys: count the rest
        else:
            total = sum(body.count(q) for q in quoted)
            if total == 0:
                return ABSENT
            if own is None:
                return UNPROVEN
            literals, pattern = self._literals(own)
            position = 0
        # Every literal match is at a distinct key occurrence, so when the counts of
        # literals add up to the count of keys, every key holds ``own``. Count first the
        # literal found at the current key (the serialiser's style), stop once they add up.
        found = 0
        counted = None
        for literal in literals:
            if body.startswith(literal, position):
                counted = literal
                found = body.count(literal, position)
                break
        if found != total:
            for literal in literals:
                if literal is not counted:
                    found += body.count(literal, position)
                    if found == total:
                        break
        if found == total:
            return OWN
        return self._by_pattern(body, pattern)

    def _searchable(self, body: bytes, charset: str | None) -> bool:
        """Can a byte search for the keys prove anything of this body: respguard's own key reading
        (``_fast``), UTF-8 (a UTF-16/32 body, as json.loads() detects it, hides the ASCII keys), and
        no escape that could spell a key another way?"""
        return self._plain(body, charset) and not _may_escape_a_key(body)

    def _plain(self, body: bytes, charset: str | None) -> bool:
        """:meth:`_searchable` but for escapes: the keys' bytes are the keys' own, if written plainly."""
        if not self._fast or charset is not None and charset not in _UTF8:
            return False
        # ``find`` rather than ``in``: on bytes, ``in`` first tries the needle as an int (CPython
        # raises and clears a TypeError each time); this runs on every response.
        return not (body.find(b"\x00", 0, 4) >= 0 or body[:2] in _UTF16_BOMS)

    def may_name_in_page(self, body: bytes, charset: str | None) -> bool:
        """Speed only: could a JSON data block or a JSON attribute value of this page (its bytes,
        in ``charset``) name one of the keys? Not when the keys, bare, are not in its bytes and no
        escape could hide one: a key in an attribute is quoted with character references
        (``data-page="{&quot;user_id&quot;: ...}"``), so the bare key is searched (one pass a key,
        as :meth:`prove`'s); where a character reference could spell one of a key's characters
        (``user&#95;id``, ``user&lowbar;id``: a script's ``JSON.parse(el.dataset.page)`` and the
        text a page shows read them decoded), with the references decoded as text and as an
        attribute value are; where an escape could spell one (``user\\u005fid``, or
        ``user&#92;u005fid``), with the escapes decoded too (a page of references and escapes
        that spell no key is not read for its JSON)."""
        if not self._plain(body, charset):
            return True
        for key in self._bare:
            if body.find(key) >= 0:
                return True
        references = self._references
        if references is not None and references.search(body) is not None:
            text = body.decode("utf-8", "replace")
            texts = [html.unescape(text), unescape_attribute(text)]
        elif _may_escape_a_key(body):
            texts = [body.decode("utf-8", "replace")]
        else:
            return False
        for text in texts:
            if any(key in text for key in self.keys):
                return True
            if text.find("\\") >= 0:
                decoded = _unescaped(text)
                if any(key in decoded for key in self.keys):
                    return True
        return False

    def _by_pattern(self, body: bytes, pattern: re.Pattern[bytes] | None) -> int:
        """The slower proof: every key followed (whitespace allowed) by an own value."""
        if pattern is not None and len(pattern.findall(body)) == sum(body.count(q) for q in self._quoted):
            return OWN
        return UNPROVEN


def _has_escaped_key(text: str, keys: frozenset[str]) -> bool:
    """A key written with escapes somewhere in the text (decoded, then looked for): ``\\uXXXX``
    spells any character, ``\\/`` a slash (the only other escape of a printable ASCII character
    but the quote and the backslash)."""
    decoded = _unescaped(text)
    return any('"' + key + '"' in decoded for key in keys)


def _unescaped(text: str) -> str:
    """The text with the JSON escapes that may spell a key's characters decoded."""
    return _KEY_ESCAPE.sub(_unescape_key_character, text)


#: The characters of a JSON escape that may spell a key's character (``\\u005f``, ``\\/``).
_ESCAPE_CHARACTERS = frozenset("\\u/0123456789abcdefABCDEF")


def _references_spelling(keys: frozenset[str]) -> re.Pattern[bytes]:
    """A search for the character references that may spell a character of one of the keys (or of
    a JSON escape of one: ``\\&#117;005f``, ``\\u00&#53;f``): a numeric one of that character's code
    (``&#95;``, ``&#x5F;``, leading zeros and all), and the named ones whose text is such a
    character (``&lowbar;`` for ``_``). Most pages' references (``&#39;``, ``&amp;``) spell none."""
    characters = sorted({character for key in keys for character in key} | _ESCAPE_CHARACTERS)
    decimal = b"|".join(str(ord(character)).encode() for character in characters)
    hexadecimal = b"|".join(format(ord(character), "x").encode() for character in characters)
    names = sorted((name for name, text in _NAMED_REFERENCES.items() if text in characters), key=len, reverse=True)
    return re.compile(
        b"&(?:#(?:0*(?:"
        + decimal
        + b")(?![0-9])|[xX]0*(?i:"
        + hexadecimal
        + b")(?![0-9a-fA-F]))"
        + b"".join(b"|" + re.escape(name.encode()) for name in names)
        + b")"
    )


def _may_escape_a_key(body: bytes) -> bool:
    """Could an escape in these bytes spell an ASCII key's character (``\\u005f``, ``\\/``)?"""
    return body.find(b"\\") >= 0 and _ASCII_ESCAPE.search(body) is not None


_KEY_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|/)")


def _unescape_key_character(match: re.Match[str]) -> str:
    code = match.group(1)
    return "/" if code is None else chr(int(code, 16))


#: How many keys :meth:`JsonKeys.prove` checks one by one before it counts the rest.
_WALK = range(16)
_UTF8 = frozenset({"utf-8", "utf8"})
_UTF16_BOMS = frozenset({b"\xff\xfe", b"\xfe\xff"})
_ASCII_ESCAPE = re.compile(rb"\\(?:u00[0-7]|/)")


# --------------------------------------------------------------------------- HTML


class HtmlAttribute:
    """Owners are the values of an HTML attribute (default ``data-owner``).

    Attribute names match case-insensitively, values may be quoted or bare, and
    character references are decoded. The body is decoded by its declared
    charset, or a ``<meta charset>``, or UTF-8; a body that won't decode blocks.
    """

    __slots__ = ("attribute", "kind", "name", "media", "_pattern", "_needle", "_own_literals", "_folds")

    def __init__(self, attribute: str = "data-owner", *, kind: str = ID) -> None:
        if not attribute or not re.fullmatch(r"[A-Za-z_:][-A-Za-z0-9_:.]*", attribute):
            raise ValueError(f"HtmlAttribute(attribute={attribute!r}) is not a valid attribute name")
        self.attribute = attribute.lower()
        self.kind = kind
        self.name = "html:" + self.attribute
        self.media = frozenset({HTML})
        self._pattern = re.compile(
            # An unquoted value runs to whitespace or '>' (HTML's unquoted-value state keeps '<', '=',
            # quotes and backticks in it), so a malformed marker is read as the browser reads it.
            # HTML white space only: a vertical tab is part of an unquoted value.
            r"(?<![-\w:.])" + re.escape(self.attribute) + r"[\t\n\x0c\r ]*=[\t\n\x0c\r ]*"
            r"(?:\"([^\"]*)\"|'([^']*)'|([^\t\n\x0c\r \"'>][^\t\n\x0c\r >]*))",
            # Browsers lower-case attribute names in ASCII only: "data-\u0131d" is another name to them.
            re.IGNORECASE | re.ASCII,
        )
        self._needle = self.attribute.encode("ascii")
        self._folds = any(c in self.attribute for c in "iks")
        self._own_literals: dict[tuple[str, str], tuple[bytes, bytes]] = {}

    def owners(self, view: ResponseView) -> list[str]:
        """The attribute's values in every encoding a browser may read the page in."""
        found: list[str] = []
        lowered = view.body.lower()
        if view.media == HTML and self._needle not in lowered and not _frames_a_document(lowered):
            if all(encoding in ASCII_SAFE for encoding in view.html_encodings()):
                # In these encodings the name's ASCII letters are those bytes: not there, no attribute.
                return found
        xml = is_xml_type(view.media_type)
        for text in view.texts():
            self._read(text, xml, found)
        return found

    def _read(self, text: str, xml: bool, found: list[str]) -> None:
        """The attribute's values in one page's text, and in the pages its attributes hold
        (:func:`~respguard._markup.pages_within`: a srcdoc, a data: URL), each read as a page."""
        try:
            pages = pages_within(Page(text, xml))
        except UnreadableFrame as exc:
            raise ScanError(str(exc)) from exc
        for page in pages:
            # Not in comments, scripts, stylesheets or other raw text of an HTML page: a browser
            # makes no attribute there (an XML page has no raw text).
            markup = page.markup()
            for match in self._pattern.finditer(markup):
                value = unescape_attribute(attribute_value(match, 1)).strip()
                if value:
                    found.append(normalise(self.kind, value))

    def only_own(self, view: ResponseView, own: str | None) -> int:
        if view.media != HTML:
            return self.prove(view.body, view.charset, own)
        encodings = view.html_encodings()
        return self.prove(view.body, encodings[0], own) if len(encodings) == 1 else UNPROVEN

    def prove(self, body: bytes, charset: str | None, own: str | None) -> int:
        """:meth:`only_own` on the bytes; ``charset`` is the page's (BOM, declared, ``<meta>``; ``None``: UTF-8)."""
        charset = charset or "utf-8"
        if charset not in ASCII_SAFE:
            return UNPROVEN
        if body.startswith((b"\xff\xfe", b"\xfe\xff")):
            # A UTF-16 byte-order mark: browsers read the page as UTF-16 whatever the charset
            # says, so a byte search for the ASCII attribute would miss it.
            return UNPROVEN
        if self._folds and _has_fold(body, charset):
            # The exact pattern ignores case the Unicode way: "\u0131" matches "i", "\u017f"
            # "s", "\u212a" "k", which a lower-cased byte search cannot see.
            return UNPROVEN
        lowered = body.lower()
        total = lowered.count(self._needle)
        if total == 0:
            return ABSENT
        if own is None:
            return UNPROVEN
        literals = self._own_literals.get((own, charset))
        if literals is None:
            if not own.isprintable() or any(c in own for c in "\"'&<>") or own != own.strip():
                return UNPROVEN
            try:
                value = own.encode(charset)
            except (LookupError, UnicodeEncodeError):
                return UNPROVEN
            literals = (self._needle + b'="' + value + b'"', self._needle + b"='" + value + b"'")
            if len(self._own_literals) > 1024:
                self._own_literals.clear()
            self._own_literals[own, charset] = literals
        found = body.count(literals[0])
        if found != total:
            found += body.count(literals[1])
        return OWN if found == total else UNPROVEN


def _frames_a_document(lowered: bytes) -> bool:
    """Could a page (lower-cased bytes) hold another page in an attribute: a ``srcdoc``, or an
    element that loads a URL into a frame (a ``data:`` URL may be a page, its text encoded)?"""
    return (
        lowered.find(b"srcdoc") >= 0
        or lowered.find(b"<!entity") >= 0  # (XML declarations that add markup or attributes)
        or lowered.find(b"<!attlist") >= 0
        or lowered.find(b"<?xml-stylesheet") >= 0  # (XSLT builds the page's DOM)
        or lowered.find(b"refresh") >= 0  # (a <meta http-equiv=refresh> navigates a frame)
        or lowered.find(b"<iframe") >= 0
        or lowered.find(b"<frame") >= 0
        or lowered.find(b"<object") >= 0
        or lowered.find(b"<embed") >= 0
    )


#: Non-ASCII characters Python's case-insensitive matching takes for "i", "s" or "k".
_FOLD_CHARS = "\u0130\u0131\u017f\u212a"
_FOLD_BYTES: dict[str, tuple[bytes, ...]] = {}


def _has_fold(body: bytes, charset: str) -> bool:
    """Could ``body`` hold a character that case-folds onto an ASCII letter of an attribute?"""
    if body.isascii():
        return False
    forms = _FOLD_BYTES.get(charset)
    if forms is None:
        encoded = []
        for char in _FOLD_CHARS:
            try:
                encoded.append(char.encode(charset))
            except (LookupError, UnicodeEncodeError):
                continue
        forms = _FOLD_BYTES[charset] = tuple(encoded)
    return any(form in body for form in forms)


# --------------------------------------------------------------------------- headers


#: Standard response headers an OwnerHeader may not name (it strips its header from every response).
_RESPONSE_HEADERS = frozenset(
    {
        "accept-ranges", "age", "allow", "cache-control", "clear-site-data", "connection", "content-disposition",
        "content-encoding", "content-language", "content-length", "content-location", "content-range",
        "content-security-policy", "content-type", "date", "etag", "expires", "keep-alive", "last-modified",
        "link", "location", "pragma", "proxy-authenticate", "refresh", "retry-after", "server", "set-cookie",
        "strict-transport-security", "trailer", "transfer-encoding", "upgrade", "vary", "via", "www-authenticate",
        "x-content-type-options", "x-frame-options",
    }
)  # fmt: skip


class OwnerHeader:
    """Owners named by a response header the app sets (default ``X-Data-Owner``).

    The header may repeat or hold a comma-separated list. respguard removes it
    before the response leaves, so it never reaches the client.
    """

    __slots__ = ("header", "kind", "name", "media", "raw_name")

    def __init__(self, header: str = "X-Data-Owner", *, kind: str = ID) -> None:
        if not header or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", header):
            raise ValueError(f"OwnerHeader(header={header!r}) is not a valid header name")
        if header.lower() in _RESPONSE_HEADERS:
            raise ValueError(
                f"OwnerHeader(header={header!r}) names a standard response header, which respguard would "
                "strip from every response: use a header of your own, such as X-Data-Owner"
            )
        self.header = header
        self.raw_name = header.lower().encode("latin-1")
        self.kind = kind
        self.name = "header:" + header.lower()
        self.media: frozenset[str] = frozenset()

    def owners(self, view: ResponseView) -> list[str]:
        return header_owners(view.headers, self.raw_name, self.kind)

    def only_own(self, view: ResponseView, own: str | None) -> int:
        return UNPROVEN


def header_owners(headers: Headers, raw_name: bytes, kind: str) -> list[str]:
    found = []
    for key, value in headers.raw:
        if key.lower() == raw_name:
            for part in value.decode("latin-1").split(","):
                part = part.strip()
                if part:
                    found.append(normalise(kind, part))
    return found


# --------------------------------------------------------------------------- custom

OwnerFunction = Callable[[bytes, Headers, ResponseView], Iterable[object]]


class CustomExtractor:
    """Owners from your own function ``(body, headers, context) -> iterable of ids``.

    ``body`` is the decoded (un-compressed) body, ``headers`` the response headers,
    ``context`` the :class:`~respguard.ResponseView` (request, media type, text()).
    An exception in the function blocks the response (scan error).

    :param media: which media classes it sees: any of ``"json"``, ``"html"``,
        ``"text"``, ``"other"`` (default: json, html and text).
    """

    __slots__ = ("function", "kind", "name", "media")

    def __init__(
        self,
        function: OwnerFunction,
        *,
        kind: str = ID,
        media: Iterable[str] = (JSON, HTML, TEXT),
        name: str | None = None,
    ) -> None:
        if not callable(function):
            raise ValueError("CustomExtractor(function=...) must be callable")
        media_set = frozenset(media)
        unknown = media_set - {JSON, HTML, TEXT, "other"}
        if unknown:
            raise ValueError(f"CustomExtractor(media=...) has unknown media classes: {sorted(unknown)}")
        self.function = function
        self.kind = kind
        self.media = media_set
        self.name = name or "custom:" + getattr(function, "__name__", "function")

    def owners(self, view: ResponseView) -> list[str]:
        found = []
        for value in self.function(view.body, view.headers, view):
            text = owner_text(value)
            if text is not None:
                found.append(normalise(self.kind, text))
        return found

    def only_own(self, view: ResponseView, own: str | None) -> int:
        return UNPROVEN


_EXTRACTOR_MEMBERS = ("name", "kind", "media", "owners", "only_own")


def as_extractor(item: object) -> Extractor:
    """Accept an extractor, or a bare function as a :class:`CustomExtractor`."""
    if isinstance(item, (JsonKeys, HtmlAttribute, OwnerHeader, CustomExtractor)):
        return item
    if all(hasattr(item, member) for member in _EXTRACTOR_MEMBERS):
        return cast(Extractor, item)  # an object shaped like one (what ``runtime_checkable`` checked)
    if callable(item):
        return CustomExtractor(item)
    raise ValueError(f"extractors: {item!r} is not an extractor or a callable")


__all__ = [
    "CustomExtractor",
    "Extractor",
    "HtmlAttribute",
    "JsonKeys",
    "OwnerHeader",
    "ScanError",
    "as_extractor",
]
