"""Speed never changes a decision: byte-search proofs, remembered bindings, bulk shortcuts.

``only_own()`` is a byte search that may only answer "proved clean" (ABSENT/OWN) or
"can't tell". These properties compare it, on generated JSON and HTML bodies, with
the exact ``owners()``: whenever the cheap pass proves a body clean, the exact scan
finds no owner but the requester (ABSENT: none at all). And the guard's allow/block
decision and event kinds with the fast path are the ones with it disabled.

Also: a tiny in-process round of ``python -m benchmarks`` (no servers), so the suite
CI runs in ``--quick`` mode can't rot.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ids import ALICE, BOB, NUMERIC, RENEE, YAMADA

from respguard import ASGIMiddleware, AuditEvent, Guard, HtmlAttribute, Identity, JsonKeys, OwnerHeader
from respguard._context import RequestContext
from respguard._exchange import Exchange
from respguard._extractors import ABSENT, UNPROVEN, ScanError
from respguard._headers import Headers
from respguard._scan import RequestInfo, ResponseView
from respguard._session import BindingMemory

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OWNERS = [ALICE, BOB, NUMERIC, YAMADA, RENEE, "8812346"]
REQUESTERS = [ALICE, NUMERIC, YAMADA, RENEE, None]


def view(body: bytes, content_type: str) -> ResponseView:
    request = RequestInfo("GET", "/me", "http", {}, lambda raw: [])
    headers = Headers([(b"content-type", content_type.encode("latin-1"))])
    media = "json" if "json" in content_type else "html"
    return ResponseView(request, 200, headers, media, content_type.split(";")[0], body)


def check_sound(extractor: Any, v: ResponseView, own: str | None) -> None:
    proof = extractor.only_own(v, own)
    if not proof:
        return
    try:
        found = extractor.owners(v)
    except ScanError:  # pragma: no cover - generated bodies are valid
        raise AssertionError("the fast path proved clean a body the exact scan cannot read") from None
    if proof == ABSENT:
        assert found == [], f"ABSENT, but the exact scan finds {found}"
    else:
        assert set(found) <= {own}, f"OWN for {own!r}, but the exact scan finds {found}"


# --------------------------------------------------------------------------- JSON

KEYS = ("user_id", "owner_id")
owner_values = st.one_of(
    st.sampled_from(OWNERS),
    st.sampled_from(OWNERS).filter(lambda o: o.isdigit()).map(int),
    st.just(""),
    st.none(),
    st.sampled_from([8812345.0, 1e3, True, -0]),
)
owner_fields = st.one_of(owner_values, st.lists(owner_values, max_size=3))
plain = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=8), st.sampled_from(["user_id", KEYS[1]])
)
json_values = st.recursive(
    plain,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(
            st.tuples(st.one_of(st.sampled_from([*KEYS, "name", "x"]), st.text(max_size=6)), children),
            max_size=4,
        ),
        st.lists(st.tuples(st.sampled_from(KEYS), owner_fields), min_size=1, max_size=3),
    ),
    max_leaves=12,
)


def write(value: Any, style: dict[str, Any]) -> str:
    """JSON text for ``value``, where a list of 2-tuples is an object (duplicate keys kept)."""
    sep_item, sep_key = style["separators"]
    ascii_ = style["ensure_ascii"]
    if isinstance(value, list) and value and all(isinstance(p, tuple) for p in value):
        parts = [string(k, style) + sep_key + write(v, style) for k, v in value]
        return "{" + sep_item.join(parts) + "}"
    if isinstance(value, list):
        return "[" + sep_item.join(write(v, style) for v in value) + "]"
    if isinstance(value, str):
        return string(value, style)
    return json.dumps(value, ensure_ascii=ascii_)


def string(text: str, style: dict[str, Any]) -> str:
    """A JSON string; with ``escape_every`` n, every n-th letter or digit written as \\uXXXX."""
    every = style["escape_every"]
    if not every:
        return json.dumps(text, ensure_ascii=style["ensure_ascii"])
    out = []
    for i, char in enumerate(text):
        if char.isalnum() and i % every == 0 and ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(json.dumps(char, ensure_ascii=style["ensure_ascii"])[1:-1])
    return '"' + "".join(out) + '"'


styles = st.fixed_dictionaries(
    {
        "separators": st.sampled_from([(",", ":"), (", ", ": "), (",", ": "), (",\n  ", " : "), ("\t,", ":\r\n")]),
        "ensure_ascii": st.booleans(),
        "escape_every": st.sampled_from([0, 0, 1, 3]),
    }
)


@PROPS
@given(json_values, styles, st.sampled_from(REQUESTERS), st.data())
def test_json_fast_path_proves_only_what_the_exact_scan_finds(
    value: Any, style: dict[str, Any], own: str | None, data: st.DataObject
) -> None:
    text = write(value, style)
    pad = data.draw(st.sampled_from(["", " ", "\n", "\r\n\t "]), label="pad")
    body = (pad + text + pad).encode("utf-8")
    json.loads(body)  # the generator only makes valid JSON
    for extractor in (JsonKeys("user_id"), JsonKeys("user_id", "owner_id"), JsonKeys("owner_id")):
        check_sound(extractor, view(body, "application/json"), own)


@PROPS
@given(st.lists(st.tuples(st.sampled_from(OWNERS + [8812345]), st.sampled_from(["", " ", "\n"])), max_size=6))
def test_json_records_of_numbers_and_strings(records: list[tuple[Any, str]]) -> None:
    """The benchmark shape: lists of records with a number or string owner, compact or spaced."""
    parts = [f'{{"user_id":{ws}{json.dumps(o)}{ws},"n":1}}' for o, ws in records]
    body = ('{"items":[' + ",".join(parts) + "]}").encode()
    for own in REQUESTERS:
        check_sound(JsonKeys("user_id"), view(body, "application/json"), own)


# --------------------------------------------------------------------------- HTML

attr_names = st.sampled_from(["data-owner", "DATA-OWNER", "Data-Owner", "xdata-owner", "data-owner-x", "data-uid"])
attr_values = st.one_of(
    st.sampled_from(OWNERS),
    st.sampled_from(OWNERS).map(lambda o: "".join(f"&#{ord(c)};" for c in o[:2]) + o[2:]),
    st.sampled_from([" " + ALICE, ALICE + " ", "", "a&amp;b", "<x>"]),
)
quotes = st.sampled_from(['"', "'", ""])
spaces = st.sampled_from(["", " ", "\n", "\u00a0"])
fillers = st.sampled_from(
    ["<div>", "</div>", "text ", "日本語 ", "renée ", "\u0131", "\u017f", "\u212a", "<p class=x>"]
)


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    pieces = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            pieces.append(draw(fillers))
            continue
        name = draw(attr_names)
        if draw(st.integers(0, 5)) == 0:  # a name whose letters Unicode case-folding can reach
            name = name.replace("i", "\u0131")
        q = draw(quotes)
        value = draw(attr_values)
        if q == "" and (not value or any(c in value for c in " \"'=<>`")):
            q = '"'
        pieces.append(f"<tr {name}{draw(spaces)}={draw(spaces)}{q}{value}{q}>")
    return "".join(pieces)


@PROPS
@given(html_pages(), st.sampled_from(REQUESTERS), st.sampled_from(["utf-8", "shift_jis", None]))
def test_html_fast_path_proves_only_what_the_exact_scan_finds(page: str, own: str | None, charset: str | None) -> None:
    try:
        body = page.encode(charset or "utf-8")
    except UnicodeEncodeError:
        body = page.encode("utf-8")
        charset = "utf-8"
    content_type = "text/html" + (f"; charset={charset}" if charset else "")
    for extractor in (HtmlAttribute(), HtmlAttribute("data-uid"), HtmlAttribute("data-owner-x")):
        check_sound(extractor, view(body, content_type), own)


# --------------------------------------------------------------------------- the guard's decision


class Exact:
    """The same extractor with the fast path disabled."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind = inner.kind
        self.media = inner.media

    def owners(self, v: ResponseView) -> Iterable[str]:
        result: Iterable[str] = self.inner.owners(v)
        return result

    def only_own(self, v: ResponseView, own: str | None) -> int:
        return UNPROVEN


