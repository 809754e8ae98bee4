"""Per-route rules (``routes=[Route(...)]``): the router, what each rule changes on its route only,
and exemption that never switches the inbound rules off. Both stacks, exact results.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import (
    ALICE,
    BOB,
    CAROL,
    GuardedStack,
    Reply,
    Result,
    asgi_call,
    asgi_scope,
    assert_block,
    assert_no_raw_ids,
    guard_options,
    kinds,
    values,
)

from respguard import (
    AuditEvent,
    FormOwner,
    Guard,
    HtmlAttribute,
    Identity,
    JsonBodyOwner,
    JsonKeys,
    Owner,
    OwnerHeader,
    PathOwner,
    QueryOwner,
    RequestInfo,
    Route,
)
from respguard._routes import (
    _REST,
    _SEG,
    DIGITS,
    LITERAL,
    SEGMENT,
    TAIL,
    Router,
    parse_pattern,
    patterns_overlap,
)

MakeStack = Callable[..., GuardedStack]
JSON_CT = (("Content-Type", "application/json"),)


def users_json(*names: str, email: bool = False) -> Reply:
    records = [{"username": n, **({"email": f"{n}@example.test"} if email else {})} for n in names]
    return Reply(headers=JSON_CT, chunks=[json.dumps(records).encode()])


def users_options(events: list[AuditEvent], **overrides: Any) -> dict[str, Any]:
    return guard_options(
        events,
        extractors=[JsonKeys("user_id", "username"), JsonKeys("email", kind="email"), OwnerHeader()],
        **overrides,
    )


# ------------------------------------------------------------------ the router


def router(*patterns: str) -> Router:
    return Router([(parse_pattern(p), p) for p in patterns])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/users/v1", "/users/v1"),
        ("/users/v1/", None),  # exact: no trailing slash, no prefix
        ("/users/v1/_debug", None),
        ("/users/v1x", None),
        ("/users", None),
        ("/users/7/profile", "/users/{user_id}/profile"),
        ("/users//profile", None),  # {param} is one non-empty segment
        ("/users/7/8/profile", None),
        ("/users/me/profile", "/users/me/profile"),  # a literal segment before a parameter
        ("/orders/42", "/orders/{order_id:int}"),
        ("/orders/4a", None),
        ("/orders/\u0664\u0662", None),  # Arabic-Indic digits are not Starlette's [0-9]+
        ("/files/", "/files/{rest:path}"),  # Starlette's path converter is ".*"
        ("/files/a/b.txt", "/files/{rest:path}"),
        ("/files", None),
        ("", None),
        ("users/v1", None),
    ],
)
def test_router_matches_exactly_segment_by_segment(path: str, expected: str | None) -> None:
    found = router(
        "/users/v1", "/users/{user_id}/profile", "/users/me/profile", "/orders/{order_id:int}", "/files/{rest:path}"
    ).resolve(path)
    assert found == expected


def test_router_prefers_literal_then_parameter_then_tail_whatever_the_order() -> None:
    r = router("/{rest:path}", "/a/{x}", "/a/b")
    assert [r.resolve(p) for p in ("/a/b", "/a/c", "/a/c/d", "/")] == ["/a/b", "/a/{x}", "/{rest:path}", "/{rest:path}"]


def test_router_walks_each_segment_once() -> None:
    # Many routes sharing a parameter at every depth: the walk carries each node once per segment.
    r = router(*(f"/{{a}}/{{b}}/x{i}" for i in range(50)))
    assert r.resolve("/p/q/x49") == "/{a}/{b}/x49"
    assert r.resolve("/p/q/" + "/".join(["s"] * 10000)) is None


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("users/v1", "must be a path starting with '/'"),
        ("/users/{id}.json", "a parameter must be a whole segment"),
        ("/users/{id:uuid}", "unknown converter 'uuid'"),
        ("/files/{rest:path}/raw", "must be the last segment"),
    ],
)
def test_route_patterns_the_router_cannot_match_exactly_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("{", r"\{").replace(".", r"\.")):
        Route(pattern)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"extractors": []}, "extractors must be a non-empty list"),
        ({"public_keys": "username"}, "public_keys must be a list"),
        ({"bulk_limit": 0}, "bulk_limit must be a positive int or None"),
        ({"bulk_limit": True}, "bulk_limit must be a positive int or None"),
        ({"policy": "staff"}, "policy must be callable"),
        ({"exempt": 1}, "exempt must be True or False"),
    ],
)
def test_route_options_are_checked(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Route("/users/v1", **options)


def test_guard_checks_routes() -> None:
    with pytest.raises(ValueError, match="routes must be a list of Route"):
        Guard(**guard_options(routes=Route("/a")))
    with pytest.raises(ValueError, match="is listed twice"):
        Guard(**guard_options(routes=[Route("/a/{x}"), Route("/a/{y}")]))
    with pytest.raises(ValueError, match=r"public_keys \['nickname'\] are read by no JsonKeys or HtmlAttribute"):
        Guard(**guard_options(routes=[Route("/a", public_keys=["nickname"])]))


# ------------------------------------------------------------------ a public list beside a debug route


def test_public_list_is_allowed_on_its_route_and_the_debug_route_beside_it_is_blocked(
    make_stack: MakeStack, events: list[AuditEvent]
) -> None:
    stack = make_stack(**users_options(events, routes=[Route("/users/v1", public_keys=["username"])]))
    listing = users_json(ALICE, BOB, CAROL)
    got = stack.send(listing, path="/users/v1")
    assert got.status == 200 and got.body == listing.chunks[0]
    assert events == []

    debug = users_json(ALICE, BOB, email=True)
    got = stack.send(debug, path="/users/v1/_debug")
    assert_block(got.status, got.headers, got.body, original=debug.chunks[0])
    assert kinds(events) == [("owner_mismatch", "blocked")]
    event = events[0]
    assert (event.method, event.path, event.status) == ("GET", "/users/v1/_debug", 200)
    assert event.reason == "response carries another owner's data"
    assert event.owner_count == 3  # bob's username and e-mail, and an e-mail alice never said is hers
    assert_no_raw_ids(events)


def test_public_keys_only_drop_those_keys_on_that_route(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**users_options(events, routes=[Route("/users/v1", public_keys=["username"])]))
    # On the public route, another owner key still counts.
    both = Reply(headers=JSON_CT, chunks=[json.dumps([{"username": BOB, "user_id": BOB}]).encode()])
    assert stack.send(both, path="/users/v1").status == 403
    # Off the route, the username is an owner again.
    assert stack.send(users_json(BOB), path="/users/v2").status == 403
    assert stack.send(users_json(BOB), path="/users/v1/").status == 403
    assert kinds(events) == [("owner_mismatch", "blocked")] * 3


def test_public_html_attribute(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    options = guard_options(
        events,
        extractors=[HtmlAttribute("data-owner"), HtmlAttribute("data-username")],
        routes=[Route("/people", public_keys=["data-username"])],
    )
    stack = make_stack(**options)
    page = Reply(headers=(("Content-Type", "text/html"),), chunks=[f'<li data-username="{BOB}">Bob</li>'.encode()])
    assert stack.send(page, path="/people").status == 200
    assert stack.send(page, path="/people/bob").status == 403
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_profile_pattern_with_a_parameter(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**users_options(events, routes=[Route("/users/{user_id}/profile", public_keys=["username"])]))
    profile = Reply(headers=JSON_CT, chunks=[json.dumps({"username": BOB, "bio": "hi"}).encode()])
    assert stack.send(profile, path=f"/users/{BOB}/profile").status == 200
    private = Reply(headers=JSON_CT, chunks=[json.dumps({"username": BOB, "email": "bob@example.test"}).encode()])
    assert stack.send(private, path=f"/users/{BOB}/profile").status == 403  # the e-mail is still an owner
    assert stack.send(profile, path=f"/users/{BOB}/profile/edit").status == 403
    assert kinds(events) == [("owner_mismatch", "blocked")] * 2


# ------------------------------------------------------------------ the other rules


def test_route_extractors_replace_the_guards_and_its_owner_header_is_still_stripped(
    make_stack: MakeStack, events: list[AuditEvent]
) -> None:
    stack = make_stack(**users_options(events, routes=[Route("/reports/{id}", extractors=[JsonKeys("author_id")])]))
    report = Reply(headers=(*JSON_CT, ("X-Data-Owner", BOB)), chunks=[json.dumps({"user_id": BOB}).encode()])
    got = stack.send(report, path="/reports/1")
    assert got.status == 200 and values(got.headers, "x-data-owner") == []
    authored = Reply(headers=JSON_CT, chunks=[json.dumps({"author_id": BOB}).encode()])
    assert stack.send(authored, path="/reports/1").status == 403
    assert stack.send(report, path="/reports").status == 403  # not the route: the guard's extractors
    assert kinds(events) == [("owner_mismatch", "blocked")] * 2


def test_route_owner_header_is_stripped_on_every_route(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    options = guard_options(
        events,
        extractors=[JsonKeys("user_id")],
        routes=[Route("/files/{name}", extractors=[OwnerHeader("X-File-Owner")])],
    )
    stack = make_stack(**options)
    stack.inner_lint = False  # a block decided on the head leaves the app's body unread
    got = stack.send(Reply(headers=(("Content-Type", "image/png"), ("X-File-Owner", ALICE))), path="/elsewhere")
    assert got.status == 200 and values(got.headers, "x-file-owner") == []
    got = stack.send(Reply(headers=(("Content-Type", "image/png"), ("X-File-Owner", BOB))), path="/files/a.png")
    assert got.status == 403
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_route_bulk_limit(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    emails = Reply(headers=JSON_CT, chunks=[json.dumps([f"p{i}@example.test" for i in range(30)]).encode()])
    stack = make_stack(
        **guard_options(
            events,
            routes=[
                Route("/admin/mailing", bulk_limit=100),
                Route("/export", bulk_limit=None),
                Route("/tight", bulk_limit=5),
            ],
        )
    )
    assert stack.send(emails, path="/admin/mailing").status == 200
    assert stack.send(emails, path="/export").status == 200
    assert stack.send(emails, path="/elsewhere").status == 403
    few = Reply(headers=JSON_CT, chunks=[json.dumps([f"p{i}@example.test" for i in range(6)]).encode()])
    assert stack.send(few, path="/tight").status == 403
    assert stack.send(few, path="/elsewhere").status == 200
    assert kinds(events) == [("bulk_personal_data", "blocked")] * 2
    assert [dict(e.counts) for e in events] == [{"email": 30}, {"email": 6}]


def test_route_policy_applies_on_its_route_only(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    seen: list[tuple[str | None, Owner, str]] = []

    def staff(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        seen.append((requester.id if requester else None, owner, request.path))
        return True

    stack = make_stack(**users_options(events, routes=[Route("/staff/users/{user_id}", policy=staff)]))
    record = Reply(headers=JSON_CT, chunks=[json.dumps({"user_id": BOB}).encode()])
    got = stack.send(record, path=f"/staff/users/{BOB}")
    assert got.status == 200 and got.body == record.chunks[0]
    assert kinds(events) == [("cross_owner_view", "allowed")]
    assert events[0].reason == "policy allowed a cross-owner view"
    assert seen == [(ALICE, Owner("id", BOB), f"/staff/users/{BOB}")]
    assert stack.send(record, path=f"/users/{BOB}").status == 403
    assert kinds(events)[1:] == [("owner_mismatch", "blocked")]


def test_exempt_route(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**users_options(events, routes=[Route("/health/{check}", exempt=True)]))
    record = Reply(headers=(*JSON_CT, ("X-Data-Owner", BOB)), chunks=[json.dumps({"user_id": BOB}).encode()])
    got = stack.send(record, path="/health/db", cookie="")
    assert got.status == 200 and got.body == record.chunks[0] and values(got.headers, "x-data-owner") == []
    assert values(got.headers, "set-cookie") == []  # unbound, as an exempt path
    assert stack.send(record, path="/health", cookie="").status == 403
    assert kinds(events) == [("owner_mismatch", "blocked")]


# ------------------------------------------------------------------ exemption and inbound rules


def write_options(events: list[AuditEvent], **overrides: Any) -> dict[str, Any]:
    return users_options(events, requester=lambda request: request.headers.get("x-user"), **overrides)


def post(stack: GuardedStack, reply: Reply, path: str, query: str, user: str) -> Result:
    """A POST with a query string, as alice (the ASGI query goes in ``query_string``), no cookie."""
    if stack.kind != "asgi":  # WSGI, and Django (its handlers parse the query from the path)
        return stack.send(reply, method="POST", path=f"{path}?{query}", headers=[("X-User", user)], cookie="")
    stack.reply = reply
    scope = asgi_scope(method="POST", path=path, headers=[(b"x-user", user.encode())])
    scope["query_string"] = query.encode()
    got = asgi_call(stack.app, scope=scope)
    return Result(got.status, got.headers, got.body)


@pytest.mark.parametrize(
    ("exempt", "rules", "named"),
    [
        (
            {"exempt_paths": ["/users/*"]},
            [PathOwner("/users/{user_id}/password")],
            "exempt_paths '/users/*' covers the path of the inbound rule PathOwner('/users/{user_id}/password')",
        ),
        (
            {"exempt_paths": ["/users/v1*"]},
            [PathOwner("/users/{user_id}/password")],
            "exempt_paths '/users/v1*' covers the path of the inbound rule PathOwner('/users/{user_id}/password')",
        ),
        (
            {"exempt_paths": ["/users/bob/password"]},
            [PathOwner("/users/{user_id}/password")],
            "exempt_paths '/users/bob/password' covers",
        ),
        (
            {"exempt_paths": ["/users/bob/password/"]},
            [PathOwner("/users/{user_id}/password")],
            "exempt_paths '/users/bob/password/' covers",
        ),  # PathOwner takes a trailing slash
        (
            {"routes": [Route("/users/{name}/{action}", exempt=True)]},
            [PathOwner("/users/{user_id}/password")],
            "routes Route('/users/{name}/{action}') (exempt=True) covers the path of the inbound rule PathOwner",
        ),
        (
            {"routes": [Route("/{rest:path}", exempt=True)]},
            [JsonBodyOwner("user_id")],
            "routes Route('/{rest:path}') (exempt=True) covers the path of the inbound rule JsonBodyOwner(...)",
        ),
        (
            {"exempt_paths": ["/*"]},
            [QueryOwner("user_id")],
            "exempt_paths '/*' covers the path of the inbound rule QueryOwner(...)",
        ),
        ({"exempt_paths": ["/*"]}, [FormOwner("user_id")], "exempt_paths '/*' covers"),
    ],
)
def test_startup_refuses_an_exemption_that_covers_an_inbound_rule(
    exempt: dict[str, Any], rules: list[Any], named: str
) -> None:
    with pytest.raises(ValueError) as raised:
        Guard(**guard_options(inbound=rules, **exempt))
    assert str(raised.value).startswith(named)


@pytest.mark.parametrize(
    "exempt",
    [
        {"exempt_paths": ["/health", "/users/v1", "/users/bob", "/static/*"]},
        {"routes": [Route("/users/{user_id}", exempt=True), Route("/users/{user_id}/password/{x}", exempt=True)]},
    ],
)
def test_exemptions_beside_an_inbound_rule_are_allowed(exempt: dict[str, Any]) -> None:
    Guard(**guard_options(inbound=[PathOwner("/users/{user_id}/password")], **exempt))


def test_inbound_rules_still_refuse_beneath_an_exempt_prefix(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**write_options(events, exempt_paths=["/users/v1*"], inbound=[QueryOwner("user_id")]))
    got = post(stack, Reply(requester=ALICE), "/users/v1/password", "user_id=" + BOB, ALICE)
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].reason == "request names another owner's record"
    assert events[0].path == "/users/v1/password"
    # The exempt response itself is still not checked: the user's own write goes through.
    got = post(stack, users_json(BOB), "/users/v1/password", "user_id=" + ALICE, ALICE)
    assert got.status == 200
    assert len(events) == 1
    assert_no_raw_ids(events)


def test_inbound_rules_refuse_on_an_exempt_route(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(
        **write_options(events, routes=[Route("/public/{page}", exempt=True)], inbound=[PathOwner("/users/{user_id}")])
    )
    got = stack.send(
        Reply(requester=ALICE), method="POST", path=f"/users/{BOB}", headers=[("X-User", ALICE)], cookie=""
    )
    assert_block(got.status, got.headers, got.body, clears_binding=False)
    assert kinds(events) == [("cross_owner_write", "blocked")]
    assert events[0].path == "/users/{id}"


def test_route_policy_decides_writes_on_its_route(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(
        **write_options(
            events,
            inbound=[QueryOwner("user_id")],
            routes=[Route("/support/tickets", policy=lambda requester, owner, request: True)],
        )
    )
    got = post(stack, Reply(requester=ALICE), "/support/tickets", "user_id=" + BOB, ALICE)
    assert got.status == 200
    assert kinds(events) == [("cross_owner_view", "allowed")]
    assert events[0].reason == "policy allowed a cross-owner write"
    got = post(stack, Reply(requester=ALICE), "/tickets", "user_id=" + BOB, ALICE)
    assert got.status == 403
    assert kinds(events)[1:] == [("cross_owner_write", "blocked")]


class CountingGuard(Guard):
    """A guard that counts route look-ups."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.lookups: list[str] = []

    def rules_for(self, path: str) -> Any:
        self.lookups.append(path)
        return super().rules_for(path)


