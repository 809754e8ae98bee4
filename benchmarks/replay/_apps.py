"""What the replay serves: the example apps, as built by their own ``app_from_env()``.

The harness only adds plumbing *outside* the example app and its guard:

- ``X-Replay-Worker: <pid>`` on every response, so the client can tell which
  worker process answered (a browser bound on one worker, checked on another);
- respguard's audit events (the ``respguard`` logger) appended as JSON lines to
  ``$RESPGUARD_REPLAY_EVENTS/events-<pid>.jsonl``: the client resolves each block
  with the event that has its ``X-Request-Id``;
- with ``RESPGUARD_REPLAY_STORE=<sqlite path>``, the shop's sessions, records and
  member counter live in one SQLite file shared by every worker (the examples
  keep them in process memory, so a session made on one worker would not exist
  on the other). The handlers, the bugs and the guard are the example's own; the
  process-local globals of ``shared-state`` and ``login-mixup`` stay process-local.

Served as ``uvicorn --factory benchmarks.replay._apps:starlette_app``,
``gunicorn 'benchmarks.replay._apps:flask_app()'`` and ``gunicorn 'benchmarks.replay._apps:django_app()'``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

WORKER_HEADER = "x-replay-worker"
RENDERED_HEADER = "x-replay-rendered"
EVENTS_ENV = "RESPGUARD_REPLAY_EVENTS"
STORE_ENV = "RESPGUARD_REPLAY_STORE"


# --------------------------------------------------------------------------- factories


def starlette_app() -> Any:
    """The Starlette example (``examples.starlette_app:app_from_env``) with the replay plumbing."""
    from examples.starlette_app import app_from_env

    app = app_from_env()
    _prepare(app.state.shop)
    return _ASGIWorkerHeader(app, app.state.shop)


def fastapi_app() -> Any:
    """The FastAPI example (``examples.fastapi_app:app_from_env``, the requester only from its login
    dependency) with the replay plumbing; served like the Starlette one, ``uvicorn --factory``."""
    from examples.fastapi_app import app_from_env

    app = app_from_env()
    _prepare(app.state.shop)
    return _ASGIWorkerHeader(app, app.state.shop)


def flask_app() -> Any:
    """The Flask example (``examples.flask_app:app_from_env``) with the replay plumbing."""
    from examples.flask_app import app_from_env

    app = app_from_env()
    _prepare(app.extensions["example_shop"])
    return _WSGIWorkerHeader(app, app.extensions["example_shop"])


def django_app() -> Any:
    """The Django example (``examples.django_app:app_from_env``) with the replay plumbing."""
    from examples.django_app import app_from_env

    app = app_from_env()
    _prepare(app.shop)
    return _WSGIWorkerHeader(app, app.shop)


def _prepare(shop: Any) -> None:
    events = os.environ.get(EVENTS_ENV)
    if events:
        log_events_to(events)
    store = os.environ.get(STORE_ENV)
    if store:
        share_shop(shop, store)


def _truth(shop: Any, request_id: str | None) -> list[tuple[str, str]]:
    """The harness headers: which worker answered, and whose record the app rendered (if it did).

    The example notes whose data it rendered for a request id (``Shop.rendered``)
    before it returns the response, so it is known when the response starts.
    """
    out = [(WORKER_HEADER, str(os.getpid()))]
    rendered = shop.rendered(request_id) if request_id else None
    if rendered:
        out.append((RENDERED_HEADER, rendered))
    return out


class _ASGIWorkerHeader:
    def __init__(self, app: Any, shop: Any) -> None:
        self.app = app
        self.shop = shop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"x-request-id"), None)

        async def send_with_truth(message: Any) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.encode(), v.encode("latin-1")) for k, v in _truth(self.shop, rid)]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_truth)


class _WSGIWorkerHeader:
    def __init__(self, app: Callable[..., Iterable[bytes]], shop: Any) -> None:
        self.app = app
        self.shop = shop

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        rid = environ.get("HTTP_X_REQUEST_ID")

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *_truth(self.shop, rid)], exc_info)

        return self.app(environ, start)


# --------------------------------------------------------------------------- audit events


class _EventFile(logging.Handler):
    """Appends each respguard event as one JSON line to ``events-<pid>.jsonl`` (opened after fork)."""

    def __init__(self, directory: str) -> None:
        super().__init__(logging.DEBUG)
        self.directory = directory
        self._pid = -1
        self._file: Any = None

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "respguard_event", None)
        if event is None:
            return
        pid = os.getpid()
        if pid != self._pid or self._file is None:
            self._file = open(os.path.join(self.directory, f"events-{pid}.jsonl"), "a", buffering=1)  # noqa: SIM115
            self._pid = pid
        self._file.write(event.to_json() + "\n")


def log_events_to(directory: str) -> None:
    logger = logging.getLogger("respguard")
    if any(isinstance(h, _EventFile) for h in logger.handlers):
        return
    logger.addHandler(_EventFile(directory))
    logger.setLevel(logging.INFO)
    logger.propagate = False


def read_events(directory: str) -> dict[str, list[dict[str, Any]]]:
    """Every event logged under ``directory``, by request id."""
    events: dict[str, list[dict[str, Any]]] = {}
    if not os.path.isdir(directory):
        return events
    for name in sorted(os.listdir(directory)):
        if not (name.startswith("events-") and name.endswith(".jsonl")):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as file:
            for line in file:
                line = line.strip()
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a killed worker
                rid = event.get("request_id")
                if isinstance(rid, str):
                    events.setdefault(rid, []).append(event)
    return events


# --------------------------------------------------------------------------- shared store


def create_store(path: str, records: dict[str, dict[str, str]]) -> None:
    """Create the SQLite file the workers share, seeded with ``records``."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(
            "CREATE TABLE sessions (sid TEXT PRIMARY KEY, data TEXT NOT NULL);"
            "CREATE TABLE records (cid TEXT PRIMARY KEY, data TEXT NOT NULL);"
            "CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
        )
        conn.executemany("INSERT INTO records VALUES (?, ?)", [(k, json.dumps(v)) for k, v in records.items()])
        conn.execute("INSERT INTO meta VALUES ('next_member', 1)")
        conn.commit()
    finally:
        conn.close()


