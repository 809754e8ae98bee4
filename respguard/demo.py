"""``respguard demo``: incident 1 replayed on real sockets, without and with the guard.

Both example apps (``examples/``: Flask under Werkzeug's threaded server, Starlette
under uvicorn) run with the ``shared-state`` bug, each on its own port on
127.0.0.1, first unguarded, then guarded. Many simulated customers log in at once,
each with its own cookie jar, then fetch ``GET /api/me`` and ``GET /mypage`` in
turn, pausing a random moment between two requests. The client knows every
customer's data and classifies each response:

- **correct**: the customer's own data;
- **leak**: another customer's data reached the client;
- **blocked**: respguard's 403, and the app had really rendered someone else's data;
- **false block**: respguard's 403, but the app had rendered the customer's own data.

The last two are told apart by the app's own record of whose data it rendered for
each ``X-Request-Id`` (the servers run in this process). Exit status: 0 when the
unguarded runs leaked and the guarded runs had no leak, no false block and no
unexpected response; 1 when a guarded run failed; 2 when the demo itself could not
show the bug (no leak without the guard) or could not run.

It needs the repository's ``examples/`` package (``pip install -e '.[dev]'`` from a
checkout) and Flask, Starlette and uvicorn; nothing here is imported by
``import respguard``.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import json
import logging
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ._verdict import BlockPage

APPS = ("flask", "starlette", "django")
#: What ``respguard demo`` runs without ``--app`` (``--app django`` adds the Django example).
DEFAULT_APPS = ("flask", "starlette")
BUG = "shared-state"
DEFAULT_BROWSERS = 30
MAX_BROWSERS = 200  # one per fake customer
DEFAULT_ROUNDS = 10
DEFAULT_THINK_MS = 250.0  # a customer pauses up to this long (uniformly) between two requests
DEFAULT_TIME_LIMIT = 50.0  # seconds, for the whole demo
_REQUEST_TIMEOUT = 10.0  # seconds, per HTTP request
_BLOCK_BODY = BlockPage().body
_OWNER = re.compile(rb'data-owner="([^"]*)"')


class DemoError(RuntimeError):
    """The demo could not run (no examples package, a server would not start...)."""


@dataclass
class Row:
    """One run: one app, guard off or on."""

    app: str
    guard: bool
    responses: int = 0
    leaks: int = 0
    blocked: int = 0
    false_blocks: int = 0
    correct: int = 0
    unexpected: int = 0
    seconds: float = 0.0
    complete: bool = True
    events: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        return {
            "app": self.app,
            "guard": self.guard,
            "responses": self.responses,
            "leaks": self.leaks,
            "blocked": self.blocked,
            "false_blocks": self.false_blocks,
        }


# --------------------------------------------------------------------------- the example apps


def load_examples() -> dict[str, ModuleType]:
    """Import ``examples.customers`` and both app modules from the repository checkout."""
    root = Path(__file__).resolve().parent.parent
    if (root / "examples" / "customers.py").is_file() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return {
            "customers": importlib.import_module("examples.customers"),
            "flask": importlib.import_module("examples.flask_app"),
            "starlette": importlib.import_module("examples.starlette_app"),
        }
    except ImportError as exc:
        raise DemoError(
            f"the demo needs the repository's examples/ package and the demo extras ({exc}); "
            "from a checkout: pip install -e '.[dev]'"
        ) from exc


def load_example(name: str) -> ModuleType:
    """One example app module (``examples.<name>_app``); the Django one is imported only when asked for."""
    try:
        return importlib.import_module(f"examples.{name}_app")
    except ImportError as exc:
        raise DemoError(
            f"the demo needs the repository's examples/ package and the demo extras ({exc}); "
            "from a checkout: pip install -e '.[dev]'"
        ) from exc


def _shop(app: Any) -> Any:
    shop = getattr(app, "shop", None)  # the Django example
    if shop is not None:
        return shop
    extensions = getattr(app, "extensions", None)
    if isinstance(extensions, dict) and "example_shop" in extensions:
        return extensions["example_shop"]
    return app.state.shop


# --------------------------------------------------------------------------- servers


@contextmanager
def _serve_wsgi(app: Any) -> Iterator[int]:
    """Werkzeug's threaded server on 127.0.0.1, on a free port, for the block's duration."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def _serve_asgi(app: Any) -> Iterator[int]:
    """uvicorn in a thread on 127.0.0.1, on a free port, for the block's duration."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise DemoError("uvicorn did not start")
            time.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


# --------------------------------------------------------------------------- the client


class _Browser:
    """One customer's browser: a keep-alive connection and a cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=_REQUEST_TIMEOUT)

    def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        send = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            send["Content-Type"] = "application/json"
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=send)
                response = self.conn.getresponse()
                content = response.read()
                break
            except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
                self.conn.close()  # a keep-alive connection the server closed: once more, afresh
                if attempt or method != "GET":
                    raise
        for header in response.headers.get_all("Set-Cookie") or ():
            self._store(header)
        return response.status, content

    def _store(self, header: str) -> None:
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attrs = attributes.lower().replace(" ", "")
        if value in ("", '""') or "max-age=0" in attrs:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def close(self) -> None:
        self.conn.close()


