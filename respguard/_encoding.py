"""Bytes to text as browsers decode them: the WHATWG Encoding standard and the HTML prescan.

Browsers honour only the Encoding standard's labels (``charset=cp037`` names nothing to
them, so they fall back as if there were no charset), let a byte-order mark override any
label, and replace invalid bytes with U+FFFD. Python's codecs differ in places: this
module maps each WHATWG encoding onto the Python codec that decodes it the same way,
with the differences fixed, and raises :class:`UndecodableBody` (the guard blocks) where
it cannot prove the browser's reading.

* https://encoding.spec.whatwg.org/ (labels, "decode", "UTF-8 decode")
* https://html.spec.whatwg.org/multipage/parsing.html#encoding-sniffing-algorithm (the prescan)

Encoding names are the standard's, in lower case (``"utf-8"``, ``"windows-1252"``,
``"shift_jis"``), as ``webencodings`` spells them. The label table is carried here, not
taken from ``webencodings``: its 0.5.1 (what html5lib installs alongside) lacks fourteen
labels (``ucs-2``, ``unicode``, ``unicodefeff`` name UTF-16LE to a browser: respguard
would read such a page as windows-1252) and decodes ``iso-2022-kr`` and ``hz-gb-2312``,
which browsers map to "replacement". The tests check the table against ``webencodings``
0.6.1, which follows the standard exactly.

Every function is linear in the body.
"""

from __future__ import annotations

import codecs
import html
import re

from ._content import BodyDecodeError


class UndecodableBody(BodyDecodeError):
    """respguard cannot prove how a browser decodes this body; the guard blocks it.

    Its message is a fixed phrase (never a label or a byte from the response).
    """


#: The Encoding standard's label table: encoding name -> its labels (encodings.json).
_LABELS_BY_NAME: dict[str, str] = {
    "utf-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "ibm866": "866 cp866 csibm866 ibm866",
    "iso-8859-2": (
        "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 "
        "latin2"
    ),
    "iso-8859-3": (
        "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 "
        "latin3"
    ),
    "iso-8859-4": (
        "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 "
        "latin4"
    ),
    "iso-8859-5": (
        "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 "
        "iso_8859-5:1988"
    ),
    "iso-8859-6": (
        "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 "
        "iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987"
    ),
    "iso-8859-7": (
        "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 "
        "iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek"
    ),
    "iso-8859-8": (
        "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 "
        "iso88598 iso_8859-8 iso_8859-8:1988 visual"
    ),
    "iso-8859-8-i": "csiso88598i iso-8859-8-i logical",
    "iso-8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "iso-8859-13": "iso-8859-13 iso8859-13 iso885913",
    "iso-8859-14": "iso-8859-14 iso8859-14 iso885914",
    "iso-8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "iso-8859-16": "iso-8859-16",
    "koi8-r": "cskoi8r koi koi8 koi8-r koi8_r",
    "koi8-u": "koi8-ru koi8-u",
    "macintosh": "csmacintosh mac macintosh x-mac-roman",
    "windows-874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "windows-1250": "cp1250 windows-1250 x-cp1250",
    "windows-1251": "cp1251 windows-1251 x-cp1251",
    "windows-1252": (
        "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 "
        "iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 "
        "x-cp1252"
    ),
    "windows-1253": "cp1253 windows-1253 x-cp1253",
    "windows-1254": (
        "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 "
        "iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254"
    ),
    "windows-1255": "cp1255 windows-1255 x-cp1255",
    "windows-1256": "cp1256 windows-1256 x-cp1256",
    "windows-1257": "cp1257 windows-1257 x-cp1257",
    "windows-1258": "cp1258 windows-1258 x-cp1258",
    "x-mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "gbk": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk",
    "gb18030": "gb18030",
    "big5": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "euc-jp": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "iso-2022-jp": "csiso2022jp iso-2022-jp",
    "shift_jis": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "euc-kr": (
        "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 "
        "ksc_5601 windows-949"
    ),
    "replacement": "csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement",
    "utf-16be": "unicodefffe utf-16be",
    "utf-16le": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
    "x-user-defined": "x-user-defined",
}  # fmt: skip

#: label -> encoding name, for :func:`lookup`.
LABELS: dict[str, str] = {label: name for name, labels in _LABELS_BY_NAME.items() for label in labels.split()}

_ASCII_WHITESPACE = "\t\n\x0c\r "


