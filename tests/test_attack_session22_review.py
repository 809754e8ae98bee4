"""Review findings, session 22 (review of attackQ's fixes in ``respguard._write``).

1. **A charset label whose lookup raises ValueError.** ``codecs.lookup`` raises ``ValueError`` for a
   label with an embedded NUL (``charset*=utf-8''%00x``: RFC 2231 decodes ``%00``); the write check
   caught only ``LookupError`` (and ``UnicodeError``/``TypeError`` at some sites), so the error escaped
   the refusal of an ambiguous form and ``read_owners``' catch-all logged a ``scan_error`` whose path
   held the raw id (``/api/notes/bob-9c2e``). Fixed (``_write._codec``): one lookup of a charset label
   for every site, ``None`` for any label it can't read.
2. **The first charset, where Django and DRF take the last.** ``application/json; charset=utf-8;
   charset=utf-7`` with a UTF-7 body (``+ACI-`` a quote), ``application/x-www-form-urlencoded;
   charset=utf-8; charset=utf-16-le`` with a UTF-16 form, a query under ``application/json;
   charset=utf-8; charset=utf-16-le``, a trailing ``charset*=`` (RFC 2231): Django's
   ``parse_header_parameters`` builds a dict of ``email.message``'s parameters (the last one wins, RFC
   2231 ones come last), the write check read ``get_param("charset")``, the first: UTF-8, no
   difference, 200; the DRF view wrote bob's record. Fixed (``_write._django_params``): one reading
   of the Content-Type's parameters, as Django's, for every charset reading and the boundary.
3. **A multipart charset only Django reads.** ``multipart/form-data; boundary=XyZ; charset*0=utf-16-;
   charset*1=le``, ``charset*=utf-8''utf-16-le``, ``charset*=utf-16le''%75%00...``: Django decodes
   names and values in ``utf-16-le`` (``customer_id=bob``), the check read the charset as
   python-multipart or Werkzeug read it (none, or ``utf-8``) and passed the write. Fixed
   (``_write.parse_form_python_multipart``, ``parse_form_werkzeug``): Django's reading of the charset
   is also refused where it hides ASCII, on both stacks.
4. **A Content-Type parsed in quadratic time.** ``email.message``'s parameter parser is quadratic in
   the semicolons of a quoted value (``application/json; x="`` and 64,000 ``;``: 2.3 s a reading).
   Fixed (``_write._named``): a write whose Content-Type is longer than 4096 characters is refused
   before anything parses it (``scan_error``, "Content-Type too long on a write").
5. **A wildcard type DRF picks a parser for.** DRF's parser negotiation matches a ``*`` in the
   request's type: ``*/x-www-form-urlencoded`` (``customer_id=bob``) goes to ``FormParser``,
   ``multipart/*; boundary=XyZ`` to ``MultiPartParser``, ``*/*``, ``application/*`` and ``*/json`` to
   ``JSONParser``, which decodes in the request's charset (``*/*; charset=utf-7`` and
   ``+AHs-"customer_id": "bob-9c2e"+AH0-``, EBCDIC under ``application/*; charset=cp500``). The check
   read no form type there and sniffed the bytes for JSON, found none, and let the body through
   (200, no event) to a DRF view that wrote bob's record. Fixed (``_write.body_plan``, ``_named``): a
   write whose media type has a ``*`` is refused where a rule reads the body (``cross_owner_write``,
   "wildcard Content-Type on a write").
6. **Refusals of parts no owner is in.** A part with ``Content-Transfer-Encoding: base64`` (a file
   JavaMail or Python's ``email.mime`` sends), a quoted-printable text part, a field
   ``name="Vorname "`` (white space around a name): refused on every part (403), though no reader
   reads an owner there. Fixed (``_write._check_part``): those refusals apply where the part's name,
   stripped as Django strips it, is an owner field's; any other part is read as sent.
7. **A part header line Django reads and Werkzeug does not (WSGI).** Django cuts a part's header
   block at its first CRLF CRLF into CRLF lines and strips each line (``str.strip()``) before it cuts
   the name at ``:`` (the last ``Content-Disposition`` wins); Werkzeug ends headers at any blank
   line (``\\n\\n``), breaks lines at a bare CR or LF, folds a line led by a space or a tab into the
   header before it and strips spaces and tabs only. ``Content-Disposition: form-data;
   name="note"`` then ``\\x0bContent-Disposition: form-data; name="customer_id"`` (or ``\\x0c``,
   ``\\x1c``..``\\x1f``, U+0085, U+00A0, U+3000 first; a folded line after another header; a bare
   ``\\n`` before it; ``\\n\\n`` inside the block), or ``\\x0bContent-Transfer-Encoding: base64`` on a
   ``customer_id`` part: a note (or a plain value) to Werkzeug, 200 on WSGI; bob's record to a
   Django app under ``WSGIMiddleware``. Fixed (``_write._refuse_django_header_lines``): a part header
   block holding a bare CR or LF, or a line led by white space Python strips, is refused as
   ambiguous on WSGI. On ASGI python-multipart refuses every one of them already (a malformed form,
   or a delimiter it did not take).
8. **A refused form's redaction, 8-30 times slower.** A 4 MiB multipart body refused as ambiguous
   (``name*=``) took 1.4 s to redact, 4 s under ``charset=utf-16-le``: every line occurrence was
   transfer-decoded (2.8 million calls) and decoded at four alignments, after the whole body was.
   Fixed (``_write._lenient_form``, ``_body_lines``): lines are deduplicated before they are
   decoded, each distinct line of bytes is decoded on its own only where the charset reads ASCII
   otherwise (at its code unit's alignments), and lines are transfer-decoded only where a part
   declares a coding (an ordinary note ``YXBp`` no longer redacts ``api`` from the event's path).
9. **Fields the limit never counted.** The charset reading of an urlencoded form (``QueryDict(body,
   encoding=...)``) parsed fields the count from above (``&`` and ``;`` bytes) never saw: UTF-7's
   ``+ACY-`` is ``&``, 4 MiB of ``a=b+ACY-`` half a million fields. Fixed (``_write._querydict_pairs``):
   the decoded text's fields are counted again (``scan_error``, "form with too many fields").
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from conftest import BLOCK_BODY, assert_block, assert_no_raw_ids, kinds
from ids import ALICE, BOB
from test_write_middleware import MP, WriteApp, login_cookie, multipart, part, send_write
from werkzeug.test import create_environ

from respguard import _write

B = BOB.encode()


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _django_post(content_type: str, body: bytes, query: str = "") -> dict[str, list[str]]:
    """What a Django view reads as ``request.POST``."""
    import test_django  # noqa: F401  (configures Django once per process)
    from django.core.handlers.wsgi import WSGIRequest

    request = WSGIRequest(
        create_environ("/api/card", method="POST", data=body, content_type=content_type, query_string=query)
    )
    return {key: request.POST.getlist(key) for key in request.POST}


def _drf_data(content_type: str, body: bytes, query: str = "") -> object:
    """What a DRF view reads as ``request.data`` (DRF's default parsers)."""
    import test_django  # noqa: F401
    from django.core.handlers.wsgi import WSGIRequest
    from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
    from rest_framework.request import Request

    request = WSGIRequest(
        create_environ("/api/card", method="POST", data=body, content_type=content_type, query_string=query)
    )
    return Request(request, parsers=[JSONParser(), FormParser(), MultiPartParser()]).data


def _refused(kind: str, body: bytes, content_type: str, reason: str, event: str = "cross_owner_write", **kw: Any):
    app = WriteApp()
    kw.setdefault("cookie", login_cookie())
    status, headers, out, events = send_write(kind, app, body=body, content_type=content_type, **kw)
    assert app.writes == []
    assert_block(status, headers, out)
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [(event, "blocked")]
    assert events[0].reason == reason
    assert_no_raw_ids(events)
    return events


def _runs(kind: str, body: bytes, content_type: str, **kw: Any) -> None:
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=body, content_type=content_type, cookie=login_cookie(), **kw)
    assert (status, out, events) == (200, b"written", [])
    assert len(app.writes) == 1


