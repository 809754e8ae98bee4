"""Adversarial findings, session 21 (attackZ).

1. **A minus sign is a dash to a reader.** The README promises that an event's path shows no id
   "any dash read as the hyphen". ``/contacts/alice\u22127f3a.vcf`` (U+2212 MINUS SIGN, which
   Unicode's ``Dash`` property lists, as it does the superscript and subscript minus U+207B and
   U+208B) reads as ``alice-7f3a`` to anyone who looks at the log, but its category is ``Sm``, not
   ``Pd``: the event carried the requester's id as written. Fixed (``_redact._fold_char``): a
   character with Unicode's ``Dash`` property, or a minus sign, folds to the hyphen.
2. **A delimiter only Werkzeug sees.** Werkzeug's multipart parser takes any line break around
   ``--boundary`` for a delimiter (``\r\n``, ``\n`` or ``\r``, before or after it, the blank line
   that ends a part's headers too) and reads a last part closed by ``\n--XyZ--``;
   python-multipart wants ``\r\n--XyZ\r\n`` and drops an unclosed last part. A part ``note``
   whose value goes on ``hi\n--XyZ\nContent-Disposition: form-data; name="customer_id"\n\nbob``
   is one field ``note`` to python-multipart and two to Werkzeug: ``note=hi``, ``customer_id=bob``.
   The ASGI write check reads the form with python-multipart; a Flask app mounted in the ASGI app
   (the README's reason for refusing ``charset=utf-16`` and a backslash in a quoted name there)
   reads it with Werkzeug, and wrote bob's record (200, no event). Fixed
   (``_write.parse_form_python_multipart``): a body holding ``--boundary`` anywhere but at the
   delimiters python-multipart read, or a part it began and never ended, is refused as ambiguous
   (``cross_owner_write``, "ambiguous multipart field name"), as every other multipart spelling the
   two readers part on is. (WSGI reads with Werkzeug: refused already.)
3. **A boundary the two readers cut apart.** ``Content-Type: multipart/form-data; boundary=A,B``
   (or ``boundary=A B``, ``boundary=A<TAB>B``, ``boundary="A"B``, ``boundary="A\\B"``):
   python-multipart (Starlette) reads the boundary ``A,B``, Werkzeug a token and stops at the
   comma: ``A``. A body delimited by ``--A,B`` around one ``note`` part whose value holds
   ``--A`` parts is ``note`` to Starlette and ``customer_id=bob`` to a Flask app mounted in the
   ASGI app: the ASGI write check passed it (200, no event). Fixed
   (``_write.parse_form_python_multipart``): a boundary Werkzeug reads otherwise is refused as
   ambiguous. (WSGI reads with Werkzeug: refused already.)
4. **An id percent-encoded in Latin-1.** ``GET /c/ren%25E9e-93f0`` (the server decodes it once:
   ``/c/ren%E9e-93f0``) by the requester ``renée-93f0``: ``%E9`` is not UTF-8, so ``unquote``
   read U+FFFD, no id was found, and the event logged the path as written, ``ren%E9e-93f0``:
   ``renée`` in the windows-1252/Latin-1 escapes a legacy form sends (``quote("renée",
   encoding="latin-1")``), which any URL decoder set to it shows. Fixed (``_redact._redact_path``):
   each form's escapes are also read as windows-1252; an id only that reading shows makes the
   path ``{redacted}``.
5. **An unquoted part name with a character outside a token.** ``Content-Disposition: form-data;
   name=customer_id,x`` (or ``customer_id x``, ``customer_id/x``, ``customer_id:x``,
   ``customer_id\x00``...): python-multipart (Starlette) reads an unquoted value up to the ``;``,
   the name ``customer_id,x``; Werkzeug reads a token and stops at the comma: ``customer_id``. The
   disposition check let any unquoted value without a quote or backslash through, so on ASGI the
   write was read as a field nobody owns and ran (200, no event), while a Flask app mounted in
   the ASGI app wrote bob's record. Fixed (``_write._PLAIN_VALUE``): an unquoted name is plain only
   if it is a token as Werkzeug reads it; any other is refused as ambiguous, on both stacks.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import ALICE, BOB, GuardedStack, Reply, assert_block, kinds
from test_write_middleware import MP, WriteApp, login_cookie, send_write
from werkzeug.formparser import parse_form_data
from werkzeug.test import create_environ

from respguard import AuditEvent, JsonKeys, _write

SECRET = "session21-attackZ-secret-77e0"


def _customer_page(owner: str, requester: str) -> Reply:
    """A JSON page naming ``owner``'s customer_id, answered to ``requester``."""
    return Reply(
        headers=[("Content-Type", "application/json")],
        chunks=[json.dumps({"customer_id": owner}).encode()],
        requester=requester,
    )


