"""Fuzzing (issue 4 §3): byte soups, hostile headers and chunkings through both middlewares.

``tests/test_properties.py`` checks well-formed documents against a model. This file
throws bytes at the guard instead:

- **soundness of the fast path**: bodies built from the tokens that matter (owner
  keys, ids, quotes, escapes, BOMs, charsets, entities) in any order. Whatever is
  passed, respguard's own *exact* scan of the same bytes must find no foreign
  owner: the cheap byte search may only ever say "clean" when it is.
- **no crash**: any status, headers (content type, encoding, owner header,
  cookies), chunking, requester and binding cookie: the middleware never raises
  out of the app, sends one well-formed response, and that response is either the
  app's, byte-identical, or the exact block page.
- **chunking never changes the decision**, and ASGI and WSGI decide alike.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from typing import Any

import brotli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ids import ALICE, BOB, NUMERIC, YAMADA

from respguard import ASGIMiddleware, AuditEvent, Guard, HtmlAttribute, JsonKeys, OwnerHeader, WSGIMiddleware
from respguard._content import decode_content, media_class
from respguard._headers import Headers
from respguard._plan import Strategy, plan_response
from respguard._scan import RequestInfo, ResponseView

BLOCK = b"Forbidden: respguard withheld this response because it carried another person's data.\n"
#: ``RESPGUARD_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`` for a long hunt; the suite default is quick.
FUZZ = settings(
    max_examples=int(os.environ.get("RESPGUARD_FUZZ_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
EVENTS: list[AuditEvent] = []
EXTRACTORS = [JsonKeys("user_id", "owner_id"), HtmlAttribute(), OwnerHeader()]
GUARD = Guard(secret_key="fuzz-secret-77aa", extractors=EXTRACTORS, on_event=EVENTS.append, max_body_bytes=1 << 16)
STRICT = Guard(
    secret_key="fuzz-secret-77aa",
    extractors=EXTRACTORS,
    on_event=EVENTS.append,
    max_body_bytes=1 << 16,
    strict_json=True,
)


class AppError(Exception):
    pass


# --------------------------------------------------------------------------- drivers


def asgi(
    guard: Guard, requester: object, status: int, headers: list[tuple[bytes, bytes]], chunks: list[bytes], **req: Any
) -> tuple[int, list[tuple[bytes, bytes]], bytes, list[dict[str, Any]]]:
    from respguard import set_requester

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if requester is not None:
            set_requester(scope, requester)  # type: ignore[arg-type]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1})

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "method": req.get("method", "GET"),
        "path": "/fuzz",
        "scheme": "http",
        "headers": req.get("request_headers", []),
    }
    asyncio.run(ASGIMiddleware(app, guard)(scope, receive, send))
    assert sent and sent[0]["type"] == "http.response.start", sent
    assert all(m["type"] == "http.response.body" for m in sent[1:]), sent
    assert sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body", False), sent
    assert not any(m.get("more_body", False) is False for m in sent[1:-1]), "only the last message ends it"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], list(sent[0]["headers"]), body, sent


class _Iterable:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closes = 0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closes += 1


def wsgi(
    guard: Guard, requester: object, status: int, headers: list[tuple[bytes, bytes]], chunks: list[bytes], **req: Any
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    from werkzeug.test import create_environ

    from respguard import set_requester

    bodies: list[_Iterable] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if requester is not None:
            set_requester(environ, requester)  # type: ignore[arg-type]
        start_response(f"{status} Fuzz", [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers])
        body = _Iterable(chunks)
        bodies.append(body)
        return body

    request_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in req.get("request_headers", [])]
    environ = create_environ("/fuzz", method=req.get("method", "GET"), headers=request_headers)
    got: list[Any] = []
    result = WSGIMiddleware(app, guard)(environ, lambda s, h, e=None: got.extend([s, h]))
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    assert [b.closes for b in bodies] == [1], "the app's iterable is closed exactly once"
    return int(got[0][:3]), [(k.encode("latin-1"), v.encode("latin-1")) for k, v in got[1]], body


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    out, last = [], 0
    for p in points:
        out.append(body[last:p])
        last = p
    out.append(body[last:])
    return out


def exact_foreign(body: bytes, headers: list[tuple[bytes, bytes]], own: str) -> set[str] | None:
    """Foreign owners respguard's exact scan finds in these bytes; ``None`` if it can't read them."""
    raw = Headers(headers)
    media, media_type = media_class(raw.get("content-type"))
    try:
        decoded = decode_content(body, raw.get("content-encoding"), 1 << 24)
        request = RequestInfo("GET", "/", "http", {}, lambda raw: [])
        view = ResponseView(request, 200, raw, media, media_type, decoded)
        found: set[str] = set()
        for extractor in EXTRACTORS:
            if media in extractor.media:
                found.update(extractor.owners(view))
    except Exception:
        return None
    return {o for o in found if o != own}


# --------------------------------------------------------------------------- soundness of the fast path

JSON_TOKENS = [
    b'"user_id"', b'"owner_id"', b'"user\\u005fid"', b'"user_id\\"', b'"USER_ID"', b"user_id",
    b":", b": ", b",", b"{", b"}", b"[", b"]", b" ", b"\n", b'"', b"\\", b"\\\\", b"\\/",
    b'"alice-7f3a"', b'"bob-9c2e"', b"8812345", b'"8812345"', b"88123450", b"8812345.0", b"8812345e0",
    b"-8812345", b"null", b"true", b'""', b'"alice-7f3a\\u0000"', b'"\\u0061lice-7f3a"', b"\xef\xbb\xbf",
    b"\xff\xfe", b"\x00", "\"山田-4e2a\"".encode(), b'"x"', b"0",
]  # fmt: skip
HTML_TOKENS = [
    b"data-owner", b"DATA-OWNER", b"Data-Owner", b"my-data-owner", b"data-ownerx", b"=", b" = ", b'"', b"'",
    b"alice-7f3a", b"bob-9c2e", b"&#98;ob-9c2e", b"&#x61;lice-7f3a", b"&amp;", b"<div ", b">", b"<", b" ", b"\n",
    b'<meta charset="shift_jis">', b'<meta charset="utf-16">', b"<meta charset=euc-jp>", b"\xff\xfe", b"\xfe\xff",
    b"\x00", b"\x83", b"\x82\xa0", "山田".encode("shift_jis"), "山田".encode(), b"`", b"\t",
]  # fmt: skip
CONTENT_TYPES = {
    "json": [b"application/json", b"application/problem+json", b"application/json; charset=utf-8",
             b"application/json; charset=utf-16", b"application/json; charset=latin-1"],
    "html": [b"text/html", b"text/html; charset=utf-8", b"text/html; charset=shift_jis", b"TEXT/HTML; charset=EUC-JP",
             b"text/html; charset=utf-16", b"application/xhtml+xml", b'text/html; charset="iso-8859-1"'],
}  # fmt: skip
ENCODINGS: list[tuple[bytes | None, Any]] = [
    (None, lambda b: b),
    (b"gzip", lambda b: gzip.compress(b, mtime=0)),
    (b"deflate", zlib.compress),
    (b"br", brotli.compress),
    (b"identity", lambda b: b),
]


PAGE_CODECS = [
    ("utf-8", b""),
    ("utf-8", b"\xef\xbb\xbf"),
    ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b"\xfe\xff"),
    ("shift_jis", b""),
    ("euc_jp", b""),
    ("latin-1", b""),
]
html_fragments = st.one_of(
    st.builds(
        lambda tag, name, sp1, sp2, quote, value, tail: f"<{tag} {name}{sp1}={sp2}{quote}{value}{quote}{tail}",
        st.sampled_from(["div", "p", "DIV", "a href=x", "img src='y'", "b/"]),
        st.sampled_from(["data-owner", "DATA-OWNER", "Data-Owner", "data-owner "]),
        st.sampled_from(["", " ", "\n", "\t"]),
        st.sampled_from(["", " ", "\r\n"]),
        st.sampled_from(['"', "'", ""]),
        st.sampled_from(
            [ALICE, BOB, YAMADA, "&#98;ob-9c2e", "b&#111;b-9c2e", " bob-9c2e ", "ali&#x63;e-7f3a", "&amp;x", ""]
        ),
        st.sampled_from([">", "/>", " x>", ">山田太郎 様</div>", "", "\n>"]),
    ),
    st.sampled_from(["<!-- c -->", "<p>", "</div>", "山田", "é", " ", "<script>x='<a data-owner=q>'</script>"]),
    st.sampled_from(['<meta charset="shift_jis">', '<meta charset="utf-8">', "<meta charset=latin-1>"]),
)


@st.composite
def soups(draw: st.DrawFn, kind: str) -> tuple[list[tuple[bytes, bytes]], bytes, list[int]]:
    tokens = JSON_TOKENS if kind == "json" else HTML_TOKENS
    parts = draw(st.lists(st.sampled_from(tokens) | st.binary(max_size=3), max_size=24))
    if kind == "html" and draw(st.booleans()):
        # Well-formed tags in some encoding (maybe with its BOM), whatever the header declares.
        codec, bom = draw(st.sampled_from(PAGE_CODECS))
        text = "".join(draw(st.lists(html_fragments, min_size=1, max_size=5)))
        parts = [bom + text.encode(codec, "replace"), *parts[:3]]
    plain = b"".join(parts)
    ctype = draw(st.sampled_from(CONTENT_TYPES[kind]))
    name, encode = draw(st.sampled_from(ENCODINGS))
    headers = [(b"content-type", ctype)]
    if name is not None:
        headers.append((b"content-encoding", name))
    body = encode(plain)
    headers.append((b"content-length", str(len(body)).encode()))
    cuts = draw(st.lists(st.integers(0, 1 << 16), max_size=4))
    return headers, body, cuts


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.owners: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.owners.extend((v or "").strip() for k, v in attrs if k == "data-owner")

    handle_startendtag = handle_starttag


def browser_foreign(body: bytes, headers: list[tuple[bytes, bytes]], own: str) -> set[str]:
    """An independent model of what a browser shows: decode as WHATWG does, parse tags with
    Python's HTMLParser (not respguard's code); the data-owner values other than ``own``."""
    raw = Headers(headers)
    try:
        body = decode_content(body, raw.get("content-encoding"), 1 << 24)
    except Exception:
        return set()
    content_type = (raw.get("content-type") or "").lower()
    declared = re.search(r"charset=\"?([\w.:-]+)", content_type)
    meta = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", body[:1024], re.IGNORECASE)
    boms = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
    charset = next((name for bom, name in boms.items() if body.startswith(bom)), None)
    if charset is not None:
        body = body[2 if charset != "utf-8" else 3 :]
    else:
        charset = declared.group(1) if declared else meta.group(1).decode().lower() if meta else "utf-8"
        if not declared and (charset.startswith("utf-16") or charset in ("unicode", "ucs-2")):
            charset = "utf-8"  # HTML's prescan: a <meta> read as ASCII can't mean UTF-16
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        return set()  # a charset the browser would not know either
    parser = _Attributes()
    parser.feed(text)
    parser.close()
    return {o for o in parser.owners if o and o != own}


def client_foreign(body: bytes, headers: list[tuple[bytes, bytes]], own: str) -> set[str]:
    """An independent model of a JavaScript client: ``await response.json()`` decodes UTF-8
    (BOM dropped, bad bytes replaced) and JSON.parse reads every key; the owners other than ``own``."""
    raw = Headers(headers)
    try:
        body = decode_content(body, raw.get("content-encoding"), 1 << 24)
    except Exception:
        return set()
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    found: set[str] = set()

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        for key, value in items:
            if key in ("user_id", "owner_id"):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item:
                        found.add(item)
                    elif isinstance(item, (int, float)) and not isinstance(item, bool):
                        found.add(json.dumps(item))
        return dict(items)

    def no_constants(name: str) -> object:
        raise ValueError(name)  # JSON.parse knows no NaN/Infinity

    try:
        json.loads(text, object_pairs_hook=pairs, parse_constant=no_constants)
    except (ValueError, RecursionError):
        return set()  # the client gets an error, not data
    return {o for o in found if o != own}


_BOUND: dict[tuple[int, str], list[tuple[bytes, bytes]]] = {}


def bound_browser(guard: Guard, own: str) -> list[tuple[bytes, bytes]]:
    """Request headers of a browser whose binding ``guard`` has verified (and remembered) for ``own``:
    its requests are the ones respguard's fast path decides."""
    key = (id(guard), own)
    if key not in _BOUND:
        from respguard import Identity

        cookie = f"{guard.codec.cookie_name}={guard.codec.dumps(Identity(own))}".encode()
        headers = [(b"cookie", cookie)]
        asgi(guard, own, 200, [(b"content-type", b"application/json")], [b"{}"], request_headers=headers)
        _BOUND[key] = headers
    return _BOUND[key]