# ------------------------------------------------------------------ 1. a label whose lookup raises ValueError


@pytest.mark.parametrize("suffix", ["; charset*=utf-8''%00x", '; charset="a\x00b"'], ids=repr)
def test_a_charset_label_with_a_nul_leaves_the_refusal_redacted(kind: str, suffix: str) -> None:
    body = multipart(part('form-data; name=" customer_id"', B))
    events = _refused(kind, body, MP + suffix, _write.AMBIGUOUS_NAME, path=f"/api/notes/{BOB}")
    assert events[0].path == "/api/notes/{id}"


def test_a_charset_label_with_a_nul_beside_a_query_is_no_scan_error(kind: str) -> None:
    _runs(kind, b'{"customer_id": "alice-7f3a"}', "application/json; charset*=utf-8''%00x", query="q=1")


# ------------------------------------------------------------------ 2. the last charset wins

UTF7_BODY = b'{"customer_id": "alice-7f3a", "z": "+ACI-, +ACI-customer_id+ACI-: +ACI-' + B + b'"}'
UTF16_FORM = ("customer_id=" + BOB).encode("utf-16-le")
UTF16_QUERY = quote("customer_id".encode("utf-16-le")) + "=" + quote(BOB.encode("utf-16-le"))
LAST_JSON = [
    "application/json; charset=utf-8; charset=utf-7",
    "application/json; charset=utf-8; charset*=utf-8''utf-7",
    "application/json; charset*=utf-8''utf-7; charset=utf-8",
]


