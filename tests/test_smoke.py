from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from respguard import ASGIMiddleware, JsonKeys, set_requester


def test_cross_owner_json_is_blocked() -> None:
    def me(request: Request) -> JSONResponse:
        set_requester(request, "alice")
        return JSONResponse({"user_id": request.query_params["shown"]})

    app = ASGIMiddleware(Starlette(routes=[Route("/me", me)]), secret_key="k", extractors=[JsonKeys("user_id")])
    with TestClient(app) as client:
        ok = client.get("/me?shown=alice")
        assert ok.status_code == 200
        assert ok.content == b'{"user_id":"alice"}'
        blocked = client.get("/me?shown=bob")
        assert blocked.status_code == 403
        assert b"bob" not in blocked.content
