"""Redaction for audit events: no id an event is about may reach the log.

Ids sit in paths (``/users/alice/card``, ``/api/users/9.json``,
``/contacts/Bob%40Example.com.vcf``) and in request ids (``u8-9-1700000000``). An
event carries the path with every such id replaced by ``{id}``, and the request id
only when it holds none of them.

How an id is found, the way a person reading the log would recognise it:

- The path is percent-decoded until it is stable (``%2540`` is ``%40`` is ``@``; four
  rounds at most), and a WSGI path (UTF-8 bytes read as Latin-1) is read as UTF-8 (also with
  its bad bytes replaced, as Werkzeug reads a path that is not UTF-8 throughout).
- Text is compared folded: compatibility-decomposed (NFKD), case-folded, with format
  characters (U+200B, U+00AD...), combining marks (the accent of ``é``, the dot ``İ`` folds to,
  the invisible U+034F and variation selectors) and Hangul fillers dropped, any dash read as the
  hyphen, and a digit of any script read as its ASCII digit
  (Werkzeug's ``<int:...>`` is ``\\d+`` and ``int()``: ``/users/\\u0669`` is user 9).
  Every id compares case-insensitively, not only e-mail addresses: ``Bob`` in a path is
  the user ``bob`` to a reader, and redacting too much costs nothing.
- An id of four characters or more is found anywhere, even inside a longer word
  (``user-alice-7f3a.json``). A shorter id is found only as a whole token: in a path the
  characters around it must not be letters or digits (``9`` in ``/users/9.json``,
  ``user-9``, ``9,10``, ``9;v=1``, ``/9.`` but not ``v1`` for id ``1``). A numeric id also
  matches with leading zeros (``009``). A short id inside a longer digit run (``9`` in
  ``1700000009``) is not that id and is kept.
- The request id is cut at every change between letters and digits too, so ``u8`` holds
  the id ``8``: ``u8-9-1700000000`` is dropped for requester ``8`` or owner ``9``.
- An e-mail id's local part (``bob`` of ``bob@example.com``) counts as an id as well.
- A UUID is found with its dashes and without (Starlette's ``uuid`` convertor takes both).

When in doubt the field goes: a path that still decodes after four rounds, or whose
redacted form would still show an id, becomes ``{redacted}``; a request id that is not a
plain token or holds an id is ``None``. So are both fields of an event about more non-ASCII ids
than :data:`_FOLD_BUDGET` characters: folding them costs a few Unicode look-ups a character, and
they are folded once for both fields (:func:`redact_fields`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote, unquote

from ._pii import INVISIBLE_RE

REDACTED = "{redacted}"
PLACEHOLDER = "{id}"

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_UUID = re.compile(r"[0-9a-f]{8}(-?)[0-9a-f]{4}\1[0-9a-f]{4}\1[0-9a-f]{4}\1[0-9a-f]{12}")
_SHORT = 3  # ids of at most this many characters match only as whole tokens
_SPANS_PER_CHAR = 4  # occurrences of ids a text may hold per character before it is all redacted
#: Characters an event's search for ids may compare (the text's length times the ids' total):
#: more (thousands of ids a write named, a 16 KB path) and the text is redacted whole, unsearched.
_SEARCH_BUDGET = 1 << 24
_DECODE_ROUNDS = 4
#: Characters of non-ASCII ids an event's redaction may fold (each a few Unicode look-ups): more,
#: and its path and request id go unsearched (``{redacted}``, ``None``).
_FOLD_BUDGET = 1 << 15
# What quote() leaves as it is in a redacted path: the path's own delimiters and the placeholder.
_PATH_SAFE = "/:@!$&'()*+,;=-._~{}"

_OTHER, _LETTER, _DIGIT = 0, 1, 2


#: Combining marks: a reader sees the letter under them (``A\u0301``, the dot ``\u0130`` casefolds
#: to), or nothing (the combining grapheme joiner, variation selectors: U+034F, U+FE0F).
_MARKS = frozenset({"Mn", "Me"})
#: Characters that are not punctuation dashes (``Pd``) but read as the hyphen: the minus signs
#: Unicode's ``Dash`` property lists (U+2212, and the superscript and subscript U+207B, U+208B), its
#: swung dash, the other minus signs (the modifier letter U+02D7, the heavy U+2796), the hyphen
#: bullet U+2043, the horizontal lines U+2500 and U+23AF, the Ogham space mark U+1680, the Coptic
#: dialect hyphen U+2CBB and the long-vowel marks U+30FC and U+FF70 (a redaction too many is safe).
_HYPHEN_LIKE = frozenset("\u2212\u207b\u208b\u2053\u02d7\u2796\u2043\u2500\u23af\u1680\u2cbb\u30fc\uff70")


def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    category = unicodedata.category(ch)
    if category == "Cf" or category in _MARKS or INVISIBLE_RE.match(ch) is not None:
        return ""  # zero-width, soft hyphens, marks, fillers, unassigned tags: a reader sees nothing
    if category == "Pd" or ch in _HYPHEN_LIKE:  # a dash of any kind (U+2013, U+2212) reads as the hyphen
        return "-"
    digit = unicodedata.decimal(ch, -1)
    if digit >= 0:  # a digit of any script (U+0669): the number ``int()`` and Werkzeug's int read
        return str(digit)
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())
    if folded.isascii():
        return folded
    # Without the marks its decomposition leaves (``é`` is ``e``, ``\u0130`` is ``i``): redacting
    # too much costs nothing, and ``renee`` in a path is ``renée`` to a reader.
    return "".join(c for c in folded if unicodedata.category(c) not in _MARKS)


def _fold(text: str) -> tuple[str, list[int] | None]:
    """``text`` as compared, and the index in ``text`` of each folded character (``None``: the same)."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    where: list[int] = []
    for index, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        where.extend([index] * len(folded))
    return "".join(out), where


