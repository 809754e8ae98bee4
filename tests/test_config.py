"""Configuration: wrong options fail at start-up naming the option; the options that
change a decision (exempt paths/predicate, requester function, block page) work on both stacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import (
    ALICE,
    BOB,
    NO_REQUESTER,
    GuardedStack,
    Reply,
    asgi_reply,
    assert_block,
    assert_passed_headers,
    guard_options,
    kinds,
    values,
    wsgi_reply,
)

from respguard import (
    ASGIMiddleware,
    AuditEvent,
    BlockPage,
    Guard,
    HtmlAttribute,
    JsonKeys,
    RequestInfo,
    WSGIMiddleware,
)

MakeStack = Callable[..., GuardedStack]
JSON_CT = (("Content-Type", "application/json"),)
FOREIGN = Reply(headers=JSON_CT, chunks=[b'{"user_id": "bob-9c2e", "card": "1881"}'])


# ------------------------------------------------------------------ wrong configuration

BAD_OPTIONS: list[tuple[str, dict[str, Any]]] = [
    ("extractors", {"extractors": []}),
    ("extractors", {"extractors": ()}),
    ("extractors", {"extractors": "user_id"}),
    ("extractors", {"extractors": [42]}),
    ("secret_key", {"secret_key": ""}),
    ("secret_key", {"secret_key": b""}),
    ("secret_key", {"secret_key": []}),
    ("secret_key", {"secret_key": ["old", ""]}),
    ("secret_key", {"secret_key": None}),
    ("secret_key", {"secret_key": 1234}),
    ("mode", {"mode": "block"}),
    ("mode", {"mode": "REPORT"}),
    ("requester", {"requester": "x-user"}),
    ("policy", {"policy": True}),
    ("exempt", {"exempt": "/admin"}),
    ("block_response", {"block_response": BlockPage()}),
    ("on_event", {"on_event": []}),
    ("max_body_bytes", {"max_body_bytes": 0}),
    ("max_body_bytes", {"max_body_bytes": -1}),
    ("max_body_bytes", {"max_body_bytes": "1MB"}),
    ("max_body_bytes", {"max_body_bytes": 1.5}),
    ("on_oversize", {"on_oversize": "drop"}),
    ("binding_max_age", {"binding_max_age": 0}),
    ("binding_max_age", {"binding_max_age": "1d"}),
    ("binding_same_site", {"binding_same_site": "sometimes"}),
    ("binding_same_site", {"binding_same_site": "none"}),
    ("binding_cookie", {"binding_cookie": ""}),
    ("binding_cookie", {"binding_cookie": "bad name"}),
    ("binding_cookie", {"binding_cookie": "a;b"}),
    ("block_page", {"block_page": BlockPage(status=200)}),
    ("block_page", {"block_page": BlockPage(status=302)}),
    ("block_page", {"block_page": b"Forbidden"}),
    ("exempt_paths", {"exempt_paths": "/health"}),
    ("exempt_paths", {"exempt_paths": ["health"]}),
    ("login_paths", {"login_paths": "/login"}),
    ("login_paths", {"login_paths": ["login"]}),
]


@pytest.mark.parametrize(("option", "bad"), BAD_OPTIONS, ids=[f"{o}={v[o]!r}" for o, v in BAD_OPTIONS])
def test_wrong_option_raises_value_error_naming_it(option: str, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=option):
        Guard(**guard_options(**bad))
    with pytest.raises(ValueError, match=option):
        ASGIMiddleware(asgi_reply(), **guard_options(**bad))
    with pytest.raises(ValueError, match=option):
        WSGIMiddleware(wsgi_reply(), **guard_options(**bad))


def test_missing_required_options_fail_at_construction() -> None:
    with pytest.raises(TypeError, match="secret_key"):
        Guard(extractors=[JsonKeys("user_id")])  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="extractors"):
        Guard(secret_key="k")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no_such_option"):
        Guard(**guard_options(no_such_option=1))


def test_good_configuration_is_accepted() -> None:
    guard = Guard(
        secret_key=[b"old", "new"],
        extractors=[JsonKeys("user_id"), HtmlAttribute("data-customer"), lambda body, headers, ctx: []],
        mode="report",
        max_body_bytes=1,
        on_oversize="pass",
        binding_same_site="none",
        binding_secure=True,
        exempt_paths=["/health", "/static/*"],
        login_paths=["/login"],
        block_page=BlockPage(451, b"no", "text/plain"),
    )
    assert guard.mode == "report" and not guard.enforce
    assert len(guard.extractors) == 3


# ------------------------------------------------------------------ exempt paths and predicate


def test_exempt_paths_pass_unscanned_and_unbound(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, exempt_paths=["/health", "/static/*"]))
    for path in ("/health", "/static/", "/static/app.js"):
        got = stack.send(FOREIGN, path=path)
        assert got.status == 200 and got.body == FOREIGN.chunks[0]
        assert_passed_headers(got.headers, [*JSON_CT, ("Content-Length", "39")], binding=False)
    for path in ("/health/x", "/healthz", "/stati"):
        assert stack.send(FOREIGN, path=path, cookie="").status == 403
    assert kinds(events) == [("owner_mismatch", "blocked")] * 3


def test_exempt_path_still_strips_the_owner_header(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events, exempt_paths=["/files/*"]))
    got = stack.send(Reply(headers=(("Content-Type", "text/plain"), ("X-Data-Owner", BOB))), path="/files/a")
    assert got.status == 200 and values(got.headers, "x-data-owner") == []
    assert events == []


def test_exempt_predicate(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    seen: list[RequestInfo] = []

    def staff_console(request: RequestInfo) -> bool:
        seen.append(request)
        return request.headers.get("x-console") == "staff"

    stack = make_stack(**guard_options(events, exempt=staff_console))
    got = stack.send(FOREIGN, path="/customers/9", headers=[("X-Console", "staff")])
    assert got.status == 200 and got.body == FOREIGN.chunks[0]
    assert stack.send(FOREIGN, path="/customers/9").status == 403
    assert [(r.method, r.path) for r in seen] == [("GET", "/customers/9")] * 2
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_raising_exempt_predicate_fails_closed(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def broken(request: RequestInfo) -> bool:
        raise KeyError("bob-9c2e")

    got = make_stack(**guard_options(events, exempt=broken)).send(FOREIGN)
    assert_block(got.status, got.headers, got.body)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "exempt predicate raised"


# ------------------------------------------------------------------ requester function


def test_requester_function(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def from_header(request: RequestInfo) -> str | None:
        return request.headers.get("x-user")

    stack = make_stack(**guard_options(events, requester=from_header))
    reply = Reply(requester=NO_REQUESTER, headers=JSON_CT, chunks=[b'{"user_id": "alice-7f3a"}'])
    assert stack.send(reply, headers=[("X-User", ALICE)]).status == 200
    got = stack.send(reply, headers=[("X-User", BOB)], cookie="")
    assert_block(got.status, got.headers, got.body, sets_binding=True)
    got = stack.send(reply, cookie="")
    assert_block(got.status, got.headers, got.body)
    # the app's own set_requester wins over the function
    told = Reply(requester=ALICE, headers=JSON_CT, chunks=[b'{"user_id": "alice-7f3a"}'])
    assert stack.send(told, headers=[("X-User", BOB)], cookie="").status == 200
    assert kinds(events) == [("owner_mismatch", "blocked"), ("anonymous_personal_data", "blocked")]


def test_raising_requester_function_fails_closed(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    def broken(request: RequestInfo) -> str:
        raise RuntimeError("token for alice-7f3a expired")

    stack = make_stack(**guard_options(events, requester=broken))
    got = stack.send(Reply(requester=NO_REQUESTER, headers=JSON_CT, chunks=[b"{}"]))
    assert_block(got.status, got.headers, got.body)
    assert kinds(events) == [("scan_error", "blocked")]
    assert events[0].reason == "requester function raised"


# ------------------------------------------------------------------ block page


def test_custom_block_page(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    page = BlockPage(status=451, body=b'{"error": "withheld"}', content_type="application/json")
    got = make_stack(**guard_options(events, block_page=page)).send(FOREIGN)
    assert_block(got.status, got.headers, got.body, page=page, original=FOREIGN.chunks[0], sets_binding=True)


def test_block_response_callable_sees_the_event(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    seen: list[str] = []

    def page_for(event: AuditEvent) -> BlockPage:
        seen.append(event.kind.value)
        return BlockPage(status=409 if event.kind.value == "session_drift" else 403, body=event.kind.value.encode())

    stack = make_stack(**guard_options(events, block_response=page_for))
    got = stack.send(FOREIGN)
    assert_block(got.status, got.headers, got.body, page=BlockPage(403, b"owner_mismatch"), sets_binding=True)
    stack.send(Reply(requester=ALICE, headers=JSON_CT, chunks=[b"{}"]))
    got = stack.send(Reply(requester=BOB, headers=JSON_CT, chunks=[b"{}"]))
    assert_block(got.status, got.headers, got.body, page=BlockPage(409, b"session_drift"), clears_binding=False)
    assert seen == ["owner_mismatch", "session_drift"]


@pytest.mark.parametrize("result", ["raise", "wrong-type"])
def test_broken_block_response_falls_back_to_the_block_page(
    make_stack: MakeStack, events: list[AuditEvent], result: str
) -> None:
    def broken(event: AuditEvent) -> Any:
        if result == "raise":
            raise RuntimeError("template missing")
        return b"not a BlockPage"

    page = BlockPage(status=403, body=b"fallback")
    got = make_stack(**guard_options(events, block_page=page, block_response=broken)).send(FOREIGN)
    assert_block(got.status, got.headers, got.body, page=page, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]


def test_block_page_for_head_has_no_body(make_stack: MakeStack, events: list[AuditEvent]) -> None:
    stack = make_stack(**guard_options(events))
    reply = Reply(headers=(("Content-Type", "application/json"), ("X-Data-Owner", BOB)), chunks=[])
    got = stack.send(reply, method="HEAD")
    assert_block(got.status, got.headers, got.body, head=True, sets_binding=True)


def test_guard_options_list_every_option_of_the_guard_in_order() -> None:
    """The Flask extension and Django accept ``GUARD_OPTIONS``: every option of the signature as
    written in the source (read with ``ast``, so it holds whichever build runs)."""
    import ast
    from pathlib import Path

    import respguard._guard as guard_module

    source = (Path(__file__).parent.parent / "respguard" / "_guard.py").read_text()
    tree = ast.parse(source)
    (guard_class,) = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Guard"]
    (init,) = [node for node in guard_class.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"]
    names = [arg.arg for arg in (*init.args.args, *init.args.kwonlyargs) if arg.arg != "self"]
    assert guard_module.GUARD_OPTIONS == tuple(names)
    assert len(names) == 29