class _Db:
    """One SQLite connection per thread (and per process: reopened after fork)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def conn(self) -> sqlite3.Connection:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is None or getattr(local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA busy_timeout=30000")
            local.conn, local.pid = conn, os.getpid()
        return conn

    def close(self) -> None:
        """Close this thread's connection (worker processes just exit)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def one(self, sql: str, args: tuple[Any, ...] = ()) -> Any:
        row = self.conn().execute(sql, args).fetchone()
        return None if row is None else row[0]

    def run(self, sql: str, args: tuple[Any, ...] = ()) -> None:
        self.conn().execute(sql, args)


class _JsonTable(MutableMapping[str, Any]):
    """A ``dict`` of JSON objects in one table (``sessions`` or ``records``)."""

    def __init__(self, db: _Db, table: str) -> None:
        self.db = db
        self.table = table
        self.key = "sid" if table == "sessions" else "cid"

    def _row(self, key: str, value: dict[str, Any]) -> Any:
        return value

    def __getitem__(self, key: str) -> Any:
        if not isinstance(key, str):
            raise KeyError(key)
        data = self.db.one(f"SELECT data FROM {self.table} WHERE {self.key} = ?", (key,))
        if data is None:
            raise KeyError(key)
        return self._row(key, json.loads(data))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.db.one(f"SELECT 1 FROM {self.table} WHERE {self.key} = ?", (key,)) == 1

    def __setitem__(self, key: str, value: Any) -> None:
        self.db.run(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", (key, json.dumps(dict(value))))

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self.db.run(f"DELETE FROM {self.table} WHERE {self.key} = ?", (key,))

    def __iter__(self) -> Iterator[str]:
        rows = self.db.conn().execute(f"SELECT {self.key} FROM {self.table} ORDER BY rowid").fetchall()
        return iter([r[0] for r in rows])

    def __len__(self) -> int:
        return int(self.db.one(f"SELECT COUNT(*) FROM {self.table}"))

    def values(self) -> Any:
        rows = self.db.conn().execute(f"SELECT {self.key}, data FROM {self.table} ORDER BY rowid").fetchall()
        return [self._row(k, json.loads(d)) for k, d in rows]


class _Record(dict):  # type: ignore[type-arg]
    """A record whose item writes (``record["card_last4"] = ...``) go through to the store."""

    def __init__(self, table: _JsonTable, key: str, data: dict[str, Any]) -> None:
        super().__init__(data)
        self._table = table
        self._key = key

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, value)
        self._table.db.run(
            f"UPDATE {self._table.table} SET data = json_set(data, ?, ?) WHERE {self._table.key} = ?",
            ("$." + name, value, self._key),
        )


class _Records(_JsonTable):
    def _row(self, key: str, value: dict[str, Any]) -> Any:
        return _Record(self, key, value)


class _FileLock:
    """A lock across threads (``threading.Lock``) and processes (``flock``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        self._fd = -1
        self._pid = -1

    def __enter__(self) -> _FileLock:
        import fcntl  # POSIX only; imported here so that the module imports anywhere

        self._thread_lock.acquire()
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        import fcntl

        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


def share_shop(shop: Any, path: str) -> None:
    """Move ``shop``'s sessions, records and member counter into the SQLite file at ``path``."""
    db = _Db(path)

    def get_next(self: Any) -> int:
        return int(db.one("SELECT v FROM meta WHERE k = 'next_member'"))

    def set_next(self: Any, value: int) -> None:
        db.run("UPDATE meta SET v = ? WHERE k = 'next_member'", (int(value),))

    # A subclass of the example's own Shop whose member counter is a property over the store.
    shared = type("SharedStoreShop", (type(shop),), {"next_member": property(get_next, set_next)})
    shop.__class__ = shared
    shop.replay_db = db
    shop.sessions = _JsonTable(db, "sessions")
    shop.records = _Records(db, "records")
    shop._lock = _FileLock(path + ".lock")
