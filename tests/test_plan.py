"""One plan per response head: the strategy each head gets, exactly."""

from __future__ import annotations

import pytest

from respguard import BulkPII, CustomExtractor, HtmlAttribute, JsonKeys, OwnerHeader
from respguard._plan import Planner, Strategy, plan_response

H = list[tuple[bytes, bytes]]
JSON: H = [(b"content-type", b"application/json")]
SSE: H = [(b"content-type", b"text/event-stream")]
NDJSON: H = [(b"content-type", b"application/x-ndjson")]
GZIP: H = [(b"content-encoding", b"gzip")]
LENGTH: H = [(b"content-length", b"10")]


def planner(bulk: bool = True, extractors: list[object] | None = None) -> Planner:
    found = extractors if extractors is not None else [JsonKeys("user_id"), HtmlAttribute(), OwnerHeader()]
    return Planner(found, bulk, strict_json=False)  # type: ignore[arg-type]


def strategy(method: str, status: int, headers: H, plan: Planner | None = None) -> tuple[str, str]:
    p = plan or planner()
    result = plan_response(p, method, status, p.read_head(headers))
    return result.strategy, result.reason


@pytest.mark.parametrize(
    ("method", "status", "headers", "expected"),
    [
        ("GET", 200, JSON, (Strategy.DOCUMENT, "")),
        ("GET", 200, [(b"Content-Type", b"TEXT/HTML; charset=utf-8")], (Strategy.DOCUMENT, "")),
        ("GET", 200, [(b"content-type", b"text/plain")], (Strategy.DOCUMENT, "")),  # the bulk check reads text
        ("GET", 200, [(b"content-type", b"image/png")], (Strategy.SNIFF, "")),  # fetch().json() reads any type
        ("HEAD", 200, JSON, (Strategy.DOCUMENT, "")),  # a body the app sends a HEAD is read (servers may send it)
        ("GET", 204, [], (Strategy.NONE, "")),
        ("GET", 205, [], (Strategy.SNIFF, "")),  # a 205 body goes out (Python clients read it)
        ("GET", 205, JSON, (Strategy.DOCUMENT, "")),
        ("GET", 304, JSON, (Strategy.NONE, "")),
        ("GET", 101, [], (Strategy.NONE, "")),
        ("GET", 206, JSON, (Strategy.REFUSE, "partial content cannot be scanned")),
        ("GET", 206, [], (Strategy.REFUSE, "partial content cannot be scanned")),
        ("GET", 206, SSE, (Strategy.REFUSE, "partial content cannot be scanned")),
        ("GET", 206, [(b"content-type", b"image/png")], (Strategy.PASS, "")),
        # a range of a type nothing reads: media, fonts and PDF pages stream; a download (which
        # fetch().json() reads, its first bytes chosen by the range) is refused
        ("GET", 206, [(b"content-type", b"video/mp4")], (Strategy.PASS, "")),
        ("GET", 206, [(b"content-type", b"audio/ogg")], (Strategy.PASS, "")),
        ("GET", 206, [(b"content-type", b"font/woff2")], (Strategy.PASS, "")),
        ("GET", 206, [(b"content-type", b"application/pdf")], (Strategy.PASS, "")),
        ("GET", 206, [(b"content-type", b"Application/PDF")], (Strategy.PASS, "")),
        ("GET", 206, [(b"content-type", b"application/zip")], (Strategy.REFUSE, "partial content cannot be scanned")),
        ("GET", 206, [(b"content-type", b"application/octet-stream")], (Strategy.REFUSE,
         "partial content cannot be scanned")),
        ("GET", 206, [(b"content-type", b"application/video")], (Strategy.REFUSE, "partial content cannot be scanned")),
        ("GET", 200, [(b"content-type", b"text/plain"), *JSON], (Strategy.REFUSE, "conflicting Content-Type values")),
        ("GET", 200, [(b"content-type", b"text/html, application/json")], (Strategy.REFUSE,
         "conflicting Content-Type values")),
        ("GET", 200, SSE, (Strategy.EVENTS, "")),
        ("GET", 200, SSE + GZIP, (Strategy.REFUSE, "compressed event stream")),
        ("GET", 200, NDJSON, (Strategy.LINES, "")),
        ("GET", 200, NDJSON + GZIP, (Strategy.REFUSE, "compressed JSON lines stream")),
        ("GET", 200, NDJSON + LENGTH, (Strategy.LINES_DOCUMENT, "")),
        ("GET", 200, NDJSON + LENGTH + GZIP, (Strategy.LINES_DOCUMENT, "")),
        ("GET", 200, SSE + LENGTH, (Strategy.EVENTS_DOCUMENT, "")),
        ("GET", 200, SSE + LENGTH + GZIP, (Strategy.EVENTS_DOCUMENT, "")),
        ("GET", 200, JSON + GZIP, (Strategy.DOCUMENT, "")),
        ("GET", 200, [], (Strategy.SNIFF, "")),
        ("GET", 200, [(b"content-type", b"bogus")], (Strategy.SNIFF, "")),
        ("GET", 200, [(b"content-type", b"*/*")], (Strategy.SNIFF, "")),
    ],
)  # fmt: skip
def test_each_head_gets_its_strategy(method: str, status: int, headers: H, expected: tuple[str, str]) -> None:
    assert strategy(method, status, headers) == expected