def lookup(label: str) -> str | None:
    """The Encoding standard's "get an encoding": the encoding a label names, or ``None`` (failure).

    Leading and trailing ASCII white space is ignored and letters match in ASCII case only
    (``"\\u212aoi8-r"`` names nothing, though Python's ``lower()`` would make it ``koi8-r``).
    """
    found = LABELS.get(label)  # a label as the standard spells it (most are): nothing to fold
    if found is not None:
        return found
    label = label.strip(_ASCII_WHITESPACE)
    if not label.isascii():
        return None
    return LABELS.get(label.lower())


def bom_encoding(body: bytes) -> str | None:
    """The Encoding standard's "BOM sniff": ``utf-8``, ``utf-16be``, ``utf-16le`` or ``None``."""
    mark = _BYTE_ORDER_MARKS.get(body[0]) if body else None  # (most bodies: one lookup, not three searches)
    if mark is None or not body.startswith(mark[0]):
        return None
    return mark[1]


#: A byte-order mark by its first byte: (the mark, its encoding).
_BYTE_ORDER_MARKS = {
    0xEF: (b"\xef\xbb\xbf", "utf-8"),
    0xFE: (b"\xfe\xff", "utf-16be"),
    0xFF: (b"\xff\xfe", "utf-16le"),
}


# --------------------------------------------------------------------------- decoders

#: Single-byte encodings: the Python codec with the same 256 code points, once the fixes
#: below are applied. Checked byte by byte against the standard's index files.
_SINGLE_BYTE = {
    "ibm866": "cp866", "iso-8859-2": "iso8859_2", "iso-8859-3": "iso8859_3", "iso-8859-4": "iso8859_4",
    "iso-8859-5": "iso8859_5", "iso-8859-6": "iso8859_6", "iso-8859-7": "iso8859_7", "iso-8859-8": "iso8859_8",
    "iso-8859-8-i": "iso8859_8", "iso-8859-10": "iso8859_10", "iso-8859-13": "iso8859_13",
    "iso-8859-14": "iso8859_14", "iso-8859-15": "iso8859_15", "iso-8859-16": "iso8859_16", "koi8-r": "koi8_r",
    "koi8-u": "koi8_u", "macintosh": "mac_roman", "windows-874": "cp874", "windows-1250": "cp1250",
    "windows-1251": "cp1251", "windows-1252": "cp1252", "windows-1253": "cp1253", "windows-1254": "cp1254",
    "windows-1255": "cp1255", "windows-1256": "cp1256", "windows-1257": "cp1257", "windows-1258": "cp1258",
    "x-mac-cyrillic": "mac_cyrillic",
}  # fmt: skip

#: Where the standard's index differs from Python's codec: byte -> code point.
#: - windows-*: bytes 0x80-0x9F that Python leaves undefined are the C1 control of the same
#:   value (windows-1252's 0x81 0x8D 0x8F 0x90 0x9D are U+0081 ... in browsers);
#: - KOI8-U is KOI8-RU in browsers (0xAE, 0xBE are Belarusian short U);
#: - windows-1255's 0xCA is HEBREW POINT HOLAM HASER FOR VAV.
_SINGLE_BYTE_FIXES: dict[str, dict[int, int]] = {
    "koi8-u": {0xAE: 0x045E, 0xBE: 0x040E},
    "windows-1255": {0xCA: 0x05BA},
}
_C1_FILLED = frozenset(name for name in _SINGLE_BYTE if name.startswith("windows-"))

_TABLES: dict[str, str] = {}


def _single_byte_table(name: str) -> str:
    """The 256 code points of a single-byte encoding (U+FFFE: no code point, decoded as U+FFFD)."""
    table = _TABLES.get(name)
    if table is None:
        chars = list(bytes(range(256)).decode(_SINGLE_BYTE[name], "replace"))
        for byte in range(0x80, 0x100):
            if chars[byte] == "\ufffd":
                chars[byte] = chr(byte) if name in _C1_FILLED and byte < 0xA0 else "\ufffe"
        for byte, code_point in _SINGLE_BYTE_FIXES.get(name, {}).items():
            chars[byte] = chr(code_point)
        table = _TABLES[name] = "".join(chars)
    return table


_X_USER_DEFINED = "".join(chr(b) for b in range(0x80)) + "".join(chr(0xF780 + b) for b in range(0x80))


