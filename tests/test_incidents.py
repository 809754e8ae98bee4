"""Issue 5: the features that cover every incident, through ASGI and WSGI.

- inbound refusal of cross-owner writes (incident 2): the app never runs;
- bulk personal data in one response (incident 3);
- second identifiers (incident 4): a shared id, told apart by the e-mail facet;
- personal pages are not left cacheable by shared caches;
- opt-in filtering of foreign records.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import (
    GuardedStack,
    Reply,
    assert_block,
    assert_no_raw_ids,
    binding_value,
    gzipped,
    header_list,
    kinds,
    values,
)
from ids import ALICE, ALICE_EMAIL, BOB, BOB_EMAIL, CAROL
from werkzeug.test import create_environ

from respguard import (
    ASGIMiddleware,
    AuditEvent,
    BulkPII,
    FormOwner,
    Identity,
    JsonBodyOwner,
    JsonKeys,
    OwnerHeader,
    PathOwner,
    QueryOwner,
    WSGIMiddleware,
    set_requester,
)

SECRET = "incident-secret-5c1a"
CARD_PATH = "/api/customers/{customer_id}/card"


# --------------------------------------------------------------------------- inbound


class WriteApp:
    """An app whose only job is a write with a side effect; records what it received."""

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
        set_requester(scope, ALICE)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"written"})

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.writes.append((environ["PATH_INFO"], environ["wsgi.input"].read(length)))
        set_requester(environ, ALICE)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"written"]


def _login_cookie(**options: Any) -> str:
    """A binding cookie for ALICE, as respguard set it at log-in."""
    stack = GuardedStack("asgi", secret_key=SECRET, extractors=[JsonKeys("customer_id")], **options)
    got = stack.send(Reply(chunks=[json.dumps({"customer_id": ALICE}).encode()]))
    return binding_value(got.headers)


def _write(
    kind: str,
    app: WriteApp,
    *,
    path: str,
    body: bytes = b"",
    content_type: str = "application/json",
    query: str = "",
    cookie: str | None = None,
    method: str = "POST",
    chunks: int = 1,
    **options: Any,
) -> tuple[int, list[tuple[str, str]], bytes, list[AuditEvent]]:
    events: list[AuditEvent] = []
    settings: dict[str, Any] = {
        "secret_key": SECRET,
        "extractors": [JsonKeys("customer_id")],
        "inbound": [
            PathOwner(CARD_PATH),
            JsonBodyOwner("customer_id"),
            FormOwner("customer_id"),
            QueryOwner("customer_id"),
        ],
        "on_event": events.append,
        "login_paths": ["/login"],
    }
    settings.update(options)
    headers = [("Content-Type", content_type)]
    if cookie:
        headers.append(("Cookie", f"respguard_bind={cookie}"))
    if kind == "asgi":
        guarded = ASGIMiddleware(app.asgi, **settings)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        }
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
        start = sent[0]
        return (
            start["status"],
            header_list(start["headers"]),
            b"".join(m.get("body", b"") for m in sent[1:]),
            events,
        )
    guarded_wsgi = WSGIMiddleware(app.wsgi, **settings)
    environ = create_environ(path, method=method, headers=headers, data=body, query_string=query)
    captured: list[Any] = []
    result = guarded_wsgi(environ, lambda status, hdrs, exc_info=None: captured.extend([status, hdrs]))
    out = b"".join(result)
    getattr(result, "close", lambda: None)()
    return int(captured[0][:3]), header_list(captured[1]), out, events


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_own_write_runs_and_gets_the_body_unchanged(kind: str) -> None:
    app = WriteApp()
    cookie = _login_cookie()
    body = json.dumps({"customer_id": ALICE, "card_last4": "4242"}).encode()
    status, _, out, events = _write(kind, app, path=f"/api/customers/{ALICE}/card", body=body, cookie=cookie, chunks=3)
    assert (status, out, events) == (200, b"written", [])
    assert app.writes == [(f"/api/customers/{ALICE}/card", body)]


@pytest.mark.parametrize(
    ("where", "path", "body", "content_type", "query"),
    [
        ("path", f"/api/customers/{BOB}/card", b'{"card_last4": "4242"}', "application/json", ""),
        (
            "json",
            f"/api/customers/{ALICE}/card",
            b'{"order": {"customer_id": "' + BOB.encode() + b'"}}',
            "application/json",
            "",
        ),
        (
            "form",
            "/api/card",
            b"customer_id=" + BOB.encode() + b"&card_last4=4242",
            "application/x-www-form-urlencoded",
            "",
        ),
        (
            "multipart",
            "/api/card",
            b'--XyZ\r\nContent-Disposition: form-data; name="customer_id"\r\n\r\n' + BOB.encode() + b"\r\n--XyZ--\r\n",
            "multipart/form-data; boundary=XyZ",
            "",
        ),
        ("query", "/api/card", b"", "application/json", f"customer_id={BOB}"),
    ],
)
def test_cross_owner_write_is_refused_before_the_app_runs(
    kind: str, where: str, path: str, body: bytes, content_type: str, query: str
) -> None:
    app = WriteApp()
    status, headers, out, events = _write(
        kind, app, path=path, body=body, content_type=content_type, query=query, cookie=_login_cookie()
    )
    assert app.writes == []  # the side effect never happened
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].owner_count == 1 and events[0].status == 0
    assert_no_raw_ids(events)


def test_a_write_naming_an_owner_with_no_known_requester_is_refused(kind: str) -> None:
    app = WriteApp()
    status, headers, out, events = _write(kind, app, path=f"/api/customers/{ALICE}/card", body=b"{}")
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]


def test_inbound_requester_callable_policy_and_report_mode(kind: str) -> None:
    app = WriteApp()
    by_header = {"requester": lambda request: request.headers.get("x-user")}
    status, _, _, _ = _write(kind, app, path=f"/api/customers/{BOB}/card", body=b"{}", **by_header)
    assert status == 403
    staff = {"policy": lambda requester, owner, request: requester is not None and requester.id == CAROL}
    status, _, out, events = _write(
        kind, app, path=f"/api/customers/{BOB}/card", body=b"{}", requester=lambda r: CAROL, **staff
    )
    assert (status, out) == (200, b"written")
    assert kinds(events) == [("cross_owner_view", "allowed")]
    status, _, out, events = _write(kind, app, path=f"/api/customers/{BOB}/card", body=b"{}", mode="report")
    assert (status, out) == (200, b"written")
    assert kinds(events) == [("cross_owner_write", "reported")]
    assert [path for path, _ in app.writes] == [f"/api/customers/{BOB}/card"] * 2


def test_inbound_skips_reads_login_paths_and_other_body_types(kind: str) -> None:
    app = WriteApp()
    status, _, _, events = _write(kind, app, path=f"/api/customers/{BOB}/card", method="GET")
    assert (status, events) == (200, [])
    status, _, _, events = _write(kind, app, path="/login", body=b'{"customer_id": "' + BOB.encode() + b'"}')
    assert (status, events) == (200, [])
    upload = b"\x89PNG\r\n\x1a\n" + b'{"customer_id": "x"}' * 50
    status, _, _, events = _write(kind, app, path="/upload", body=upload, content_type="application/octet-stream")
    assert (status, events) == (200, [])
    assert len(app.writes) == 3
    assert app.writes[-1] == ("/upload", upload)  # streamed to the app untouched


def test_a_body_that_parses_as_json_is_read_whatever_its_type(kind: str) -> None:
    # Flask's get_json(force=True) reads a text/plain body as JSON: so does the write check.
    app = WriteApp()
    body = b'  {"customer_id": "' + BOB.encode() + b'"}'
    for content_type in ("application/octet-stream", "text/plain", "application/x-www-form-urlencoded"):
        status, headers, out, events = _write(
            kind, app, path="/upload", body=body, content_type=content_type, cookie=_login_cookie()
        )
        assert_block(status, headers, out, clears_binding=False)
        assert kinds(events) == [("cross_owner_write", "blocked")]
    assert app.writes == []


def test_malformed_and_oversize_request_bodies_are_refused(kind: str) -> None:
    app = WriteApp()
    cookie = _login_cookie()
    status, headers, out, events = _write(kind, app, path="/api/card", body=b'{"customer_id": ', cookie=cookie)
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "malformed JSON request body"
    big = json.dumps({"customer_id": ALICE, "pad": "x" * 200}).encode()
    status, _, _, events = _write(kind, app, path="/api/card", body=big, cookie=cookie, max_body_bytes=100)
    assert status == 403
    assert kinds(events) == [("oversize", "blocked")]
    assert app.writes == []


# --------------------------------------------------------------------------- bulk personal data


def _mailing_list(count: int) -> list[str]:
    return [f"member{n:05d}@example.test" for n in range(count)]


@pytest.fixture
def stack(kind: str) -> Callable[..., GuardedStack]:
    def make(**options: Any) -> GuardedStack:
        options.setdefault("secret_key", SECRET)
        options.setdefault("extractors", [JsonKeys("customer_id"), JsonKeys("email", kind="email")])
        return GuardedStack(kind, **options)

    return make


def test_a_newsletter_carrying_13011_addresses_is_blocked(stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    guarded = stack(on_event=events.append)
    body = ("Spring news\n\nTo: " + ", ".join(_mailing_list(13011))).encode()
    got = guarded.send(Reply(headers=[("Content-Type", "text/plain; charset=utf-8")], chunks=[body]))
    assert_block(got.status, got.headers, got.body, original=body[:400], sets_binding=True)
    assert kinds(events) == [("bulk_personal_data", "blocked")]
    assert events[0].counts == (("email", 13011),)
    assert "member00001" not in events[0].to_json()


def test_bulk_threshold_counts_distinct_foreign_values_only(stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    guarded = stack(on_event=events.append, bulk_pii=BulkPII(threshold=3, limits={"/admin/*": None}))
    own = json.dumps({"customer_id": ALICE, "email": ALICE_EMAIL, "cc": [ALICE_EMAIL] * 50}).encode()
    identity = Identity(ALICE, email=ALICE_EMAIL)
    got = guarded.send(Reply(chunks=[own], requester=identity))
    assert (got.status, got.body) == (200, own)
    three = json.dumps({"notes": _mailing_list(3) * 5}).encode()
    assert guarded.send(Reply(chunks=[three], requester=identity)).status == 200
    four = json.dumps({"notes": _mailing_list(4)}).encode()
    assert guarded.send(Reply(chunks=[four], requester=identity)).status == 403
    assert guarded.send(Reply(chunks=[four], requester=identity), path="/admin/mailing").status == 200
    escaped = json.dumps({"notes": [a.replace("@", "\\u0040") for a in _mailing_list(4)]}).replace("\\\\", "\\")
    assert guarded.send(Reply(chunks=[escaped.encode()], requester=identity)).status == 403
    assert kinds(events) == [("bulk_personal_data", "blocked")] * 2
    assert events[0].counts == (("email", 4),)


def test_phone_and_card_detectors_are_opt_in(stack: Callable[..., GuardedStack]) -> None:
    phones = [f"090-1234-{n:04d}" for n in range(4)] + [f"+81 90 5555 {n:04d}" for n in range(2)]
    cards = ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009", "6011000000000004"]
    not_luhn = ["4111 1111 1111 1112", "5500-0000-0000-0005", "340000000000008", "6011000000000005"]
    text = ("\n".join(phones + cards + not_luhn)).encode()
    reply = Reply(headers=[("Content-Type", "text/plain")], chunks=[text])
    assert stack(bulk_pii=BulkPII(threshold=3)).send(reply).status == 200
    events: list[AuditEvent] = []
    guarded = stack(bulk_pii=BulkPII(("email", "phone", "card"), threshold=3), on_event=events.append)
    assert guarded.send(reply).status == 403
    assert events[0].counts == (("card", 4), ("phone", 6))


# --------------------------------------------------------------------------- second identifiers


def test_shared_id_is_caught_by_the_email_facet(stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    guarded = stack(on_event=events.append)
    mine = json.dumps({"customer_id": "m0007", "email": ALICE_EMAIL.upper()}).encode()
    got = guarded.send(Reply(chunks=[mine], requester=Identity("m0007", email=ALICE_EMAIL)))
    assert (got.status, got.body) == (200, mine)
    theirs = json.dumps({"customer_id": "m0007", "email": BOB_EMAIL}).encode()
    got = guarded.send(Reply(chunks=[theirs], requester=Identity("m0007", email=ALICE_EMAIL)))
    assert_block(got.status, got.headers, got.body, original=theirs)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_the_bound_email_holds_when_the_app_only_sets_the_id(stack: Callable[..., GuardedStack]) -> None:
    guarded = stack(login_paths=["/login"])
    login = guarded.send(Reply(chunks=[b"{}"], requester=Identity("m0007", email=ALICE_EMAIL)), path="/login")
    assert login.status == 200 and guarded.jar
    mine = json.dumps({"customer_id": "m0007", "email": ALICE_EMAIL}).encode()
    assert guarded.send(Reply(chunks=[mine], requester="m0007")).status == 200
    theirs = json.dumps({"customer_id": "m0007", "email": BOB_EMAIL}).encode()
    assert guarded.send(Reply(chunks=[theirs], requester="m0007")).status == 403
    # A different e-mail on the same id is drift: the browser logged in as someone else.
    assert guarded.send(Reply(chunks=[mine], requester=Identity("m0007", email=BOB_EMAIL))).status == 403


# --------------------------------------------------------------------------- shared caches


def test_personal_responses_get_private_cache_headers(stack: Callable[..., GuardedStack]) -> None:
    guarded = stack()
    mine = json.dumps({"customer_id": ALICE}).encode()
    first = guarded.send(
        Reply(headers=[("Content-Type", "application/json"), ("Cache-Control", "max-age=60")], chunks=[mine])
    )
    assert values(first.headers, "cache-control") == ["private, no-store"]
    assert values(first.headers, "vary") == []  # the first request carried no cookie
    second = guarded.send(Reply(headers=[("Content-Type", "application/json"), ("Vary", "Accept")], chunks=[mine]))
    assert values(second.headers, "cache-control") == ["private, no-store"]
    assert values(second.headers, "vary") == ["Accept", "Cookie"]
    kept = guarded.send(
        Reply(headers=[("Content-Type", "application/json"), ("Cache-Control", "private, max-age=5")], chunks=[mine])
    )
    assert values(kept.headers, "cache-control") == ["private, max-age=5"]
    public_data = guarded.send(
        Reply(
            headers=[("Content-Type", "application/json"), ("Cache-Control", "public")],
            chunks=[b'{"products": [1, 2]}'],
        )
    )
    assert values(public_data.headers, "cache-control") == ["public"]


def test_personal_response_marked_public_is_blocked_or_reported(stack: Callable[..., GuardedStack]) -> None:
    mine = json.dumps({"customer_id": ALICE}).encode()
    public = Reply(
        headers=[("Content-Type", "application/json"), ("Cache-Control", "public, max-age=60")], chunks=[mine]
    )
    events: list[AuditEvent] = []
    got = stack(on_event=events.append).send(public)
    assert_block(got.status, got.headers, got.body, original=mine, sets_binding=True)
    assert kinds(events) == [("shared_cache", "blocked")]
    events.clear()
    got = stack(on_event=events.append, on_shared_cache="report").send(public)
    assert (got.status, got.body) == (200, mine)
    assert values(got.headers, "cache-control") == ["public, max-age=60"]
    assert kinds(events) == [("shared_cache", "reported")]
    got = stack(cache_control="off").send(
        Reply(headers=[("Content-Type", "application/json"), ("Cache-Control", "s-maxage=60")], chunks=[mine])
    )
    assert (got.status, values(got.headers, "cache-control")) == (200, ["s-maxage=60"])


# --------------------------------------------------------------------------- filter instead of block


def test_filter_drops_foreign_records(stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    guarded = stack(on_event=events.append, on_foreign_records="filter")
    records = {
        "items": [
            {"customer_id": ALICE, "n": 1},
            {"customer_id": BOB, "n": 2},
            {"customer_id": CAROL, "n": 3},
            {"customer_id": ALICE, "n": 4},
        ]
    }
    original = json.dumps(records).encode()
    got = guarded.send(
        Reply(
            headers=[("Content-Type", "application/json"), ("ETag", '"v1"'), ("Content-Encoding", "gzip")],
            chunks=[gzipped(original)],
        )
    )
    expected = json.dumps(
        {"items": [{"customer_id": ALICE, "n": 1}, {"customer_id": ALICE, "n": 4}]}, separators=(",", ":")
    ).encode()
    assert (got.status, got.body) == (200, expected)
    assert values(got.headers, "content-length") == [str(len(expected))]
    assert values(got.headers, "content-encoding") == [] and values(got.headers, "etag") == []
    assert kinds(events) == [("filtered", "filtered")]
    assert events[0].counts == (("records_removed", 2),) and events[0].owner_count == 2
    top = json.dumps({"customer_id": BOB, "items": []}).encode()
    assert guarded.send(Reply(chunks=[top])).status == 403


def test_a_write_whose_session_resolves_to_someone_else_than_the_binding_is_drift(kind: str) -> None:
    # Incident 2: the browser logged in as Alice, the app's session now says Bob.
    app = WriteApp()
    status, headers, out, events = _write(
        kind,
        app,
        path=f"/api/customers/{BOB}/card",
        body=b"{}",
        cookie=_login_cookie(),
        requester=lambda request: BOB,
    )
    assert app.writes == []
    assert_block(status, headers, out, clears_binding=False)
    assert kinds(events) == [("session_drift", "blocked")]
    assert_no_raw_ids(events)


def test_filter_never_hides_a_foreign_owner_outside_the_body(stack: Callable[..., GuardedStack]) -> None:
    events: list[AuditEvent] = []
    guarded = stack(
        on_event=events.append,
        on_foreign_records="filter",
        extractors=[JsonKeys("customer_id"), OwnerHeader()],
    )
    records = json.dumps({"items": [{"customer_id": ALICE}, {"customer_id": BOB}]}).encode()
    got = guarded.send(Reply(headers=[("Content-Type", "application/json"), ("X-Data-Owner", CAROL)], chunks=[records]))
    assert_block(got.status, got.headers, got.body, original=records, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].owner_count == 2


@pytest.mark.parametrize(
    "field", ["CDN-Cache-Control", "Cloudflare-CDN-Cache-Control", "Surrogate-Control", "Edge-Control"]
)
@pytest.mark.parametrize("cache_control", [[], [("Cache-Control", "private")]])
def test_personal_response_with_a_targeted_cache_field_is_blocked(
    stack: Callable[..., GuardedStack], field: str, cache_control: list[tuple[str, str]]
) -> None:
    """RFC 9213: a CDN obeys ``CDN-Cache-Control`` (and vendor spellings) over ``Cache-Control``."""
    mine = json.dumps({"customer_id": ALICE}).encode()
    headers = [("Content-Type", "application/json"), *cache_control, (field, "max-age=600")]
    events: list[AuditEvent] = []
    got = stack(on_event=events.append).send(Reply(headers=headers, chunks=[mine]))
    assert_block(got.status, got.headers, got.body, original=mine, sets_binding=True)
    assert kinds(events) == [("shared_cache", "blocked")]
    reported = stack(mode="report").send(Reply(headers=headers, chunks=[mine]))
    assert (reported.status, values(reported.headers, field.lower())) == (200, ["no-store"])


def test_targeted_cache_field_is_read_after_binding_too(stack: Callable[..., GuardedStack]) -> None:
    """A bound browser's requests may take a fast path: it must read targeted cache fields as well."""
    guarded = stack(login_paths=["/login"])
    mine = json.dumps({"customer_id": ALICE}).encode()
    assert guarded.send(Reply(chunks=[b"{}"]), path="/login").status == 200  # bound: later requests go fast
    headers = [("Content-Type", "application/json"), ("CDN-Cache-Control", "max-age=600")]
    got = guarded.send(Reply(headers=headers, chunks=[mine]))
    assert got.status == 403