def decide(extractors: list[Any], requester: str | None, content_type: str, body: bytes) -> tuple[bool, int, list[str]]:
    events: list[AuditEvent] = []
    guard = Guard(secret_key="fastpath-secret", extractors=extractors, bind_sessions=False, on_event=events.append)
    context = RequestContext()
    context.tell(Identity(requester) if requester is not None else None)
    exchange = Exchange(guard, RequestInfo("GET", "/me", "http", {}, lambda raw: []), context)
    action = exchange.start(200, [(b"content-type", content_type.encode())])
    if action.head is None:  # held: the body decides
        action = exchange.body(body, False)
    verdict = action.head
    assert verdict is not None
    return verdict.blocked, verdict.status, [e.kind.value for e in events]


@PROPS
@given(json_values, styles, html_pages(), st.sampled_from(REQUESTERS))
def test_guard_decides_the_same_with_and_without_the_fast_path(
    value: Any, style: dict[str, Any], page: str, requester: str | None
) -> None:
    json_body = write(value, style).encode()
    html_body = page.encode()
    for content_type, body in (("application/json", json_body), ("text/html; charset=utf-8", html_body)):
        fast = [JsonKeys("user_id", "owner_id"), HtmlAttribute()]
        exact = [Exact(e) for e in fast]
        assert decide(fast, requester, content_type, body) == decide(exact, requester, content_type, body)


