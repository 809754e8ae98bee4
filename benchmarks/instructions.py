"""Instructions per request, for ``valgrind --tool=callgrind``: a count that does not depend on the load.

``python -m benchmarks.instructions BODY VARIANT N`` answers N requests for one body of
:mod:`benchmarks.bodies` from a raw ASGI app (no framework: the figure is the guard's and the
app's own), ``VARIANT`` being ``bare`` or ``respguard`` (the README's guard of
:func:`benchmarks.apps.make_guard`). The N requests run inside ``sys.call_tracing`` after a
warm-up, so callgrind can collect them alone::

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=sys_call_tracing \\
        --callgrind-out-file=/dev/null python -m benchmarks.instructions json-1k respguard 300

prints "Collected : I" for the whole loop; I / N is a request's count, the same on every run of the
same build and input. Seconds vary with the machine's load; this does not (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from respguard import ASGIMiddleware, set_requester

from .apps import make_guard
from .bodies import OWN_ID, all_bodies
from .inprocess import asgi_scope, request_cookie

WARM_UP = 100


def raw_app(body: bytes, content_type: str, guarded: bool) -> Any:
    """An ASGI app that answers ``body`` (and, guarded, tells respguard who is asking)."""
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if guarded:
            set_requester(scope, str(OWN_ID))
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return app


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Any) -> None:
    return None


async def fetch(app: Any, scope: dict[str, Any]) -> tuple[int, bytes]:
    """One request, recorded: (status, body)."""
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    await app(scope.copy(), _receive, send)
    return messages[0]["status"], b"".join(m.get("body", b"") for m in messages[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("body", choices=[b.name for b in all_bodies()])
    parser.add_argument("variant", choices=("bare", "respguard"))
    parser.add_argument("requests", type=int)
    args = parser.parse_args(argv)
    body = {b.name: b for b in all_bodies()}[args.body]
    guarded = args.variant == "respguard"
    app = raw_app(body.data, body.content_type, guarded)
    if guarded:
        app = ASGIMiddleware(app, make_guard())
    scope = asgi_scope("/b/" + body.name, request_cookie("asgi"))

    async def run(count: int) -> None:
        for _ in range(count):
            await app(scope.copy(), _receive, _send)

    loop = asyncio.new_event_loop()
    try:
        served = loop.run_until_complete(fetch(app, scope))
        if served != (200, body.data):  # the guard must let the own body through, whole
            print(f"benchmarks.instructions: {args.variant} served {served[0]}, not the body", file=sys.stderr)
            return 2
        loop.run_until_complete(run(WARM_UP))
        sys.call_tracing(loop.run_until_complete, (run(args.requests),))  # what callgrind collects
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