@pytest.mark.parametrize("content_type", LAST_JSON, ids=repr)
def test_json_in_the_last_charset_is_read_in_it(kind: str, content_type: str) -> None:
    assert json.loads(UTF7_BODY)["customer_id"] == "alice-7f3a"
    assert _drf_data(content_type, UTF7_BODY)["customer_id"] == BOB  # type: ignore[index]
    _refused(kind, UTF7_BODY, content_type, "owner field repeated")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded; charset=utf-8; charset=utf-16-le",
        "application/x-www-form-urlencoded; charset=utf-8; charset*=utf-8''utf-16-le",
    ],
    ids=repr,
)
def test_a_form_in_the_last_charset_is_read_in_it(kind: str, content_type: str) -> None:
    assert _drf_data(content_type, UTF16_FORM)["customer_id"] == BOB  # type: ignore[index]
    _refused(kind, UTF16_FORM, content_type, _write.CHARSET_FORM)


def test_a_query_in_the_last_charset_is_read_in_it(kind: str) -> None:
    content_type = "application/json; charset=utf-8; charset=utf-16-le"
    assert _django_get(content_type, UTF16_QUERY)["customer_id"] == [BOB]
    _refused(kind, b"{}", content_type, _write.CHARSET_QUERY, query=UTF16_QUERY)


def test_a_repeated_charset_that_reads_alike_runs(kind: str) -> None:
    _runs(kind, b"customer_id=alice-7f3a", "application/x-www-form-urlencoded; charset=utf-16-le; charset=utf-8")


def _django_get(content_type: str, query: str) -> dict[str, list[str]]:
    import test_django  # noqa: F401
    from django.core.handlers.wsgi import WSGIRequest

    request = WSGIRequest(
        create_environ("/api/card", method="POST", data=b"{}", content_type=content_type, query_string=query)
    )
    return {key: request.GET.getlist(key) for key in request.GET}


# ------------------------------------------------------------------ 3. a multipart charset only Django reads

CS = "utf-16-le"
WIDE_BODY = (
    b'--XyZ\r\nContent-Disposition: form-data; name="'
    + "customer_id".encode(CS)
    + b'"\r\n\r\n'
    + BOB.encode(CS)
    + b"\r\n--XyZ--\r\n"
)
HIDDEN = "%75%00%74%00%66%00%2D%00%31%00%36%00%2D%00%6C%00%65%00"  # "utf-16-le" in UTF-16-LE
RFC2231_CHARSETS = [
    MP + "; charset*0=utf-16-; charset*1=le",
    MP + "; charset*=utf-8''utf-16-le",
    MP + f"; charset*=utf-16le''{HIDDEN}",
    MP + "; charset=utf-8; charset=utf-16-le",
]


@pytest.mark.parametrize("content_type", RFC2231_CHARSETS, ids=repr)
def test_a_multipart_charset_django_reads_is_refused_where_it_hides_ascii(kind: str, content_type: str) -> None:
    assert _django_post(content_type, WIDE_BODY)["customer_id"] == [BOB]  # the Django view writes bob's
    _refused(kind, WIDE_BODY, content_type, _write.AMBIGUOUS_NAME)


# ------------------------------------------------------------------ 4. a long Content-Type


@pytest.mark.parametrize("count", [4100, 64_000])
def test_a_long_content_type_is_refused_before_it_is_parsed(kind: str, count: int) -> None:
    content_type = 'application/json; x="' + ";" * count
    start = time.perf_counter()
    _refused(kind, b'{"customer_id": "alice-7f3a"}', content_type, _write.LONG_TYPE, "scan_error", query="q=1")
    assert time.perf_counter() - start < 0.5