def _folded_ids(ids: Iterable[str]) -> list[str] | None:
    """Every id as compared, with e-mail local parts, longest first, without duplicates; ``None``
    when folding them would cost over :data:`_FOLD_BUDGET` (thousands of long non-ASCII ids a
    response named: a step each character, for fields that would be redacted whole anyway)."""
    values = {value for value in ids if isinstance(value, str) and value}
    if sum(len(value) for value in values if not value.isascii()) > _FOLD_BUDGET:
        return None
    found: set[str] = set()
    for value in values:
        folded = _fold(value)[0]
        if folded:
            found.add(folded)
        if _UUID.fullmatch(folded):  # a UUID is the same id with or without its dashes
            bare = folded.replace("-", "")
            found.update((bare, "-".join((bare[:8], bare[8:12], bare[12:16], bare[16:20], bare[20:]))))
        local, at, _ = folded.rpartition("@")
        if at and local:
            found.add(local)
    return sorted(found, key=lambda s: (-len(s), s))


def _word(ch: str) -> bool:
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def _class(ch: str) -> int:
    if ch.isdigit():
        return _DIGIT
    if ch.isalpha() or unicodedata.category(ch).startswith("M"):
        return _LETTER
    return _OTHER


def _joined(a: str, b: str, by_class: bool) -> bool:
    """Would ``a`` and ``b`` side by side be one token? (then a short id there is not the id)"""
    if by_class:
        kind = _class(a)
        return kind != _OTHER and kind == _class(b)
    return _word(a) and _word(b)


