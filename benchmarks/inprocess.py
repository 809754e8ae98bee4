"""In-process drivers: Starlette through raw scope/receive/send, Flask through a prepared environ.

No TestClient (it costs far more than the request itself) and no sockets: the
figures are what the middleware adds to the app's own work.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .apps import binding_cookie, flask_app, starlette_app, variants_for
from .bodies import OWN_ID, Body, all_bodies
from .builds import current_build


@dataclass
class Cell:
    """One (stack, body, variant): the per-round µs and ratios to bare."""

    stack: str
    body: str
    variant: str
    build: str = "pure"
    us: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)

    def row(self) -> dict[str, object]:
        return {
            "build": self.build,
            "stack": self.stack,
            "body": self.body,
            "variant": self.variant,
            "us_median": round(statistics.median(self.us), 3),
            "ratio_to_bare": round(statistics.median(self.ratios), 4),
            "rounds": len(self.us),
        }


#: What every request sends besides its cookie: a browser's ``Accept-Encoding`` (so the gzip peer
#: compresses) and an ``Origin`` (so the CORS peer answers it); the other variants ignore both.
ORIGIN = b"http://127.0.0.1:3000"
ACCEPT_ENCODING = b"gzip, deflate"


def _headers(cookie: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"host", b"127.0.0.1:8000"),
        (b"user-agent", b"respguard-bench/1"),
        (b"accept", b"*/*"),
        (b"accept-encoding", ACCEPT_ENCODING),
        (b"origin", ORIGIN),
        (b"cookie", cookie.encode("latin-1")),
        (b"x-user", str(OWN_ID).encode()),
    ]


# --------------------------------------------------------------------------- ASGI


def asgi_scope(path: str, cookie: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": _headers(cookie),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


#: The clock of every batch: this process's CPU time, so the other jobs on a shared machine don't
#: count when they preempt a batch (wall time did: one preempted bare batch skewed a whole round).
CLOCK = time.process_time

_REQUEST = {"type": "http.request", "body": b"", "more_body": False}


async def _receive() -> dict[str, Any]:
    return _REQUEST


async def _discard(message: Any) -> None:
    return None


async def asgi_batch(app: Any, scope: dict[str, Any], n: int) -> float:
    """CPU seconds for ``n`` requests, each with a fresh copy of ``scope``."""
    receive, send = _receive, _discard
    start = CLOCK()
    for _ in range(n):
        await app(scope.copy(), receive, send)
    return CLOCK() - start


async def asgi_fetch(app: Any, scope: dict[str, Any]) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request, recorded: (status, headers, body)."""
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    await app(scope.copy(), _receive, send)
    start = messages[0]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return start["status"], dict(start.get("headers", [])), body


# --------------------------------------------------------------------------- WSGI


def wsgi_environ(path: str, cookie: str) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for key, value in _headers(cookie):
        environ["HTTP_" + key.decode().upper().replace("-", "_")] = value.decode("latin-1")
    return environ


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
    return _write


def _write(data: bytes) -> None:
    return None