class _MultiByte:
    """A CJK encoding read by a Python codec, corrected where it differs from browsers.

    The codec is the one whose every valid sequence (all 1- to 4-byte sequences were
    enumerated against the standard's indexes) decodes as the standard's decoder does,
    except for ``fixes``: characters only one sequence produces, replaced by the
    browser's; and ``refuse``: sequences whose Python reading no replacement can correct
    (it is also some other sequence's), so a body holding those bytes anywhere is refused.

    Where the codec meets an invalid sequence, :meth:`resync` does what the standard's
    decoder does there: U+FFFD, and the byte after a leading byte is read again when it
    is ASCII (a browser never lets an invalid sequence swallow ``"`` or ``<``). The
    sequences browsers map and the codec does not (``unknown_leads``: their leading
    bytes; ``four_byte``: gb18030's four-byte forms) are refused: their character is not
    known here.
    """

    __slots__ = ("codec", "fixes", "fixed", "refuse", "is_lead", "unknown_leads", "four_byte", "byte_80", "errors")

    def __init__(
        self,
        codec: str,
        fixes: dict[str, str],
        leads: tuple[tuple[int, int], ...],
        *,
        refuse: tuple[bytes, ...] = (),
        unknown_leads: frozenset[int] = frozenset(),
        four_byte: bool = False,
        byte_80: str | None = None,
    ) -> None:
        self.codec = codec
        self.fixes = str.maketrans(fixes)
        # Which characters need a fix: the (slow) translate runs only on a text that holds one.
        self.fixed = re.compile("[" + "".join(re.escape(c) for c in fixes) + "]") if fixes else None
        self.refuse = refuse
        self.is_lead = frozenset(b for low, high in leads for b in range(low, high + 1))
        self.unknown_leads = unknown_leads
        self.four_byte = four_byte
        self.byte_80 = byte_80
        self.errors = "respguard.whatwg." + codec
        codecs.register_error(self.errors, self.resync)

    def resync(self, error: UnicodeError) -> tuple[str, int]:
        """The standard decoder's error handling at ``error.start`` (a sequence boundary)."""
        if not isinstance(error, UnicodeDecodeError):
            raise error
        data = error.object
        start = error.start
        byte = data[start]
        if byte == 0x80 and self.byte_80 is not None:
            return self.byte_80, start + 1
        if byte not in self.is_lead:
            return "\ufffd", start + 1
        if start + 1 >= len(data):
            return "\ufffd", len(data)  # a leading byte at the end
        trail = data[start + 1]
        if byte in self.unknown_leads or (self.four_byte and 0x30 <= trail <= 0x39):
            raise UndecodableBody(_UNKNOWN_CHARACTER)
        return "\ufffd", start + 1 if trail < 0x80 else start + 2

    def decode(self, body: bytes) -> str:
        for sequence in self.refuse:
            if sequence in body:
                raise UndecodableBody("body holds bytes browsers decode differently")
        try:
            text = body.decode(self.codec, self.errors)
        except UndecodableBody:
            # The codec machinery re-raises it with the codec's name added: keep the fixed phrase.
            raise UndecodableBody(_UNKNOWN_CHARACTER) from None
        fixed = self.fixed
        if fixed is not None and not text.isascii() and fixed.search(text) is not None:
            return text.translate(self.fixes)
        return text


_UNKNOWN_CHARACTER = "body has bytes browsers read as characters respguard does not know"


_BIG5_UNKNOWN = (
    0x87, 0x8E, 0x8F, 0x90, 0x91, 0x92, 0x94, 0x95, 0x96, 0x9B, 0x9C,
    0x9D, 0x9E, 0x9F, 0xA0, 0xA3, 0xC6, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE,
)  # fmt: skip