def _check_sound(
    kind: str, guard: Guard, headers: list[tuple[bytes, bytes]], body: bytes, cuts: list[int], own: str = ALICE
) -> None:
    chunks = split(body, cuts)
    browser = bound_browser(guard, own)
    for stack, request_headers in [(s, h) for s in ("asgi", "wsgi") for h in ([], browser)]:
        EVENTS.clear()
        if stack == "asgi":
            status, out_headers, out_body, _ = asgi(guard, own, 200, headers, chunks, request_headers=request_headers)
        else:
            status, out_headers, out_body = wsgi(guard, own, 200, headers, chunks, request_headers=request_headers)
        if status == 200:
            assert out_body == body, "a pass is byte-identical"
            foreign = exact_foreign(body, headers, own)
            assert not foreign, f"{stack} passed a body whose exact scan finds {foreign}"
            if kind == "html":
                shown = browser_foreign(body, headers, own)
                assert not shown, f"{stack} passed a page a browser shows with {shown}"
            else:
                shown = client_foreign(body, headers, own)
                assert not shown, f"{stack} passed JSON a client reads with {shown}"
            assert EVENTS == []
        else:
            assert (status, out_body) == (403, BLOCK)
            assert len(EVENTS) == 1 and EVENTS[0].action.value == "blocked"