# ------------------------------------------------------------------ 1. a minus sign in the path


@pytest.mark.parametrize(
    "dash",
    ["\u2212", "\u207b", "\u208b", "\u2053", "\u2796", "\u02d7"]
    + ["\u2043", "\u2500", "\u23af", "\u1680", "\u2cbb", "\u30fc", "\uff70"],  # (review 21's)
)
def test_an_id_spelt_with_a_minus_sign_is_redacted_from_the_path(
    make_stack: Callable[..., GuardedStack], dash: str
) -> None:
    events: list[AuditEvent] = []
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("customer_id")], on_event=events.append)
    reply = _customer_page(BOB, requester=ALICE)
    spelt = ALICE.replace("-", dash)
    got = stack.send(reply, path=f"/contacts/{spelt}.vcf", cookie="")
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].path == "/contacts/{id}.vcf"
    text = events[0].to_json()
    assert spelt not in text and spelt not in json.loads(text)["path"]
    assert ALICE not in text and BOB not in text


# ------------------------------------------------------------------ 2. a delimiter only Werkzeug sees

NOTE = b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
OWNER = b'Content-Disposition: form-data; name="customer_id"'

#: (row id, body): one part ``note`` to python-multipart, ``customer_id=bob`` too to Werkzeug.
ONLY_WERKZEUG = [
    ("lf-before", NOTE + b"hi\n--XyZ\n" + OWNER + b"\n\n" + BOB.encode() + b"\r\n--XyZ--\r\n"),
    ("cr-before", NOTE + b"hi\r--XyZ\r" + OWNER + b"\r\r" + BOB.encode() + b"\r\n--XyZ--\r\n"),
    ("lf-after", NOTE + b"hi\r\n--XyZ\n\r\n" + OWNER + b"\r\n\r\n" + BOB.encode() + b"\r\n--XyZ--\r\n"),
    ("cr-after", NOTE + b"hi\r\n--XyZ\r" + OWNER + b"\r\n\r\n" + BOB.encode() + b"\r\n--XyZ--\r\n"),
    ("after-blank-line", NOTE + b"--XyZ\r\n" + OWNER + b"\r\n\r\n" + BOB.encode() + b"\r\n--XyZ--\r\n"),
    ("closed-after-lf", NOTE + b"hi\r\n--XyZ\r\n" + OWNER + b"\r\n\r\n" + BOB.encode() + b"\n--XyZ--\r\n"),
]


@pytest.mark.parametrize(("row", "body"), ONLY_WERKZEUG, ids=[r[0] for r in ONLY_WERKZEUG])
def test_werkzeug_reads_a_part_python_multipart_does_not(row: str, body: bytes) -> None:
    environ = create_environ("/api/card", method="POST", data=body, content_type=MP)
    _, form, _ = parse_form_data(environ)
    assert form.getlist("customer_id") == [BOB]  # what a Flask app reads (mounted in ASGI too)
    assert "customer_id" not in [name for name, _ in _python_multipart_fields(body)]  # Starlette