def test_known_traps_are_not_proved_clean() -> None:
    """Hand-picked bodies where a naive byte search would be fooled."""
    json_traps = [
        b'{"user\\u005fid": "' + BOB.encode() + b'"}',  # escaped key
        b'{"user_id": 88123456}',  # a longer number than the requester's
        b'{"user_id": 8812345.0}',  # a float
        b'{"user_id": ["' + ALICE.encode() + b'", "' + BOB.encode() + b'"]}',  # a list under the key
        b'{"user_id" :\t"' + BOB.encode() + b'"}',
    ]
    for body in json_traps:
        for own in (ALICE, NUMERIC):
            v = view(body, "application/json")
            proof = JsonKeys("user_id").only_own(v, own)
            assert not proof or set(JsonKeys("user_id").owners(v)) <= {own}, body
    html_traps = ['<a data-\u0131d="bob-9c2e">', '<a DATA-OWNER="bob-9c2e">', '<a data-owner = "bob-9c2e">']
    for page in html_traps:
        for extractor in (HtmlAttribute("data-id"), HtmlAttribute()):
            v = view(page.encode(), "text/html; charset=utf-8")
            proof = extractor.only_own(v, ALICE)
            assert not proof or set(extractor.owners(v)) <= {ALICE}, page


def test_records_of_own_data_are_proved_by_the_fast_path() -> None:
    """The common case really takes the fast path (else the benchmarks measure the slow one)."""
    body = json.dumps({"items": [{"user_id": 8812345, "x": 1}] * 50}, separators=(",", ":")).encode()
    assert JsonKeys("user_id").only_own(view(body, "application/json"), NUMERIC)
    page = ('<tr data-owner="' + ALICE + '">' + "<td>x</td></tr>") * 50
    assert HtmlAttribute().only_own(view(page.encode(), "text/html; charset=utf-8"), ALICE)
    assert re.search(rb"\d", body)


# --------------------------------------------------------------------------- FastPath through the adapters

#: Response headers the generated replies pick from (some send the response to the full path).
extra_headers = st.lists(
    st.sampled_from(
        [
            ("Cache-Control", "public, max-age=60"),
            ("Cache-Control", "private"),
            ("Cache-Control", "s-maxage=10"),
            ("Vary", "Accept"),
            ("Vary", "Cookie"),
            ("X-Data-Owner", BOB),
            ("X-Data-Owner", ALICE),
            ("Content-Type", "text/html"),
            ("ETag", '"v1"'),
        ]
    ),
    max_size=2,
)
bulk_lists = st.integers(0, 25).map(lambda n: [f"user{i}@example.test" for i in range(n)])


