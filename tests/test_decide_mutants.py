"""The policy decides end to end, on a Starlette app (ASGI) and a Flask app (WSGI).

Written against the mutant issue 14 names: "every configured policy allows every foreign
owner, whatever it returns". A policy that answers ``False`` for one owner of two, or that
raises, must block with the exact page and event; only ``True`` for every foreign owner
lets the page through, audited. The decision's own units are in ``tests/test_decide.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import (
    ALICE,
    BLOCK_BODY,
    BOB,
    CAROL,
    assert_block,
    assert_no_raw_ids,
    guard_options,
    kinds,
)
from flask import Flask, jsonify
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from respguard import AuditEvent, Guard, Identity, Owner, RequestInfo, set_requester
from respguard.flask import RespGuard
from respguard.starlette import RespGuardMiddleware

Policy = Callable[[Identity | None, Owner, RequestInfo], Any]
#: Alice's page lists two other customers (a support view): two foreign owners.
ROWS = [{"user_id": BOB, "card": "1881"}, {"user_id": CAROL, "card": "5100"}, {"user_id": ALICE, "card": "4242"}]
BODY = json.dumps(ROWS).encode()


def starlette_get(events: list[AuditEvent], policy: Policy) -> tuple[int, list[tuple[str, str]], bytes]:
    async def customers(request: Request) -> Response:
        set_requester(request.scope, ALICE)
        return JSONResponse(ROWS)

    app = Starlette(routes=[Route("/support/customers", customers)])
    app.add_middleware(RespGuardMiddleware, guard=Guard(**guard_options(events, policy=policy)))
    with TestClient(app) as client:
        response = client.get("/support/customers")
    return response.status_code, [(k.lower(), v) for k, v in response.headers.multi_items()], response.content


def flask_get(events: list[AuditEvent], policy: Policy) -> tuple[int, list[tuple[str, str]], bytes]:
    app = Flask(__name__)

    @app.get("/support/customers")
    def customers() -> Any:
        from flask import request

        set_requester(request, ALICE)
        return jsonify(ROWS)

    RespGuard(app, **guard_options(events, policy=policy))
    response = app.test_client().get("/support/customers")
    return response.status_code, [(k.lower(), v) for k, v in response.headers.to_wsgi_list()], response.data


STACKS = {"starlette": starlette_get, "flask": flask_get}


@pytest.fixture(params=sorted(STACKS))
def get(request: pytest.FixtureRequest) -> Callable[[list[AuditEvent], Policy], tuple[int, list[Any], bytes]]:
    return STACKS[str(request.param)]


def test_a_policy_refusing_one_owner_of_two_blocks(get: Any, events: list[AuditEvent]) -> None:
    asked: list[tuple[Identity | None, Owner, str]] = []

    def only_bob(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        asked.append((requester, owner, request.path))
        return owner.id == BOB

    status, headers, body = get(events, only_bob)
    assert_block(status, headers, body, original=BODY, sets_binding=True)
    assert b"1881" not in body and b"5100" not in body
    assert kinds(events) == [("owner_mismatch", "blocked")]
    event = events[0]
    assert (event.reason, event.status) == ("response carries another owner's data", 200)
    assert event.path == "/support/customers"
    assert event.owner_count == 2
    assert asked == [
        (Identity(ALICE), Owner("id", BOB), "/support/customers"),
        (Identity(ALICE), Owner("id", CAROL), "/support/customers"),
    ]
    assert_no_raw_ids(events, "1881", "5100")


def test_a_policy_refusing_the_other_owner_blocks_too(get: Any, events: list[AuditEvent]) -> None:
    status, headers, body = get(events, lambda requester, owner, request: owner.id == CAROL)
    assert_block(status, headers, body, original=BODY, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].owner_count == 2


@pytest.mark.parametrize("answer", [False, None, 1, "yes", [True]])
def test_only_true_from_a_policy_lets_the_page_through(get: Any, events: list[AuditEvent], answer: Any) -> None:
    status, headers, body = get(events, lambda requester, owner, request: answer)
    assert_block(status, headers, body, original=BODY, sets_binding=True)
    assert kinds(events) == [("owner_mismatch", "blocked")]
    assert events[0].reason == "response carries another owner's data"


def test_a_policy_allowing_both_owners_passes_audited(get: Any, events: list[AuditEvent]) -> None:
    status, headers, body = get(events, lambda requester, owner, request: owner.id in (BOB, CAROL))
    assert status == 200 and body != BLOCK_BODY
    assert json.loads(body) == ROWS
    assert kinds(events) == [("cross_owner_view", "allowed")]
    event = events[0]
    assert (event.reason, event.status, event.owner_count) == ("policy allowed a cross-owner view", 200, 2)
    assert_no_raw_ids(events, "1881", "5100")


def test_a_raising_policy_blocks_with_scan_error(get: Any, events: list[AuditEvent]) -> None:
    def broken(requester: Identity | None, owner: Owner, request: RequestInfo) -> bool:
        if owner.id == CAROL:
            raise LookupError(f"no staff record for {owner.id}")
        return True

    status, headers, body = get(events, broken)
    assert_block(status, headers, body, original=BODY, sets_binding=True)
    assert kinds(events) == [("scan_error", "blocked")]
    event = events[0]
    assert (event.reason, event.status, event.owner_count) == ("policy raised", 200, 2)
    assert_no_raw_ids(events, "1881", "5100", "no staff record")