def test_the_route_is_resolved_once_per_request(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    guard = CountingGuard(
        **write_options(events, inbound=[QueryOwner("user_id")], routes=[Route("/users/v1", public_keys=["username"])])
    )
    stack = make_stack(guard)
    assert stack.send(users_json(ALICE, BOB), path="/users/v1").status == 200
    assert post(stack, Reply(requester=ALICE), "/users/v1", "user_id=" + ALICE, ALICE).status == 200
    assert guard.lookups == ["/users/v1", "/users/v1"]


def test_patterns_parse_to_their_segments() -> None:
    assert parse_pattern("/a/{b}/{c:str}/{d:int}/{e:path}") == (
        (LITERAL, "a"),
        (SEGMENT, ""),
        (SEGMENT, ""),
        (DIGITS, "int"),
        (TAIL, ""),
    )


@pytest.mark.parametrize("pattern", ["/users/{id", "/users/id}", "/a{/b", "/a}/b"])
def test_a_lone_brace_in_a_literal_segment_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"a parameter must be a whole segment"):
        Route(pattern)


@pytest.mark.parametrize("keys", [[5], [""], ["username", None]])
def test_public_keys_must_be_non_empty_strings(keys: list[Any]) -> None:
    with pytest.raises(ValueError) as raised:
        Route("/users", public_keys=keys)
    assert str(raised.value) == "Route('/users'): public_keys must be non-empty strings"