def test_a_content_type_under_the_cap_runs(kind: str) -> None:
    content_type = "application/json; x=" + "a" * (_write.MAX_CONTENT_TYPE - 20)
    assert len(content_type) == _write.MAX_CONTENT_TYPE
    _runs(kind, b'{"customer_id": "alice-7f3a"}', content_type, query="q=1")


# ------------------------------------------------------------------ 5. a wildcard type

WILDCARDS = [
    ("*/x-www-form-urlencoded", b"customer_id=" + B),
    ("multipart/*; boundary=XyZ", multipart(part('form-data; name="customer_id"', B))),
    ("*/*; charset=utf-7", b'+AHs-"customer_id": "' + B + b'"+AH0-'),
    ("application/*; charset=cp500", ('{"customer_id": "' + BOB + '"}').encode("cp500")),
    ("*/json; charset=utf-7", b'+AHs-"customer_id": "' + B + b'"+AH0-'),
]


@pytest.mark.parametrize(("content_type", "body"), WILDCARDS, ids=[row[0] for row in WILDCARDS])
def test_a_wildcard_type_drf_picks_a_parser_for_is_refused(kind: str, content_type: str, body: bytes) -> None:
    assert _drf_data(content_type, body)["customer_id"] == BOB  # type: ignore[index]
    events = _refused(kind, body, content_type, _write.WILDCARD_TYPE, path=f"/api/notes/{BOB}")
    assert events[0].path == "/api/notes/{id}"


def test_a_concrete_type_beside_a_wildcard_parameter_runs(kind: str) -> None:
    _runs(kind, b'{"customer_id": "alice-7f3a"}', 'application/json; x="*/*"')


# ------------------------------------------------------------------ 6. parts no owner is in

A = b"alice-7f3a"
OTHER_PARTS = [
    (
        "mime base64 file",
        part(
            'form-data; name="doc"; filename="a.pdf"',
            b"JVBERi0xLjQK",
            "Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n",
        ),
    ),
    (
        "qp text field",
        part(
            'form-data; name="comment"',
            b"Gr=C3=BC=C3=9Fe",
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        ),
    ),
    ("html name with trailing space", part('form-data; name="Vorname "', b"Max")),
    (
        "two codings on another part",
        part(
            'form-data; name="x"', b"eA==", "Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit\r\n"
        ),
    ),
]


@pytest.mark.parametrize(("row", "other"), OTHER_PARTS, ids=[row[0] for row in OTHER_PARTS])
def test_a_part_no_owner_is_in_is_read_as_sent(kind: str, row: str, other: bytes) -> None:
    _runs(kind, multipart(part('form-data; name="customer_id"', A), other), MP)


@pytest.mark.parametrize("name", ["customer_id ", "\tcustomer_id"], ids=repr)
def test_an_owner_part_django_strips_the_name_of_with_a_coding_is_refused(kind: str, name: str) -> None:
    body = multipart(part(f'form-data; name="{name}"', b"Ym9iLTljMmU=", "Content-Transfer-Encoding: base64\r\n"))
    assert _django_post(MP, body)["customer_id"] == [BOB]
    _refused(kind, body, MP, _write.TRANSFER_ENCODED)


# ------------------------------------------------------------------ 7. part header lines Django reads

