"""Issue 10: the framework-neutral write check (before the app runs), on both stacks.

Every row is an attack (or its honest twin) as an attacker would send it: a spelling of an
owner field that a framework's parser reads and a naive one misses, or a value that a
framework coerces (Pydantic's lax mode turns ``true`` and ``1.0`` into ``1``). Each refused
row asserts the exact status, the block page, the event kind/action/reason, and that the
handler never ran; each allowed row asserts that the handler got the body unchanged.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import (
    BLOCK_BODY,
    GuardedStack,
    Reply,
    asgi_scope,
    assert_block,
    assert_no_raw_ids,
    binding_value,
    header_list,
    kinds,
)
from ids import ALICE, BOB, NUMERIC
from werkzeug.test import create_environ

from respguard import (
    ASGIMiddleware,
    AuditEvent,
    FormOwner,
    JsonBodyOwner,
    JsonKeys,
    PathOwner,
    QueryOwner,
    WSGIMiddleware,
    _write,
    set_requester,
)

SECRET = "write-secret-0a9d"
CARD = "/api/customers/{customer_id}/card"
MP = "multipart/form-data; boundary=XyZ"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


class WriteApp:
    """An app whose only job is a write; records what it received (the side effect)."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, bytes]] = []

    async def asgi(self, scope: Any, receive: Any, send: Any) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.writes.append((scope["path"], b"".join(chunks)))
        set_requester(scope, None)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"written"})

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.writes.append((environ["PATH_INFO"], environ["wsgi.input"].read(length)))
        set_requester(environ, None)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"written"]


def login_cookie(requester: str = ALICE) -> str:
    """A binding cookie for ``requester``, as respguard set it at log-in."""
    stack = GuardedStack("asgi", secret_key=SECRET, extractors=[JsonKeys("customer_id")])
    got = stack.send(Reply(chunks=[json.dumps({"customer_id": requester}).encode()], requester=requester))
    return binding_value(got.headers)


def rules() -> list[Any]:
    return [PathOwner(CARD), JsonBodyOwner("customer_id"), FormOwner("customer_id"), QueryOwner("customer_id")]