def _python_multipart_fields(body: bytes) -> list[tuple[str, str]]:
    from python_multipart import MultipartParser

    names: list[tuple[str, str]] = []
    headers: list[bytes] = []
    parser = MultipartParser(
        b"XyZ",
        {
            "on_header_value": lambda data, start, end: headers.append(data[start:end]),
            "on_part_end": lambda: names.append((headers[-1].split(b'name="')[1][:-1].decode(), "")),
        },
    )
    parser.write(body)
    parser.finalize()
    return names


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(("row", "body"), ONLY_WERKZEUG, ids=[r[0] for r in ONLY_WERKZEUG])
def test_a_delimiter_only_werkzeug_sees_is_refused(kind: str, row: str, body: bytes) -> None:
    app = WriteApp()
    status, headers, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie(), chunks=3)
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    reason = _write.AMBIGUOUS_NAME if kind == "asgi" else "request names another owner's record"
    if kind == "wsgi" and row in ("lf-after", "cr-after"):
        reason = _write.AMBIGUOUS_NAME  # a bare LF or CR in a part's header block (session 22 review)
    assert events[0].reason == reason
    assert BOB not in events[0].to_json()


def test_a_part_that_holds_its_own_delimiter_is_refused_on_asgi() -> None:
    # RFC 2046: a boundary never occurs in a part. One that does is refused where python-multipart
    # reads the form (Werkzeug could start a part there), even mid-line (too strict, never too lax).
    body = NOTE + b"see --XyZ here\r\n--XyZ--\r\n"
    app = WriteApp()
    status, headers, out, events = send_write("asgi", app, body=body, content_type=MP, cookie=login_cookie())
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert [(e.kind.value, e.reason) for e in events] == [("cross_owner_write", _write.AMBIGUOUS_NAME)]


def test_a_plain_multipart_write_of_ones_own_still_runs_on_both_stacks() -> None:
    for kind in ("asgi", "wsgi"):
        body = NOTE + b"hi\r\n--XyZ\r\n" + OWNER + b"\r\n\r\n" + ALICE.encode() + b"\r\n--XyZ--\r\n"
        app = WriteApp()
        status, _, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie(), chunks=2)
        assert (status, out, events) == (200, b"written", []), kind
        assert app.writes == [("/api/card", body)]


# ------------------------------------------------------------------ 3. a boundary the readers cut apart


def _two_boundaries(outer: bytes, inner: bytes) -> bytes:
    return (
        b"--" + outer + b'\r\nContent-Disposition: form-data; name="note"\r\n\r\nx\r\n'
        b"--" + inner + b'\r\nContent-Disposition: form-data; name="customer_id"\r\n\r\n' + BOB.encode() + b"\r\n"
        b"--" + inner + b"--\r\n--" + outer + b"--\r\n"
    )


BOUNDARIES = [
    ("multipart/form-data; boundary=A,B", b"A,B", b"A"),
    ("multipart/form-data; boundary=A B", b"A B", b"A"),
    ("multipart/form-data; boundary=A\tB", b"A\tB", b"A"),
    ('multipart/form-data; boundary="A"B', b'"A"B', b"A"),
    ('multipart/form-data; boundary="A\\B"', b"A\\B", b"AB"),
]


@pytest.mark.parametrize(("content_type", "outer", "inner"), BOUNDARIES, ids=[b[0][29:] for b in BOUNDARIES])
def test_werkzeug_and_python_multipart_read_another_boundary(content_type: str, outer: bytes, inner: bytes) -> None:
    body = _two_boundaries(outer, inner)
    environ = create_environ("/api/card", method="POST", data=body, content_type=content_type)
    _, form, _ = parse_form_data(environ)
    assert list(form.items(multi=True)) == [("customer_id", BOB)]  # a Flask app (mounted in ASGI too)
    from python_multipart.multipart import parse_options_header

    assert parse_options_header(content_type)[1][b"boundary"] == outer  # Starlette: one part, "note"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize(("content_type", "outer", "inner"), BOUNDARIES, ids=[b[0][29:] for b in BOUNDARIES])
def test_a_boundary_the_readers_cut_apart_is_refused(kind: str, content_type: str, outer: bytes, inner: bytes) -> None:
    app = WriteApp()
    status, headers, out, events = send_write(
        kind, app, body=_two_boundaries(outer, inner), content_type=content_type, cookie=login_cookie(), chunks=2
    )
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    # (WSGI too since session 22's finding 11: Django reads each of these boundaries otherwise
    # than Werkzeug, up to the next ``;``, so the body is ambiguous before any owner is read)
    assert events[0].reason == _write.AMBIGUOUS_NAME
    assert BOB not in events[0].to_json()