def wsgi_batch(app: Any, environ: dict[str, Any], n: int) -> float:
    """CPU seconds for ``n`` requests, each with a fresh copy of ``environ``, the iterable consumed and closed."""
    start_response = _start_response
    start = CLOCK()
    for _ in range(n):
        result = app(environ.copy(), start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    return CLOCK() - start


def wsgi_fetch(app: Any, environ: dict[str, Any]) -> tuple[int, dict[bytes, bytes], bytes]:
    got: list[Any] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
        got[:] = [status, headers]
        return _write

    result = app(environ.copy(), start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    headers = {k.lower().encode(): v.encode("latin-1") for k, v in got[1]}
    return int(got[0][:3]), headers, body


# --------------------------------------------------------------------------- the request


def session_cookie(stack: str) -> str:
    """The stack's own session cookie (``name=value``) for the benchmark user, as its ``/login`` sets it.

    Starlette's ``SessionMiddleware`` for ASGI; Flask's session with Flask-Login's ``login_user``
    for WSGI (one cookie serves both WSGI peers: the user id, and Flask-Login's fields).
    """
    if stack == "asgi":
        loop = asyncio.new_event_loop()
        try:
            status, headers, _ = loop.run_until_complete(
                asgi_fetch(starlette_app("session"), asgi_scope("/login", binding_cookie()))
            )
        finally:
            loop.close()
    else:
        status, headers, _ = wsgi_fetch(flask_app("login"), wsgi_environ("/login", binding_cookie()))
    if status != 200 or b"set-cookie" not in headers:
        raise SystemExit(f"benchmarks: the {stack} /login set no session cookie")
    return headers[b"set-cookie"].decode("latin-1").split(";", 1)[0]


def request_cookie(stack: str) -> str:
    """The Cookie header every in-process request sends: respguard's binding and the framework's session."""
    return binding_cookie() + "; " + session_cookie(stack)


# --------------------------------------------------------------------------- rounds


def batch_size(body: Body, quick: bool) -> int:
    """Requests per variant per round, so a batch lasts a few ms whatever the body."""
    per = {"1k": 120, "64k": 40, "256k": 120, "1m": 6}[body.size_label]
    return max(2, per // 3) if quick else per


#: Batches are cut to about this long (at least 2 requests): a slow variant (``naive`` or level-9
#: gzip on 1 MiB) would otherwise take most of the run.
BATCH_SECONDS = 0.03


def check(stack: str, variant: str, body: Body, status: int, headers: dict[bytes, bytes], data: bytes) -> None:
    """Every variant must really serve the body (not a block page) before it is timed, and a peer do its job."""
    if headers.get(b"content-encoding") == b"gzip":
        data = gzip.decompress(data)
    if status != 200 or data != body.data:
        raise SystemExit(f"benchmarks: {stack}/{variant}/{body.name} answered {status}, not the body")
    if variant.startswith("respguard") and b"x-data-owner" in headers:
        raise SystemExit("benchmarks: the owner header leaked")
    compressible = body.kind != "image"  # image/png is on GZipMiddleware's default exclusion list
    if variant == "gzip" and compressible and headers.get(b"content-encoding") != b"gzip":
        raise SystemExit(f"benchmarks: gzip did not compress {body.name}")
    if variant == "cors" and headers.get(b"access-control-allow-origin") != b"*":
        raise SystemExit("benchmarks: CORSMiddleware did not answer the Origin")


def run_inprocess(
    rounds: int,
    quick: bool,
    stacks: Sequence[str] = ("asgi", "wsgi"),
    bodies: Sequence[Body] | None = None,
    variants: Sequence[str] | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> list[Cell]:
    """Interleave variants round by round (in a shuffled order), for each stack and body.

    ``variants`` defaults to every variant of each stack (:func:`benchmarks.apps.variants_for`);
    a given list is cut to those the stack has. The cells carry this interpreter's build.
    """
    bodies = list(bodies) if bodies is not None else all_bodies()
    build = current_build()
    cells: list[Cell] = []
    for stack in stacks:
        names = [v for v in (variants or variants_for(stack)) if v in variants_for(stack)]
        if "bare" not in names:
            names.insert(0, "bare")
        cookie = request_cookie(stack)
        apps = {v: (starlette_app(v) if stack == "asgi" else flask_app(v)) for v in names}
        loop = asyncio.new_event_loop() if stack == "asgi" else None
        try:
            for body in bodies:
                path = "/b/" + body.name
                row = {v: Cell(stack, body.name, v, build) for v in names}
                if loop is not None:
                    scope = asgi_scope(path, cookie)
                    for v in names:
                        check(stack, v, body, *loop.run_until_complete(asgi_fetch(apps[v], scope)))

                    def timed(
                        v: str, n: int, scope: dict[str, Any] = scope, loop: Any = loop, apps: Any = apps
                    ) -> float:
                        return loop.run_until_complete(asgi_batch(apps[v], scope, n))  # type: ignore[no-any-return]
                else:
                    environ = wsgi_environ(path, cookie)
                    for v in names:
                        check(stack, v, body, *wsgi_fetch(apps[v], environ))

                    def timed(v: str, n: int, environ: dict[str, Any] = environ, apps: Any = apps) -> float:
                        return wsgi_batch(apps[v], environ, n)

                most = batch_size(body, quick)
                for v in names:  # the first requests are cold: not a fair estimate
                    timed(v, 2)
                sizes = {v: max(2, min(most, int(BATCH_SECONDS / (timed(v, 4) / 4)))) for v in names}
                for v in names:  # warm-up
                    timed(v, sizes[v])
                shuffle = random.Random(f"{stack}/{body.name}")
                for _ in range(rounds):
                    # A fresh order each round: no variant always runs after the same one (a big
                    # json.loads just before would tax whoever comes next).
                    order = list(names)
                    shuffle.shuffle(order)
                    took = {v: timed(v, sizes[v]) / sizes[v] * 1e6 for v in order}
                    for v in names:
                        row[v].us.append(took[v])
                        row[v].ratios.append(took[v] / took["bare"])
                cells.extend(row.values())
                log(
                    f"  {build} {stack} {body.name:<10} "
                    + "  ".join(f"{v}={statistics.median(row[v].ratios):.2f}x" for v in names if v != "bare")
                    + f"  (bare {statistics.median(row['bare'].us):.1f} µs)"
                )
        finally:
            if loop is not None:
                loop.close()
    return cells


#: Guard options switched off one at a time (all else at the brief's configuration), for the breakdown.
BREAKDOWN = {
    "as configured": {},
    "bulk_pii=None": {"bulk_pii": None},
    'cache_control="off"': {"cache_control": "off"},
    "bind_sessions=False": {"bind_sessions": False},
    "all three off": {"bulk_pii": None, "cache_control": "off", "bind_sessions": False},
}


def run_breakdown(
    rounds: int, quick: bool, body_names: Sequence[str] = ("json-1k", "image-256k"), log: Callable[[str], None] = print
) -> list[dict[str, object]]:
    """What each default feature adds: µs over bare per configuration, ASGI and WSGI, interleaved."""
    cookie = binding_cookie()
    rows: list[dict[str, object]] = []
    bodies = [b for b in all_bodies() if b.name in body_names]
    for stack in ("asgi", "wsgi"):
        make = starlette_app if stack == "asgi" else flask_app
        apps = {"bare": make("bare"), **{name: make("respguard", **opts) for name, opts in BREAKDOWN.items()}}
        loop = asyncio.new_event_loop() if stack == "asgi" else None
        try:
            for body in bodies:
                path = "/b/" + body.name
                n = batch_size(body, quick)
                if loop is not None:
                    scope = asgi_scope(path, cookie)

                    def timed(
                        v: str, n: int = n, scope: dict[str, Any] = scope, loop: Any = loop, apps: Any = apps
                    ) -> float:
                        return loop.run_until_complete(asgi_batch(apps[v], scope, n))
                else:
                    environ = wsgi_environ(path, cookie)

                    def timed(v: str, n: int = n, environ: dict[str, Any] = environ, apps: Any = apps) -> float:
                        return wsgi_batch(apps[v], environ, n)

                for v in apps:
                    timed(v)
                extra: dict[str, list[float]] = {v: [] for v in BREAKDOWN}
                shuffle = random.Random(f"breakdown/{stack}/{body.name}")
                for _ in range(rounds):
                    order = list(apps)
                    shuffle.shuffle(order)
                    took = {v: timed(v) / n * 1e6 for v in order}
                    for v in BREAKDOWN:
                        extra[v].append(took[v] - took["bare"])
                for v in BREAKDOWN:
                    rows.append(
                        {
                            "stack": stack,
                            "body": body.name,
                            "config": v,
                            "us_over_bare": round(statistics.median(extra[v]), 2),
                        }
                    )
                log(
                    f"  {stack} {body.name:<10} "
                    + "  ".join(f"{v}: +{statistics.median(extra[v]):.1f} µs" for v in BREAKDOWN)
                )
        finally:
            if loop is not None:
                loop.close()
    return rows