@st.composite
def replies(draw: st.DrawFn) -> tuple[Any, str, str]:
    """(Reply, method, path): JSON (some served as text), JSON lines, HTML, an untyped body or an image,
    with generated headers."""
    from conftest import NO_REQUESTER, Reply

    kind = draw(st.sampled_from(["json", "json", "html", "image", "empty", "lines", "untyped"]))
    requester = draw(st.sampled_from([ALICE, ALICE, ALICE, NUMERIC, NO_REQUESTER, None]))
    if kind == "json":
        value = draw(json_values)
        emails = draw(bulk_lists)
        body = ("[" + write(value, draw(styles)) + "," + json.dumps(emails) + "]").encode()
        content_type = draw(
            st.sampled_from(["application/json", "application/json; charset=utf-8", "text/json", "text/plain"])
        )
    elif kind == "html":
        body = draw(html_pages()).encode()
        content_type = draw(st.sampled_from(["text/html", "text/html; charset=utf-8"]))
    elif kind == "lines":
        owners = draw(st.lists(st.sampled_from([ALICE, BOB, NUMERIC]), min_size=1, max_size=4))
        body = "".join(json.dumps({"user_id": o}) + "\n" for o in owners).encode()
        content_type = draw(st.sampled_from(["application/x-ndjson", "application/jsonl"]))
    elif kind == "untyped":
        body = json.dumps({"user_id": draw(st.sampled_from([ALICE, BOB]))}).encode()
        content_type = ""
    elif kind == "image":
        body, content_type = b"\x89PNG" + bytes(range(64)), "image/png"
    else:
        body, content_type = b"", "application/json"
    headers = [("Content-Type", content_type)] if content_type else []
    headers += draw(extra_headers)
    status = draw(st.sampled_from([200, 200, 200, 201, 204, 404]))
    if status == 204:
        body = b""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=2)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)] if body else []
    reply = Reply(status=status, headers=headers, chunks=chunks, requester=requester)
    method = draw(st.sampled_from(["GET", "GET", "GET", "HEAD"]))
    path = draw(st.sampled_from(["/me", "/login", "/orders/7"]))
    return reply, method, path


def _comparable(result: Any, events: list[AuditEvent]) -> tuple[Any, ...]:
    """A response and its events, with the binding cookie's value (it carries a time) reduced to set/clear."""
    from conftest import binding_cookies, is_clearing

    headers = [(k.lower(), v) for k, v in result.headers if k.lower() != "set-cookie"]
    cookies = ["clear" if is_clearing(c) else "set" for c in binding_cookies(result.headers)]
    return result.status, sorted(headers), result.body, cookies, [(e.kind.value, e.action.value) for e in events]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(replies(), min_size=1, max_size=6), st.sampled_from(["asgi", "wsgi"]), st.booleans(), st.booleans())
def test_a_remembered_binding_decides_as_a_first_visit(
    requests: list[tuple[Any, str, str]], kind: str, report: bool, by_function: bool
) -> None:
    """Sequences of requests (the binding cookie carried over, as a browser does) through two
    guards, one that never remembers a verified binding: every response and every event is the
    same. ``by_function``: the requester comes from ``requester=`` (a header), not ``set_requester``."""
    import dataclasses

    from conftest import NO_REQUESTER, GuardedStack

    def requester_header(request: RequestInfo) -> str | None:
        return request.headers.get("x-user")

    stacks = []
    for remembers in (True, False):
        events: list[AuditEvent] = []
        stack = GuardedStack(
            kind,
            secret_key="fastpath-secret",
            extractors=[JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()],
            mode="report" if report else "enforce",
            login_paths=["/login"],
            on_event=events.append,
            requester=requester_header if by_function else None,
        )
        if not remembers:
            stack.guard.bindings = BindingMemory(capacity=0)  # every request verifies anew
        stacks.append((stack, events))
    for reply, method, path in requests:
        headers: list[tuple[str, str]] = []
        if by_function:
            if isinstance(reply.requester, str):
                headers.append(("X-User", reply.requester))
            reply = dataclasses.replace(reply, requester=NO_REQUESTER)
        answers = []
        for stack, events in stacks:
            events.clear()
            result = stack.send(reply, method=method, path=path, headers=headers)
            answers.append(_comparable(result, events))
        assert answers[0] == answers[1]