LEADS = [b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x1f", "\x85".encode(), "\xa0".encode(), "\u3000".encode()]
NOTE = b'--XyZ\r\nContent-Disposition: form-data; name="note"'
SECOND = b'Content-Disposition: form-data; name="customer_id"\r\n\r\n' + B + b"\r\n--XyZ--\r\n"
ENCODED_BOB = b"Ym9iLTljMmU="
MALFORMED = ("scan_error", _write.MALFORMED_FORM)
AMBIGUOUS = ("cross_owner_write", _write.AMBIGUOUS_NAME)
HEADER_LINES: list[tuple[str, bytes, str, tuple[str, str]]] = [
    *[(f"{lead!r} second disposition", NOTE + b"\r\n" + lead + SECOND, ALICE, MALFORMED) for lead in LEADS],
    *[
        (f"{lead!r} folded after a header", NOTE + b"\r\nX-Foo: a\r\n" + lead + SECOND, ALICE, MALFORMED)
        for lead in LEADS
    ],
    *[
        (
            f"{lead!r} base64",
            b'--XyZ\r\nContent-Disposition: form-data; name="customer_id"\r\n'
            + lead
            + b"Content-Transfer-Encoding: base64\r\n\r\n"
            + ENCODED_BOB
            + b"\r\n--XyZ--\r\n",
            ENCODED_BOB.decode(),
            MALFORMED,
        )
        for lead in LEADS[2:]
    ],
    ("bare LF then x0b", NOTE + b"\n\x0b" + SECOND, ALICE, AMBIGUOUS),
    ("bare CR then x0b", NOTE + b"\r\x0b" + SECOND, ALICE, MALFORMED),
    ("LF LF inside the block", NOTE + b"\n\n" + SECOND, ALICE, AMBIGUOUS),
    ("bare LF then a folded line", NOTE + b"\nX-Foo: a\r\n " + SECOND, ALICE, MALFORMED),
]


@pytest.mark.parametrize(("row", "body", "user", "asgi"), HEADER_LINES, ids=[row[0] for row in HEADER_LINES])
def test_a_part_header_line_django_reads_otherwise_is_refused(
    kind: str, row: str, body: bytes, user: str, asgi: tuple[str, str]
) -> None:
    assert _django_post(MP, body)["customer_id"] == [BOB]  # the Django view writes bob's record
    # (``asgi``: python-multipart's own refusal, before the Django header-line check ran on both
    # stacks, session 22 review 22r; now each stack refuses them as ambiguous, first.)
    event, reason = AMBIGUOUS
    _refused(kind, body, MP, reason, event, cookie=login_cookie(user))


def test_white_space_in_a_parts_value_is_read_as_sent(kind: str) -> None:
    body = multipart(
        part('form-data; name="customer_id"', A),
        part('form-data; name="comment"', b" indented\r\n\x0bline\n\n\r\n\r\n\tmore"),
    )
    _runs(kind, body, MP)


# ------------------------------------------------------------------ 8. redaction time, over-redaction

MiB = 1 << 20


@pytest.mark.parametrize(
    ("row", "disposition", "charset"),
    [
        ("name*= utf-8", b"name=\"note\"; name*=utf-8''customer_id", ""),
        ("utf-16-le", b'name="note"', "; charset=utf-16-le"),
        ("utf-7", b'name="note"', "; charset=utf-7"),
    ],
)
def test_a_refused_4_mib_form_is_redacted_in_linear_time(kind: str, row: str, disposition: bytes, charset: str) -> None:
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; "
        + disposition
        + b"\r\n\r\n"
        + b"x\r\n" * ((4 * MiB - 300) // 3)
        + b"\r\n--XyZ--\r\n"
    )
    start = time.perf_counter()
    _refused(kind, body, MP + charset, _write.AMBIGUOUS_NAME)
    assert time.perf_counter() - start < 0.6  # 1.4-4.3 s before


def test_a_plain_value_is_not_transfer_decoded_for_the_redaction(kind: str) -> None:
    body = multipart(part('form-data; name=" customer_id"', b"x"), part('form-data; name="note"', b"YXBp"))
    events = _refused(kind, body, MP, _write.AMBIGUOUS_NAME, path="/api/notes/7")
    assert events[0].path == "/api/notes/7"  # YXBp is base64 of "api": no part declares a coding


def test_a_declared_coding_is_still_decoded_for_the_redaction(kind: str) -> None:
    body = multipart(
        part('form-data; name=" customer_id"', b"x"),
        part('form-data; name="doc"; filename="a"', b"Ym9iLTljMmU=", "Content-Transfer-Encoding: base64\r\n"),
    )
    events = _refused(kind, body, MP, _write.AMBIGUOUS_NAME, path=f"/api/notes/{BOB}")
    assert events[0].path == "/api/notes/{id}"


# ------------------------------------------------------------------ 9. fields counted after decoding


def test_a_form_whose_charset_reading_has_too_many_fields_is_refused(kind: str) -> None:
    body = b"customer_id=alice-7f3a&" + b"a=b+ACY-" * (_write.MAX_FORM_FIELDS + 1)
    assert body.count(b"&") + body.count(b";") <= _write.MAX_FORM_FIELDS  # the count from above
    _refused(kind, body, "application/x-www-form-urlencoded; charset=utf-7", _write.TOO_MANY_FIELDS, "scan_error")


def test_a_form_whose_charset_reading_is_under_the_limit_runs(kind: str) -> None:
    _runs(kind, b"customer_id=alice-7f3a&" + b"a=b+ACY-" * 100, "application/x-www-form-urlencoded; charset=utf-7")
