"""The write check: read a write's body once, parse it as the framework will, and decide.

The adapters call :func:`check_asgi_write` / :func:`check_wsgi_write` before the app runs;
the Flask extension and the Starlette helpers call :func:`check_named` where the app's own
login has run. Bodies are parsed with the parsers the frameworks use: python-multipart as
Starlette drives it on ASGI, Werkzeug's form parser on WSGI (python-multipart where Werkzeug
is not installed). Both are imported inside the functions that need them, never when the
core is imported. Every parse is linear in the body (streaming parsers, one pass each), and
anything two readers could read differently is refused (:class:`~respguard._inbound.Ambiguous`).

What the rules read is in :mod:`respguard._inbound`; the decision (requester, binding,
policy, event) is the exchange's ``check_write``.
"""

from __future__ import annotations

import binascii
import functools
import io
import json
import quopri
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from email.message import Message as HeaderMessage
from email.utils import collapse_rfc2231_value, unquote
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

from ._encoding import python_codec, reads_ascii
from ._events import EventKind
from ._inbound import (
    NO_JSON,
    REPEATED,
    Ambiguous,
    FormOwner,
    InboundError,
    JsonBodyOwner,
    Named,
    QueryOwner,
    TooLarge,
    named_owners,
    named_texts,
)

if TYPE_CHECKING:
    from ._exchange import Exchange
    from ._guard import Guard
    from ._verdict import Verdict

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: Scope / environ key of the :class:`WriteCheck` of a request whose check waits for the app.
WRITE_KEY = "respguard.write"
#: Scope / environ key an in-app integration sets to ``"app"``: the app checks writes after its login.
WRITE_CHECK_KEY = "respguard.write_check"

MALFORMED_JSON = "malformed JSON request body"
MALFORMED_FORM = "malformed form body"
NO_FORM_PARSER = "no form parser installed"
REPEATED_TYPE = "repeated Content-Type on a write"
AMBIGUOUS_NAME = "ambiguous multipart field name"
TRANSFER_ENCODED = "multipart part with a transfer encoding"
CHARSET_FORM = "form read otherwise in its charset"
CHARSET_QUERY = "query read otherwise in the request's charset"
TOO_MANY_FIELDS = "form with too many fields"
LONG_TYPE = "Content-Type too long on a write"
WILDCARD_TYPE = "wildcard Content-Type on a write"
#: The longest Content-Type a write may have for respguard to read it (real clients send fewer than
#: 200 characters): ``email.message``'s parameter parser, which Django's ``parse_header_parameters``
#: (and so the check's reading of it) is, is quadratic in a value's semicolons. Past it the write is
#: refused before anything parses the type.
MAX_CONTENT_TYPE = 4096
#: Fields (or parts) a form may have for respguard to read it: ten times what the frameworks take by
#: default (Starlette's ``max_fields``/``max_files``, Werkzeug's ``max_form_parts``, Django's
#: ``DATA_UPLOAD_MAX_NUMBER_FIELDS``: 1000), which refuse more; past it the form is refused unread.
MAX_FORM_FIELDS = 10_000
UNREADABLE = "write could not be read"

_FORM = 1
_JSON = 2  # a JSON type, or no type: FastAPI and Starlette parse it as JSON
_SNIFF = 3  # any other type: read as JSON where it opens like JSON (Flask's get_json(force=True))
_WILDCARD = 4  # a type with a ``*`` (``multipart/*``, ``*/*``): DRF picks a parser for it; refused
_SKIP = 0

