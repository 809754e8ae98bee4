"""Adversarial findings, session 22 (attackQ).

1. **A form type Django reads and the write check did not.** ``Content-Type:
   application/x-www-form-urlencoded\\xa0`` (or ``\\x85``, ``\\x1c``..``\\x1f``, ``\\x0b``, ``\\x0c``
   around it: what Python's ``str.strip()`` strips; obs-text such as ``\\xa0`` and ``\\x85`` is a
   legal header byte that h11 and gunicorn pass on), or ``application/x-www-form-urlencoded=1;
   charset=utf-8`` (``email.message``'s parameter reading keeps the text before ``=``): Django
   reads its media type with ``parse_header_parameters`` (``line.strip().lower()``, or
   ``email.message``'s ``get_params``), so ``request.POST`` is the form ``customer_id=bob``. The
   write check before the app (``ASGIMiddleware``, ``WSGIMiddleware``: "any ASGI or WSGI app", a
   Django project's ``get_wsgi_application()``/``get_asgi_application()`` among them) read the
   type as written, stripped of spaces and tabs only: no form type, so the body was sniffed for
   JSON and passed (200, no event), and the Django view wrote bob's record. Fixed
   (``_write._media``, ``_write._form_type``): the media type is read as Django reads it (the
   first parameter's name, Python white space stripped), a superset of Starlette's and
   Werkzeug's reading, and the form is parsed under that type (a form those frameworks leave
   unread only adds owners: never a write they run on a foreign id).
2. **A multipart charset Django decodes names in, on WSGI.** ``multipart/form-data; boundary=XyZ;
   charset=utf-16-le`` with a part whose name and value are UTF-16 bytes: Django's
   ``MultiPartParser`` decodes names and values in the request's charset (``customer_id=bob``);
   Werkzeug ignores it, so ``WSGIMiddleware``'s check read a name full of NULs, no owner, and
   passed the write (200) to a Django WSGI app. (``ASGIMiddleware`` refused it already: Starlette
   decodes in it too.) Fixed (``_write.parse_form_werkzeug``): a charset that does not read ASCII
   as ASCII is refused as ambiguous there too ("ambiguous multipart field name").
3. **A base64 part only Django decodes.** A part ``customer_id`` with ``Content-Transfer-Encoding:
   base64`` and the value ``Ym9iLTljMmU=``: Django decodes a field's base64 (``bob-9c2e``);
   Werkzeug and python-multipart (as Starlette drives it) read the text as sent. A user whose
   chosen username is ``Ym9iLTljMmU=`` names *their own* id to the write check (200, no event)
   and writes bob's record in a Django app under the generic middleware. Fixed
   (``_write._check_part``): a part with a transfer encoding other than ``7bit``, ``8bit`` or
   ``binary`` (RFC 7578 deprecates it; browsers never send one), or with two, is refused on both
   stacks (``cross_owner_write``, "multipart part with a transfer encoding").
4. **A part name Django strips.** ``name=" customer_id"``, ``name="customer_id "`` (a tab, a
   ``\x0b``...): Django strips the name (``disposition["name"].strip()``), Werkzeug and
   python-multipart keep the white space: the check read a field nobody owns (200, no event),
   Django's ``request.POST["customer_id"]`` was bob. Fixed (``_write._check_part``): a name with
   white space around it is refused as ambiguous on both stacks.
5. **JSON in the charset DRF decodes it in, before the app.** ``Content-Type: application/json;
   charset=utf-7`` and ``{"customer_id": "alice-7f3a", "z": "+ACI-, +ACI-customer_id+ACI-:
   +ACI-bob-9c2e"}``: as UTF-8 (``json.loads(bytes)``, what Starlette and Flask read) it is alice's
   own write; DRF's ``JSONParser`` decodes the body in the request's charset, where ``+ACI-`` is a
   quote: ``{"customer_id": "alice-7f3a", "z": "", "customer_id": "bob-9c2e"}``, the last key
   wins: bob. The Django adapter reads both (README: "also as decoded in the charset its
   Content-Type names"); the generic middleware, in front of a DRF project, read only the bytes
   (200, no event). Fixed (``_write._named``): the body is also read in the charset its
   Content-Type names (``email.message``'s reading, as Django's ``request.encoding``), on every
   stack: a reading that differs and repeats an owner key is refused (``cross_owner_write``,
   "owner field repeated").
6. **A form in the charset DRF decodes it in.** A ``PUT`` of ``application/x-www-form-urlencoded;
   charset=utf-16-le`` whose body is ``customer_id=bob`` in UTF-16 (or whose name is
   percent-escaped UTF-16, ``%63%00%75%00...``, or UTF-7's ``x=+ACY-customer_id+AD0-bob``): DRF's
   ``FormParser`` decodes the body and its escapes in the request's charset (``QueryDict(body,
   encoding=...)``): ``customer_id=bob``; Werkzeug and Starlette read UTF-8, a name of NULs, no
   owner: 200, no event, before a DRF project's view. (The Django adapter refuses such a form.)
   Fixed (``_write._named``): an urlencoded body with a charset is also read as ``QueryDict``
   reads it, and where the two readings give the owner fields other values it is refused
   (``cross_owner_write``, "form read otherwise in its charset"). An ASCII form labelled
   ``charset=ISO-8859-1`` (Apache HttpClient's default), or one whose other fields differ, runs.
7. **A prefixed binding cookie browsers never store.** ``binding_cookie="__Host-respguard_bind"``
   (a hardening a reviewer asks for) behind a TLS-terminating proxy, with the default
   ``binding_secure=None``: the request's scheme is ``http``, so the cookie went out without
   ``Secure``, and browsers refuse a ``__Host-`` or ``__Secure-`` cookie without it (RFC 6265bis
   4.1.3; ``__Host-`` also with a ``Domain`` or a ``Path`` other than ``/``; the prefixes match
   in any case). The browser then never held a binding: every request was a first visit, a
   swapped session never a drift, and nothing said so. Fixed (``Guard``): such a name is always
   ``Secure`` (the name says HTTPS); ``binding_secure=False`` with it, or a ``__Host-`` name with a
   ``binding_domain`` or a ``binding_path`` other than ``/``, raises ``ValueError`` at start-up
   naming ``binding_cookie``.
8. **The id a refused form names, in its event's path.** A write refused as ambiguous before its
   owners could be read is about every value its body holds: its event's path redacts each line
   of the body (README, "Audit events"). A part whose value is base64 (``Content-Transfer-Encoding:
   base64``, finding 3) or quoted-printable, or a multipart body in UTF-16 (``charset=utf-16-le``:
   Starlette and Django decode it), holds bob's id in bytes that are no line of UTF-8 text: the
   event of ``POST /api/notes/bob-9c2e`` logged ``/api/notes/bob-9c2e``, the id of the record
   the write was after. Fixed (``_write._lenient_form``): the body is also read in its declared
   charset (at each alignment of a UTF-16/32 unit), and each line also base64- and
   quoted-printable-decoded, for the redaction.
9. **A query string Django decodes in the body's charset.** Django reads ``request.GET`` as
   ``QueryDict(QUERY_STRING, encoding=request.encoding)``, and ``request.encoding`` is the
   ``charset`` of the request's ``Content-Type``: ``POST /api/card?%63%00%75%00...=%62%00...`` (a
   ``QueryOwner`` field's name and bob's id, percent-escaped UTF-16) with ``Content-Type:
   application/json; charset=utf-16-le`` is ``customer_id=bob`` to a Django view, a name of NULs
   to the UTF-8 reading of the check before the app (200, no event). Fixed (``_write._named``):
   where the Content-Type names a charset, the query is also read as ``QueryDict`` reads it, and
   owner fields that read otherwise are refused (``cross_owner_write``, "query read otherwise in
   the request's charset").
10. **A login path that switches the inbound rules off.** Inbound rules skip login paths
    (README: "Login paths are not checked"), and ``login_paths`` takes prefixes: ``login_paths=
    ["/auth/*"]`` (the log-in, the OAuth callback, the password reset under one prefix) beside
    ``PathOwner("/auth/users/{user_id}/password")`` let alice's ``POST
    /auth/users/bob-9c2e/password`` through to the app (200, no event), and ``"/*"`` switched
    every rule off. Exemption is refused at start-up where it covers an inbound rule's path;
    a login path was not. Fixed (``Guard``): a login path that covers a ``PathOwner``'s path, or
    every path beside any inbound rule, raises ``ValueError`` naming both.
11. **A boundary Django reads otherwise.** Django reads a multipart boundary with
    ``email.message``'s parameters: RFC 2231 continuations joined (``boundary*0=A; boundary*1=B``
    is ``AB``, wherever a plain ``boundary=`` stands beside them), a value up to the next ``;``
    (``boundary=A (c)``, ``boundary=A\\B``, ``boundary=A, boundary=B``). Werkzeug reads ``XyZ``
    or ``B`` from the first two, a token (``A``) from the others; python-multipart ``XyZ`` from
    the first. A body framed by the parser's boundary around a harmless ``note``, then by
    Django's around ``customer_id=bob``, is a note to the check (200, no event) and bob's record
    to a Django app under the generic middleware (WSGI: all five; ASGI: the first). Fixed
    (``_write._django_boundary``): a boundary Django reads otherwise than the parser is refused
    as ambiguous on both stacks ("ambiguous multipart field name").
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from conftest import BLOCK_BODY, GuardedStack, Reply, assert_block, assert_no_raw_ids, kinds
from ids import ALICE, BOB, NUMERIC
from test_write_middleware import MP, WriteApp, login_cookie, multipart, part, send_write
from werkzeug.test import create_environ

from respguard import Guard, JsonBodyOwner, JsonKeys, PathOwner, _write

# ------------------------------------------------------------------ 1. a form type Django reads

B = BOB.encode()
URLENCODED_ROWS = [
    "application/x-www-form-urlencoded\xa0",
    "application/x-www-form-urlencoded\x85",
    "\x85application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded\x0b",
    " \x1capplication/x-www-form-urlencoded\x1f; charset=utf-8",
    "application/x-www-form-urlencoded=1; charset=utf-8",
    "application/x-www-form-urlencoded\xa0; charset=utf-8",
]
MULTIPART_ROWS = [
    "multipart/form-data\x0b; boundary=XyZ",
    "multipart/form-data\x1f; boundary=XyZ",
    "multipart/form-data=1; boundary=XyZ",
]


def _form(content_type: str, value: bytes) -> bytes:
    if content_type.lstrip(" \x1c\x85").startswith("application"):
        return b"customer_id=" + value + b"&card_last4=4242"
    return multipart(part('form-data; name="customer_id"', value), part('form-data; name="card_last4"', b"4242"))


def _django_post(content_type: str, body: bytes) -> dict[str, list[str]]:
    """What a Django view reads as ``request.POST``."""
    import test_django  # noqa: F401  (configures Django once per process)
    from django.core.handlers.wsgi import WSGIRequest

    request = WSGIRequest(create_environ("/api/card", method="POST", data=body, content_type=content_type))
    return {key: request.POST.getlist(key) for key in request.POST}


@pytest.mark.parametrize("content_type", URLENCODED_ROWS + MULTIPART_ROWS, ids=repr)
def test_a_form_type_django_reads_is_a_form_to_the_write_check(kind: str, content_type: str) -> None:
    body = _form(content_type, B)
    assert _django_post(content_type, body)["customer_id"] == [BOB]  # what the Django view writes
    _refused("request names another owner's record", kind, body=body, content_type=content_type, cookie=login_cookie())


@pytest.mark.parametrize("content_type", URLENCODED_ROWS + MULTIPART_ROWS, ids=repr)
def test_an_own_form_under_such_a_type_runs(kind: str, content_type: str) -> None:
    body = _form(content_type, NUMERIC.encode())
    app = WriteApp()
    status, _, out, events = send_write(
        kind, app, body=body, content_type=content_type, cookie=login_cookie(NUMERIC), chunks=2
    )
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [("/api/card", body)]


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _refused(reason: str, kind: str, **write: Any) -> None:
    """The write is refused before the app runs: the block page, one cross_owner_write event giving
    ``reason``, no raw id in it."""
    app = WriteApp()
    status, headers, out, events = send_write(kind, app, **write)
    assert app.writes == []
    assert_block(status, headers, out)
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].reason == reason
    assert_no_raw_ids(events)



# ------------------------------------------------------------------ 2. a charset Django decodes names in

WIDE = ["utf-16-le", "utf-16-be", "utf-32-le"]


@pytest.mark.parametrize("charset", WIDE)
def test_a_multipart_charset_django_decodes_names_in_is_refused(kind: str, charset: str) -> None:
    content_type = MP + "; charset=" + charset
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="'
        + "customer_id".encode(charset)
        + b'"\r\n\r\n'
        + BOB.encode(charset)
        + b"\r\n--XyZ--\r\n"
    )
    assert _django_post(content_type, body)["customer_id"] == [BOB]
    _refused(_write.AMBIGUOUS_NAME, kind, body=body, content_type=content_type, cookie=login_cookie())


# ------------------------------------------------------------------ 3. a base64 part

#: An attacker's chosen username: the base64 of bob's id.
ENCODED_BOB = base64.b64encode(B).decode()


@pytest.mark.parametrize("coding", ["base64", "BASE64", " base64 ", "quoted-printable", "x-uuencode"])
def test_a_part_with_a_transfer_encoding_is_refused(kind: str, coding: str) -> None:
    body = multipart(
        part('form-data; name="customer_id"', ENCODED_BOB.encode(), f"Content-Transfer-Encoding: {coding}\r\n")
    )
    if coding.strip().lower() == "base64":
        assert _django_post(MP, body)["customer_id"] == [BOB]  # Django decodes it: bob's record
    app = WriteApp()
    status, headers, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie(ENCODED_BOB))
    assert app.writes == []
    assert_block(status, headers, out)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].reason == _write.TRANSFER_ENCODED
    assert_no_raw_ids(events, ENCODED_BOB)


@pytest.mark.parametrize("coding", ["7bit", "8bit", "binary", "Binary"])
def test_an_identity_transfer_encoding_is_read_as_sent(kind: str, coding: str) -> None:
    body = multipart(
        part('form-data; name="customer_id"', NUMERIC.encode(), f"Content-Transfer-Encoding: {coding}\r\n")
    )
    app = WriteApp()
    status, _, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie(NUMERIC))
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [("/api/card", body)]


# ------------------------------------------------------------------ 4. a part name Django strips


@pytest.mark.parametrize("name", [" customer_id", "customer_id ", "customer_id\t", "\tcustomer_id", "customer_id\x0b"])
def test_a_part_name_with_white_space_around_it_is_refused(kind: str, name: str) -> None:
    body = multipart(part(f'form-data; name="{name}"', B))
    assert _django_post(MP, body)["customer_id"] == [BOB]
    _refused(_write.AMBIGUOUS_NAME, kind, body=body, content_type=MP, cookie=login_cookie())


# ------------------------------------------------------------------ 5. JSON in its declared charset

UTF7_BODY = b'{"customer_id": "' + ALICE.encode() + b'", "z": "+ACI-, +ACI-customer_id+ACI-: +ACI-' + B + b'"}'


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-7", 'application/json; Charset="UTF-7"'])
def test_json_is_also_read_in_the_charset_drf_decodes_it_in(kind: str, content_type: str) -> None:
    import test_django  # noqa: F401  (configures Django once per process)
    from rest_framework.parsers import JSONParser

    assert json.loads(UTF7_BODY)["customer_id"] == ALICE  # Starlette's and Flask's reading
    drf = JSONParser().parse(io.BytesIO(UTF7_BODY), parser_context={"encoding": "utf-7"})
    assert drf["customer_id"] == BOB  # a DRF view's request.data
    _refused("owner field repeated", kind, body=UTF7_BODY, content_type=content_type, cookie=login_cookie())


def test_json_in_a_charset_that_reads_it_alike_runs(kind: str) -> None:
    body = b'{"customer_id": "' + NUMERIC.encode() + b'"}'
    app = WriteApp()
    status, _, out, events = send_write(
        kind, app, body=body, content_type="application/json; charset=utf-7", cookie=login_cookie(NUMERIC)
    )
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [("/api/card", body)]


# ------------------------------------------------------------------ 6. a form in its declared charset

FORM_IN = [
    ("utf16-text", "utf-16-le", ("customer_id=" + BOB).encode("utf-16-le")),
    ("utf16-escapes", "utf-16-le", (quote("customer_id".encode("utf-16-le")) + "=" + BOB).encode()),
    ("utf7", "utf-7", b"x=+ACY-customer_id+AD0-" + B),
]


@pytest.mark.parametrize(("row", "charset", "body"), FORM_IN, ids=[r[0] for r in FORM_IN])
def test_a_form_is_also_read_in_the_charset_drf_decodes_it_in(kind: str, row: str, charset: str, body: bytes) -> None:
    import test_django  # noqa: F401  (configures Django once per process)
    from rest_framework.parsers import FormParser

    assert FormParser().parse(io.BytesIO(body), parser_context={"encoding": charset})["customer_id"] == BOB
    content_type = "application/x-www-form-urlencoded; charset=" + charset
    _refused(_write.CHARSET_FORM, kind, body=body, content_type=content_type, cookie=login_cookie())


@pytest.mark.parametrize(
    "body",
    [b"customer_id=" + NUMERIC.encode() + b"&card_last4=4242", b"customer_id=" + NUMERIC.encode() + b"&city=M%FCnchen"],
)
def test_a_latin_1_form_that_names_the_same_owner_runs(kind: str, body: bytes) -> None:
    app = WriteApp()
    status, _, out, events = send_write(
        kind,
        app,
        body=body,
        content_type="application/x-www-form-urlencoded; charset=ISO-8859-1",
        cookie=login_cookie(NUMERIC),
    )
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [("/api/card", body)]


# ------------------------------------------------------------------ 7. a prefixed binding cookie


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("__Host-respguard_bind", {"binding_secure": False}),
        ("__host-respguard_bind", {"binding_secure": False}),
        ("__SECURE-respguard_bind", {"binding_secure": False}),
        ("__Host-respguard_bind", {"binding_secure": True, "binding_domain": "example.test"}),
        ("__Host-respguard_bind", {"binding_secure": True, "binding_path": "/app"}),
    ],
)
def test_a_prefixed_binding_cookie_browsers_would_refuse_is_refused_at_start_up(
    name: str, options: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="binding_cookie"):
        Guard(secret_key="k", extractors=[JsonKeys("customer_id")], binding_cookie=name, **options)


@pytest.mark.parametrize("name", ["__Host-respguard_bind", "__Secure-respguard_bind", "__host-respguard_bind"])
@pytest.mark.parametrize("secure", [None, True])
def test_a_prefixed_binding_cookie_goes_out_secure_over_http(
    make_stack: Callable[..., GuardedStack], name: str, secure: bool | None
) -> None:
    # Behind a TLS-terminating proxy the app sees http: the cookie must still be one browsers keep.
    stack = make_stack(secret_key="k", extractors=[JsonKeys("customer_id")], binding_cookie=name, binding_secure=secure)
    got = stack.send(Reply(chunks=[json.dumps({"customer_id": ALICE}).encode()], requester=ALICE), scheme="http")
    (cookie,) = [v for k, v in got.headers if k == "set-cookie"]
    attributes = sorted(a.strip() for a in cookie.split(";")[1:])
    assert cookie.startswith(name + "=") and got.status == 200
    assert "Secure" in attributes and "Path=/" in attributes
    assert not [a for a in attributes if a.lower().startswith("domain")]


def test_a_prefixed_binding_cookie_may_be_same_site_none() -> None:
    """(Review 22q, 13.) The prefix makes it Secure, which SameSite=None needs: no start-up error."""
    guard = Guard(
        secret_key="k", extractors=[JsonKeys("customer_id")], binding_cookie="__Host-b", binding_same_site="none"
    )
    assert guard.codec.secure is True
    with pytest.raises(ValueError, match="binding_same_site='none' needs binding_secure=True"):
        Guard(secret_key="k", extractors=[JsonKeys("customer_id")], binding_same_site="none")


# ------------------------------------------------------------------ 8. a refused form's event path

REFUSED_SPELLINGS = [
    (
        "base64",
        multipart(part('form-data; name="customer_id"', base64.b64encode(B), "Content-Transfer-Encoding: base64\r\n")),
        MP,
    ),
    (
        "quoted-printable",
        multipart(
            part('form-data; name="customer_id"', b"=62=6F=62-9c2e", "Content-Transfer-Encoding: quoted-printable\r\n")
        ),
        MP,
    ),
    (
        "utf-16-le",
        b'--XyZ\r\nContent-Disposition: form-data; name="'
        + "customer_id".encode("utf-16-le")
        + b'"\r\n\r\n'
        + BOB.encode("utf-16-le")
        + b"\r\n--XyZ--\r\n",
        MP + "; charset=utf-16-le",
    ),
    (
        "utf-16-le-odd",
        b'--XyZ\r\nContent-Disposition: form-data; name="'
        + "customer_id".encode("utf-16-le")
        + b'"\r\n\r\n\x00'
        + BOB.encode("utf-16-le")
        + b"\r\n--XyZ--\r\n",
        MP + "; charset=utf-16-le",
    ),
]


@pytest.mark.parametrize(("row", "body", "content_type"), REFUSED_SPELLINGS, ids=[r[0] for r in REFUSED_SPELLINGS])
def test_a_refused_forms_event_path_shows_no_id_its_body_names(
    kind: str, row: str, body: bytes, content_type: str
) -> None:
    app = WriteApp()
    status, headers, out, events = send_write(
        kind, app, body=body, content_type=content_type, cookie=login_cookie(), path="/api/notes/" + BOB
    )
    assert app.writes == []
    assert_block(status, headers, out)
    assert [k for k, _ in kinds(events)] == ["cross_owner_write"]
    assert events[0].path == "/api/notes/{id}"
    assert_no_raw_ids(events)


# ------------------------------------------------------------------ 9. a query in the body's charset

UTF16_QUERY = quote("customer_id".encode("utf-16-le")) + "=" + quote(B.decode().encode("utf-16-le"))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json; charset=utf-16-le", b"{}"),
        ("text/plain; charset=utf-16-le", b""),
        ("text/plain; charset=utf-7", b""),
    ],
)
def test_a_query_django_decodes_in_the_bodys_charset_is_refused(kind: str, content_type: str, body: bytes) -> None:
    query = UTF16_QUERY if "utf-16" in content_type else "x=+ACY-customer_id+AD0-" + BOB
    import test_django  # noqa: F401  (configures Django once per process)
    from django.core.handlers.wsgi import WSGIRequest

    environ = create_environ("/api/card", method="POST", data=body, content_type=content_type, query_string=query)
    assert WSGIRequest(environ).GET.getlist("customer_id") == [BOB]  # a Django view's request.GET
    _refused(_write.CHARSET_QUERY, kind, body=body, content_type=content_type, query=query, cookie=login_cookie())


def test_an_ascii_query_under_a_latin_1_body_runs(kind: str) -> None:
    body = b'{"card_last4": "4242"}'
    app = WriteApp()
    status, _, out, events = send_write(
        kind,
        app,
        body=body,
        content_type="application/json; charset=ISO-8859-1",
        query="customer_id=" + NUMERIC + "&city=M%FCnchen",
        cookie=login_cookie(NUMERIC),
    )
    assert (status, out, events) == (200, b"written", [])


# ------------------------------------------------------------------ 10. a login path over an inbound rule


@pytest.mark.parametrize(
    ("login_paths", "rule"),
    [
        (["/auth/*"], PathOwner("/auth/users/{user_id}/password")),
        (["/*"], PathOwner("/auth/users/{user_id}/password")),
        (["/*"], JsonBodyOwner("user_id")),
    ],
)
def test_a_login_path_that_covers_an_inbound_rule_is_refused_at_start_up(login_paths: list[str], rule: object) -> None:
    with pytest.raises(ValueError, match="login_paths") as raised:
        Guard(secret_key="k", extractors=[JsonKeys("customer_id")], login_paths=login_paths, inbound=[rule])
    assert "inbound rule" in str(raised.value)


@pytest.mark.parametrize(
    ("login_paths", "rule"),
    [
        (["/accounts/login/"], PathOwner("/accounts/{account_id}/")),  # Django's LOGIN_URL
        (["/users/login", "/users/sign_up"], PathOwner("/users/{user_id}")),
        (["/login", "/signup"], PathOwner("/{username}")),
    ],
)
def test_an_exact_login_path_a_pattern_could_match_starts(login_paths: list[str], rule: PathOwner) -> None:
    """(Review 22q, 11.) An exact login path is one page, the app's log-in: the pattern would read
    ``login`` as an owner, and the rule still checks every other path it matches."""
    Guard(secret_key="k", extractors=[JsonKeys("customer_id")], login_paths=login_paths, inbound=[rule])


def test_an_exact_login_path_leaves_the_rule_on_the_records_beside_it(kind: str) -> None:
    app = WriteApp()
    options = {"login_paths": ["/accounts/login/"], "inbound": [PathOwner("/accounts/{account_id}/")]}
    status, _, out, events = send_write(
        kind, app, body=b'{"note": "x"}', path="/accounts/" + BOB + "/", cookie=login_cookie(), **options
    )
    assert app.writes == []
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]


def test_a_login_path_beside_the_inbound_rules_is_fine(kind: str) -> None:
    app = WriteApp()
    status, _, out, events = send_write(
        kind,
        app,
        body=b'{"password": "x"}',
        path="/auth/users/" + BOB + "/password",
        cookie=login_cookie(),
        login_paths=["/auth/login", "/auth/oauth/*"],
        inbound=[PathOwner("/auth/users/{user_id}/password")],
    )
    assert app.writes == []
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [("cross_owner_write", "blocked")]


# ------------------------------------------------------------------ 11. a boundary Django reads otherwise


def _framed(boundary: bytes, name: bytes, value: bytes) -> bytes:
    disposition = b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n'
    return b"--" + boundary + disposition + value + b"\r\n--" + boundary + b"--\r\n"


BOUNDARIES = [
    ("multipart/form-data; boundary*0=A; boundary*1=B; boundary=XyZ", b"XyZ", b"AB"),
    ("multipart/form-data; boundary*0=A; boundary=XyZ; boundary*1=B", b"B", b"AB"),
    ("multipart/form-data; boundary=A\\B", b"A", b"A\\B"),
    ("multipart/form-data; boundary=A (c)", b"A", b"A (c)"),
    ("multipart/form-data; boundary=A, boundary=B", b"A", b"A, boundary=B"),
]


@pytest.mark.parametrize(("content_type", "theirs", "djangos"), BOUNDARIES, ids=[r[0] for r in BOUNDARIES])
def test_a_boundary_django_reads_otherwise_is_refused(
    kind: str, content_type: str, theirs: bytes, djangos: bytes
) -> None:
    body = _framed(theirs, b"note", b"hi") + _framed(djangos, b"customer_id", B)
    assert _django_post(content_type, body)["customer_id"] == [BOB]
    _refused(_write.AMBIGUOUS_NAME, kind, body=body, content_type=content_type, cookie=login_cookie())


@pytest.mark.parametrize(
    "content_type",
    ['multipart/form-data; boundary="XyZ"', "multipart/form-data; Boundary=XyZ", "multipart/form-data;boundary=XyZ"],
)
def test_a_boundary_every_reader_reads_alike_runs(kind: str, content_type: str) -> None:
    body = multipart(part('form-data; name="customer_id"', NUMERIC.encode()))
    app = WriteApp()
    status, _, out, events = send_write(
        kind, app, body=body, content_type=content_type, cookie=login_cookie(NUMERIC), chunks=2
    )
    assert (status, out, events) == (200, b"written", [])