def test_the_plan_follows_what_reads_the_body() -> None:
    headers_only = planner(bulk=False, extractors=[OwnerHeader()])
    assert strategy("GET", 200, JSON, headers_only) == (Strategy.PASS, "")  # nothing reads a body
    assert strategy("GET", 200, [], headers_only) == (Strategy.PASS, "")  # nothing to sniff for
    assert strategy("GET", 200, SSE, headers_only) == (Strategy.PASS, "")
    assert strategy("GET", 206, JSON, headers_only) == (Strategy.PASS, "")  # a range nobody reads
    no_bulk = planner(bulk=False)
    assert strategy("GET", 200, [(b"content-type", b"text/plain")], no_bulk) == (Strategy.PASS, "")
    binary = planner(bulk=False, extractors=[CustomExtractor(lambda b, h, v: [], media=("other",))])
    assert strategy("GET", 200, [(b"content-type", b"application/pdf")], binary) == (Strategy.DOCUMENT, "")
    assert BulkPII  # the default guard has the bulk check on (tests above)


def test_head_facts_read_every_spelling_and_repeat() -> None:
    p = planner()
    facts = p.read_head(
        [(b"Content-Type", b"a/b"), (b"CONTENT-ENCODING", b"br"), (b"content-encoding", b"gzip"),
         (b"X-Data-Owner", b"bob"), (b"Vary", b"Accept"), (b"Content-Length", b"3")]
    )  # fmt: skip
    assert facts.content_types == (b"a/b",)
    assert facts.encodings == (b"br", b"gzip")
    assert (facts.owner_header, facts.cache_set, facts.length) == (True, True, True)
    assert plan_response(p, "GET", 200, facts).encodings == "br, gzip"
    for status in (200, 206, 304):  # no coding: nothing to decode
        assert plan_response(p, "GET", status, p.read_head(JSON)).encodings is None
    assert plan_response(p, "GET", 304, p.read_head(JSON + GZIP)).encodings == "gzip"
    assert plan_response(p, "GET", 200, p.read_head(JSON + [(b"content-encoding", b"x-\xe9")])).encodings == "x-\xe9"


def test_plain_plans_are_cached_and_equal_to_a_fresh_answer() -> None:
    p = planner()
    first = plan_response(p, "GET", 200, p.read_head(JSON))
    again = plan_response(p, "GET", 201, p.read_head(JSON))
    assert first is again  # the same answer, worked out once
    fresh = planner()
    assert plan_response(fresh, "GET", 206, fresh.read_head(JSON)).strategy == Strategy.REFUSE