#: Bytes that may come before a JSON document's first ``{`` or ``[``: JSON white space,
#: byte-order-mark bytes and the zero bytes of UTF-16/32 (``json.loads(bytes)`` detects those).
_JSON_LEAD = frozenset(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff")


class WriteCheck:
    """A write whose decision waits for the app's login (in-app mode).

    ``owners`` are what the middleware's parse found; ``body_read`` says the body was read
    (and is replayed), so the in-app check may read the framework's parse of it cheaply.
    """

    __slots__ = ("owners", "body_read", "checked", "decided", "requester")

    def __init__(self, owners: list[tuple[str, str]], body_read: bool) -> None:
        self.owners = owners
        self.body_read = body_read
        self.checked = False
        #: the middleware decided already (it knew a requester): the app re-decides only on news
        self.decided = False
        self.requester: object = None  # whom the middleware decided for


# ------------------------------------------------------------------ what to read


def _media(content_type: str) -> str:
    """The media type as Django reads it (``parse_header_parameters``: ``line.strip().lower()``, or
    ``email.message``'s first parameter, its name before any ``=``): Python white space stripped
    (``\\xa0``, ``\\x85``, ``\\x1c``..``\\x1f``, ``\\x0b``: legal obs-text or control bytes a client
    may send), and ``application/x-www-form-urlencoded=1`` the form type. A superset of
    Starlette's and Werkzeug's reading (spaces and tabs), which parse no form there: a Django app
    under the generic middleware does (``request.POST``)."""
    return content_type.split(";", 1)[0].split("=", 1)[0].strip().lower()


def _form_type(content_type: str) -> str:
    """``content_type`` with its media type as :func:`_media` reads it, for the form parsers (which
    read ``multipart/form-data\\x0b`` as no form at all): the parameters are kept as sent."""
    cut = content_type.find(";")
    return _media(content_type) + ("" if cut < 0 else content_type[cut:])


class _Rules:
    """What a guard's inbound rules read, worked out once per rule list."""

    __slots__ = ("forms", "form_names", "keys", "decoder")

    def __init__(self, rules: tuple[Any, ...]) -> None:
        self.forms = any(isinstance(rule, FormOwner) for rule in rules)
        self.form_names = frozenset(name for rule in rules if isinstance(rule, FormOwner) for name in rule.names)
        keys: set[str] = set()
        for rule in rules:
            if isinstance(rule, JsonBodyOwner):
                keys.update(rule.names)
        self.keys = frozenset(keys)
        owner_keys = self.keys

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            document = dict(items)
            if len(document) != len(items) and any(sum(1 for k, _ in items if k == key) > 1 for key in owner_keys):
                raise Ambiguous(REPEATED)
            return document

        self.decoder = json.JSONDecoder(object_pairs_hook=pairs)


_RULES: dict[tuple[Any, ...], _Rules] = {}


def rules_of(guard: Guard) -> _Rules:
    rules = guard.inbound
    found = _RULES.get(rules)
    if found is None:
        if len(_RULES) >= 64:
            _RULES.clear()
        found = _RULES[rules] = _Rules(rules)
    return found


def body_plan(guard: Guard, content_type: str | None) -> int:
    """How the write check reads this body: not at all, as a form, as JSON, or sniffed for JSON."""
    info = rules_of(guard)
    forms = info.forms
    keys = bool(info.keys)
    media = _media(content_type or "")
    if "*" in media and (forms or keys):
        # DRF's parser negotiation matches a ``*`` in the request's type: ``*/x-www-form-urlencoded``
        # is a form to it, ``*/*; charset=utf-7`` JSON in UTF-7; read whole (for the redaction)
        return _WILDCARD
    if media in ("multipart/form-data", "application/x-www-form-urlencoded"):
        if forms:
            return _FORM
        return _SNIFF if keys else _SKIP
    if not keys:
        return _SKIP
    if not media or media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return _JSON
    return _SNIFF


#: JSON read with every repeated key kept: objects as tuples of ``(key, value)`` pairs.
_LENIENT = json.JSONDecoder(object_pairs_hook=tuple)


def opens_like_json(data: bytes) -> bool | None:
    """Could a document starting with ``data`` hold an object or array? ``None``: can't tell yet."""
    for byte in data:
        if byte not in _JSON_LEAD:
            return byte in (0x7B, 0x5B)  # { or [
    return None


def json_keys(guard: Guard) -> frozenset[str]:
    return rules_of(guard).keys


def json_document(body: bytes, keys: frozenset[str] | Guard, strict: bool, charset: str | None = None) -> object:
    """``json.loads(body)`` as Flask and Starlette call it (bytes: UTF-8/16/32 detected).

    A blank body is no document. A body that does not parse raises :class:`InboundError`
    when ``strict`` (a JSON type), else is no document. An owner key (of ``keys``, or of a
    guard's rules) given twice in one object is :class:`Ambiguous` (parsers keep the first or
    the last). ``charset``: the body is also read as decoded in it (DRF's ``JSONParser``
    decodes the request's charset); where that reading is another document, both are the
    document (a list of the two: every owner either names is read).
    """
    if not body.strip():
        return NO_JSON
    decoder = _Rules((JsonBodyOwner(*keys),)).decoder if isinstance(keys, frozenset) else rules_of(keys).decoder
    try:
        text: str | None = body.decode(json.detect_encoding(body), "surrogatepass")
    except UnicodeDecodeError as exc:  # json.loads raises it (a ValueError)
        if strict:
            raise InboundError(MALFORMED_JSON) from exc
        text = None
    document = NO_JSON if text is None else _parse_json(decoder, text, strict)
    declared = _declared_text(body, charset)
    if declared is None or declared == text:
        return document
    other = _parse_json(decoder, declared, False)  # no reading of it: that reader answers 400
    if other is NO_JSON:
        return document
    return other if document is NO_JSON else [document, other]


def _declared_text(body: bytes, charset: str | None) -> str | None:
    """The body decoded in a declared charset, as DRF decodes it (a text codec, strictly)."""
    codec = python_codec(charset)
    if codec is None:
        return None
    try:
        return body.decode(codec)
    except UnicodeError:  # bad bytes
        return None


def _parse_json(decoder: json.JSONDecoder, text: str, strict: bool) -> object:
    try:
        return decoder.decode(text)  # json.loads(bytes)
    except Ambiguous as ambiguous:
        try:  # every repeat kept, for the event's redaction (the refusal stands either way)
            ambiguous.document = _LENIENT.decode(text)
        except (ValueError, RecursionError):
            pass
        raise
    except (ValueError, RecursionError) as exc:
        if strict:
            raise InboundError(MALFORMED_JSON) from exc
        return NO_JSON


def named_json(
    named: Named, body: bytes, keys: frozenset[str] | Guard, strict: bool, charset: str | None = None
) -> object:
    """:func:`json_document` of the body of a write the framework parsed as ``named`` (its path,
    query and form). Where the document is :class:`Ambiguous`, the refusal carries ``named``, with
    the document read leniently: its event redacts the ids the query and form name too, not only
    the document's (every framework's parse comes this one way)."""
    try:
        return json_document(body, keys, strict, charset)
    except Ambiguous as ambiguous:
        named.json = ambiguous.document
        ambiguous.named = named
        raise


# ------------------------------------------------------------------ form parsers


def _disposition_is_plain(disposition: bytes | str) -> bool:
    """One plain ``name=`` parameter: no ``name*=`` (RFC 2231), no other spelling of it, no repeat.

    Readers disagree on those: python-multipart ignores ``name*``, Werkzeug decodes it.
    """
    text = disposition.decode("latin-1") if isinstance(disposition, bytes) else disposition
    names = 0
    quoted = False
    escaped = False
    start = 0
    segments: list[str] = []
    for index, char in enumerate(text):  # split on ; outside quotes, in one pass
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            segments.append(text[start:index])
            start = index + 1
    segments.append(text[start:])
    for segment in segments[1:]:
        key = segment.split("=", 1)[0]
        folded = key.strip(" \t").lower().rstrip("*0123456789")
        if folded == "name":
            names += 1
            if key.strip(" \t") != "name" or key.rstrip(" \t") != key:
                return False
            if not _plain_value(segment[len(key) + 1 :].strip(" \t")):
                return False
    return names <= 1


#: The transfer encodings that leave a part's bytes as sent (RFC 2045's identities).
_IDENTITY_CODINGS = frozenset(("", "7bit", "8bit", "binary"))


def _check_part(name: str, codings: Sequence[str], owners: frozenset[str] | None) -> None:
    """A part whose name, as Django reads it (``disposition["name"].strip()``: ASCII white space
    stripped from the bytes in Django 5.2; Python's ``str.strip()`` here, a superset that refuses
    ``customer_id\xa0`` too), is an owner field's (of ``owners``; ``None``: every name is), read alike by every
    reader. Its ``Content-Transfer-Encoding`` headers: Django decodes a ``base64`` field (an
    attacker whose username is ``Ym9i`` names bob), Werkzeug and python-multipart read it as sent;
    RFC 7578 deprecates the header and browsers never send it: any coding but an identity, or two
    headers, is refused. White space around its name (``" customer_id"``, a tab, ``\\x0b``):
    Django strips it, Werkzeug and python-multipart keep it. Any other part (a base64 file a
    JavaMail client sends, ``name="Vorname "``) is read as sent: no owner is in it to any reader."""
    stripped = name.strip()
    if owners is not None and stripped not in owners:
        return
    if codings and (len(codings) > 1 or codings[0].strip().lower() not in _IDENTITY_CODINGS):
        raise Ambiguous(TRANSFER_ENCODED)
    if name != stripped:
        raise Ambiguous(AMBIGUOUS_NAME)


def _refuse_many_fields(body: bytes, boundary: bytes | None) -> int:
    """Refuse a form of more than :data:`MAX_FORM_FIELDS` fields before it is parsed: a parser
    costs a few microseconds a field (python-multipart's callbacks in Python), and 4 MiB of
    ``a&a&a...`` is two million fields (4.5 s), where Starlette stops at its thousandth. Counted
    from above: every ``&`` or ``;`` of an urlencoded body, every delimiter of a multipart one
    (the count, returned)."""
    if boundary is None:
        count = body.count(b"&") + body.count(b";")
    else:
        count = body.count(b"--" + boundary)
    if count > MAX_FORM_FIELDS:
        raise InboundError(TOO_MANY_FIELDS)
    return count


#: A parameter value every reader takes alike: a token, or one quoted string whose only escapes
#: are ``\\"`` and ``\\\\`` (Werkzeug drops the backslash of any other, python-multipart keeps it;
#: text after the closing quote, or a quote inside a token, is dropped by one and kept by the other).
#: A token is Werkzeug's (RFC 9110's ``tchar``): python-multipart reads an unquoted value to the
#: ``;``, Werkzeug to its first other character (``name=customer_id,x`` is ``customer_id`` to it).
_PLAIN_VALUE = re.compile(r'[\w!#$%&\'*+\-.^`|~]*|"(?:[^"\\]|\\["\\])*"', re.ASCII)


def _plain_value(value: str) -> bool:
    return _PLAIN_VALUE.fullmatch(value) is not None


def _werkzeug_boundary(content_type: str) -> bytes | None:
    """The boundary Werkzeug's form parser reads from this Content-Type (``b""``: none);
    ``None`` where Werkzeug is not installed."""
    # (``werkzeug.http.parse_options_header`` by its module: mypyc binds a name a function
    # imports as a module global, and python-multipart's function of the same name is the
    # form parser's)
    try:
        import werkzeug.http
    except ImportError:  # pragma: no cover - Werkzeug not installed
        return None
    return werkzeug.http.parse_options_header(content_type)[1].get("boundary", "").encode("latin-1", "replace")


#: The boundaries Django's ``MultiPartParser`` takes (``boundary_re``, matched at the start).
_DJANGO_BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")


def _django_boundary(content_type: str) -> bytes | None:
    """The boundary Django's form parser reads from this Content-Type (:func:`_django_params`:
    ``email.message``'s parameters, RFC 2231 continuations joined, the last ``boundary`` kept, a
    value up to the next ``;``); ``None`` where Django refuses the body (none, an invalid one):
    nothing is written there."""
    found = _django_params(content_type).get("boundary")
    if not found or not _DJANGO_BOUNDARY.match(found):
        return None
    return found.encode("latin-1", "replace")


@functools.lru_cache(maxsize=64)
def _django_params(content_type: str | None) -> Mapping[str, str]:
    """The Content-Type's parameters as Django's ``parse_header_parameters`` reads them (the
    boundary ``MultiPartParser`` cuts at; the charset of ``request.encoding``, which DRF's parsers
    and Django's ``QueryDict`` and ``MultiPartParser`` decode in): ``email.message``'s
    ``get_params()`` (names lowered, values unquoted, RFC 2231 continuations joined, its parameters
    after the plain ones), the last of a name kept, an RFC 2231 value collapsed in its charset
    (``collapse_rfc2231_value``: the text as sent where no codec reads it, as Django 4.2 reads it;
    5.2 answers 400 there). Called only on a Content-Type of at most :data:`MAX_CONTENT_TYPE`;
    read once a Content-Type (a write's charset and boundary are asked for four times or so)."""
    found: dict[str, str] = {}
    if not content_type or ";" not in content_type:
        return found
    message = HeaderMessage()
    message["content-type"] = content_type
    # (``Any``: typeshed types a value as ``str``, and mypyc would check it is one; an RFC 2231
    # value is a tuple)
    params: list[tuple[str, Any]] = message.get_params() or []
    for name, value in params[1:]:
        if not name:
            continue
        if isinstance(value, tuple):
            if value[0] and python_codec(value[0]) is None:  # (a NUL in it: str() raises ValueError)
                found[name] = unquote(value[2])
                continue
            value = collapse_rfc2231_value(value)
        found[name] = value
    return found


def parse_form_python_multipart(
    content_type: str, body: bytes, owners: frozenset[str] | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """(fields, file field names) as Starlette's ``Request.form()`` reads them, with python-multipart;
    ``owners``: the owner fields' names, whose parts every reader must read alike (``None``: all)."""
    try:
        import python_multipart
        from python_multipart.exceptions import FormParserError
        from python_multipart.multipart import parse_options_header
    except ImportError as exc:  # pragma: no cover - python-multipart not installed
        raise InboundError(NO_FORM_PARSER) from exc
    media, params = parse_options_header(content_type)
    fields: list[tuple[str, str]] = []
    files: list[str] = []
    try:
        if media == b"application/x-www-form-urlencoded":
            _refuse_many_fields(body, None)
            name = bytearray()
            value = bytearray()

            def field_start() -> None:
                name.clear()
                value.clear()

            def field_name(data: bytes, start: int, end: int) -> None:
                name.extend(data[start:end])

            def field_data(data: bytes, start: int, end: int) -> None:
                value.extend(data[start:end])

            def field_end() -> None:
                fields.append((unquote_plus(name.decode("latin-1")), unquote_plus(value.decode("latin-1"))))

            query = python_multipart.QuerystringParser(
                {
                    "on_field_start": field_start,
                    "on_field_name": field_name,
                    "on_field_data": field_data,
                    "on_field_end": field_end,
                }
            )
            query.write(body)
            query.finalize()
            return fields, files
        charset = python_codec(params.get(b"charset", b"utf-8").decode("latin-1")) or "latin-1"
        if reads_ascii(charset) is not True or _hides_ascii(_charset_of(content_type)):
            # Starlette decodes names and values in it (utf-16: "owner_id" is four other letters),
            # and Django in its own reading of it (the last ``charset``, RFC 2231's ``charset*=``);
            # Werkzeug, which a Flask app mounted in the ASGI app reads with, does not
            raise Ambiguous(AMBIGUOUS_NAME)
        boundary = params.get(b"boundary")
        if not boundary:
            raise InboundError(MALFORMED_FORM)
        if _werkzeug_boundary(content_type) not in (None, boundary) or _django_boundary(content_type) not in (
            None,
            boundary,
        ):
            # ``boundary=A,B``, ``boundary=A B``, ``boundary="A"B``: Werkzeug (a Flask app mounted
            # in the ASGI app) cuts the body at another delimiter (``--A``) than python-multipart
            raise Ambiguous(AMBIGUOUS_NAME)
        delimiters = _refuse_many_fields(body, boundary)
        _refuse_django_header_lines(body, boundary)  # (a Django app under the ASGI middleware)
        header_name = bytearray()
        header_value = bytearray()
        part: dict[str, Any] = {}
        parts = [0, 0]  # how many parts python-multipart began, and ended

        def decode(data: bytes | bytearray) -> str:
            try:
                return data.decode(charset)
            except (UnicodeDecodeError, LookupError):
                return data.decode("latin-1")

        def part_begin() -> None:
            parts[0] += 1
            part.clear()
            part["data"] = bytearray()
            part["disposition"] = None
            part["codings"] = []

        def part_data(data: bytes, start: int, end: int) -> None:
            if not part.get("file"):
                part["data"].extend(data[start:end])

        def part_end() -> None:
            parts[1] += 1
            if part.get("file"):
                files.append(part["name"])
            else:
                fields.append((part["name"], decode(part["data"])))

        def header_field(data: bytes, start: int, end: int) -> None:
            header_name.extend(data[start:end])

        def header_data(data: bytes, start: int, end: int) -> None:
            header_value.extend(data[start:end])

        def header_end() -> None:
            if header_name.lower() == b"content-disposition":
                if part["disposition"] is not None:
                    raise Ambiguous(AMBIGUOUS_NAME)
                part["disposition"] = bytes(header_value)
            elif header_name.lower() == b"content-transfer-encoding":
                part["codings"].append(header_value.decode("latin-1"))
            header_name.clear()
            header_value.clear()

        def headers_finished() -> None:
            disposition = part["disposition"]
            if disposition is None or not _disposition_is_plain(disposition):
                raise Ambiguous(AMBIGUOUS_NAME)
            _, options = parse_options_header(disposition)
            if b"name" not in options:
                raise InboundError(MALFORMED_FORM)  # Starlette answers 400
            part["name"] = decode(options[b"name"])
            _check_part(part["name"], part["codings"], owners)
            part["file"] = b"filename" in options

        parser = python_multipart.MultipartParser(
            boundary,
            {
                "on_part_begin": part_begin,
                "on_part_data": part_data,
                "on_part_end": part_end,
                "on_header_field": header_field,
                "on_header_value": header_data,
                "on_header_end": header_end,
                "on_headers_finished": headers_finished,
            },
        )
        parser.write(body)
        parser.finalize()
        if parts[1] != parts[0] or delimiters != parts[0] + 1:
            # ``--boundary`` inside a part, its preamble or epilogue, where python-multipart saw no
            # delimiter, or a last part it dropped unended: Werkzeug (a Flask app mounted in the
            # ASGI app) may read a part there (after a bare CR or LF: ``\n--XyZ``, ``--XyZ\r``;
            # right after a part's blank line; closed by ``\n--XyZ--``)
            raise Ambiguous(AMBIGUOUS_NAME)
    except FormParserError as malformed:
        raise InboundError(MALFORMED_FORM) from malformed
    return fields, files


def _hides_ascii(charset: str | None) -> bool:
    """Does a multipart body's ``charset`` parameter name a codec that reads ASCII as other text
    (UTF-16/32, EBCDIC)? An unknown label: no (Django answers it with an error, nothing is written)."""
    name = python_codec(charset)
    return name is not None and reads_ascii(name) is not True


def _refuse_django_header_lines(body: bytes, boundary: bytes) -> None:
    """Refuse a part whose header lines Django cuts otherwise than Werkzeug. Django reads a part's
    headers up to its first CRLF CRLF, one line per CRLF, each line stripped (``str.strip()``:
    ``\\x0b``, ``\\x0c``, ``\\x1c``..``\\x1f``, U+0085, U+00A0, U+3000...) before the header name is
    cut at ``:``, the last ``Content-Disposition`` kept; Werkzeug ends the headers at a blank line of
    any line break (``\\n\\n``), cuts lines at a bare CR or LF too, folds a line led by a space or
    a tab into the header before, and strips spaces and tabs only. So a header line led by white
    space (``\\x0bContent-Disposition: form-data; name="customer_id"``, or a folded one) or a bare CR
    or LF in a part's header block is a header to Django that Werkzeug reads otherwise: refused.
    Every part (its block runs from a delimiter to its CRLF CRLF, within the text before the next
    delimiter, as Django cuts it): linear. A part without a CRLF CRLF has no headers to Django.
    So are a delimiter Werkzeug takes for no delimiter (``--XyZ Content-Disposition: ...``: text on
    its line) and a header block in the preamble or after the close, which Django reads as a part
    and Werkzeug never reads."""
    delimiter = b"--" + boundary
    at = body.find(delimiter)
    if at > 0 and _django_reads_a_part(body, 0, at):
        raise Ambiguous(AMBIGUOUS_NAME)  # a part in the preamble, to Django
    closed = False  # past the close: Werkzeug reads nothing more, Django every part after it
    while at >= 0:
        start = at + len(delimiter)
        at = body.find(delimiter, start)
        stop = len(body) if at < 0 else at
        # Django cuts at the boundary wherever it stands; Werkzeug only where the rest of the line
        # is white space (or "--" and white space: the close, after which it reads nothing).
        line_end = body.find(b"\r\n", start, stop)
        rest = body[start : stop if line_end < 0 else line_end]
        closed = closed or rest[:2] == b"--"
        if closed or rest.strip(b" \t"):
            if _django_reads_a_part(body, start, stop):
                raise Ambiguous(AMBIGUOUS_NAME)  # a part Werkzeug never reads, to Django
            continue
        end = body.find(b"\r\n\r\n", start, stop)
        if end < 0:
            continue
        block = body[start:end]
        breaks = block.count(b"\r\n")
        if block.count(b"\r") != breaks or block.count(b"\n") != breaks:
            raise Ambiguous(AMBIGUOUS_NAME)  # a bare CR or LF
        for line in block.split(b"\r\n")[1:]:  # (the first is the delimiter line's rest)
            if line[:4].decode("utf-8", "replace")[:1].isspace():
                raise Ambiguous(AMBIGUOUS_NAME)


def _django_reads_a_part(body: bytes, start: int, stop: int) -> bool:
    """Does Django read a part from ``body[start:stop]`` (text its boundary cuts out): a header
    block, to its first CRLF CRLF, with a ``Content-Disposition`` line (stripped, any case, as
    ``parse_boundary_stream`` reads it)? A preamble of prose, an epilogue, blank lines: no part."""
    end = body.find(b"\r\n\r\n", start, stop)
    if end < 0:
        return False
    for line in body[start:end].split(b"\r\n"):
        if line.decode("utf-8", "replace").strip().lower().startswith("content-disposition"):
            return True
    return False


def parse_form_werkzeug(
    content_type: str, body: bytes, owners: frozenset[str] | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """(fields, file field names) as Flask's ``request.form``/``request.files`` read them (Werkzeug);
    ``owners``: the owner fields' names, whose parts every reader must read alike (``None``: all)."""
    try:
        from werkzeug.formparser import MultiPartParser
        from werkzeug.http import parse_options_header as werkzeug_options_header
        from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
    except ImportError:
        return parse_form_python_multipart(content_type, body, owners)
    media, options = werkzeug_options_header(content_type)
    media = media.lower()  # as Werkzeug's Request.mimetype gives it to the form parser
    if media == "application/x-www-form-urlencoded":
        _refuse_many_fields(body, None)
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:  # Werkzeug: a ValueError, read as an empty form
            raise InboundError(MALFORMED_FORM) from exc
        return parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"), []
    boundary = options.get("boundary", "").encode("ascii", "replace")
    if not boundary:
        raise InboundError(MALFORMED_FORM)
    if _django_boundary(content_type) not in (None, boundary):
        # ``boundary*0=A; boundary*1=B; boundary=XyZ``, ``boundary=A (c)``: Django (a Django app
        # under the middleware) cuts the body at another delimiter than Werkzeug
        raise Ambiguous(AMBIGUOUS_NAME)
    if _hides_ascii(_charset_of(content_type)):
        # Django (a Django app under the middleware) decodes names and values in its reading of it
        # (utf-16: "customer_id" is other bytes to Werkzeug, which ignores the request's charset)
        raise Ambiguous(AMBIGUOUS_NAME)
    _refuse_many_fields(body, boundary)
    _refuse_django_header_lines(body, boundary)
    charsets = MultiPartParser()
    decoder = MultipartDecoder(boundary)
    fields: list[tuple[str, str]] = []
    files: list[str] = []
    current: Any = None
    data: list[bytes] = []
    size = 64 * 1024  # Werkzeug's own buffer size: the same chunking as Flask's parse
    try:
        for offset in [*range(0, len(body), size), -1]:
            decoder.receive_data(None if offset < 0 else body[offset : offset + size])
            event = decoder.next_event()
            while not isinstance(event, (Epilogue, NeedData)):
                if isinstance(event, (Field, File)):
                    if event.headers.getlist("content-disposition") != [
                        event.headers.get("content-disposition")
                    ] or not _disposition_is_plain(event.headers.get("content-disposition", "")):
                        raise Ambiguous(AMBIGUOUS_NAME)
                    _check_part(event.name, event.headers.getlist("content-transfer-encoding"), owners)
                    current = event
                    data = []
                elif isinstance(event, Data):
                    if isinstance(current, Field):
                        data.append(event.data)
                    if not event.more_data:
                        if isinstance(current, Field):
                            value = b"".join(data).decode(charsets.get_part_charset(current.headers), "replace")
                            fields.append((current.name, value))
                        elif current is not None:
                            files.append(current.name)
                event = decoder.next_event()
    except Ambiguous:
        raise
    except ValueError as malformed:  # Werkzeug: malformed, read as an empty form
        raise InboundError(MALFORMED_FORM) from malformed
    return fields, files


# ------------------------------------------------------------------ the decision


def _named(
    guard: Guard,
    path: str,
    query: Sequence[tuple[str, object]],
    content_type: str | None,
    body: bytes | None,
    plan: int,
    wsgi: bool,
    raw_query: bytes = b"",
) -> Named:
    """The request as the framework will parse it; raises InboundError/Ambiguous."""
    if content_type is not None and len(content_type) > MAX_CONTENT_TYPE:
        raise InboundError(LONG_TYPE)  # refused unread: its parameters' parser is quadratic
    if plan == _WILDCARD and body:  # (an empty body is no body to any parser: DRF parses nothing)
        wildcard = Ambiguous(WILDCARD_TYPE)
        wildcard.named = _wildcard_named(guard, path, query, content_type, body)
        raise wildcard
    _refuse_charset(guard, path, query, content_type, raw_query, query, False)
    form: Sequence[tuple[str, object]] = ()
    files: Sequence[str] = ()
    if body is not None and content_type is not None and plan == _FORM:
        try:
            parse = parse_form_werkzeug if wsgi else parse_form_python_multipart
            fields, names = parse(_form_type(content_type), body, rules_of(guard).form_names)
        except Ambiguous as ambiguous:  # (which part names the owner depends on the reader)
            ambiguous.named = Named(path, query=query, form=_lenient_form(guard, body, content_type))
            raise
        form, files = fields, names
        if _media(content_type) == "application/x-www-form-urlencoded":
            _refuse_charset(guard, path, query, content_type, body, fields, True)
    named = Named(path, query=query, form=form, files=files)
    if body is not None and rules_of(guard).keys:
        named.json = named_json(named, body, guard, strict=plan == _JSON, charset=_charset_of(content_type))
    return named


def _wildcard_named(
    guard: Guard, path: str, query: Sequence[tuple[str, object]], content_type: str | None, body: bytes
) -> Named:
    """A write under a wildcard type, read for its refusal's event as DRF's parsers could read it:
    every line of it (a multipart part's value), its fields as a form and its document as JSON,
    as UTF-8 and in its declared charset (DRF decodes both in it): an id in any is redacted."""
    names = [min(rule.names) for rule in guard.inbound if isinstance(rule, FormOwner)]
    form: list[tuple[str, object]] = list(_lenient_form(guard, body, content_type))
    documents: list[object] = []
    texts = [body.decode("utf-8", "replace")]
    codec = python_codec(_charset_of(content_type))
    if codec is not None and codec != "utf-8":
        _decode_aligned(body, codec, texts, 1)
    for text in texts:
        if names and text.count("&") + text.count(";") <= MAX_FORM_FIELDS:  # (a form parser's limit)
            for _, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
                form.extend((name, value) for name in names)
        try:
            documents.append(_LENIENT.decode(text.strip()))
        except (ValueError, RecursionError):
            pass
    return Named(path, query=query, form=form, json=documents)


def _refuse_charset(
    guard: Guard,
    path: str,
    query: Sequence[tuple[str, object]],
    content_type: str | None,
    raw: bytes,
    read: Sequence[tuple[str, object]],
    form: bool,
) -> None:
    """``raw`` (an urlencoded body where ``form``, else the query string) read as Django reads it in
    the Content-Type's charset (``QueryDict(raw, encoding=charset)``): DRF's ``FormParser`` reads
    a form so, Django ``request.GET`` (its ``request.encoding`` is the body's charset). Where that
    reading gives the owner fields (of the form's, or the query's rules) other values than ``read``,
    the UTF-8 reading the frameworks make (UTF-16 text, percent-escaped UTF-16 names, UTF-7's
    ``+ACY-``), the write is :class:`Ambiguous`. An ASCII form labelled ``ISO-8859-1`` (Apache
    HttpClient's default) reads alike and runs."""
    codec = _declared_codec(content_type) if raw else None
    declared = None if codec is None else _querydict_pairs(raw, codec)
    if declared is None:
        return
    rule_type = FormOwner if form else QueryOwner
    names = {name for rule in guard.inbound if isinstance(rule, rule_type) for name in rule.names}
    if [pair for pair in read if pair[0] in names] != [pair for pair in declared if pair[0] in names]:
        ambiguous = Ambiguous(CHARSET_FORM if form else CHARSET_QUERY)
        if form:
            ambiguous.named = Named(path, query=query, form=[*read, *declared])
        else:
            ambiguous.named = Named(path, query=[*query, *declared])
        raise ambiguous


def _declared_codec(content_type: str | None) -> str | None:
    """The codec of the Content-Type's ``charset`` where it is a known one but UTF-8, else ``None``."""
    codec = python_codec(_charset_of(content_type))  # (no codec: Django's QueryDict raises, nothing is written)
    return None if codec == "utf-8" else codec


def _querydict_pairs(raw: bytes, codec: str) -> list[tuple[str, str]] | None:
    """``raw`` as Django's ``QueryDict(raw, encoding=codec)`` reads it: decoded in the codec
    (ISO-8859-1 where it can't be), its escapes decoded in it too. ``None``: QueryDict raises."""
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    except (LookupError, UnicodeError, TypeError, ValueError):  # a codec of bytes (bz2_codec)
        return None
    if text.count("&") > MAX_FORM_FIELDS:
        # fields the count from above never saw (UTF-7's ``+ACY-`` is ``&``): Django stops at its
        # thousandth, as the frameworks do
        raise InboundError(TOO_MANY_FIELDS)
    try:
        return parse_qsl(text, keep_blank_values=True, encoding=codec, errors="replace")
    except (LookupError, UnicodeError, TypeError, ValueError):
        return None


def _charset_of(content_type: str | None) -> str | None:
    """The ``charset`` a Content-Type names, as Django reads it into ``request.encoding``
    (:func:`_django_params`: any case, quoted, RFC 2231, the last one), which DRF's ``JSONParser``
    and ``FormParser``, Django's ``QueryDict`` and ``MultiPartParser`` decode in."""
    return _django_params(content_type).get("charset")


#: The longest line of a refused form body its event redacts (an id is far shorter).
_LENIENT_LINE = 320


def _lenient_form(guard: Guard, body: bytes, content_type: str | None = None) -> list[tuple[str, object]]:
    """A form body no two readers parse alike, read for its refusal's event: every line of it
    (each part's value is one, however its name is read; :func:`_body_lines`), under each form
    rule's name, and where a part declares a transfer encoding each line base64- and
    quoted-printable-decoded too (as Django decodes base64): an id in any of them is redacted."""
    names = [min(rule.names) for rule in guard.inbound if isinstance(rule, FormOwner)]
    if not names:
        return []
    lines = _body_lines(body, python_codec(_charset_of(content_type)))
    if _CODING_HEADER.search(body) is not None:
        for line in list(lines):
            for decoded in _transfer_decoded(line):
                lines[decoded] = None
    return [(name, line) for name in names for line in lines]


#: A part header naming a transfer encoding other than the identities (RFC 2045), in any case.
_CODING_HEADER = re.compile(rb"content-transfer-encoding[ \t]*:(?![ \t]*(?:7bit|8bit|binary)[ \t]*\r?$)", re.I | re.M)


def _body_lines(body: bytes, codec: str | None) -> dict[str, None]:
    """Every line of a body of at most :data:`_LENIENT_LINE` characters, once, as sent and stripped:
    read as UTF-8, and in ``codec`` (the charset its Content-Type names: Starlette and Django decode
    a part in it) at each alignment of its code unit (a UTF-16/32 one; a byte). Where the codec reads ASCII otherwise
    (UTF-16, EBCDIC, UTF-7: the framing is ASCII, a part in the charset), each distinct line of its
    bytes is also decoded on its own, at each alignment of its code unit; where it reads ASCII as
    ASCII (``latin-1``, ``shift_jis``), the whole body's reading has those lines already."""
    texts = [body.decode("utf-8", "replace")]
    if codec is not None and codec != "utf-8":
        width = 4 if codec.startswith("utf-32") else 2 if codec.startswith("utf-16") else 1
        _decode_aligned(body, codec, texts, width)
        if reads_ascii(codec) is not True:
            for raw in dict.fromkeys(body.replace(b"\r", b"\n").split(b"\n")):
                if 0 < len(raw) <= 4 * _LENIENT_LINE:
                    _decode_aligned(raw, codec, texts, width)
    lines: dict[str, None] = {}
    for text in texts:
        for line in text.replace("\r", "\n").split("\n"):
            if 0 < len(line) <= _LENIENT_LINE:
                lines[line] = None
    for line in list(lines):
        stripped = line.strip()
        if stripped:
            lines[stripped] = None
    return lines


def _decode_aligned(data: bytes, codec: str, out: list[str], alignments: int = 4) -> None:
    """``data`` decoded in ``codec`` from each of its first ``alignments`` bytes (a UTF-16/32 unit's
    alignment), bad bytes replaced; a codec that can't (``idna``, ``punycode``) adds nothing."""
    for start in range(alignments):
        try:
            out.append(data[start:].decode(codec, "replace"))
        except (LookupError, UnicodeError, TypeError, ValueError):
            return


def _transfer_decoded(line: str) -> list[str]:
    """``line`` as a part's base64 and quoted-printable transfer encodings decode it (where they do)."""
    if not line.isascii():
        return []
    raw = line.encode("ascii")
    found = [quopri.decodestring(raw).decode("utf-8", "replace")]
    try:
        found.append(binascii.a2b_base64(raw).decode("utf-8", "replace"))
    except (binascii.Error, ValueError):
        pass
    return [text.strip() for text in found if text.strip() and text != line]


def _owners(guard: Guard, named: Named) -> list[tuple[str, str]]:
    return named_owners(guard.inbound, named)


def _requester_known_before_app(exchange: Exchange, holder: MutableMapping[str, Any]) -> bool:
    """Does a requester source answer before the app runs (``set_requester`` already, ``requester=``,
    an authentication middleware's ``scope["user"]``)? The exchange's own resolution, so a
    ``requester=`` callable is still asked once a request."""
    try:
        return exchange.resolve_requester() is not None
    except Exception:
        return True  # check_write resolves it again, and fails closed


class Unreadable:
    """A write whose owners could not be read: the refusal (``None`` in report-only mode, where
    the write runs)."""

    __slots__ = ("verdict",)

    def __init__(self, verdict: Verdict | None) -> None:
        self.verdict = verdict


def read_owners(exchange: Exchange, parse: Callable[[], Named]) -> list[tuple[str, str]] | Unreadable:
    """The owners a write names, as the framework parsed it; or its refusal: a value two readers
    could read differently is a cross-owner write, one no reader could read a scan error."""
    named: Named | None = None
    try:
        named = parse()
        return _owners(exchange.guard, named)
    except TooLarge:
        return Unreadable(exchange.inbound_oversize())
    except Ambiguous as ambiguous:  # (one name per clause: mypyc types each one)
        # The ids it names, read leniently, are what its event must not show (a parser that
        # raises sets ``named``: the JSON one through named_json, the form ones in _named).
        source = ambiguous.named or named
        texts = named_texts(exchange.guard.inbound, source) if source is not None else []
        return Unreadable(exchange.refuse(EventKind.CROSS_OWNER_WRITE, str(ambiguous), named=texts))
    except InboundError as unreadable:
        return Unreadable(exchange.refuse(EventKind.SCAN_ERROR, str(unreadable)))
    except Exception:  # a parser failed in a way it does not document: fail closed
        return Unreadable(exchange.refuse(EventKind.SCAN_ERROR, UNREADABLE))


def decide_before_app(
    exchange: Exchange,
    holder: MutableMapping[str, Any],
    parse: Callable[[], Named],
    body_read: bool,
) -> Verdict | None:
    """Parse and decide before the app runs; in in-app mode, a write whose requester only the
    app knows is left to the app (a :class:`WriteCheck` in ``holder``)."""
    owners = read_owners(exchange, parse)
    if isinstance(owners, Unreadable):
        return owners.verdict
    if holder.get(WRITE_CHECK_KEY) == "app":
        pending = WriteCheck(owners, body_read)
        holder[WRITE_KEY] = pending
        if not _requester_known_before_app(exchange, holder):
            # The app's own login decides (check_named), on what the router read too: a write
            # whose literal names hold no owner may name one under an alias (the adapter's
            # fallback asks the route, where the in-app check never ran).
            return None
        verdict = exchange.check_write(owners)
        pending.decided = True
        pending.requester = getattr(exchange, "requester", None)
        return verdict
    return exchange.check_write(owners)


def check_named(exchange: Exchange, holder: MutableMapping[str, Any], named: Callable[[], Named]) -> Verdict | None:
    """In the app, after its login: decide on the owners the framework parsed (``named``) and
    the ones the middleware's parse found. The block page, or ``None`` (the endpoint may run)."""
    pending = holder.get(WRITE_KEY)
    owners: list[tuple[str, str]] = []
    if isinstance(pending, WriteCheck):
        pending.checked = True
        owners.extend(pending.owners)
    found = read_owners(exchange, named)
    if isinstance(found, Unreadable):
        return found.verdict
    context = exchange.context
    if (
        isinstance(pending, WriteCheck)
        and pending.decided
        and (not context.requester_set or (pending.requester is not None and context.requester == pending.requester))
    ):
        known = set(owners)
        found = [owner for owner in found if owner not in known]
        if not found:
            return None  # decided before the app, for the same requester on the same owners
    owners.extend(found)
    return exchange.check_write(owners)


def body_was_read(holder: MutableMapping[str, Any]) -> bool:
    """Did the middleware read (and replay) this request's body for the write check?"""
    pending = holder.get(WRITE_KEY)
    return isinstance(pending, WriteCheck) and pending.body_read


def unchecked_write(holder: MutableMapping[str, Any]) -> bool:
    """A write whose in-app check never ran (decided before the app or not: the middleware read
    only the rules' own names; the adapter asks its route what it would have read besides)."""
    pending = holder.get(WRITE_KEY)
    return isinstance(pending, WriteCheck) and not pending.checked


# ------------------------------------------------------------------ ASGI


def _content_type_of(headers: Iterable[Sequence[bytes]]) -> tuple[str | None, int]:
    """The first Content-Type (as Starlette reads it) and how many there are. The pairs are the
    scope's as the server sent them: tuples, or the two-item lists the ASGI spec allows."""
    found: str | None = None
    count = 0
    for pair in headers:
        if pair[0].lower() == b"content-type":
            count += 1
            if found is None:
                found = pair[1].decode("latin-1")
    return found, count


async def check_asgi_write(
    exchange: Exchange, scope: MutableMapping[str, Any], receive: Receive, send: Send
) -> Receive | None:
    """Read the request body once (if a rule reads it), check it, and return a replaying ``receive``;
    ``None``: refused, the block page was sent."""
    guard = exchange.guard
    content_type, types = _content_type_of(scope.get("headers", ()))
    plan = body_plan(guard, content_type)
    read: list[Message] = []
    chunks: list[bytes] = []
    verdict: Verdict | None = None
    refused = False
    if plan != _SKIP and types > 1:
        verdict = exchange.refuse(EventKind.SCAN_ERROR, REPEATED_TYPE)
        refused = True
    elif plan != _SKIP:
        size = 0
        sniffing = plan == _SNIFF
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if sniffing and chunk:
                opens = opens_like_json(chunk)
                if opens is False:
                    plan = _SKIP  # not JSON: the rest streams to the app untouched
                    break
                if opens:
                    sniffing = False
            if size > guard.max_body_bytes:
                verdict = exchange.inbound_oversize()
                if verdict is None:
                    return _replay(read, receive)
                refused = True
                break
            if not message.get("more_body", False):
                break
    if not refused:
        body = b"".join(chunks) if plan != _SKIP else None
        raw_query: bytes = scope.get("query_string", b"")
        query = parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)
        path = scope.get("path", "")
        verdict = decide_before_app(
            exchange,
            scope,
            lambda: _named(guard, path, query, content_type, body, plan, False, raw_query),
            body is not None,
        )
    if verdict is not None:
        await send({"type": "http.response.start", "status": verdict.status, "headers": verdict.headers})
        await send({"type": "http.response.body", "body": verdict.body or b"", "more_body": False})
        return None
    return _replay(read, receive) if read else receive


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands the app the messages already read, unchanged, then the rest."""
    pending = list(messages)
    pending.reverse()

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay


# ------------------------------------------------------------------ WSGI


class _PrefixedInput:
    """``wsgi.input`` replayed: the bytes respguard already read, then the rest of the stream."""

    def __init__(self, prefix: bytes, rest: Any) -> None:
        self._buffer = io.BytesIO(prefix)
        self._rest = rest

    def read(self, size: int | None = -1) -> bytes:
        data = self._buffer.read(size if size is not None else -1)
        if self._rest is not None and (size is None or size < 0 or len(data) < size):
            more = self._rest.read(-1 if size is None or size < 0 else size - len(data))
            data += more
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line = self._buffer.readline(-1 if size is None else size)
        if self._rest is not None and not line.endswith(b"\n") and (size is None or size < 0 or len(line) < size):
            line += self._rest.readline(-1 if size is None or size < 0 else size - len(line))
        return line

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")


_SNIFF_READ = 8192


def _read_wsgi_body(exchange: Exchange, environ: dict[str, Any], plan: int) -> tuple[bytes | None, bool]:
    """(the body, or ``None`` where it is not read; ``True`` if it outgrew ``max_body_bytes``).

    ``wsgi.input`` is replaced by a stream that replays what was read, then the rest.
    """
    stream = environ.get("wsgi.input")
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    # Werkzeug reads the whole stream where the server set ``wsgi.input_terminated`` at all (its
    # ``"wsgi.input_terminated" in environ``, ``False`` included); without it and a length, none.
    if stream is None or (length < 0 and "wsgi.input_terminated" not in environ):
        return b"", False  # no body a framework would read
    limit = exchange.guard.max_body_bytes
    want = limit + 1 if length < 0 else min(length, limit + 1)
    pieces: list[bytes] = []
    got = 0
    if plan == _SNIFF:
        while got < want:
            piece = stream.read(min(_SNIFF_READ, want - got))
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
            opens = opens_like_json(piece)
            if opens is False:
                environ["wsgi.input"] = _PrefixedInput(b"".join(pieces), stream)
                return None, False
            if opens:
                break
    if got < want:
        pieces.append(stream.read(want - got))
    body = b"".join(pieces)
    if len(body) > limit:
        environ["wsgi.input"] = _PrefixedInput(body, stream)
        return body, True
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body, False


def check_wsgi_write(exchange: Exchange, environ: dict[str, Any]) -> Verdict | None:
    """Read the request body once (if a rule reads it) and check it before the app runs;
    the block page, or ``None`` (the app runs, and reads the same body)."""
    guard = exchange.guard
    content_type = environ.get("CONTENT_TYPE")
    plan = body_plan(guard, content_type)
    body: bytes | None = None
    if plan != _SKIP:
        body, oversize = _read_wsgi_body(exchange, environ, plan)
        if oversize:
            return exchange.inbound_oversize()
        if body is None:
            plan = _SKIP
    query_string: str = environ.get("QUERY_STRING", "")
    query = _werkzeug_query(query_string)
    raw_query = query_string.encode("latin-1", "replace")
    path = exchange.request.path
    return decide_before_app(
        exchange,
        environ,
        lambda: _named(guard, path, query, content_type, body, plan, True, raw_query),
        body is not None,
    )


def _werkzeug_query(query_string: str) -> list[tuple[str, str]]:
    """The query parameters as Werkzeug's ``request.args`` reads them."""
    text = query_string.encode("latin-1").decode("utf-8", "replace")
    try:
        import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" error handler)
    except ImportError:  # pragma: no cover - Werkzeug not installed
        return parse_qsl(text, keep_blank_values=True)
    return parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")
