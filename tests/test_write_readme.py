"""Issue 10: every code block of the README's write-check section runs, and does what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ids import ALICE, BOB
from starlette.testclient import TestClient

from respguard import BlockPage

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "### Refuse writes to someone else's record before they happen (incident 2)"


def section_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n### ", start + len(SECTION))
    return re.findall(r"```python\n(.*?)```", text[start:end], re.S)


def run(code: str, name: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": name}
    exec(compile(code, f"README:{name}", "exec"), namespace)  # noqa: S102 - the README's own code
    return namespace


def test_the_section_shows_flask_flask_login_and_fastapi() -> None:
    blocks = section_blocks()
    assert len(blocks) == 3
    assert "before_request" in blocks[0] and "LoginManager" in blocks[1] and "requester_dependency" in blocks[2]


def test_flask_block_refuses_another_customers_card() -> None:
    namespace = run(section_blocks()[0], "readme_flask")
    app, cards = namespace["app"], namespace["CARDS"]
    with app.test_client() as client:
        with client.session_transaction() as session:
            session["customer_id"] = ALICE
        own = client.post(f"/api/customers/{ALICE}/card", json={"card_last4": "4242"})
        foreign = client.post(f"/api/customers/{BOB}/card", json={"card_last4": "1881"})
        by_body = client.post(
            f"/api/customers/{ALICE}/card", data=f'{{"customer_id": "{BOB}"}}', content_type="text/plain"
        )
    assert own.json == {"ok": True}
    assert (foreign.status_code, foreign.data) == (403, BlockPage().body)
    assert (by_body.status_code, by_body.data) == (403, BlockPage().body)
    assert cards == {ALICE: "4242"}


def test_flask_login_block_refuses_another_customers_card() -> None:
    namespace = run(section_blocks()[1], "readme_flask_login")
    app, cards = namespace["app"], namespace["CARDS"]
    with app.test_client() as client:
        with client.session_transaction() as session:
            session["_user_id"] = ALICE  # what login_user() stores
        own = client.post(f"/api/customers/{ALICE}/card", json={"card_last4": "4242"})
        foreign = client.post(f"/api/customers/{BOB}/card", json={"card_last4": "1881"})
    assert own.json == {"ok": True}
    assert (foreign.status_code, foreign.data) == (403, BlockPage().body)
    assert cards == {ALICE: "4242"}


@pytest.mark.parametrize("override", [False, True], ids=["token", "dependency_overrides"])
def test_fastapi_block_refuses_another_customers_card(override: bool) -> None:
    namespace = run(section_blocks()[2], "readme_fastapi")
    app, cards = namespace["app"], namespace["CARDS"]
    headers = {"Authorization": "Bearer token-7"}
    if override:
        app.dependency_overrides[namespace["get_current_customer"]] = lambda: 7
        headers = {}
    with TestClient(app) as client:
        own = client.post("/api/customers/7/card", json={"customer_id": 7, "card_last4": "4242"}, headers=headers)
        foreign = client.post("/api/customers/8/card", json={"customer_id": 7, "card_last4": "1881"}, headers=headers)
        coerced = client.post("/api/customers/7/card", json={"customer_id": True, "card_last4": "0"}, headers=headers)
    assert own.json() == {"ok": True}
    assert (foreign.status_code, foreign.content) == (403, BlockPage().body)
    assert (coerced.status_code, coerced.content) == (403, BlockPage().body)
    assert cards == {7: "4242"}