# fmt: off
_MULTI_BYTE: dict[str, _MultiByte] = {
    # Python's cp932 reads 0xA0 and 0xFD-0xFF as private-use characters; browsers: errors.
    "shift_jis": _MultiByte(
        "cp932", {"\uf8f0": "\ufffd", "\uf8f1": "\ufffd", "\uf8f2": "\ufffd", "\uf8f3": "\ufffd"},
        ((0x81, 0x9F), (0xE0, 0xFC)),
    ),
    "euc-kr": _MultiByte("cp949", {}, ((0x81, 0xFE),)),
    # Python's euc_jp is JIS X 0208 as first published; browsers use Microsoft's mappings, and
    # read 0x8F 0xA2 0xB7 as FULLWIDTH TILDE where Python gives an ASCII "~". Browsers also map
    # rows 0xAD (NEC) and 0xF9-0xFC (IBM), which Python does not.
    "euc-jp": _MultiByte(
        "euc_jp",
        {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0", "\u00a3": "\uffe1",
         "\u00ac": "\uffe2"},
        ((0x8E, 0x8F), (0xA1, 0xFE)),
        refuse=(b"\x8f\xa2\xb7",),
        unknown_leads=frozenset({0x8F, 0xAD, 0xF9, 0xFA, 0xFB, 0xFC}),
    ),
    # Big5 is Big5-HKSCS in browsers; 0xA2 0x41 and 0xA2 0x42 read as characters Python also
    # gives for other sequences, so those two are refused; Python lacks 192 of the browsers'
    # HKSCS characters (behind the leading bytes listed).
    "big5": _MultiByte(
        "big5hkscs",
        {"\u2022": "\u2027", "\uff64": "\ufe51", "\u203e": "\u00af", "\u223c": "\uff5e", "\u2641": "\u2295",
         "\u2609": "\u2299", "\u00a5": "\uffe5", "\u00a2": "\uffe0", "\u00a3": "\uffe1"},
        ((0x81, 0xFE),),
        refuse=(b"\xa2\x41", b"\xa2\x42"),
        unknown_leads=frozenset(_BIG5_UNKNOWN),
    ),
    # Python's gb18030 is GB18030-2005; browsers follow GB18030-2022 for these (and swap
    # U+1E3F and U+E7C7 between 0xA8 0xBC and 0x81 0x35 0xF4 0x37), and read a lone 0x80 as
    # the euro sign.
    "gb18030": _MultiByte(
        "gb18030",
        {"\u1e3f": "\ue7c7", "\ue7c7": "\u1e3f", "\ue5e5": "\u3000", "\ue78d": "\ufe10", "\ue78e": "\ufe12",
         "\ue78f": "\ufe11", "\ue790": "\ufe13", "\ue791": "\ufe14", "\ue792": "\ufe15", "\ue793": "\ufe16",
         "\ue794": "\ufe17", "\ue795": "\ufe18", "\ue796": "\ufe19", "\ue81e": "\u9fb4", "\ue826": "\u9fb5",
         "\ue82b": "\u9fb6", "\ue82c": "\u9fb7", "\ue832": "\u9fb8", "\ue843": "\u9fb9", "\ue854": "\u9fba",
         "\ue864": "\u9fbb"},
        ((0x81, 0xFE),),
        four_byte=True,
        byte_80="\u20ac",
    ),
}
# fmt: on
_MULTI_BYTE["gbk"] = _MULTI_BYTE["gb18030"]  # the standard's GBK decoder is its gb18030 decoder

#: Bytes after which ISO-2022-JP is no longer ASCII (escape sequences, shift in/out, 8-bit).
_NOT_PLAIN_ISO_2022_JP = re.compile(rb"[\x0e\x0f\x1b\x80-\xff]")

#: Every encoding :func:`decode` reads (all of the standard's).
ENCODINGS = frozenset(_LABELS_BY_NAME)
#: Encodings whose ASCII bytes are those ASCII characters wherever they stand in the text that
#: matters (tags, quotes, attribute names and values), so a byte search for an ASCII attribute
#: finds what a browser reads. Not UTF-16 (two bytes a character), ISO-2022-JP (escape sequences
#: change what ASCII bytes mean), replacement (no text at all).
ASCII_SAFE = ENCODINGS - {"utf-16le", "utf-16be", "iso-2022-jp", "replacement"}


def _decode_without_bom(body: bytes, encoding: str) -> str:
    if encoding == "utf-8":
        return body.decode("utf-8", "replace")
    if encoding == "utf-16le":
        return body.decode("utf-16-le", "replace")
    if encoding == "utf-16be":
        return body.decode("utf-16-be", "replace")
    if encoding in _SINGLE_BYTE:
        return codecs.charmap_decode(body, "replace", _single_byte_table(encoding))[0]
    if encoding == "x-user-defined":
        return codecs.charmap_decode(body, "strict", _X_USER_DEFINED)[0]
    if encoding == "replacement":
        return "\ufffd" if body else ""
    multi = _MULTI_BYTE.get(encoding)
    if multi is not None:
        return multi.decode(body)
    if encoding == "iso-2022-jp":
        # The browser's decoder is a state machine whose escape handling Python's codec does
        # not share; an ASCII body (no ESC, SO, SI or 8-bit byte) is the same in both.
        if _NOT_PLAIN_ISO_2022_JP.search(body):
            raise UndecodableBody("body uses ISO-2022-JP escapes")
        return body.decode("ascii")
    raise ValueError("not an encoding name (see lookup())")


def decode(body: bytes, encoding: str) -> str:
    """The Encoding standard's "decode": a byte-order mark overrides ``encoding``; errors are U+FFFD.

    ``encoding`` is an encoding name (:func:`lookup`'s result; a label is looked up too).
    Raises :class:`UndecodableBody` where the browser's reading can't be proved (see
    :class:`_MultiByte` and ISO-2022-JP), ``ValueError`` for a name that is no encoding.
    """
    if encoding not in ENCODINGS:
        name = lookup(encoding)
        if name is None:
            raise ValueError("not an encoding name (see lookup())")
        encoding = name
    bom = bom_encoding(body)
    if bom is not None:
        return _decode_without_bom(body[3:] if bom == "utf-8" else body[2:], bom)
    return _decode_without_bom(body, encoding)