def _facts(facts: object) -> tuple[object, ...]:
    names = ("content_types", "encodings", "length", "owner_header", "cache_set", "refresh_page", "json_values")
    return tuple(getattr(facts, name) for name in names)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"application/json"), (b"content-length", b"2")],
        [(b"Content-Type", b"text/html"), (b"Content-Length", b"2"), (b"X-Frame-Options", b"DENY")],
        # a second spelling of the type, or of the length: both values are read
        [(b"content-type", b"image/png"), (b"Content-Type", b"application/json")],
        [(b"content-type", b"text/html"), (b"CONTENT-TYPE", b"application/json")],
        [(b"content-length", b"2"), (b"Content-Length", b"2"), (b"content-type", b"a/b")],
        # a repeated name, a coding, an owner header, a cache field: none is quiet
        [(b"content-type", b"text/html"), (b"content-type", b"application/json")],
        [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")],
        [(b"content-type", b"application/json"), (b"x-data-owner", b"bob")],
        [(b"content-type", b"application/json"), (b"cdn-cache-control", b"max-age=60")],
        [(b"content-type", b"application/json"), (b"Surrogate-Control", b"max-age=60")],
        [(b"x-other", b"1")],
        [],
        # a value a script parses as JSON (htmx's HX-Trigger), or a Refresh: facts of the head
        [(b"content-type", b"text/html"), (b"hx-trigger", b'{"e": {"user_id": "bob"}}')],
        [(b"content-type", b"text/html"), (b"hx-trigger", b'  [1]')],
        [(b"content-type", b"text/html"), (b"hx-trigger", b"\t{}")],
        [(b"content-type", b"text/html"), (b"x-a", b"1"), (b"hx-trigger", b"[")],
        [(b"content-type", b"text/html"), (b"x-a", b"a\n{}"), (b"hx-trigger", b"ok")],
        [(b"content-type", b"text/html"), (b"refresh", b"0;url=data:text/html,<p>")],
    ],
)  # fmt: skip
def test_a_quiet_head_is_read_as_the_full_pass_reads_it(headers: H) -> None:
    """read_head's shortcut for a quiet head (no repeat, nothing the plan reads but the type and
    the length) gives the facts of the pass over every header, on a head seen before and after."""
    p = planner()
    for _ in range(3):  # the first answer teaches the planner the names; the others take the shortcut
        assert _facts(p.read_head(headers)) == _facts(p._read_head(headers))
        assert p.read_head(headers).content is p.content(p._read_head(headers).content_types)
    other = planner()
    other.read_head([(b"content-type", b"text/plain"), *headers])  # names learned on another head first
    assert _facts(other.read_head(headers)) == _facts(other._read_head(headers))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (JSON, (Strategy.DOCUMENT, "html", "application/json")),
        ([(b"content-type", b"image/png")], (Strategy.DOCUMENT, "html", "image/png")),  # no longer sniffed
        ([], (Strategy.DOCUMENT, "html", "")),  # typed as a page: htmx never sniffs
        ([(b"content-type", b"text/html")], (Strategy.DOCUMENT, "html", "text/html")),
        (SSE, (Strategy.EVENTS, "text", "text/event-stream")),  # still read event by event
        (NDJSON, (Strategy.LINES, "other", "application/x-ndjson")),
    ],
)
def test_the_answer_to_an_htmx_request_is_planned_as_a_page(
    headers: H, expected: tuple[str, str, str]
) -> None:
    p = planner()
    plan = plan_response(p, "GET", 200, p.read_head(headers), htmx=True)
    assert (plan.strategy, plan.content.media, plan.content.media_type) == expected
    assert plan.content.typed
    # worked out once per Content-Type, beside the plan of the same type for any other request
    assert plan_response(p, "GET", 200, p.read_head(headers), htmx=True).content is plan.content
    assert plan_response(p, "GET", 200, p.read_head(headers)).content is p.read_head(headers).content


def test_an_htmx_answer_is_read_as_a_page_where_only_json_extractors_read_pages() -> None:
    # (session 19 attackT) JsonKeys reads a page's JSON data blocks and JSON attribute values (an
    # Inertia data-page): the image/png htmx swaps in is such a page.
    p = planner(extractors=[JsonKeys("user_id")])
    plan = plan_response(p, "GET", 200, p.read_head([(b"content-type", b"image/png")]), htmx=True)
    assert plan.own is not None
    assert (plan.strategy, plan.content.media, plan.own.strategy, plan.own.content.media) == (
        Strategy.DOCUMENT, "html", Strategy.SNIFF, "other"
    )  # fmt: skip