def _classify(row: Row, status: int, body: bytes, path: str, own: str, expected: Any, rendered: str | None) -> None:
    row.responses += 1
    if status == 403 and body == _BLOCK_BODY:
        if rendered is not None and rendered != own:
            row.blocked += 1
        else:
            row.false_blocks += 1
        return
    if status != 200:
        row.unexpected += 1
        return
    if path == "/mypage":
        if body == expected:
            row.correct += 1
            return
        owners = {m.decode() for m in _OWNER.findall(body)}
    else:
        try:
            data = json.loads(body)
        except ValueError:
            row.unexpected += 1
            return
        if data == expected:
            row.correct += 1
            return
        owners = {data.get("customer_id")} if isinstance(data, dict) else set()
    if owners and owners != {own}:
        row.leaks += 1
    else:
        row.unexpected += 1


def _run_one(
    name: str,
    guard: bool,
    modules: dict[str, ModuleType],
    browsers: int,
    rounds: int,
    think: float,
    deadline: float,
) -> Row:
    customers = modules["customers"]
    app = modules[name].create_app(bug=BUG, guard=guard)
    shop = _shop(app)
    row = Row(name, guard)
    lock = threading.Lock()
    start = threading.Barrier(browsers + 1)
    failures: list[BaseException] = []
    serve = _serve_asgi if name == "starlette" else _serve_wsgi

    def browse(n: int, port: int) -> None:
        cid = customers.customer_id(n)
        record = customers.make_record(n)
        expected = {"/api/me": record, "/mypage": customers.render_mypage(record).encode()}
        browser = _Browser(port)
        pause = random.Random(n).uniform
        try:
            status, body = browser.request("POST", "/login", {"customer_id": cid, "password": "pw-" + cid})
            if status != 200:
                raise DemoError(f"login of a demo customer answered {status}")
            start.wait(timeout=30)
            for _ in range(rounds):
                for path in ("/api/me", "/mypage"):
                    if time.monotonic() > deadline:
                        row.complete = False
                        return
                    if think:
                        time.sleep(pause(0, think))
                    request_id = uuid.uuid4().hex
                    status, body = browser.request("GET", path, headers={"X-Request-Id": request_id})
                    with lock:
                        _classify(row, status, body, path, cid, expected[path], shop.rendered(request_id))
        except BaseException as exc:  # reported by the caller, never lost in a thread
            with lock:
                failures.append(exc)
            start.abort()
        finally:
            browser.close()

    began = time.monotonic()
    with serve(app) as port:
        threads = [threading.Thread(target=browse, args=(n, port), daemon=True) for n in range(1, browsers + 1)]
        for thread in threads:
            thread.start()
        try:
            start.wait(timeout=30)
        except threading.BrokenBarrierError:
            pass
        for thread in threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic() + _REQUEST_TIMEOUT))
        if any(thread.is_alive() for thread in threads):
            raise DemoError(f"{name}: simulated customers did not finish in time")
    row.seconds = time.monotonic() - began
    if failures:
        raise DemoError(f"{name} (guard {'on' if guard else 'off'}): {failures[0]!r}")
    return row