def send_write(
    kind: str,
    app: WriteApp,
    *,
    body: bytes = b"",
    content_type: str | None = JSON_TYPE,
    path: str = "/api/card",
    query: str = "",
    cookie: str | None = None,
    extra_headers: list[tuple[str, str]] | None = None,
    chunks: int = 1,
    **options: Any,
) -> tuple[int, list[tuple[str, str]], bytes, list[AuditEvent]]:
    """One write through ASGIMiddleware or WSGIMiddleware; (status, headers, body, events)."""
    events: list[AuditEvent] = []
    settings: dict[str, Any] = {
        "secret_key": SECRET,
        "extractors": [JsonKeys("customer_id")],
        "inbound": rules(),
        "on_event": events.append,
    }
    settings.update(options)
    headers = [] if content_type is None else [("Content-Type", content_type)]
    headers += extra_headers or []
    if cookie:
        headers.append(("Cookie", f"respguard_bind={cookie}"))
    if kind == "asgi":
        guarded = ASGIMiddleware(app.asgi, **settings)
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        scope = asgi_scope(method="POST", path=path, headers=raw, query_string=query.encode())
        size = max(1, -(-len(body) // chunks))
        pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(dict(message))

        asyncio.run(guarded(scope, receive, send))
        return (
            sent[0]["status"],
            header_list(sent[0]["headers"]),
            b"".join(m.get("body", b"") for m in sent[1:]),
            events,
        )
    guarded_wsgi = WSGIMiddleware(app.wsgi, **settings)
    environ = create_environ(path, method="POST", headers=headers, data=body, query_string=query)
    if content_type is None:
        environ.pop("CONTENT_TYPE", None)
    captured: list[Any] = []
    result = guarded_wsgi(environ, lambda status, hdrs, exc_info=None: captured.extend([status, hdrs]))
    out = b"".join(result)
    getattr(result, "close", lambda: None)()
    return int(captured[0][:3]), header_list(captured[1]), out, events


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def part(disposition: str, value: bytes, extra: str = "") -> bytes:
    return (
        b"--XyZ\r\nContent-Disposition: " + disposition.encode() + b"\r\n" + extra.encode() + b"\r\n" + value + b"\r\n"
    )


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + b"--XyZ--\r\n"


B = BOB.encode()
A = ALICE.encode()

#: (row id, body, content type, query, kind, reason): every row is refused, the handler never runs.
REFUSED: list[tuple[str, bytes, str | None, str, str, str]] = [
    # multipart spellings the old regex missed
    (
        "mp-unquoted-name",
        multipart(part("form-data; name=customer_id", B)),
        MP,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "mp-rfc2231-name",
        multipart(part("form-data; name*=utf-8''customer_id", B)),
        MP,
        "",
        "cross_owner_write",
        _write.AMBIGUOUS_NAME,
    ),
    (
        "mp-upper-NAME",
        multipart(part('form-data; NAME="customer_id"', B)),
        MP,
        "",
        "cross_owner_write",
        _write.AMBIGUOUS_NAME,
    ),
    (
        "mp-name-twice",
        multipart(part('form-data; name="note"; name="customer_id"', B)),
        MP,
        "",
        "cross_owner_write",
        _write.AMBIGUOUS_NAME,
    ),
    (
        "mp-name-space-before-eq",
        multipart(part('form-data; name ="customer_id"', B)),
        MP,
        "",
        "cross_owner_write",
        _write.AMBIGUOUS_NAME,
    ),
    (
        "mp-two-dispositions",
        multipart(part('form-data; name="note"', B, 'Content-Disposition: form-data; name="customer_id"\r\n')),
        MP,
        "",
        "cross_owner_write",
        _write.AMBIGUOUS_NAME,
    ),
    (
        "mp-quoted-semicolon",
        multipart(part('form-data; name="customer_id"; filename="a;b"', B)),
        MP,
        "",
        "cross_owner_write",
        "owner field sent as a file",
    ),
    (
        "mp-file-field",
        multipart(part('form-data; name="customer_id"; filename="x.txt"', B)),
        MP,
        "",
        "cross_owner_write",
        "owner field sent as a file",
    ),
    (
        "mp-repeated-field",
        multipart(part('form-data; name="customer_id"', A), part('form-data; name="customer_id"', B)),
        MP,
        "",
        "cross_owner_write",
        "owner field repeated",
    ),
    (
        "mp-uppercase-type",
        multipart(part('form-data; name="customer_id"', B)),
        "Multipart/Form-Data; boundary=XyZ",
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "mp-quoted-boundary",
        multipart(part('form-data; name="customer_id"', B)),
        'multipart/form-data; boundary="XyZ"',
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "mp-no-boundary",
        multipart(part('form-data; name="customer_id"', B)),
        "multipart/form-data",
        "",
        "scan_error",
        _write.MALFORMED_FORM,
    ),
    # urlencoded
    ("form-foreign", b"customer_id=" + B, FORM, "", "cross_owner_write", "request names another owner's record"),
    ("form-percent-name", b"customer%5Fid=" + B, FORM, "", "cross_owner_write", "request names another owner's record"),
    (
        "form-plus-space",
        b"customer_id=" + B + b"+",
        FORM,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "form-repeated",
        b"customer_id=" + A + b"&customer_id=" + B,
        FORM,
        "",
        "cross_owner_write",
        "owner field repeated",
    ),
    # JSON values a framework coerces, or reads differently
    (
        "json-true",
        b'{"customer_id": true}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-float",
        b'{"customer_id": 1.0}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-exponent",
        b'{"customer_id": 1e0}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-nan",
        b'{"customer_id": NaN}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-object",
        b'{"customer_id": {"id": "' + A + b'"}}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-list-foreign",
        b'{"customer_id": ["' + A + b'", "' + B + b'"]}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-nested-list",
        b'{"customer_id": [["' + A + b'"]]}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-list-of-true",
        b'{"customer_id": [true]}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field holds a value that is not a plain id",
    ),
    (
        "json-duplicate-key",
        b'{"customer_id": "' + A + b'", "customer_id": "' + B + b'"}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "owner field repeated",
    ),
    (
        "json-deep",
        b'{"a": [{"b": {"customer_id": "' + B + b'"}}]}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-escaped-key",
        b'{"customer\\u005fid": "' + B + b'"}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    ("json-malformed", b'{"customer_id": ', JSON_TYPE, "", "scan_error", _write.MALFORMED_JSON),
    ("json-too-deep", b"[" * 100000 + b"]" * 100000, JSON_TYPE, "", "scan_error", _write.MALFORMED_JSON),
    # JSON under another type, or none (Flask's get_json(force=True), FastAPI without a type)
    (
        "json-as-text",
        b'{"customer_id": "' + B + b'"}',
        "text/plain",
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-no-type",
        b'{"customer_id": "' + B + b'"}',
        None,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-as-form",
        b'{"customer_id": "' + B + b'"}',
        FORM,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-utf16-bom",
        codecs.BOM_UTF16_LE + ('{"customer_id": "' + BOB + '"}').encode("utf-16-le"),
        "text/plain",
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-utf32",
        ('{"customer_id": "' + BOB + '"}').encode("utf-32-be"),
        "application/octet-stream",
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-utf8-bom-ws",
        codecs.BOM_UTF8 + b' \r\n\t{"customer_id": "' + B + b'"}',
        "text/plain",
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-vnd-type",
        b'{"customer_id": "' + B + b'"}',
        "application/vnd.api+json",
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "json-top-level-list",
        b'[{"customer_id": "' + B + b'"}]',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    ("json-int-too-long", b'{"customer_id": ' + b"1" * 5000 + b"}", JSON_TYPE, "", "scan_error", _write.MALFORMED_JSON),
    (
        "json-lone-surrogate",
        b'{"customer_id": "\\ud800"}',
        JSON_TYPE,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "mp-lower-case-header",
        b'--XyZ\r\ncontent-disposition: form-data; name="customer_id"\r\n\r\n' + B + b"\r\n--XyZ--\r\n",
        MP,
        "",
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "mp-two-boundary-params",
        multipart(part('form-data; name="customer_id"', B)),
        "multipart/form-data; boundary=XyZ; boundary=Other",
        "",
        "scan_error",
        _write.MALFORMED_FORM,
    ),
    # query
    (
        "query-foreign",
        b"",
        JSON_TYPE,
        "customer_id=" + BOB,
        "cross_owner_write",
        "request names another owner's record",
    ),
    (
        "query-repeated",
        b"",
        JSON_TYPE,
        f"customer_id={ALICE}&customer_id={BOB}",
        "cross_owner_write",
        "owner field repeated",
    ),
    (
        "query-percent",
        b"",
        JSON_TYPE,
        "customer%5Fid=" + BOB,
        "cross_owner_write",
        "request names another owner's record",
    ),
]


@pytest.mark.parametrize(
    ("row", "body", "content_type", "query", "event", "reason"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_refused_before_the_handler_runs(
    kind: str, row: str, body: bytes, content_type: str | None, query: str, event: str, reason: str
) -> None:
    app = WriteApp()
    status, headers, out, events = send_write(
        kind, app, body=body, content_type=content_type, query=query, cookie=login_cookie(), chunks=3
    )
    assert app.writes == []  # the handler never ran
    assert_block(status, headers, out)  # a refused write keeps the binding: the app never ran
    assert (status, out) == (403, BLOCK_BODY)
    assert kinds(events) == [(event, "blocked")]
    assert events[0].reason == reason
    assert_no_raw_ids(events)


#: (row id, body, content type, query): the requester's own writes run, with the body unchanged.
ALLOWED: list[tuple[str, bytes, str | None, str]] = [
    ("json-own-int", b'{"customer_id": ' + NUMERIC.encode() + b"}", JSON_TYPE, ""),
    ("json-own-str", b'{"customer_id": "' + NUMERIC.encode() + b'"}', JSON_TYPE, ""),
    ("json-own-list", b'{"customer_id": [' + NUMERIC.encode() + b', "' + NUMERIC.encode() + b'"]}', JSON_TYPE, ""),
    ("json-null", b'{"customer_id": null}', JSON_TYPE, ""),
    ("json-empty-string", b'{"customer_id": ""}', JSON_TYPE, ""),
    ("json-no-owner", b'{"card_last4": "4242"}', JSON_TYPE, ""),
    ("json-empty-body", b"", JSON_TYPE, ""),
    ("form-own", b"customer_id=" + NUMERIC.encode() + b"&card=4242", FORM, ""),
    ("mp-own", multipart(part('form-data; name="customer_id"', NUMERIC.encode())), MP, ""),
    ("mp-other-file", multipart(part('form-data; name="avatar"; filename="a.png"', b"\x89PNG" + B)), MP, ""),
    ("text-not-json", b"customer_id=" + B, "text/plain", ""),
    ("binary", b"\x00\x01" + B, "application/octet-stream", ""),
    ("query-own", b"", JSON_TYPE, "customer_id=" + NUMERIC),
]


@pytest.mark.parametrize(("row", "body", "content_type", "query"), ALLOWED, ids=[r[0] for r in ALLOWED])
def test_own_writes_run_with_the_body_unchanged(
    kind: str, row: str, body: bytes, content_type: str | None, query: str
) -> None:
    app = WriteApp()
    status, _, out, events = send_write(
        kind, app, body=body, content_type=content_type, query=query, cookie=login_cookie(NUMERIC), chunks=2
    )
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [("/api/card", body)]


def test_numeric_owner_spellings_pydantic_would_coerce(kind: str) -> None:
    # The requester is 8812345; Pydantic's lax mode reads each of these as that int or refuses
    # it, but respguard can't know the model: each not-exactly-own value is refused.
    cookie = login_cookie(NUMERIC)
    for spelling in (b'"08812345"', b'" 8812345"', b'"+8812345"', b'"8812345.0"', b"8812345.0", b"true"):
        app = WriteApp()
        status, headers, out, events = send_write(kind, app, body=b'{"customer_id": ' + spelling + b"}", cookie=cookie)
        assert app.writes == [], spelling
        assert_block(status, headers, out, clears_binding=False)
        assert kinds(events) == [("cross_owner_write", "blocked")]


@pytest.mark.parametrize(
    "body",
    [
        b'--XyZ\nContent-Disposition: form-data; name="customer_id"\n\n' + B + b"\n--XyZ--\n",
        b'--XyZ\r\nContent-Disposition: form-data;\r\n name="customer_id"\r\n\r\n' + B + b"\r\n--XyZ--\r\n",
    ],
    ids=["bare-lf", "folded-header"],
)
def test_what_only_werkzeug_accepts_is_read_as_each_stack_reads_it(kind: str, body: bytes) -> None:
    # Werkzeug reads bare LF line breaks and folded part headers; python-multipart (Starlette)
    # rejects them. A folded header line is one Django reads otherwise (its header lines are CRLF
    # lines, stripped): since session 22 each stack refuses it as ambiguous, before its parser runs.
    app = WriteApp()
    status, headers, out, events = send_write(kind, app, body=body, content_type=MP, cookie=login_cookie())
    assert app.writes == []
    if b"\r\n " in body:
        assert_block(status, headers, out, clears_binding=False)
        assert [(e.kind.value, e.reason) for e in events] == [("cross_owner_write", _write.AMBIGUOUS_NAME)]
    elif kind == "wsgi":
        assert_block(status, headers, out, clears_binding=False)
        assert kinds(events) == [("cross_owner_write", "blocked")]
    else:
        assert_block(status, headers, out)
        assert kinds(events) == [("scan_error", "blocked")]
        assert events[0].reason == _write.MALFORMED_FORM


def test_two_content_types_on_a_write_are_refused_on_asgi() -> None:
    # Starlette reads the first Content-Type, other stacks the last: ambiguous.
    app = WriteApp()
    status, headers, out, events = send_write(
        "asgi",
        app,
        body=b"customer_id=" + B,
        content_type="text/plain",
        extra_headers=[("Content-Type", FORM)],
        cookie=login_cookie(),
    )
    assert app.writes == []
    assert_block(status, headers, out)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == _write.REPEATED_TYPE


def test_a_large_upload_that_does_not_open_like_json_streams_untouched(kind: str) -> None:
    app = WriteApp()
    upload = b"\x89PNG\r\n" + b"x" * 300_000
    status, _, out, events = send_write(
        kind, app, body=upload, content_type="image/png", cookie=login_cookie(), chunks=40, max_body_bytes=1000
    )
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [("/api/card", upload)]


def test_a_json_body_over_the_limit_under_any_type_is_refused(kind: str) -> None:
    app = WriteApp()
    body = b'{"customer_id": "' + A + b'", "pad": "' + b"x" * 2000 + b'"}'
    status, headers, out, events = send_write(
        kind, app, body=body, content_type="text/plain", cookie=login_cookie(), max_body_bytes=1000
    )
    assert app.writes == []
    assert_block(status, headers, out)
    assert kinds(events) == [("oversize", "blocked")]


def test_anonymous_multipart_of_128_kib_is_parsed_in_one_pass(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The old owner-field regex backtracked over these header-like lines (quadratic: 2 s).
    # The parsers are fed the body once: count the bytes they are given.
    lines = b'Content-Disposition: form-data; name="customer_id"\r\n' * 2600
    body = b"--XyZ\r\n" + lines + b"\r\n" + B + b"\r\n--XyZ--\r\n"
    assert len(body) > 128 * 1024
    fed: list[int] = []
    if kind == "asgi":
        import python_multipart

        original = python_multipart.MultipartParser.write

        def counting(self: Any, data: bytes) -> int:
            fed.append(len(data))
            return int(original(self, data))

        monkeypatch.setattr(python_multipart.MultipartParser, "write", counting)
    else:
        from werkzeug.sansio.multipart import MultipartDecoder

        original_receive = MultipartDecoder.receive_data

        def counting_receive(self: Any, data: bytes | None) -> None:
            fed.append(len(data or b""))
            original_receive(self, data)

        monkeypatch.setattr(MultipartDecoder, "receive_data", counting_receive)
    app = WriteApp()
    status, headers, out, events = send_write(kind, app, body=body, content_type=MP)
    assert sum(fed) == len(body)  # one pass
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].reason == _write.AMBIGUOUS_NAME  # 2600 Content-Disposition headers in one part


def test_the_core_imports_no_parser_and_asgi_forms_need_only_python_multipart() -> None:
    import subprocess
    import sys

    script = """
import asyncio, sys
for blocked in ("werkzeug", "starlette", "flask", "fastapi"):
    sys.modules[blocked] = None  # not installed
import respguard
assert not [m for m in sys.modules if m.startswith(("python_multipart", "multipart"))], "imported at core import"
from respguard import ASGIMiddleware, FormOwner, JsonKeys

async def app(scope, receive, send):
    raise AssertionError("the handler ran")

body = b'--XyZ\\r\\nContent-Disposition: form-data; name=customer_id\\r\\n\\r\\nbob-9c2e\\r\\n--XyZ--\\r\\n'
guard = ASGIMiddleware(app, secret_key="s", extractors=[JsonKeys("customer_id")], inbound=[FormOwner("customer_id")])
scope = {"type": "http", "method": "POST", "path": "/", "scheme": "http", "query_string": b"",
         "headers": [(b"content-type", b"multipart/form-data; boundary=XyZ")]}
sent = []
async def receive():
    return {"type": "http.request", "body": body, "more_body": False}
async def send(message):
    sent.append(message)
asyncio.run(guard(scope, receive, send))
assert sent[0]["status"] == 403, sent
assert "python_multipart" in sys.modules
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-2000:]


def test_a_parser_that_fails_unexpectedly_fails_closed(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(content_type: str, body: bytes) -> Any:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(_write, "parse_form_werkzeug" if kind == "wsgi" else "parse_form_python_multipart", broken)
    app = WriteApp()
    status, headers, out, events = send_write(
        kind, app, body=b"customer_id=" + A, content_type=FORM, cookie=login_cookie()
    )
    assert app.writes == []
    assert_block(status, headers, out)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == _write.UNREADABLE