def test_public_pages_to_nobody_get_no_cache_or_binding_header() -> None:
    """No requester, no owner in the body: passed as it was; personal data to nobody is blocked."""
    from conftest import NO_REQUESTER, GuardedStack, Reply

    public = Reply(chunks=[b'{"products": [{"sku": "A-1"}]}'], requester=NO_REQUESTER)
    for kind in ("asgi", "wsgi"):
        stack = GuardedStack(kind, secret_key="fastpath-secret", extractors=[JsonKeys("user_id")])
        result = stack.send(public)
        names = {k.lower() for k, _ in result.headers}
        assert (result.status, result.body) == (200, public.chunks[0])
        assert "cache-control" not in names and "set-cookie" not in names
        owned = stack.send(Reply(chunks=[b'{"user_id": "bob-9c2e"}'], requester=NO_REQUESTER))
        assert owned.status == 403  # personal data to nobody


def test_remembered_bindings_read_repeated_and_odd_cased_names_as_a_first_visit() -> None:
    """The loop-free readings of the Cookie header and the response header names fall back to the
    loop on repeated or oddly-cased names: the answers match a guard that never remembers."""
    from conftest import asgi_call, asgi_reply, binding_cookies

    own = json.dumps({"user_id": ALICE}).encode()

    def answers(remembers: bool, request_headers: list[tuple[bytes, bytes]], response_headers: Any) -> Any:
        events: list[AuditEvent] = []
        guard = Guard(
            secret_key="fastpath-secret",
            extractors=[JsonKeys("user_id"), OwnerHeader()],
            on_event=events.append,
        )
        if not remembers:
            guard.bindings = BindingMemory(capacity=0)
        app = ASGIMiddleware(asgi_reply(headers=response_headers, chunks=[own]), guard)
        first = asgi_call(ASGIMiddleware(asgi_reply(chunks=[own]), guard))  # bind (on a page that passes)
        cookie = binding_cookies(first.headers)[0].split(";", 1)[0].encode()
        for _ in range(2):  # verify, then remember
            asgi_call(app, headers=[(b"cookie", cookie)])
        events.clear()
        got = asgi_call(app, headers=[(name, cookie if value is None else value) for name, value in request_headers])
        return (
            got.status,
            sorted((k.lower(), v) for k, v in got.headers if k.lower() != "set-cookie"),
            got.body,
            [e.kind.value for e in events],
        )

    bob = Guard(secret_key="fastpath-secret", extractors=[JsonKeys("user_id")]).codec.dumps(Identity(BOB))
    cases = [
        ([(b"cookie", None)], [(b"content-type", b"application/json")]),
        ([(b"Cookie", None)], [(b"content-type", b"application/json")]),
        ([(b"cookie", None), (b"cookie", b"respguard_bind=" + bob.encode())], [(b"content-type", b"application/json")]),
        ([(b"cookie", None), (b"COOKIE", b"respguard_bind=" + bob.encode())], [(b"content-type", b"application/json")]),
        ([(b"cookie", None)], [(b"Content-Type", b"application/json"), (b"X-Data-Owner", BOB.encode())]),
        ([(b"cookie", None)], [(b"content-type", b"application/json"), (b"Cache-Control", b"public")]),
        ([(b"cookie", None)], [(b"content-type", b"application/json"), (b"content-type", b"text/html")]),
    ]
    for request_headers, response_headers in cases:
        remembered = answers(True, request_headers, response_headers)
        assert remembered == answers(False, request_headers, response_headers), (request_headers, response_headers)
    # and the cases really differ from the plain one where they should
    assert answers(True, *cases[3])[0] == 403  # a second browser binding for bob: drift
    assert answers(True, *cases[4])[0] == 403  # an owner header naming bob
    assert answers(True, *cases[5])[0] == 403  # personal data marked public


