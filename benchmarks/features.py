"""The cost of issue 5's opt-in features, each measured on its own against the bare app.

The default-on features (bulk e-mail count, ``Cache-Control: private``, session
binding) are in the breakdown table (:func:`benchmarks.inprocess.run_breakdown`).
This module adds the two that are off by default and apply to one kind of request:

- ``inbound``: a ``POST`` with a 1 KB JSON body through ``PathOwner`` +
  ``JsonBodyOwner`` rules (the body is read once and replayed), against the same
  guard without inbound rules;
- ``filter``: a 1 KB JSON list where one record of 8 is someone else's, with
  ``on_foreign_records="filter"`` (parsed, pruned, re-serialised), against the own
  list passing the fast path.

A raw ASGI app (no framework) keeps the app's own cost small, so the figures are
what respguard adds, in µs per request; variants interleave round by round.

:func:`run_fastapi_write` is the same 1 KB JSON write on FastAPI, whose login is a
dependency (:func:`respguard.starlette.requester_dependency`): the in-app check
(``write_check="app"``, the requester only from the dependency) and the middleware check
(``requester=``, before the app) against the same guard without rules. Run both tables with
``python -m benchmarks.features [--quick] [--rounds N]``.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import respguard

SECRET = "bench-features-secret"
OWN = "u-1001"
OTHER = "u-2002"


def _record(owner: str, n: int) -> dict[str, object]:
    return {"user_id": owner, "order": 5000 + n, "item": "Set-top box rental", "amount": 1980}


OWN_LIST = json.dumps({"items": [_record(OWN, n) for n in range(8)]}).encode()
MIXED_LIST = json.dumps({"items": [_record(OTHER if n == 3 else OWN, n) for n in range(8)]}).encode()
POST_BODY = json.dumps({"user_id": OWN, "card_last4": "4242", "note": "x" * 900}).encode()


def _app(body: bytes) -> Callable[..., Any]:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        if "respguard" in scope:  # the bare variants run without the guard
            respguard.set_requester(scope, OWN)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


def _scope(method: str, path: str, cookie: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "scheme": "http",
        "path": path,
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"cookie", cookie)],
    }


async def _batch(app: Any, scope: dict[str, Any], request_body: bytes, n: int) -> float:
    message = {"type": "http.request", "body": request_body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(message: Any) -> None:
        return None

    start = time.perf_counter()
    for _ in range(n):
        await app(scope.copy(), receive, send)
    return time.perf_counter() - start


def _guarded(body: bytes, **options: Any) -> respguard.ASGIMiddleware:
    return respguard.ASGIMiddleware(
        _app(body), secret_key=SECRET, extractors=[respguard.JsonKeys("user_id")], **options
    )


def _cookie(guard: respguard.ASGIMiddleware) -> bytes:
    """The binding cookie the guard sets for OWN (so inbound rules can use it)."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(guard(_scope("GET", "/me", b""), receive, send))
    for key, value in sent[0]["headers"]:
        if key == b"set-cookie":
            return value.split(b";", 1)[0]
    raise RuntimeError("no binding cookie was set")