def utf8_decode(body: bytes) -> str:
    """The Encoding standard's "UTF-8 decode": one UTF-8 BOM stripped, invalid bytes U+FFFD.

    What ``fetch()``'s ``response.text()`` and ``response.json()`` read, whatever the
    Content-Type and its charset say (a UTF-16 BOM is not honoured: it decodes as U+FFFD).
    """
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    return body.decode("utf-8", "replace")


def xml_declaration_encoding(body: bytes) -> str | None:
    """UTF-16 without a byte-order mark, told by an XML declaration's first bytes (``<?xm`` as
    UTF-16LE or UTF-16BE, XML 1.0 appendix F): Chromium reads such a page as UTF-16 whatever its
    type (text/html too) when nothing else declares an encoding."""
    if body.startswith(b"<\x00?\x00x\x00m\x00"):
        return "utf-16le"
    if body.startswith(b"\x00<\x00?\x00x\x00m"):
        return "utf-16be"
    return None


def declared_encoding(body: bytes, mime_charset: str | None) -> str | None:
    """What the response itself says, in the order browsers obey it: a byte-order mark, then a
    Content-Type charset label they know; ``None``: neither."""
    bom = bom_encoding(body)
    if bom is not None:
        return bom
    return lookup(mime_charset) if mime_charset is not None else None


def text_encoding(body: bytes, mime_charset: str | None, fallback: str = "windows-1252") -> str:
    """The encoding a non-HTML text body is read in: its BOM, else a valid charset, else ``fallback``.

    Fetch's "legacy extract an encoding" after the BOM: a browser rendering ``text/plain``
    falls back to windows-1252 (its locale default, see :func:`html_encoding`);
    ``XMLHttpRequest.responseText`` and EventSource-like readers fall back to UTF-8 (pass
    ``"utf-8"``). ``fetch()``'s ``text()`` ignores all this: use :func:`utf8_decode`.
    """
    return declared_encoding(body, mime_charset) or fallback


# --------------------------------------------------------------------------- HTML prescan

_SPACE = b"\t\n\x0c\r "
_SPACE_OR_SLASH = re.compile(rb"[\t\n\x0c\r /]*")
_SPACES = re.compile(rb"[\t\n\x0c\r ]*")
_NAME_REST = re.compile(rb"[^\t\n\x0c\r />=]*")
_UNQUOTED_VALUE = re.compile(rb"[^\t\n\x0c\r >]*")
_TAG_NAME_END = re.compile(rb"[\t\n\x0c\r >]")
_LETTER = re.compile(rb"[A-Za-z]")
_CHARSET_WORD = re.compile(rb"charset", re.IGNORECASE)


class _End(Exception):
    """The prescan ran past the end of its input."""


def _skip(pattern: re.Pattern[bytes], data: bytes, position: int) -> int:
    match = pattern.match(data, position)
    return position if match is None else match.end()


def _get_attribute(data: bytes, position: int) -> tuple[bytes | None, bytes, int]:
    """HTML's "get an attribute": (name, value, new position); name ``None``: no attribute (at ``>``).

    Names and values are ASCII-lower-cased. Raises :class:`_End` past the end of ``data``.
    """
    end = len(data)
    position = _skip(_SPACE_OR_SLASH, data, position)
    if position >= end:
        raise _End
    if data[position] == 0x3E:  # ">"
        return None, b"", position
    # The first byte starts the name, even "=" (an empty name takes it).
    rest = _skip(_NAME_REST, data, position + 1)
    name = data[position:rest].lower()
    position = rest
    if position >= end:
        raise _End
    byte = data[position]
    if byte in b"/>":
        return name, b"", position
    if byte != 0x3D:  # white space, then maybe "="
        position = _skip(_SPACES, data, position)
        if position >= end:
            raise _End
        if data[position] != 0x3D:
            return name, b"", position
    position = _skip(_SPACES, data, position + 1)  # past "=", then white space
    if position >= end:
        raise _End
    byte = data[position]
    if byte in b"\"'":
        close = data.find(data[position : position + 1], position + 1)
        if close < 0:
            raise _End
        return name, data[position + 1 : close].lower(), close + 1
    if byte == 0x3E:
        return name, b"", position
    value_end = _skip(_UNQUOTED_VALUE, data, position)
    if value_end >= end:
        raise _End
    return name, data[position:value_end].lower(), value_end


