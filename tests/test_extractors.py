"""Owner extractors: exact ``owners()``, the cheap ``only_own()`` proof, and their use
through both middlewares (the ``make_stack`` fixture runs each test on ASGI and WSGI).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from _django_stack import cookies_last
from conftest import (
    ALICE,
    BLOCK_BODY,
    BOB,
    GuardedStack,
    Reply,
    assert_block,
    assert_no_raw_ids,
    assert_passed_headers,
    guard_options,
    kinds,
    values,
)

from respguard import (
    AuditEvent,
    CustomExtractor,
    HtmlAttribute,
    Identity,
    JsonKeys,
    OwnerHeader,
    RequestInfo,
    ResponseView,
    ScanError,
)
from respguard._content import BodyDecodeError, media_class
from respguard._extractors import as_extractor
from respguard._headers import Headers

MakeStack = Callable[..., GuardedStack]
JSON_CT = (("Content-Type", "application/json"),)
HTML_CT = (("Content-Type", "text/html; charset=utf-8"),)


def view(body: bytes, content_type: str = "application/json", **headers: str) -> ResponseView:
    raw = [(b"content-type", content_type.encode())]
    raw += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    request = RequestInfo("GET", "/", "http", {}, lambda raw: [])
    media, media_type = media_class(content_type)
    return ResponseView(request, 200, Headers(raw), media, media_type, body)


# ------------------------------------------------------------------ JsonKeys, exact


def test_json_owners_at_any_depth_in_lists_and_as_numbers() -> None:
    body = json.dumps(
        {
            "user_id": "a",
            "items": [{"owner_id": 7}, {"owner_id": "7"}, {"nested": {"user_id": ["b", "c", 8, None, ""]}}],
            "user_id_x": "not-a-key",
            "other": {"user_id": None},
            "empty": {"user_id": ""},
            "float": {"owner_id": 1.5},
        }
    ).encode()
    assert sorted(JsonKeys("user_id", "owner_id").owners(view(body))) == sorted(["a", "7", "7", "b", "c", "8", "1.5"])


def test_json_duplicate_keys_all_count() -> None:
    body = b'{"user_id": "alice-7f3a", "user_id": "bob-9c2e"}'
    assert JsonKeys("user_id").owners(view(body)) == [ALICE, BOB]
    assert not JsonKeys("user_id").only_own(view(body), ALICE)


def test_json_escaped_key_and_value_are_read_exactly() -> None:
    body = b'{"user\\u005fid": "b\\u006fb-9c2e"}'
    assert JsonKeys("user_id").owners(view(body)) == [BOB]
    assert not JsonKeys("user_id").only_own(view(body), ALICE)


def test_json_empty_body_has_no_owner() -> None:
    assert JsonKeys("user_id").owners(view(b"  \n")) == []


@pytest.mark.parametrize("body", [b'{"user_id": "bob-9c2e"', b"{'user_id': 1}", b"\xff\xfe{", b"[1, 2,]"])
def test_malformed_json_raises_scan_error(body: bytes) -> None:
    with pytest.raises(ScanError, match="malformed JSON"):
        JsonKeys("user_id").owners(view(body))


def test_json_nested_too_deeply_is_a_scan_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(ScanError, match="too deeply"):
        JsonKeys("user_id").owners(view(body))


@pytest.mark.parametrize("keys", [(), ("",), ("ok", "")])
def test_json_keys_need_names(keys: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="JsonKeys"):
        JsonKeys(*keys)


# ------------------------------------------------------------------ JsonKeys, cheap pass


@pytest.mark.parametrize(
    ("body", "own", "proved"),
    [
        (b'{"name": "no owner key"}', ALICE, True),
        (b'{"name": "no owner key"}', None, True),
        (b'{"user_id": "alice-7f3a"}', ALICE, True),
        (b'{"user_id":"alice-7f3a","x":[{"user_id" :\n "alice-7f3a"}]}', ALICE, True),
        (b'{"user_id": "alice-7f3a"}', None, False),
        (b'{"user_id": "bob-9c2e"}', ALICE, False),
        (b'{"user_id": "alice-7f3a", "x": {"user_id": "bob-9c2e"}}', ALICE, False),
        (b'{"user_id": 7}', "7", True),
        (b'{"user_id": "7"}', "7", True),
        (b'{"user_id": 70}', "7", False),
        (b'{"user_id": 7.5}', "7", False),
        (b'{"user_id": 7e3}', "7", False),
        (b'{"user_id": ["alice-7f3a"]}', ALICE, False),
        (b'{"user\\u005fid": "bob-9c2e", "user_id": "alice-7f3a"}', ALICE, False),
        (b'{"user_id": "alice-7f3a"', ALICE, True),  # malformed, own value only: the documented fast pass
        (b'{"name": "bob-9c2e"', ALICE, True),  # malformed, no owner key at all
    ],
)
def test_json_only_own_proves_only_clean_bodies(body: bytes, own: str | None, proved: bool) -> None:
    extractor = JsonKeys("user_id")
    assert bool(extractor.only_own(view(body), own)) is proved
    if proved and own is not None:
        try:
            found = extractor.owners(view(body))
        except ScanError:
            return
        assert set(found) <= {own}


def test_json_only_own_does_not_trust_other_charsets() -> None:
    body = '{"user_id": "alice-7f3a"}'.encode("utf-16")
    assert not JsonKeys("user_id").only_own(view(body, "application/json; charset=utf-16"), ALICE)


# ------------------------------------------------------------------ HtmlAttribute


def test_html_attribute_values_in_every_syntax() -> None:
    body = (
        b"<div data-owner=\"a\"></div><p DATA-OWNER='b'></p><i data-owner=c></i>"
        b'<b data-owner = " d "></b><u data-owner="&#101;&amp;f"></u>'
        b'<s data-owner-x="no"></s><s xdata-owner="no"></s><s data-owner=""></s>'
    )
    assert HtmlAttribute().owners(view(body, "text/html")) == ["a", "b", "c", "d", "e&f"]


def test_html_custom_attribute_and_charsets() -> None:
    body = '<meta charset="shift_jis"><p data-customer="山田-7f3a">山田</p>'.encode("shift_jis")
    assert HtmlAttribute("data-customer").owners(view(body, "text/html")) == ["山田-7f3a"]
    assert HtmlAttribute("data-customer").only_own(view(body, "text/html"), "山田-7f3a")
    assert not HtmlAttribute("data-customer").only_own(view(body, "text/html"), "田中-7f3a")


def test_html_reads_bad_bytes_and_unknown_labels_as_browsers_do() -> None:
    # a bad byte is U+FFFD; a label browsers don't know is ignored (windows-1252, the default)
    assert HtmlAttribute().owners(view(b'<p data-owner="\xff\xfe">', "text/html; charset=utf-8")) == ["\ufffd\ufffd"]
    assert HtmlAttribute().owners(view(b'<p data-owner="x\xe9">', "text/html; charset=x-no-such-charset")) == ["x\xe9"]
    # a reading respguard cannot prove the browser's is refused
    with pytest.raises(BodyDecodeError):
        HtmlAttribute().owners(view(b'<p data-owner="x">\x1b$B', "text/html; charset=iso-2022-jp"))


@pytest.mark.parametrize(
    ("body", "own", "proved"),
    [
        (b"<p>nothing</p>", None, True),
        (b"<p data-owner=\"alice-7f3a\"></p><a data-owner='alice-7f3a'>", ALICE, True),
        (b'<p data-owner="alice-7f3a"></p><a data-owner=bob-9c2e>', ALICE, False),
        (b"<p data-owner=alice-7f3a></p>", ALICE, False),  # bare values are left to the exact pass
        (b'<p data-owner="alice-7f3a"></p>', None, False),
        (b'<p data-owner="a&amp;b"></p>', "a&b", False),
    ],
)
def test_html_only_own(body: bytes, own: str | None, proved: bool) -> None:
    assert bool(HtmlAttribute().only_own(view(body, "text/html"), own)) is proved


@pytest.mark.parametrize("name", ["", "1abc", "a b", 'x"'])
def test_html_attribute_name_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="HtmlAttribute"):
        HtmlAttribute(name)


# ------------------------------------------------------------------ OwnerHeader, CustomExtractor


def test_owner_header_repeats_and_lists() -> None:
    v = view(b"", "text/plain")
    v.headers.raw.extend([(b"X-Data-Owner", b"a, b"), (b"x-data-owner", b" c ,,"), (b"x-other", b"z")])
    assert OwnerHeader().owners(v) == ["a", "b", "c"]
    assert not OwnerHeader().only_own(v, "a")


@pytest.mark.parametrize("name", ["", "X Owner", "X:Owner"])
def test_owner_header_name_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="OwnerHeader"):
        OwnerHeader(name)


@pytest.mark.parametrize("name", ["Set-Cookie", "content-type", "Location", "CACHE-CONTROL", "Vary"])
def test_owner_header_may_not_name_a_standard_response_header(name: str) -> None:
    """It is stripped from every response: naming Set-Cookie would silently drop every cookie."""
    with pytest.raises(ValueError, match=rf"OwnerHeader\(header='{name}'\) names a standard response header"):
        OwnerHeader(name)
    assert OwnerHeader("X-" + name).raw_name == b"x-" + name.lower().encode()


def test_custom_extractor_texts_and_media() -> None:
    def numbers(body: bytes, headers: Headers, context: ResponseView) -> list[object]:
        return [7, "8", None, "", b"9", 1.0]

    extractor = CustomExtractor(numbers)
    assert extractor.owners(view(b"x")) == ["7", "8", "9", "1.0"]
    assert extractor.name == "custom:numbers"
    assert extractor.media == frozenset({"json", "html", "text"})
    assert as_extractor(numbers).name == "custom:numbers"
    with pytest.raises(ValueError, match="media"):
        CustomExtractor(numbers, media=["json", "pdf"])
    with pytest.raises(ValueError, match="callable"):
        CustomExtractor("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an extractor"):
        as_extractor(42)


# ------------------------------------------------------------------ through both middlewares

CROSS_OWNER = {
    "json": Reply(headers=JSON_CT, chunks=[b'{"profile": {"user_id": "bob-9c2e", "card": "1881"}}']),
    "json-number": Reply(requester=8812345, headers=JSON_CT, chunks=[b'{"user_id": 8812346}']),
    "problem+json": Reply(headers=(("Content-Type", "application/problem+json"),), chunks=[b'{"owner_id":"bob-9c2e"}']),
    "html": Reply(headers=HTML_CT, chunks=[b'<section data-owner="bob-9c2e"><h1>Bob</h1></section>']),
    "header": Reply(headers=(("Content-Type", "text/plain"), ("X-Data-Owner", BOB)), chunks=[b"plain text"]),
    "header-list": Reply(
        headers=(("Content-Type", "image/png"), ("X-Data-Owner", f"{ALICE},{BOB}")),
        chunks=[b"PNG"],
        content_length=False,
    ),
}


@pytest.mark.parametrize("case", sorted(CROSS_OWNER))
def test_cross_owner_response_is_blocked(make_stack: MakeStack, events: list[AuditEvent], case: str) -> None:
    reply = CROSS_OWNER[case]
    stack = make_stack(**guard_options(events))
    original_cookie = ("Set-Cookie", "app_session=s3cr3t-bob-session")
    reply = Reply(**{**reply.__dict__, "headers": (*reply.headers, original_cookie)})
    got = stack.send(reply)
    assert_block(got.status, got.headers, got.body, original=b"".join(reply.chunks), sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].owner_count == 1
    assert_no_raw_ids(events, "1881", "8812346")


@pytest.mark.parametrize("content_type", ["text/plain", "text/html; charset=utf-8", "text/plain; charset=utf-8"])
@pytest.mark.parametrize("body", [b'{"user_id": "bob-9c2e"}', b'\n  [{"owner_id": "bob-9c2e"}]'])
def test_json_served_as_text_is_read_as_json(
    make_stack: MakeStack, events: list[AuditEvent], content_type: str, body: bytes
) -> None:
    """``return json.dumps(...)`` from a Flask view goes out as text/html; scripts parse it anyway."""
    stack = make_stack(**guard_options(events))
    got = stack.send(Reply(headers=(("Content-Type", content_type),), chunks=[body]))
    assert (got.status, got.body) == (403, BLOCK_BODY)
    assert kinds(events) == [("owner_mismatch", "blocked")]


OWN_DATA = {
    "json": Reply(headers=JSON_CT, chunks=[b'{"profile": {"user_id": "alice-7f3a", "card": "4242"}}']),
    'json-7-is-"7"': Reply(requester=7, headers=JSON_CT, chunks=[b'[{"user_id": "7"}, {"owner_id": 7}]']),
    'json-"7"-is-7': Reply(requester="7", headers=JSON_CT, chunks=[b'{"user_id": 7}']),
    "json-no-owner": Reply(headers=JSON_CT, chunks=[b'{"news": "bob-9c2e wrote"}']),
    "html": Reply(headers=HTML_CT, chunks=[b"<p data-owner='alice-7f3a'>Alice</p><i data-owner=alice-7f3a></i>"]),
    "header": Reply(headers=(("Content-Type", "text/plain"), ("X-Data-Owner", ALICE)), chunks=[b"plain text"]),
    "text-unscanned": Reply(headers=(("Content-Type", "text/plain"),), chunks=[b"user_id: bob-9c2e"]),
    "json-as-text-own": Reply(headers=(("Content-Type", "text/plain"),), chunks=[b'{"user_id": "alice-7f3a"}']),
    "text-like-a-list": Reply(headers=(("Content-Type", "text/plain"),), chunks=[b"[INFO] user_id bob-9c2e"]),
    "image-unscanned": Reply(headers=(("Content-Type", "image/png"),), chunks=[b'data-owner="bob-9c2e"']),
}


@pytest.mark.parametrize("case", sorted(OWN_DATA))
def test_own_data_passes_byte_identical(make_stack: MakeStack, events: list[AuditEvent], case: str) -> None:
    reply = OWN_DATA[case]
    stack = make_stack(**guard_options(events))
    reply = Reply(**{**reply.__dict__, "headers": (*reply.headers, ("Set-Cookie", "app=1"), ("ETag", '"e1"'))})
    got = stack.send(reply)
    body = b"".join(reply.chunks)
    assert got.status == 200
    assert got.body == body
    expected = [*reply.headers, ("Content-Length", str(len(body)))]
    if stack.django is not None:
        expected = cookies_last(expected)  # Django's handlers send response.items(), then the cookies
    assert_passed_headers(got.headers, expected, binding=True)
    assert values(got.headers, "x-data-owner") == []
    assert events == []
    again = stack.send()
    assert again.status == 200 and again.body == body
    assert_passed_headers(again.headers, expected, binding=False)  # bound: no new cookie


def test_seven_is_the_string_seven_but_not_seventy(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    for body, status in [
        (b'{"user_id": 7}', 200),
        (b'{"user_id": "7"}', 200),
        (b'{"user_id": 70}', 403),
        (b'{"user_id": "07"}', 403),
        (b'{"user_id": 7.0}', 200),  # the number 7, as a script reads it
        (b'{"user_id": 0.7e1}', 200),
        (b'{"user_id": 7.5}', 403),
    ]:
        got = stack.send(Reply(requester=7, headers=JSON_CT, chunks=[body]), cookie="")
        assert (body, got.status) == (body, status)
    assert kinds(events) == [("owner_mismatch", "blocked")] * 3


def test_email_owners_compare_case_insensitively(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    extractors = [JsonKeys("user_id"), JsonKeys("email", kind="email")]
    stack = make_stack(**guard_options(events, extractors=extractors))
    me = Identity(ALICE, email="Alice@Example.test")
    got = stack.send(
        Reply(requester=me, headers=JSON_CT, chunks=[b'{"user_id": "alice-7f3a", "email": "ALICE@example.TEST"}'])
    )
    assert got.status == 200
    got = stack.send(
        Reply(requester=me, headers=JSON_CT, chunks=[b'{"user_id": "alice-7f3a", "email": "bob@example.test"}'])
    )
    assert_block(got.status, got.headers, got.body)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert_no_raw_ids(events)


# ------------------------------------------------------------------ bad bodies: fail closed


@pytest.mark.parametrize(
    "body",
    [b'{"user_id": "bob-9c2e"', b'{"user_id": "alice-7f3a", "user_id": bob}', b'{"owner_id": 12 13}'],
    ids=["truncated-foreign", "bare-foreign-word", "two-numbers"],
)
def test_malformed_json_with_a_foreign_looking_owner_key_is_a_scan_error(
    make_stack: MakeStack, events: list[AuditEvent], body: bytes
) -> None:
    got = make_stack(**guard_options(events)).send(Reply(headers=JSON_CT, chunks=[body]))
    assert_block(got.status, got.headers, got.body, original=body, sets_binding=True)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == f"{events[0].extractor}: malformed JSON"
    assert_no_raw_ids(events)


@pytest.mark.parametrize(
    "body",
    [b'{"news": "truncated', b'{"user_id": "alice-7f3a", "x": ', b"not json at all"],
    ids=["no-owner-key", "own-value-only", "garbage"],
)
def test_malformed_json_without_a_foreign_owner_passes_unless_strict(
    make_stack: MakeStack, events: list[AuditEvent], body: bytes
) -> None:
    got = make_stack(**guard_options(events)).send(Reply(headers=JSON_CT, chunks=[body]))
    assert got.status == 200 and got.body == body
    assert events == []
    got = make_stack(**guard_options(events, strict_json=True)).send(Reply(headers=JSON_CT, chunks=[body]))
    assert_block(got.status, got.headers, got.body, original=body, sets_binding=True)
    assert kinds(events) == [("scan_error", "blocked")]


def test_strict_json_still_passes_valid_own_json(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    body = b'{"user_id": "alice-7f3a"}'
    got = make_stack(**guard_options(events, strict_json=True)).send(Reply(headers=JSON_CT, chunks=[body]))
    assert got.status == 200 and got.body == body
    assert events == []


def test_raising_extractor_blocks_with_no_traceback_or_body_in_the_event(
    make_stack: MakeStack, events: list[AuditEvent]
) -> None:
    def explode(body: bytes, headers: Headers, context: ResponseView) -> list[str]:
        raise ValueError("cannot parse " + body.decode())

    body = b'{"secret": "card 4242-1881 of alice-7f3a"}'
    stack = make_stack(**guard_options(events, extractors=[JsonKeys("user_id"), explode]))
    got = stack.send(Reply(headers=JSON_CT, chunks=[body]))
    assert_block(got.status, got.headers, got.body, original=body, sets_binding=True)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "custom:explode raised ValueError"
    assert events[0].extractor == "custom:explode"
    assert_no_raw_ids(events, "4242", "cannot parse", "Traceback", "secret")


@pytest.mark.parametrize(
    ("content_type", "body", "kind"),
    [
        ("text/html; charset=utf-8", b'<p data-owner="\xff\xfebob">', "owner_mismatch"),  # "\ufffd\ufffdbob"
        ("text/html; charset=cp037", '<p data-owner="bob-9c2e">'.encode("cp037"), None),  # no owner in 1252
        ("text/html; charset=cp037", b'<p data-owner="bob-9c2e">', "owner_mismatch"),  # label ignored
        ("text/html; charset=iso-2022-jp", b'<p data-owner="alice-7f3a">\x1b(J', "scan_error"),  # unprovable
    ],
    ids=["invalid-utf8", "unknown-label-ebcdic", "unknown-label", "iso-2022-jp-escapes"],
)
def test_html_is_read_as_browsers_read_it(
    make_stack: MakeStack, events: list[AuditEvent], content_type: str, body: bytes, kind: str | None
) -> None:
    got = make_stack(**guard_options(events)).send(Reply(headers=(("Content-Type", content_type),), chunks=[body]))
    if kind is None:
        assert (got.status, got.body, events) == (200, body, [])
        return
    assert_block(got.status, got.headers, got.body, original=body, sets_binding=True)
    assert kinds(events) == [(kind, "blocked")]
    assert "Traceback" not in events[0].to_json() and "\\u00ff" not in events[0].to_json()


def test_shift_jis_html(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    page = '<p data-owner="alice-7f3a">山田様のページ</p>'.encode("shift_jis")
    headers = (("Content-Type", "text/html; charset=Shift_JIS"),)
    got = stack.send(Reply(headers=headers, chunks=[page]))
    assert got.status == 200 and got.body == page
    page = '<p data-owner="bob-9c2e">田中様のページ</p>'.encode("shift_jis")
    got = stack.send(Reply(headers=headers, chunks=[page]))
    assert_block(got.status, got.headers, got.body, original=page)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_custom_extractor_through_the_middleware(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def csv_owner(body: bytes, headers: Headers, context: ResponseView) -> list[str]:
        return [line.split(b",")[0].decode() for line in body.splitlines() if line]

    extractor = CustomExtractor(csv_owner, media=["text"])
    stack = make_stack(**guard_options(events, extractors=[extractor]))
    headers = (("Content-Type", "text/csv"),)
    got = stack.send(Reply(headers=headers, chunks=[b"alice-7f3a,4242\nalice-7f3a,1881\n"]))
    assert got.status == 200
    got = stack.send(Reply(headers=headers, chunks=[b"alice-7f3a,4242\nbob-9c2e,1881\n"]))
    assert_block(got.status, got.headers, got.body)
    got = stack.send(Reply(headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"}']))  # not its media
    assert got.status == 200
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_other_owner_header_name_and_it_is_stripped(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, extractors=[OwnerHeader("X-Customer")]))
    got = stack.send(Reply(headers=(("Content-Type", "text/plain"), ("X-Customer", ALICE), ("X-Customer", ALICE))))
    assert got.status == 200
    assert values(got.headers, "x-customer") == []
    got = stack.send(Reply(headers=(("Content-Type", "text/plain"), ("X-Customer", ALICE), ("X-Customer", BOB))))
    assert_block(got.status, got.headers, got.body)
    assert values(got.headers, "x-customer") == []
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_client_sent_owner_header_has_no_influence(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    got = stack.send(Reply(headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e"}']), headers=[("X-Data-Owner", BOB)])
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    got = stack.send(Reply(headers=JSON_CT, chunks=[b'{"user_id": "alice-7f3a"}']), headers=[("X-Data-Owner", BOB)])
    assert got.status == 200


@pytest.mark.parametrize(("coding", "status"), [("identity", 200), ("compress", 403), ("gzip", 403)])
def test_content_encoding_that_cannot_be_undone_is_a_scan_error(
    make_stack: MakeStack, events: list[AuditEvent], coding: str, status: int
) -> None:
    body = b'{"user_id": "alice-7f3a"}'  # plain bytes: "gzip" is a lie here
    headers = (*JSON_CT, ("Content-Encoding", coding))
    got = make_stack(**guard_options(events)).send(Reply(headers=headers, chunks=[body]))
    if status == 200:
        assert (got.status, got.body) == (200, body) and events == []
    else:
        assert_block(got.status, got.headers, got.body, original=body, sets_binding=True)
        assert kinds(events) == [("scan_error", "blocked")]
