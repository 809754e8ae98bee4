"""Real servers on 127.0.0.1: uvicorn (httptools, 1 worker) and gunicorn (1 sync worker).

Both variants of a server run side by side; a bounded Python load generator
(asyncio, keep-alive where the server keeps connections open) drives them in
alternating slices, and each round gives a req/s and a p99 ratio to bare. Every
server process is started here and stopped here, whatever happens.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .apps import binding_cookie
from .bodies import OWN_ID

ROOT = Path(__file__).resolve().parent.parent
PATH = "/b/json-1k"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _command(server: str, variant: str, port: int) -> list[str]:
    if server == "uvicorn":
        code = (
            "import uvicorn; from benchmarks.apps import starlette_app; "
            f"uvicorn.run(starlette_app({variant!r}), host='127.0.0.1', port={port}, http='httptools', "
            "workers=1, log_level='warning', access_log=False)"
        )
        return [sys.executable, "-c", code]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "1",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        f"benchmarks.apps:wsgi_app({variant!r})",
    ]


class Server:
    def __init__(self, server: str, variant: str) -> None:
        self.server = server
        self.variant = variant
        self.port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.process = subprocess.Popen(
            _command(server, variant, self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise RuntimeError(f"{self.server} ({self.variant}) exited: {err[-500:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.server} ({self.variant}) did not listen within {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.process.stderr is not None:
            self.process.stderr.close()


def _request(port: int, keep_alive: bool) -> bytes:
    return (
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: respguard-bench/1\r\n"
        f"Cookie: {binding_cookie()}\r\nX-User: {OWN_ID}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    ).encode()


async def _client(
    port: int, keep_alive: bool, deadline: float, latencies: list[float], errors: list[str], limit: int
) -> None:
    request = _request(port, keep_alive)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while time.perf_counter() < deadline and len(latencies) < limit:
            start = time.perf_counter()
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert reader is not None
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode(errors="replace"))
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not keep_alive or b"connection: close" in head.lower():
                writer.close()
                writer = None
    except (OSError, asyncio.IncompleteReadError) as exc:
        errors.append(type(exc).__name__)
    finally:
        if writer is not None:
            writer.close()


async def _load(port: int, keep_alive: bool, connections: int, seconds: float, limit: int) -> tuple[float, float, int]:
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(_client(port, keep_alive, deadline, latencies, errors, limit) for _ in range(connections)))
    took = time.perf_counter() - start
    if errors and len(errors) > len(latencies) // 100:
        raise RuntimeError(f"load on port {port}: {len(errors)} errors, e.g. {errors[0]}")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    return len(latencies) / took, p99 * 1e3, len(errors)


def run_servers(rounds: int, seconds: float, log: Callable[[str], None] = lambda s: None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for server, keep_alive, connections in (("uvicorn", True, 16), ("gunicorn", False, 4)):
        procs = {v: Server(server, v) for v in ("bare", "respguard")}
        try:
            for proc in procs.values():
                proc.wait_ready()
            loop = asyncio.new_event_loop()
            try:
                stats: dict[str, dict[str, list[float]]] = {v: {"rps": [], "p99": []} for v in procs}
                ratios: dict[str, list[float]] = {"rps": [], "p99": []}
                for proc in procs.values():  # warm-up
                    loop.run_until_complete(_load(proc.port, keep_alive, connections, min(0.5, seconds), 10**6))
                for r in range(rounds):
                    order = ["bare", "respguard"] if r % 2 == 0 else ["respguard", "bare"]
                    got: dict[str, Any] = {}
                    for v in order:
                        got[v] = loop.run_until_complete(_load(procs[v].port, keep_alive, connections, seconds, 10**6))
                        stats[v]["rps"].append(got[v][0])
                        stats[v]["p99"].append(got[v][1])
                    ratios["rps"].append(got["respguard"][0] / got["bare"][0])
                    ratios["p99"].append(got["respguard"][1] / got["bare"][1])
            finally:
                loop.close()
        finally:
            for proc in procs.values():
                proc.stop()
        for v in procs:
            row = {
                "server": server,
                "variant": v,
                "rps": round(statistics.median(stats[v]["rps"]), 1),
                "ratio_to_bare": 1.0 if v == "bare" else round(statistics.median(ratios["rps"]), 4),
                "p99_ms": round(statistics.median(stats[v]["p99"]), 3),
                "p99_ratio_to_bare": 1.0 if v == "bare" else round(statistics.median(ratios["p99"]), 4),
                "rounds": rounds,
                "connections": connections,
                "keep_alive": keep_alive,
            }
            rows.append(row)
            log(
                f"  {server:<8} {v:<9} {row['rps']:>9} req/s ({row['ratio_to_bare']}x)  "
                f"p99 {row['p99_ms']} ms ({row['p99_ratio_to_bare']}x)"
            )
    return rows
