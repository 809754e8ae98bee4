"""Adversarial findings, session 21 (attackZ).

1. **A minus sign is a dash to a reader.** The README promises that an event's path shows no id
   "any dash read as the hyphen". ``/contacts/alice\u22127f3a.vcf`` (U+2212 MINUS SIGN, which
   Unicode's ``Dash`` property lists, as it does the superscript and subscript minus U+207B and
   U+208B) reads as ``alice-7f3a`` to anyone who looks at the log, but its category is ``Sm``, not
   ``Pd``: the event carried the requester's id as written. Fixed (``_redact._fold_char``): a
   character with Unicode's ``Dash`` property, or a minus sign, folds to the hyphen.
2. **A delimiter after a bare line feed.** Werkzeug's multipart parser takes any line break before
   ``--boundary`` for a delimiter (``\r\n``, ``\n`` or ``\r``), python-multipart only ``\r\n``. A
   part ``note`` whose value goes on ``hi\n--XyZ\nContent-Disposition: form-data;
   name="customer_id"\n\nbob`` is one field ``note`` to python-multipart, and two to Werkzeug:
   ``note=hi`` and ``customer_id=bob``. The ASGI write check reads the form with python-multipart;
   a Flask app mounted in the ASGI app (the README's reason for refusing ``charset=utf-16`` and a
   backslash in a quoted name there) reads it with Werkzeug, and wrote bob's record (200, no
   event). Fixed (``_write.parse_form_python_multipart``): a delimiter after a bare CR or LF is
   refused as ambiguous (``cross_owner_write``, "ambiguous multipart field name"), as every other
   multipart spelling the two readers part on is. (WSGI reads with Werkzeug: refused already.)
3. **A boundary the two readers cut apart.** ``Content-Type: multipart/form-data; boundary=A,B``
   (or ``boundary=A B``, ``boundary=A<TAB>B``, ``boundary="A"B``, ``boundary="A\\B"``):
   python-multipart (Starlette) reads the boundary ``A,B``, Werkzeug a token and stops at the
   comma: ``A``. A body delimited by ``--A,B`` around one ``note`` part whose value holds
   ``--A`` parts is ``note`` to Starlette and ``customer_id=bob`` to a Flask app mounted in the
   ASGI app: the ASGI write check passed it (200, no event). Fixed
   (``_write.parse_form_python_multipart``): a boundary Werkzeug reads otherwise is refused as
   ambiguous. (WSGI reads with Werkzeug: refused already.)
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


# ------------------------------------------------------------------ 1. a minus sign in the path


@pytest.mark.parametrize("dash", ["\u2212", "\u207b", "\u208b", "\u2053", "\u2796", "\u02d7"])
def test_an_id_spelt_with_a_minus_sign_is_redacted_from_the_path(
    make_stack: Callable[..., GuardedStack], dash: str
) -> None:
    events: list[AuditEvent] = []
    stack = make_stack(secret_key=SECRET, extractors=[JsonKeys("customer_id")], on_event=events.append)
    reply = Reply(headers=[("Content-Type", "application/json")], chunks=[json.dumps({"customer_id": BOB}).encode()])
    reply.requester = ALICE
    spelt = ALICE.replace("-", dash)
    got = stack.send(reply, path=f"/contacts/{spelt}.vcf", cookie="")
    assert_block(got.status, got.headers, got.body)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].path == "/contacts/{id}.vcf"
    text = events[0].to_json()
    assert spelt not in text and spelt not in json.loads(text)["path"]
    assert ALICE not in text and BOB not in text


# ------------------------------------------------------------------ 2. a bare LF before a delimiter


def _bare_break_body(brk: bytes) -> bytes:
    return (
        b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi'
        + brk
        + b"--XyZ"
        + brk
        + b'Content-Disposition: form-data; name="customer_id"'
        + brk
        + brk
        + BOB.encode()
        + b"\r\n--XyZ--\r\n"
    )


@pytest.mark.parametrize("brk", [b"\n", b"\r"], ids=["lf", "cr"])
def test_werkzeug_reads_a_part_after_a_bare_line_break(brk: bytes) -> None:
    body = _bare_break_body(brk)
    environ = create_environ("/api/card", method="POST", data=body, content_type=MP)
    _, form, _ = parse_form_data(environ)
    assert form.getlist("customer_id") == [BOB]  # what a Flask app reads
    assert form.getlist("note") == ["hi"]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("brk", [b"\n", b"\r"], ids=["lf", "cr"])
def test_a_delimiter_after_a_bare_line_break_is_refused(kind: str, brk: bytes) -> None:
    app = WriteApp()
    status, headers, out, events = send_write(
        kind, app, body=_bare_break_body(brk), content_type=MP, cookie=login_cookie(), chunks=3
    )
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    reason = _write.AMBIGUOUS_NAME if kind == "asgi" else "request names another owner's record"
    assert events[0].reason == reason
    assert BOB not in events[0].to_json()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_part_value_that_only_mentions_the_boundary_mid_line_still_runs(kind: str) -> None:
    body = b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nsee --XyZ here\r\n--XyZ--\r\n'
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie())
    assert (status, out, events) == (200, b"written", [])
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
    reason = _write.AMBIGUOUS_NAME if kind == "asgi" else "request names another owner's record"
    assert events[0].reason == reason
    assert BOB not in events[0].to_json()