def test_a_route_of_one_keeps_its_options() -> None:
    route = Route("/users/{id}", bulk_limit=1, public_keys=["username"])
    assert (route.bulk_limit, route.public_keys, repr(route)) == (1, frozenset({"username"}), "Route('/users/{id}')")


def test_routes_with_different_parameter_kinds_at_one_depth_keep_apart() -> None:
    # {x:int} and {y} at the same depth are two branches: a word is no int, its route is the str one.
    r = router("/a/{x:int}", "/a/{y}/b")
    paths = ("/a/7", "/a/abc/b", "/a/7/b", "/a/abc")
    assert [r.resolve(p) for p in paths] == ["/a/{x:int}", "/a/{y}/b", "/a/{y}/b", None]


def _tokens_regex(tokens: list[str]) -> re.Pattern[str]:
    parts = {_SEG: "[^/]+", _REST: ".*"}
    return re.compile("".join(parts.get(t, re.escape(t)) for t in tokens), re.DOTALL)


def test_patterns_overlap_answers_as_matching_every_short_path_does() -> None:
    # Every pattern of up to three tokens over '/', 'a', one segment and the rest, against every
    # pair: two patterns overlap when some path of up to six characters matches both (no shortest
    # common path of two such patterns is longer).
    alphabet = ["/", "a", _SEG, _REST]
    patterns = [list(p) for n in range(4) for p in itertools.product(alphabet, repeat=n)]
    paths = ["".join(p) for n in range(7) for p in itertools.product("/ab", repeat=n)]
    matched = [frozenset(s for s in paths if _tokens_regex(p).fullmatch(s)) for p in patterns]
    wrong = [
        (a, b)
        for (a, ma), (b, mb) in itertools.product(zip(patterns, matched, strict=True), repeat=2)
        if patterns_overlap(a, b) != bool(ma & mb)
    ]
    assert wrong == []
    assert len(patterns) == 85


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        # (the walk meets one state twice, and must still take the others: "//xa" matches both)
        (["/", "/", _SEG], ["/", "/", _SEG, _REST, "a"], True),
        (["/", "/", _SEG, "/"], ["/", "/", _SEG, _REST, "a"], False),
    ],
)
def test_patterns_overlap_of_longer_patterns(a: list[str], b: list[str], overlap: bool) -> None:
    assert (patterns_overlap(a, b), patterns_overlap(b, a)) == (overlap, overlap)