def _fetch(app: Any, scope: dict[str, Any], request_body: bytes) -> tuple[int, bytes]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": request_body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope.copy(), receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def run_features(rounds: int, quick: bool, log: Callable[[str], None] = print) -> list[dict[str, object]]:
    """Rows ``{"feature", "case", "us_median", "us_over_bare", "us_over_baseline"}``."""
    n = 200 if quick else 1000
    inbound_rules = [respguard.PathOwner("/users/{user_id}/card"), respguard.JsonBodyOwner("user_id")]
    plain = _guarded(b'{"ok": true}')
    cookie = _cookie(plain)
    cases: dict[str, tuple[str, Any, dict[str, Any], bytes]] = {
        # name: (feature, app, scope, request body)
        "write bare": ("inbound", _app(b'{"ok": true}'), _scope("POST", f"/users/{OWN}/card", b""), POST_BODY),
        "write guarded": ("inbound", plain, _scope("POST", f"/users/{OWN}/card", cookie), POST_BODY),
        "write + inbound rules": (
            "inbound",
            _guarded(b'{"ok": true}', inbound=inbound_rules),
            _scope("POST", f"/users/{OWN}/card", cookie),
            POST_BODY,
        ),
        "list bare": ("filter", _app(MIXED_LIST), _scope("GET", "/orders", b""), b""),
        "own list guarded": ("filter", _guarded(OWN_LIST), _scope("GET", "/orders", cookie), b""),
        "mixed list filtered": (
            "filter",
            _guarded(MIXED_LIST, on_foreign_records="filter"),
            _scope("GET", "/orders", cookie),
            b"",
        ),
    }
    # Before timing, every variant must serve what it is meant to (a block page would be worthless).
    items = {"list bare": 8, "own list guarded": 8, "mixed list filtered": 7}
    for name, (_, app, scope, request_body) in cases.items():
        status, body = _fetch(app, scope, request_body)
        if status != 200 or (name in items and len(json.loads(body)["items"]) != items[name]):
            raise RuntimeError(f"features benchmark: {name!r} served {status} {body[:80]!r}")
    times: dict[str, list[float]] = {name: [] for name in cases}
    shuffle = random.Random("features")
    for _ in range(rounds):
        order = list(cases)
        shuffle.shuffle(order)
        for name in order:
            _, app, scope, request_body = cases[name]
            times[name].append(asyncio.run(_batch(app, scope, request_body, n)) / n * 1e6)
    median = {name: statistics.median(values) for name, values in times.items()}
    rows: list[dict[str, object]] = []
    for name, (feature, *_rest) in cases.items():
        bare = median["write bare" if feature == "inbound" else "list bare"]
        baseline = median["write guarded" if feature == "inbound" else "own list guarded"]
        rows.append(
            {
                "feature": feature,
                "case": name,
                "us_median": round(median[name], 2),
                "us_over_bare": round(median[name] - bare, 2),
                "us_over_baseline": round(median[name] - baseline, 2),
            }
        )
        log(f"  {feature:8} {name:22} {median[name]:8.1f} µs  (+{median[name] - bare:.1f} over bare)")
    return rows


# --------------------------------------------------------------------------- FastAPI