def meta_content_encoding(content: bytes) -> str | None:
    """HTML's "extract a character encoding from a meta element" (a ``content`` attribute's value)."""
    position = 0
    end = len(content)
    while True:
        match = _CHARSET_WORD.search(content, position)
        if match is None:
            return None
        position = _skip(_SPACES, content, match.end())
        if position >= end or content[position] != 0x3D:
            continue  # look for the next "charset" from here
        position = _skip(_SPACES, content, position + 1)
        if position >= end:
            return None
        byte = content[position]
        if byte in b"\"'":
            close = content.find(content[position : position + 1], position + 1)
            if close < 0:
                return None
            return lookup(content[position + 1 : close].decode("latin-1"))
        value_end = position
        while value_end < end and content[value_end] not in b"\t\n\x0c\r ;":
            value_end += 1
        return lookup(content[position:value_end].decode("latin-1"))


def _meta_encoding(data: bytes, position: int) -> tuple[str | None, int]:
    """The encoding a ``<meta`` (``position`` just after it) declares, and where its attributes end."""
    seen: set[bytes] = set()
    got_pragma = False
    need_pragma: bool | None = None
    charset: str | None = None
    failed = False  # a charset attribute that names no encoding ("failure" in the standard)
    while True:
        name, value, position = _get_attribute(data, position)
        if name is None:
            break
        if name in seen:
            continue
        seen.add(name)
        if name == b"http-equiv":
            if value == b"content-type":
                got_pragma = True
        elif name == b"content":
            if charset is None and not failed:
                found = meta_content_encoding(value)
                if found is not None:
                    charset = found
                    need_pragma = True
        elif name == b"charset":
            charset = lookup(value.decode("latin-1"))
            failed = charset is None
            need_pragma = False
    if need_pragma is None or (need_pragma and not got_pragma) or charset is None:
        return None, position
    if charset in ("utf-16be", "utf-16le"):
        return "utf-8", position
    if charset == "x-user-defined":
        return "windows-1252", position
    return charset, position


def _prescan(data: bytes, first_only: bool, position: int = 0) -> tuple[list[str], int]:
    """HTML's "prescan a byte stream to determine its encoding" over ``data``: the encodings declared.

    With ``first_only`` it stops at the first (the standard's answer) and says where it
    stopped (the prescan's state there is the top-level loop's); else it goes on to the
    end, collecting every ``<meta>`` that would change a tentative encoding.
    """
    found: list[str] = []
    try:
        while True:
            position = data.find(b"<", position)
            if position < 0:
                break
            if data.startswith(b"<!--", position):
                close = data.find(b"-->", position + 2)
                if close < 0:
                    break
                position = close + 3
                continue
            if data[position + 1 : position + 5].lower() == b"meta" and data[position + 5 : position + 6] in (
                b"\t", b"\n", b"\x0c", b"\r", b" ", b"/",
            ):  # fmt: skip
                encoding, position = _meta_encoding(data, position + 5)
                position += 1
                if encoding is not None:
                    found.append(encoding)
                    if first_only:
                        break
                continue
            start = position + 2 if data[position + 1 : position + 2] == b"/" else position + 1
            if _LETTER.match(data, start):
                tag_end = _TAG_NAME_END.search(data, start)
                if tag_end is None:
                    break
                position = tag_end.start()
                name: bytes | None = b""
                while name is not None:
                    name, _, position = _get_attribute(data, position)
                position += 1
                continue
            if data[position + 1 : position + 2] in (b"!", b"/", b"?"):
                close = data.find(b">", position + 1)
                if close < 0:
                    break
                position = close + 1
                continue
            position += 1
    except _End:
        pass
    return found, position


#: How many bytes browsers prescan for a ``<meta>`` charset (the HTML standard's advice).
PRESCAN_BYTES = 1024


def prescan_html(body: bytes) -> str | None:
    """The encoding a ``<meta>`` in the first 1024 bytes declares, as browsers prescan for it.

    A UTF-16 declaration means UTF-8 (the bytes were read as ASCII to find it) and
    x-user-defined means windows-1252. ``None``: no (valid) declaration.
    """
    found, _ = _prescan(body[:PRESCAN_BYTES], True)
    return found[0] if found else None


#: What a browser reads an HTML page in when nothing declares an encoding (its locale's
#: default: windows-1252 for most locales, and what Chromium and Firefox use for en-US).
DEFAULT_HTML_ENCODING = "windows-1252"