class _EventCounter(logging.Handler):
    """Counts respguard's audit events by kind while the demo runs (and keeps them off stderr)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: Counter[str] = Counter()
        self._lock_counts = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "respguard_event", None)
        if event is not None:
            with self._lock_counts:
                self.counts[f"{event.kind.value} {event.action.value}"] += 1


@contextmanager
def _quiet_respguard_log() -> Iterator[_EventCounter]:
    logger = logging.getLogger("respguard")
    counter = _EventCounter()
    propagate = logger.propagate
    logger.addHandler(counter)
    logger.propagate = False
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.propagate = propagate


def run_demo(
    *,
    browsers: int = DEFAULT_BROWSERS,
    rounds: int = DEFAULT_ROUNDS,
    apps: Sequence[str] = DEFAULT_APPS,
    think_ms: float = DEFAULT_THINK_MS,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> list[Row]:
    """Run every app without, then with the guard; one :class:`Row` each."""
    if not 2 <= browsers <= MAX_BROWSERS or rounds < 1 or think_ms < 0:
        raise ValueError(f"the demo needs 2 to {MAX_BROWSERS} browsers, 1 round or more, and a think time >= 0")
    unknown = set(apps) - set(APPS)
    if unknown:
        raise ValueError(f"unknown demo app(s): {sorted(unknown)}")
    modules = load_examples()
    for name in apps:
        if name not in modules:
            modules[name] = load_example(name)
    deadline = time.monotonic() + time_limit
    rows = []
    with _quiet_respguard_log() as counter:
        for name in apps:
            for guard in (False, True):
                before = Counter(counter.counts)
                row = _run_one(name, guard, modules, browsers, rounds, think_ms / 1000, deadline)
                row.events = counter.counts - before
                rows.append(row)
    return rows


# --------------------------------------------------------------------------- output


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a text table (plus the ``correct`` count the JSON leaves out)."""
    lines = [
        f"{'app':<10} {'guard':<5} {'responses':>9} {'leaks':>6} {'blocked':>8} {'false_blocks':>12} {'correct':>8}"
    ]
    for row in rows:
        lines.append(
            f"{row.app:<10} {'on' if row.guard else 'off':<5} {row.responses:>9} {row.leaks:>6}"
            f" {row.blocked:>8} {row.false_blocks:>12} {row.correct:>8}"
        )
    return "\n".join(lines)


def verdict(rows: Sequence[Row]) -> tuple[int, str]:
    """The exit status and a one-line explanation."""
    guarded = [r for r in rows if r.guard]
    unguarded = [r for r in rows if not r.guard]
    bad = [r for r in guarded if r.leaks or r.false_blocks or r.unexpected]
    if bad:
        return 1, "FAIL: with the guard, " + "; ".join(
            f"{r.app}: {r.leaks} leaks, {r.false_blocks} false blocks, {r.unexpected} unexpected" for r in bad
        )
    odd = [r for r in unguarded if r.unexpected]
    if odd:
        return 2, "FAIL: unexpected responses without the guard: " + ", ".join(f"{r.app}: {r.unexpected}" for r in odd)
    quiet = [r.app for r in unguarded if not r.leaks]
    if quiet:
        return 2, f"INCONCLUSIVE: the bug did not leak without the guard on {', '.join(quiet)}"
    leaks = sum(r.leaks for r in unguarded)
    blocked = sum(r.blocked for r in guarded)
    return 0, (
        f"OK: without the guard {leaks} responses carried another customer's data to the client; "
        f"with it, none did ({blocked} blocked) and no customer's own page was refused."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="respguard demo",
        description="Replay incident 1 (a shared-state bug under concurrent access) on both example apps, "
        "over real sockets on 127.0.0.1, without and with respguard.",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as a JSON list, and nothing else")
    parser.add_argument("--browsers", type=int, default=DEFAULT_BROWSERS, help="simulated customers at once")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="GET /api/me + /mypage per customer")
    parser.add_argument(
        "--think-ms", type=float, default=DEFAULT_THINK_MS, help="longest pause of a customer between two requests"
    )
    parser.add_argument("--app", choices=APPS, action="append", help="run only this app (repeatable)")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, help="seconds for the whole demo")
    args = parser.parse_args(argv)
    limits_ok = 2 <= args.browsers <= MAX_BROWSERS and args.rounds >= 1 and 0 <= args.think_ms <= 1000
    if not limits_ok or not 1 <= args.time_limit <= 600:
        parser.error(
            f"--browsers must be between 2 and {MAX_BROWSERS}, --rounds >= 1, --think-ms between 0 and 1000,"
            " --time-limit between 1 and 600 seconds"
        )
    try:
        rows = run_demo(
            browsers=args.browsers,
            rounds=args.rounds,
            apps=args.app or DEFAULT_APPS,
            think_ms=args.think_ms,
            time_limit=args.time_limit,
        )
    except DemoError as exc:
        print(f"respguard demo: {exc}", file=sys.stderr)
        return 2
    status, message = verdict(rows)
    if any(not r.complete for r in rows):
        print("respguard demo: the time limit cut some runs short", file=sys.stderr)
    if args.json:
        print(json.dumps([r.as_json() for r in rows]))
        if status:
            print(message, file=sys.stderr)
        return status
    print(
        f"respguard demo: the '{BUG}' bug (incident 1), {args.browsers} customers at once, "
        f"{args.rounds} x (GET /api/me, GET /mypage) each with pauses of 0-{args.think_ms:g} ms, over 127.0.0.1\n"
    )
    print(format_table(rows))
    print()
    for row in rows:
        if row.events:
            kinds = ", ".join(f"{k}: {n}" for k, n in sorted(row.events.items()))
            print(f"{row.app} guard on, respguard events: {kinds}")
    print(f"({sum(r.seconds for r in rows):.1f} s)")
    print(message)
    return status


if __name__ == "__main__":
    sys.exit(main())