def _fastapi_scope(cookie: bytes) -> dict[str, Any]:
    """A write as uvicorn hands it to FastAPI (the login reads ``X-User``)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": f"/users/{OWN}/card",
        "raw_path": f"/users/{OWN}/card".encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(POST_BODY)).encode()),
            (b"cookie", cookie),
            (b"x-user", OWN.encode()),
        ],
    }


def _fastapi_app(guard: respguard.Guard | None, *, in_app: bool) -> Any:
    """A FastAPI card write: a JSON body, the login a dependency; guarded by ``guard`` if given.

    ``in_app``: the login is wrapped by ``requester_dependency`` (the check runs there, with
    ``write_check="app"`` where the guard has rules); else the plain dependency, and the guard
    learns the requester from its own ``requester=``.
    """
    from fastapi import Body, Depends, FastAPI, Header
    from starlette.responses import Response

    from respguard.starlette import RespGuardMiddleware, requester_dependency

    async def current_user(x_user: str | None = Header(default=None)) -> str | None:
        return x_user  # the app's login (a token or a session in a real app)

    login = Depends(requester_dependency(current_user)) if in_app else Depends(current_user)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/users/{user_id}/card")
    async def change_card(user_id: str, card: dict[str, Any] = Body(), user: str | None = login) -> Response:  # noqa: B008
        # FastAPI parses the body before the dependencies run (a model would cost the same, bare or guarded).
        return Response(b'{"ok": true}', media_type="application/json")

    # As the README adds it: inside FastAPI's ServerErrorMiddleware, which would answer a refusal
    # raised in the dependency with a 500 before an outer respguard could send the block page.
    if guard is not None and in_app and guard.inbound:
        app.add_middleware(RespGuardMiddleware, guard=guard, write_check="app")
    elif guard is not None:
        app.add_middleware(RespGuardMiddleware, guard=guard)
    return app


def run_fastapi_write(rounds: int, quick: bool, log: Callable[[str], None] = print) -> list[dict[str, object]]:
    """The 1 KB JSON write on FastAPI: rows as :func:`run_features` gives (feature ``"inbound-fastapi"``).

    Each check is measured over its twin without inbound rules: the in-app check over the guard
    whose ``requester_dependency`` still publishes the requester, the middleware check over the
    guard with the same ``requester=`` and the plain login dependency. A variant the installed
    respguard can't build (before ``write_check`` existed) is left out, with a note.
    """
    n = 200 if quick else 1000
    rules = [respguard.PathOwner("/users/{user_id}/card"), respguard.JsonBodyOwner("user_id")]
    extractors = [respguard.JsonKeys("user_id")]
    cookie = _cookie(_guarded(b'{"ok": true}'))
    scope = _fastapi_scope(cookie)

    def by_header(request: respguard.RequestInfo) -> str | None:
        return request.headers.get("x-user")

    builders: dict[str, Callable[[], Any]] = {
        "fastapi write bare": lambda: _fastapi_app(None, in_app=False),
        "fastapi write guarded": lambda: _fastapi_app(
            respguard.Guard(secret_key=SECRET, extractors=extractors), in_app=True
        ),
        "fastapi write + in-app check": lambda: _fastapi_app(
            respguard.Guard(secret_key=SECRET, extractors=extractors, inbound=rules), in_app=True
        ),
        "fastapi write guarded, requester=": lambda: _fastapi_app(
            respguard.Guard(secret_key=SECRET, extractors=extractors, requester=by_header), in_app=False
        ),
        "fastapi write + middleware check": lambda: _fastapi_app(
            respguard.Guard(secret_key=SECRET, extractors=extractors, inbound=rules, requester=by_header),
            in_app=False,
        ),
    }
    cases: dict[str, Any] = {}
    for name, build in builders.items():
        try:
            app = build()
            status, body = _fetch(app, scope, POST_BODY)  # Starlette builds the middleware stack here
        except TypeError as exc:  # this respguard predates the option
            log(f"  inbound-fastapi {name}: not available on this respguard ({exc})")
            continue
        if status != 200 or body != b'{"ok": true}':
            raise RuntimeError(f"FastAPI write benchmark: {name!r} served {status} {body[:80]!r}")
        cases[name] = app
    times: dict[str, list[float]] = {name: [] for name in cases}
    shuffle = random.Random("fastapi-write")
    for _ in range(rounds):
        order = list(cases)
        shuffle.shuffle(order)
        for name in order:
            times[name].append(asyncio.run(_batch(cases[name], scope, POST_BODY, n)) / n * 1e6)
    median = {name: statistics.median(values) for name, values in times.items()}
    bare = median["fastapi write bare"]
    rows: list[dict[str, object]] = []
    for name in cases:
        # Each check over its own twin without rules: the same login dependency, the same requester source.
        twin = "fastapi write guarded, requester=" if "requester=" in name or "middleware" in name else None
        baseline = median.get(twin or "fastapi write guarded", median[name])
        rows.append(
            {
                "feature": "inbound-fastapi",
                "case": name,
                "us_median": round(median[name], 2),
                "us_over_bare": round(median[name] - bare, 2),
                "us_over_baseline": round(median[name] - baseline, 2),
            }
        )
        log(f"  inbound-fastapi {name:34} {median[name]:8.1f} µs  ({median[name] - baseline:+.1f} over its twin)")
    return rows


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.features``: the opt-in features table and the FastAPI write rows."""
    import argparse

    from . import report

    parser = argparse.ArgumentParser(prog="python -m benchmarks.features", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="200 requests per batch (else 1000)")
    parser.add_argument("--rounds", type=int, help="rounds (default 5 quick, 21 full)")
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON to PATH")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 21)
    rows = run_features(rounds, args.quick) + run_fastapi_write(rounds, args.quick)
    print(report.markdown({"meta": {}, "features": rows}))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(rows, file, indent=2)
            file.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