@FUZZ
@given(soups("json"), st.sampled_from([ALICE, NUMERIC]))
def test_json_soup_passed_only_if_the_exact_scan_is_clean(soup: Any, own: str) -> None:
    _check_sound("json", GUARD, *soup, own=own)


@FUZZ
@given(soups("html"), st.sampled_from([ALICE, YAMADA]))
def test_html_soup_passed_only_if_the_exact_scan_is_clean(soup: Any, own: str) -> None:
    _check_sound("html", GUARD, *soup, own=own)


@FUZZ
@given(soups("json"))
def test_strict_json_soup_passes_only_json_the_exact_scan_reads(soup: Any) -> None:
    headers, body, cuts = soup
    status, _, out_body, _ = asgi(STRICT, ALICE, 200, headers, split(body, cuts))
    if status == 200:
        assert out_body == body
        media = media_class(Headers(headers).get("content-type"))[0]
        assert media != "json" or exact_foreign(body, headers, ALICE) == set() or not body


# --------------------------------------------------------------------------- no crash, one well-formed answer

header_names = st.sampled_from(
    [b"content-type", b"content-encoding", b"x-data-owner", b"set-cookie", b"cache-control", b"vary", b"etag",
     b"content-length", b"X-Data-Owner", b"Content-Type", b"transfer-encoding"]
)  # fmt: skip
header_values = st.one_of(
    st.sampled_from(
        [b"application/json", b"text/html", b"text/event-stream", b"image/png", b"gzip", b"br", b"zstd", b"deflate",
         b"gzip, br", b"x-unknown", ALICE.encode(), BOB.encode(), b"alice-7f3a, bob-9c2e", b"public, max-age=60",
         b"private", b"no-store", b"s-maxage=5", b"*", b"", b"text/html; charset=utf-16", b"text/plain; charset=bogus"]
    ),
    st.binary(max_size=12).map(lambda b: bytes(c for c in b if c not in b"\r\n")),
)  # fmt: skip
requesters = st.one_of(
    st.none(),
    st.sampled_from([ALICE, BOB, YAMADA, int(NUMERIC), NUMERIC, "x\r\ny", "", 0, True]),
    st.text(max_size=6),
)
request_headers = st.lists(
    st.tuples(
        st.sampled_from([b"cookie", b"x-data-owner", b"x-request-id", b"accept-encoding"]),
        st.one_of(
            st.sampled_from([b"respguard_bind=garbage", b"respguard_bind=", b"respguard_bind=a; respguard_bind=b",
                             BOB.encode(), b"req-42", b"gzip"]),
            st.binary(max_size=40).map(lambda b: bytes(c for c in b if 32 <= c < 127)),
        ),
    ),
    max_size=3,
)  # fmt: skip