# ------------------------------------------------------------------ 4. a Latin-1 escape of the id

RENEE = "ren\u00e9e-93f0"


@pytest.mark.parametrize("spelt", ["ren%E9e-93f0", "REN%C9E-93F0", "ren%E9e%2D93f0"])
def test_an_id_percent_encoded_in_latin_1_is_not_logged(make_stack: Callable[..., GuardedStack], spelt: str) -> None:
    events: list[AuditEvent] = []
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("customer_id")], on_event=events.append)
    reply = _customer_page(BOB, requester=RENEE)
    # the path the app sees: the server decoded the client's %25 once (Werkzeug's test environ decodes)
    path = f"/c/{spelt}" if stack.kind == "asgi" else f"/c/{spelt.replace('%', '%25')}"
    got = stack.send(reply, path=path, cookie="")
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].path == "{redacted}"
    assert spelt.lower() not in events[0].to_json().lower()


@pytest.mark.parametrize("spelt", ["ren%E9e-93f0", "REN%C9E-93F0"])
def test_a_drifted_browsers_user_percent_encoded_in_latin_1_is_not_logged(
    make_stack: Callable[..., GuardedStack], spelt: str
) -> None:
    # The browser is bound to renée, known to the drift event only by her binding's hashes: the
    # path's candidates (``_redact.id_candidates``) read the Latin-1 escapes too.
    events: list[AuditEvent] = []
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("customer_id")], on_event=events.append)
    own = _customer_page(RENEE, requester=RENEE)
    assert stack.send(own).status == 200
    bobs = _customer_page(BOB, requester=BOB)
    path = f"/c/{spelt}" if stack.kind == "asgi" else f"/c/{spelt.replace('%', '%25')}"
    got = stack.send(bobs, path=path)
    assert_block(got.status, got.headers, got.body)
    assert kinds(events) == [("session_drift", "blocked")]
    assert spelt.lower() not in events[0].to_json().lower()


# ------------------------------------------------------------------ 5. an unquoted name that is no token

UNTOKEN = ["customer_id,x", "customer_id x", "customer_id/x", "customer_id:x", "customer_id\x00", "customer_id=x"]


@pytest.mark.parametrize("name", UNTOKEN)
def test_werkzeug_cuts_an_unquoted_name_at_its_first_non_token_character(name: str) -> None:
    body = ("--XyZ\r\nContent-Disposition: form-data; name=" + name + "\r\n\r\n" + BOB + "\r\n--XyZ--\r\n").encode()
    environ = create_environ("/api/card", method="POST", data=body, content_type=MP)
    _, form, _ = parse_form_data(environ)
    assert list(form.items(multi=True)) == [("customer_id", BOB)]  # Flask, mounted in ASGI too
    from python_multipart.multipart import parse_options_header

    assert parse_options_header("form-data; name=" + name)[1][b"name"] == name.encode()  # Starlette's name


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("name", UNTOKEN)
def test_an_unquoted_name_that_is_no_token_is_refused(kind: str, name: str) -> None:
    body = ("--XyZ\r\nContent-Disposition: form-data; name=" + name + "\r\n\r\n" + BOB + "\r\n--XyZ--\r\n").encode()
    app = WriteApp()
    status, headers, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie(), chunks=2)
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert [(e.kind.value, e.action.value, e.reason) for e in events] == [
        ("cross_owner_write", "blocked", _write.AMBIGUOUS_NAME)
    ]
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_an_unquoted_token_name_of_ones_own_still_runs(kind: str) -> None:
    body = b"--XyZ\r\nContent-Disposition: form-data; name=customer_id\r\n\r\n" + ALICE.encode() + b"\r\n--XyZ--\r\n"
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie())
    assert (status, out, events) == (200, b"written", [])