def html_encoding(body: bytes, mime_charset: str | None) -> str:
    """HTML's encoding sniffing, as a browser without user override first reads the page.

    The BOM, else the Content-Type charset if it is a WHATWG label (an unknown label
    such as ``cp037`` is ignored, as browsers ignore it), else UTF-16 told by an XML
    declaration (:func:`xml_declaration_encoding`), else the prescan of the first 1024
    bytes, else :data:`DEFAULT_HTML_ENCODING`. A browser may still change its mind
    (a later ``<meta>``, or its own guess for an unlabelled page): respguard must read
    every reading in :func:`html_encoding_candidates`.
    """
    return (
        declared_encoding(body, mime_charset)
        or xml_declaration_encoding(body)
        or prescan_html(body)
        or DEFAULT_HTML_ENCODING
    )


def html_encoding_candidates(body: bytes, mime_charset: str | None) -> tuple[str, ...]:
    """Every encoding a browser may read this HTML page in; :func:`html_encoding`'s first.

    A BOM or a valid Content-Type charset is certain: one reading. Otherwise the
    encoding is tentative, and browsers change it:

    * on a later ``<meta>`` charset (the parser's "change the encoding while parsing",
      wherever it stands in the page): every declaration in the body is a candidate
      (:func:`declared_anywhere`);
    * for a page nothing declares, by their own guess (Chromium's and Firefox's
      detectors): UTF-8 when the body is valid UTF-8, ISO-2022-JP when it holds an
      ESC byte. Other guesses (Shift_JIS, GBK, Big5, EUC-*) read every ASCII byte that
      can start or end a tag, a quote or an attribute (``< > " ' = /`` and white space)
      as that same character, as windows-1252 does, since their trail bytes exclude them.

    The caller scans the body under each candidate (or blocks when they disagree);
    :func:`decode` refuses the readings it can't prove, so the guard fails closed.
    """
    certain = declared_encoding(body, mime_charset) or xml_declaration_encoding(body)
    if certain is not None:
        return (certain,)
    candidates, _ = _prescan(body[:PRESCAN_BYTES], True)
    if not candidates:
        return undeclared_html_encodings(body)
    candidates.extend(declared_anywhere(body))
    return tuple(dict.fromkeys(candidates))


def undeclared_html_encodings(body: bytes) -> tuple[str, ...]:
    """Every encoding a browser may read a page in that nothing declares: the default, each
    encoding a ``<meta>`` anywhere may switch to, and the browser's own guesses (see
    :func:`html_encoding_candidates`)."""
    candidates = [DEFAULT_HTML_ENCODING, *declared_anywhere(body)]
    if not body.isascii() or b"\x1b" in body:
        if b"\x1b" in body:
            candidates.append("iso-2022-jp")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            candidates.append("utf-8")
    return tuple(dict.fromkeys(candidates))


def certain_html_encoding(body: bytes, mime_charset: str | None) -> str | None:
    """The encoding a browser reads this page in, when only one is possible; ``None`` when
    browsers may read it in several (a byte search can then prove nothing about it)."""
    candidates = html_encoding_candidates(body, mime_charset)
    return candidates[0] if len(candidates) == 1 else None


#: ``charset = label`` as a <meta> charset attribute or a content attribute's value has it,
#: quoted or not (the closing quote is not required: a superset is what is wanted).
_CHARSET_DECLARATION = re.compile(
    r"charset[\t\n\x0c\r ]*=[\t\n\x0c\r ]*"
    r"(?:\"[\t\n\x0c\r ]*([^\"\t\n\x0c\r ]{1,64})|'[\t\n\x0c\r ]*([^'\t\n\x0c\r ]{1,64})|([^\t\n\x0c\r \"';>]{1,64}))",
)


def declared_anywhere(body: bytes) -> list[str]:
    """Every encoding a ``<meta>`` anywhere in the page could declare to the HTML parser (a superset).

    The parser changes a tentative encoding on any later ``<meta>`` charset, reading its
    attributes as the tokenizer does (character references decoded: ``&#107;oi8-r`` is
    ``koi8-r``; Chromium's first look uses its tokenizer too). So every ``charset=label``
    in the page, raw or with character references decoded, wherever it stands (a comment,
    a script, text: more than any parser sees), is a candidate. One regular-expression
    pass, plus one to decode character references when the page has an ``&``.
    """
    if b"<meta" not in body.lower():
        return []  # no <meta> at all (its tag name can't be written with character references)
    text = body.decode("latin-1")
    texts = [text.lower()]  # (ASCII case: lookup() folds a label's case anyway)
    if "&" in text:
        texts.append(html.unescape(text).lower())  # references are case-sensitive: decode first
    labels: dict[str, None] = {}
    for source in texts:
        for match in _CHARSET_DECLARATION.finditer(source):
            labels[match.group(1) or match.group(2) or match.group(3)] = None
    found: dict[str, None] = {}
    for label in labels:
        encoding = lookup(label)
        if encoding in ("utf-16be", "utf-16le"):
            encoding = "utf-8"
        elif encoding == "x-user-defined":
            encoding = "windows-1252"
        if encoding is not None:
            found[encoding] = None
    return list(found)