def _streamed(method: str, status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    """Does this head go out before its body, which is then read record by record (a live event
    stream or JSON lines)?"""
    planner = GUARD.rules.planner
    strategy = plan_response(planner, method, status, planner.read_head(headers)).strategy
    return strategy == Strategy.EVENTS or strategy == Strategy.LINES


@FUZZ
@given(
    status=st.sampled_from([200, 201, 204, 206, 301, 304, 400, 404, 500, 503]),
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
    body=st.one_of(st.binary(max_size=64), st.sampled_from([b'{"user_id": "bob-9c2e"}', b'<p data-owner="x">'])),
    cuts=st.lists(st.integers(0, 200), max_size=3),
    requester=requesters,
    req=request_headers,
    method=st.sampled_from(["GET", "HEAD", "POST"]),
)
def test_no_input_makes_the_middleware_raise(
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    cuts: list[int],
    requester: object,
    req: list[tuple[bytes, bytes]],
    method: str,
) -> None:
    chunks = split(body, cuts)
    decisions = set()
    for stack in ("asgi", "wsgi"):
        EVENTS.clear()
        if stack == "asgi":
            out_status, out_headers, out_body, _ = asgi(
                GUARD, requester, status, headers, chunks, request_headers=req, method=method
            )
        else:
            out_status, out_headers, out_body = wsgi(
                GUARD, requester, status, headers, chunks, request_headers=req, method=method
            )
        blocked = any(e.action.value == "blocked" for e in EVENTS)
        decisions.add(blocked)
        if blocked and out_status != 403 and _streamed(method, status, headers):
            # A live stream's head went out before its records: a record that blocks cuts it there
            # (a head that blocks, as an owner header's, is the block page as anywhere).
            assert out_status == status
            assert body.startswith(out_body), "a cut stream is the stream's first records"
        elif blocked:
            assert out_status == 403
            assert out_body == (b"" if method == "HEAD" else BLOCK)
            names = [k.lower() for k, _ in out_headers]
            assert b"content-encoding" not in names and b"x-data-owner" not in names and b"etag" not in names
            assert (b"content-length", str(len(BLOCK)).encode()) in out_headers
        else:
            assert out_status == status
            # A pass is byte-identical, but for a body on a response that has none: dropped.
            assert out_body == (b"" if status < 200 or status in (204, 304) else body), "a pass is byte-identical"
            assert b"x-data-owner" not in [k.lower() for k, _ in out_headers]
    assert len(decisions) == 1, "ASGI and WSGI decide alike"


# --------------------------------------------------------------------------- chunking never matters


@FUZZ
@given(soup=soups("json"), other_cuts=st.lists(st.integers(0, 1 << 16), max_size=6))
def test_chunking_never_changes_the_decision(soup: Any, other_cuts: list[int]) -> None:
    headers, body, cuts = soup
    first = asgi(GUARD, ALICE, 200, headers, split(body, cuts))
    second = asgi(GUARD, ALICE, 200, headers, split(body, other_cuts))
    assert (first[0], first[2]) == (second[0], second[2])


# --------------------------------------------------------------------------- own data always passes, byte-identical

own_values = st.sampled_from([ALICE, None, "", []])
own_docs = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=6)),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(["name", "items", "note", "user"]), children, max_size=3),
        st.fixed_dictionaries({"user_id": own_values}, optional={"data": children, "owner_id": own_values}),
    ),
    max_leaves=12,
)
ENCODE_OWN = [
    (None, lambda b: b),
    (b"gzip", lambda b: gzip.compress(b, mtime=0)),
    (b"br", brotli.compress),
    (b"deflate", zlib.compress),
]