def _spans(text: str, ids: list[str], by_class: bool) -> list[tuple[int, int]]:
    """Where in ``text`` (folded) each id occurs, merged into disjoint ``(start, end)`` spans.

    Overlapping occurrences of many ids (``aaaa``, ``aaaaa``... in ``/aaaa...``) could number
    the square of the text's length: past a few per character, the whole text is one span."""
    found: list[tuple[int, int]] = []
    size = len(text)
    limit = _SPANS_PER_CHAR * size + _SHORT
    for ident in ids:
        short = len(ident) <= _SHORT
        numeric = short and ident.isascii() and ident.isdigit()
        zeros_from = zeros_to = -1  # the run of zeros walked last: text[zeros_from:zeros_to]
        start = text.find(ident)
        while start >= 0:
            end = start + len(ident)
            if not short:
                found.append((start, end))
            else:
                first = start
                if numeric:  # leading zeros, each walked once (a path of zeros and the id 0)
                    while first > 0 and text[first - 1] == "0":
                        if first == zeros_to:
                            first = zeros_from
                            break
                        first -= 1
                    zeros_from, zeros_to = first, start
                before = first > 0 and _joined(text[first - 1], ident[0], by_class)
                after = end < size and _joined(ident[-1], text[end], by_class)
                if not before and not after:
                    found.append((first, end))
            if len(found) > limit:
                return [(0, size)]  # (redacting too much costs nothing; time must stay linear)
            start = text.find(ident, start + 1)
    if not found:
        return found
    found.sort()
    merged = [found[0]]
    for start, end in found[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def _holds(text: str, ids: list[str], by_class: bool = False) -> bool:
    return bool(_spans(_fold(text)[0], ids, by_class))


def _unquote_once(text: str) -> str:
    decoded = unquote(text) if "%" in text else text
    if not decoded.isascii() and max(decoded) <= "\xff":
        try:  # a WSGI path: UTF-8 bytes carried as Latin-1 (PEP 3333), as the framework reads them
            decoded = decoded.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            pass
    return decoded


def _lenient_utf8(text: str) -> str | None:
    """A text of Latin-1 characters read as UTF-8 with its bad bytes replaced, where that reads
    otherwise than the strict decoding :func:`_unquote_once` tried; else ``None``."""
    if text.isascii() or max(text) > "\xff":
        return None
    lenient = text.encode("latin-1").decode("utf-8", "replace")
    return lenient if lenient != text else None


def redact_fields(path: str, request_id: str | None, ids: Iterable[str]) -> tuple[str, str | None]:
    """An event's path and request id, with the ids folded once for both
    (:func:`redact_path`, :func:`safe_request_id`)."""
    known = _folded_ids(ids)
    return _redact_path(path, known), _safe_request_id(request_id, known)


def redact_path(path: str, ids: Iterable[str]) -> str:
    """The path for an event, with every id in ``ids`` replaced by ``{id}`` (see the module docstring).

    Unchanged when it holds none of them; otherwise the decoded path with the ids replaced,
    percent-encoded again; ``{redacted}`` when that can't be done safely.
    """
    return _redact_path(path, _folded_ids(ids))


def _decoded_forms(path: str) -> tuple[list[str], bool]:
    """The path as written and each percent-decoding of it, until it is stable (four rounds at
    most), and whether it is (``False``: it still decodes after four)."""
    forms = [path]
    for _ in range(_DECODE_ROUNDS):
        step = _unquote_once(forms[-1])
        if step == forms[-1]:
            return forms, True
        forms.append(step)
    return forms, _unquote_once(forms[-1]) == forms[-1]


def _with_legacy_escapes(forms: list[str]) -> list[str]:
    """The forms, and each one's percent-escapes read as windows-1252: an escape of a byte that is
    not UTF-8 reads so to a reader too (a legacy form's Latin-1 URL: ``ren%E9e`` is ``renée``),
    where ``unquote()`` reads U+FFFD."""
    readings = list(forms)
    for form in forms:
        if "%" in form:
            legacy = unquote(form, encoding="cp1252", errors="replace")
            if legacy not in readings:
                readings.append(legacy)
    return readings


def _redact_path(path: str, known: list[str] | None) -> str:
    if path == "/":
        return path
    if known is None:
        return REDACTED  # (too many ids to fold: the path is not searched)
    if not known:
        return path
    forms, settled = _decoded_forms(path)
    if not settled:
        return REDACTED  # still encoded after four rounds: nobody writes that for a reason
    decoded = forms[-1]
    forms = _with_legacy_escapes(forms)
    # A WSGI path that is not UTF-8 throughout stays Latin-1 above; its framework reads the UTF-8
    # in it (Werkzeug replaces the bad bytes): an id there must not pass as mojibake (``renÃ©e``).
    # Each form's lenient reading, and that reading's own (mojibake of mojibake): an explicit loop
    # over a list it grows. Each reading is shorter than the one before, or holds a U+FFFD (read no
    # further), and a round halves the bytes: a handful of rounds at most.
    index = 0
    while index < len(forms):
        lenient = _lenient_utf8(forms[index])
        if lenient is not None:
            forms.append(lenient)
        index += 1
    folded, where = _fold(decoded)
    if _costly(max(len(path), len(folded)), known):
        return REDACTED
    spans = _spans(folded, known, False)
    if not spans:
        return REDACTED if any(_holds(form, known) for form in forms) else path
    if spans == [(0, len(folded))]:
        return REDACTED  # ids all over it (or the path is one)
    out: list[str] = []
    position = 0
    for start, end in spans:
        if where is not None:
            start, end = where[start], where[end - 1] + 1
        if start < position:  # two folded spans inside one character
            start = position
        out.append(decoded[position:start])
        out.append(PLACEHOLDER)
        position = max(position, end)
    out.append(decoded[position:])
    redacted = quote("".join(out), safe=_PATH_SAFE)
    if _holds(redacted, known) or _holds(unquote(redacted), known):
        return REDACTED  # the placeholder and its neighbours spell an id again
    return redacted


def safe_request_id(value: str | None, ids: Iterable[str]) -> str | None:
    """The client's request id, if it is a plain token and holds none of ``ids``; else ``None``."""
    return _safe_request_id(value, _folded_ids(ids))


def _safe_request_id(value: str | None, known: list[str] | None) -> str | None:
    if value is None or known is None or not _REQUEST_ID.fullmatch(value):
        return None
    if known and (_costly(len(value), known) or _spans(value.lower(), known, True)):
        return None
    return value


#: Texts an event's path and request id may be tried as a bound id: more, and both fields go.
_MAX_CANDIDATES = 512


def id_candidates(path: str, request_id: str | None) -> list[str] | None:
    """Every text in an event's path and request id that may be an id a reader sees, for ids
    known only by their hashes (a binding's: a drifted browser's user): each run of a path
    segment from one delimiter (any character but a letter or a digit) to another, in the path as
    written and decoded, and the same of the request id, also cut between letters and digits;
    each as written and lower-cased. ``None``: more than :data:`_MAX_CANDIDATES` (the fields are
    dropped, unsearched)."""
    forms = _with_legacy_escapes(_decoded_forms(path)[0])
    found: set[str] = set()
    texts = [(segment, False) for form in forms for segment in form.split("/") if segment]
    if request_id:
        texts.append((request_id, True))
    for text, letters_and_digits in texts:
        cuts = [0]
        cuts.extend(i for i in range(1, len(text)) if _is_cut(text, i, letters_and_digits))
        cuts.append(len(text))
        if len(cuts) * len(cuts) > 2 * _MAX_CANDIDATES:
            return None
        delimiters = "".join({c for c in text if not c.isalnum()})
        for a in range(len(cuts)):
            for b in range(a + 1, len(cuts)):
                run = text[cuts[a] : cuts[b]].strip(delimiters)
                if run:
                    found.add(run)
                    found.add(run.lower())
        if len(found) > 2 * _MAX_CANDIDATES:
            return None
    return sorted(found)


def _is_cut(text: str, i: int, letters_and_digits: bool) -> bool:
    """Is there a boundary between ``text[i - 1]`` and ``text[i]``?"""
    before, after = text[i - 1], text[i]
    if not before.isalnum() or not after.isalnum():
        return True
    return letters_and_digits and before.isdigit() != after.isdigit()


def _costly(size: int, ids: list[str]) -> bool:
    """Would searching a text of ``size`` characters for every id cost over the budget?"""
    return size * sum(len(ident) for ident in ids) > _SEARCH_BUDGET


__all__ = ["PLACEHOLDER", "REDACTED", "id_candidates", "redact_fields", "redact_path", "safe_request_id"]