def html_encoding_guessed(body: bytes, mime_charset: str | None) -> bool:
    """Would a browser guess this page's encoding (nothing declares one, and it is not all ASCII)?

    Then Shift_JIS, GBK, Big5 or EUC-* may be the guess, beyond the candidates: they keep
    every tag, quote and attribute where windows-1252 puts them, but read non-ASCII runs
    (and an ASCII letter right after a non-ASCII byte) differently. An owner value holding
    a non-ASCII character, or next to one, can't be proved to be the requester's: treat it
    as foreign.
    """
    if bom_encoding(body) is not None:
        return False
    if mime_charset is not None and lookup(mime_charset) is not None:
        return False
    if xml_declaration_encoding(body) is not None:
        return False
    if body.isascii() and b"\x1b" not in body:
        return False
    return prescan_html(body) is None


#: Python codecs whose escape sequences change what ASCII bytes mean (and vanish when decoded).
_ESCAPE_CODECS = ("utf-7", "iso2022", "hz")
_ASCII_PROBE = "data: {}[]\"',:\n-_azAZ09"
#: ASCII bytes a codec may read as other text, escapes included (``raw_unicode_escape`` reads
#: ``\U00000075`` as ``u``; a codec that reads ``\\`` as ``¥`` is refused with them). A backslash
#: only where it starts a valid escape: ``unicode_escape`` warns (DeprecationWarning) on any other.
_ASCII_BYTES = (
    bytes(range(0x5C)) + bytes(range(0x5D, 0x80)) + rb"\U00000075\u0075\x75\N{DIGIT ONE}\165\\+AHU-~{u~}xn--u-"
)
_ASCII_PROBE_BYTES = _ASCII_PROBE.encode()
_ASCII_BYTES_TEXT = _ASCII_BYTES.decode("ascii")


def reads_ascii(codec: str) -> bool | None:
    """Does this Python codec (a ``codecs.lookup`` name) read ASCII bytes as the same ASCII text,
    and write ASCII text as the same bytes, escapes included? ``False`` for UTF-16, UTF-32 and
    EBCDIC (ASCII is other bytes), for ISO-2022, HZ and UTF-7 (escape sequences that decode to
    nothing), and for codecs that read ASCII as other text (``raw_unicode_escape``:
    ``\\U00000075`` is ``u``; ``shift_jis_2004``: ``\\`` is ``¥``); ``True`` for UTF-8 with a
    byte-order mark (written first, skipped). ``None``: no text encoding (base64, rot13).
    The one answer for a stream's records and a multipart form's names alike."""
    if codec.startswith(("utf-16", "utf-32", *_ESCAPE_CODECS)):
        return False
    if codec == "utf-8-sig":
        return True
    try:
        encoded = _ASCII_PROBE.encode(codec)
        decoded = _ASCII_BYTES.decode(codec, "replace")
    except LookupError:
        return None
    except UnicodeError:
        return False  # ASCII it can't encode: not read as ASCII (fail closed)
    return encoded == _ASCII_PROBE_BYTES and decoded == _ASCII_BYTES_TEXT


def python_codec(label: str | None) -> str | None:
    """The text codec a charset label names to Python (``codecs``' name for it), or ``None``: no
    label, no such codec, a codec of bytes (``bz2_codec``), or a label no lookup takes (a NUL in it:
    ``ValueError``; RFC 2231's ``charset*=utf-8''%00x`` decodes to one). Every charset label
    respguard reads as Python's clients and frameworks do is looked up here, requests and responses
    alike: a label nothing decodes in reads as none, never as an error."""
    if not label:
        return None
    try:
        name = codecs.lookup(label).name
        "".encode(name)  # a text codec
    except (LookupError, ValueError, TypeError, UnicodeError):
        return None
    return name


__all__ = [
    "DEFAULT_HTML_ENCODING",
    "ASCII_SAFE",
    "certain_html_encoding",
    "python_codec",
    "ENCODINGS",
    "LABELS",
    "PRESCAN_BYTES",
    "UndecodableBody",
    "bom_encoding",
    "declared_anywhere",
    "decode",
    "html_encoding",
    "html_encoding_candidates",
    "html_encoding_guessed",
    "lookup",
    "meta_content_encoding",
    "prescan_html",
    "reads_ascii",
    "text_encoding",
    "utf8_decode",
    "undeclared_html_encodings",
    "xml_declaration_encoding",
]