@FUZZ
@given(
    doc=own_docs,
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 0, 2]),
    coding=st.sampled_from(ENCODE_OWN),
    cuts=st.lists(st.integers(0, 4096), max_size=5),
    extra=st.lists(
        st.sampled_from(
            [(b"etag", b'"x1"'), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"x-frame-options", b"DENY")]
        ),
        max_size=3,
    ),
    html_page=st.booleans(),
)
def test_own_data_always_passes_byte_identical(
    doc: Any, ascii_only: bool, indent: int | None, coding: Any, cuts: list[int], extra: Any, html_page: bool
) -> None:
    if html_page:
        text = json.dumps(doc, ensure_ascii=ascii_only)
        plain = f'<div data-owner="{ALICE}"><pre>{text.replace("<", "&lt;")}</pre></div>'.encode()
        content_type = b"text/html; charset=utf-8"
    else:
        plain = json.dumps(doc, ensure_ascii=ascii_only, indent=indent).encode()
        content_type = b"application/json"
    name, encode = coding
    body = encode(plain)
    headers = [(b"content-type", content_type), *extra]
    if name is not None:
        headers.append((b"content-encoding", name))
    headers.append((b"content-length", str(len(body)).encode()))
    chunks = split(body, cuts)
    browser = bound_browser(GUARD, ALICE)
    for stack, request_headers in [(s, h) for s in ("asgi", "wsgi") for h in ([], browser)]:
        EVENTS.clear()
        if stack == "asgi":
            status, out_headers, out_body, _ = asgi(GUARD, ALICE, 200, headers, chunks, request_headers=request_headers)
        else:
            status, out_headers, out_body = wsgi(GUARD, ALICE, 200, headers, chunks, request_headers=request_headers)
        assert (status, out_body) == (200, body), f"{stack}: own data must pass byte-identical"
        assert EVENTS == []
        for header in headers:
            assert header in out_headers