def test_a_verified_binding_is_remembered() -> None:
    """Once a binding cookie was verified (the second request), later requests with the same Cookie
    header and requester skip the signature check; chunked bodies are decided the same way.

    Seen from outside: after the second request the guard's signing key is swapped. A remembered
    binding is not verified again, so it still passes; with nothing remembered, the same cookie
    no longer verifies."""
    from conftest import NO_REQUESTER, GuardedStack, Reply

    from respguard._binding import BindingCodec

    def other_key(codec: BindingCodec) -> BindingCodec:
        return BindingCodec(
            [b"another-secret"],
            cookie_name=codec.cookie_name,
            max_age=codec.max_age,
            secure=codec.secure,
            path=codec.path,
            domain=codec.domain,
            same_site=codec.same_site,
        )

    for kind, function in [(k, f) for k in ("asgi", "wsgi") for f in (None, lambda r: r.headers.get("x-user"))]:
        outcomes = []
        for remembers in (True, False):
            stack = GuardedStack(
                kind, secret_key="fastpath-secret", extractors=[JsonKeys("user_id")], requester=function
            )
            if not remembers:
                stack.guard.bindings = BindingMemory(capacity=0)
            who = NO_REQUESTER if function is not None else ALICE
            reply = Reply(chunks=[json.dumps({"user_id": ALICE}).encode()], requester=who)
            stack.send = functools.partial(stack.send, headers=[("X-User", ALICE)])  # type: ignore[method-assign]
            assert [stack.send(reply).status for _ in range(2)] == [200, 200]  # bind, then verify the cookie
            jar = stack.jar
            stack.guard.codec = other_key(stack.guard.codec)
            second = stack.send(reply)
            chunked = Reply(chunks=[reply.chunks[0][:5], b"", reply.chunks[0][5:]], requester=who)
            third = stack.send(chunked)
            outcomes.append((second.status, second.body, third.status, third.body, stack.jar == jar))
            if remembers:
                assert ("cache-control", "private, no-store") in [(k.lower(), v) for k, v in second.headers]
        body = json.dumps({"user_id": ALICE}).encode()
        assert outcomes[0] == (200, body, 200, body, True)  # remembered: not verified again
        assert outcomes[1] == (200, body, 200, body, False)  # verified again: the old key's cookie is re-bound


# --------------------------------------------------------------------------- the bulk e-mail shortcut

addresses = st.sampled_from(
    ["alice@example.test", "bob@example.test", "a.b+c@mail.example.co.jp", "x@y", "-@x.jp", "a@b.c-", "x@y.z@w.v"]
)
email_strings = st.one_of(
    addresses,
    addresses.map(lambda a: "mail " + a),
    addresses.map(lambda a: a + ".extra"),
    addresses.map(lambda a: a.replace("@", "\\u0040")),
    st.just("no address"),
)


def _counted_over(body: bytes, media: str, threshold: int) -> dict[str, int]:
    """What ``BulkPII.over`` must answer, always unescaping and counting (no shortcut)."""
    from respguard._pii import EMAIL, _count, _unescape

    count = _count(EMAIL, _unescape(body, media), lambda kind, value: False, threshold)
    return {EMAIL: count} if count > threshold else {}


@PROPS
@given(
    st.lists(st.tuples(st.sampled_from(["email", "to", "note"]), email_strings), max_size=30),
    st.integers(1, 3),
    st.booleans(),
)
def test_bulk_shortcuts_never_change_the_json_decision(
    fields: list[tuple[str, str]], threshold: int, pad: bool
) -> None:
    from respguard._pii import BulkPII

    items = [f'{{"{k}":"{v}"}}' for k, v in fields]
    if pad:
        items.append('{"pad":"' + "x" * 5000 + '"}')
    body = ("[" + ",".join(items) + "]").encode()
    bulk = BulkPII(threshold=threshold)
    expected = _counted_over(body, "json", threshold)
    assert bulk.over(body, "json", "/me", lambda kind, value: False) == expected
    if bulk.surely_under(body, "json", "/me"):
        assert expected == {}


