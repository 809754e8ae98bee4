from __future__ import annotations
from typing import Annotated, Any
import json
from fastapi import FastAPI, Query, Form
from pydantic import BaseModel, Json
from starlette.testclient import TestClient
from conftest import kinds
from test_attack_session10 import BOB_ID, OWN, TOKEN
from test_write_apps import SECRET, CurrentCustomer, Customer, rules
from respguard import Guard, JsonKeys
from respguard.starlette import RespGuardMiddleware

class Meta(BaseModel):
    customer_id: int

def test_query_json():
    events = []
    app = FastAPI(); writes = []
    @app.post("/api/q")
    def q(meta: Annotated[Json[Meta], Query()], customer: Customer = CurrentCustomer) -> dict[str, str]:
        writes.append(meta.customer_id); return {"ok": "written"}
    @app.post("/api/qd")
    def qd(meta: Json[dict[str, int]], customer: Customer = CurrentCustomer) -> dict[str, str]:
        writes.append(meta); return {"ok": "written"}
    guard = Guard(secret_key=SECRET, extractors=[JsonKeys("customer_id")], inbound=rules(), on_event=events.append)
    app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")
    with TestClient(app) as client:
        for url in ("/api/q", "/api/qd"):
            r = client.post(url, headers=TOKEN, params={"meta": json.dumps({"customer_id": int(BOB_ID)})})
            print("Q", url, r.status_code, r.content[:80], writes, kinds(events))
    print(rules())