html_addresses = st.one_of(
    addresses,
    addresses.map(lambda a: a.replace("@", "&#64;")),
    addresses.map(lambda a: a.replace("@", "&#x40;")),
    addresses.map(lambda a: a.replace("@", "&commat;")),
    addresses.map(lambda a: a.replace("@", "&amp;")),
    st.just("no address &yen;1,990"),
)


@PROPS
@given(st.lists(html_addresses, max_size=30), st.integers(1, 3))
def test_bulk_shortcuts_never_change_the_html_decision(cells: list[str], threshold: int) -> None:
    from respguard._pii import BulkPII

    body = ("<table>" + "".join(f"<td>{c}</td>" for c in cells) + "</table>").encode()
    bulk = BulkPII(threshold=threshold)
    expected = _counted_over(body, "html", threshold)
    assert bulk.over(body, "html", "/me", lambda kind, value: False) == expected
    if bulk.surely_under(body, "html", "/me"):
        assert expected == {}


def test_html_entity_at_signs_are_counted() -> None:
    """``&#64;`` and ``&commat;`` are an '@' to a reader: 21 such addresses block at threshold 20."""
    from respguard._pii import BulkPII

    for at in ("&#64;", "&commat;"):
        body = "".join(f"<p>user{i}{at}example.test</p>" for i in range(21)).encode()
        assert BulkPII().over(body, "html", "/", lambda kind, value: False) == {"email": 21}
        assert not BulkPII().surely_under(body, "html", "/")


def test_one_address_shortcut_takes_the_common_case() -> None:
    from respguard._pii import BulkPII, _one_address

    body = json.dumps([{"user_id": 1, "email": "hanako@example.jp"}] * 200, separators=(",", ":")).encode()
    assert _one_address(body)
    assert BulkPII().surely_under(body, "json", "/")
    assert not _one_address(body.replace(b"hanako@", b"taro@", 1))
    assert not _one_address(body.replace(b'"hanako', b'"x":"@","y":"hanako', 1))


# --------------------------------------------------------------------------- benchmarks smoke


def test_benchmarks_quick_round_runs() -> None:
    """One tiny in-process round of ``python -m benchmarks``, both stacks, and its table."""
    from benchmarks import report
    from benchmarks.bodies import all_bodies
    from benchmarks.inprocess import run_inprocess

    small = [b for b in all_bodies() if b.name in ("json-1k", "image-256k")]
    cells = run_inprocess(1, True, bodies=small, variants=("bare", "respguard", "naive"))
    rows = [c.row() for c in cells]
    assert {(r["stack"], r["body"], r["variant"]) for r in rows} == {
        (s, b.name, v) for s in ("asgi", "wsgi") for b in small for v in ("bare", "respguard", "naive")
    }
    assert all(r["ratio_to_bare"] > 0 for r in rows)
    table = report.markdown({"meta": {"date": "today", "command": "test"}, "inprocess": rows})
    assert "| asgi | json-1k |" in table



def test_an_exactly_read_json_body_is_parsed_once_and_never_as_a_page(make_stack: Any, monkeypatch: Any) -> None:
    """The exact scan (``strict_json``) builds a view of a JSON body, as the fast path does not:
    it must not then read that body as a page too (its data blocks, attribute values and shown
    records). It did: every exactly read JSON document was parsed twice, and a 1 MiB one took
    6.0 times its size in memory (1.3 before)."""
    from _attacks import guarded
    from conftest import Reply

    calls: list[str] = []
    owners = JsonKeys.owners

    def counted(self: JsonKeys, view: ResponseView) -> Any:
        calls.append(view.media)
        return owners(self, view)

    monkeypatch.setattr(JsonKeys, "owners", counted)
    events: list[AuditEvent] = []
    stack = guarded(make_stack, events, strict_json=True)
    body = json.dumps([{"user_id": ALICE, "note": "<b>hi</b>"}, {"user_id": ALICE}]).encode()
    got = stack.send(Reply(headers=[("Content-Type", "application/json")], chunks=[body]))  # (alice asks)
    assert (got.status, got.body, events) == (200, body, [])
    assert calls == ["json"]
