"""Start, restart a worker of, and stop real servers on 127.0.0.1.

Each server runs in its own process group (``start_new_session``); stopping
sends SIGTERM to the group, then SIGKILL after a grace period. Every server
started is registered so an interrupted run (Ctrl-C, SIGTERM, an exception)
still stops them all: :func:`stop_all` runs in ``finally`` and at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from ._apps import EVENTS_ENV, STORE_ENV
from ._http import HTTPError, request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT = 40.0
STOP_GRACE = 5.0
#: The frameworks served by uvicorn (``benchmarks.replay._apps:<framework>_app``).
ASGI_FRAMEWORKS = ("starlette", "fastapi")


@dataclass(frozen=True)
class ServerSpec:
    """One server configuration of the replay."""

    name: str  # as in the JSON rows: "uvicorn", "gunicorn-sync", "gunicorn-gthread", "django-gthread"
    workers: int
    framework: str  # "starlette", "flask" or "django" (served by gunicorn like Flask)

    @property
    def label(self) -> str:
        return f"{self.name}/{self.workers}w"

    @property
    def uvicorn(self) -> bool:
        """Served by uvicorn: the ASGI examples (Starlette, FastAPI)."""
        return self.framework in ASGI_FRAMEWORKS

    def command(self, port: int) -> list[str]:
        python = sys.executable
        if self.uvicorn:
            return [
                python, "-m", "uvicorn", "--factory", f"benchmarks.replay._apps:{self.framework}_app",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers),
                "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "5",
            ]  # fmt: skip
        kind = self.name.split("-", 1)[1]
        command = [
            python, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers),
            "--worker-class", kind, "--graceful-timeout", "5", "--timeout", "30", "--log-level", "warning",
        ]  # fmt: skip
        if kind == "gthread":
            command += ["--threads", "8"]
        return [*command, f"benchmarks.replay._apps:{self.framework}_app()"]


SERVERS = (
    ServerSpec("uvicorn", 1, "starlette"),
    ServerSpec("uvicorn", 2, "starlette"),
    # The FastAPI example: respguard learns the requester only from its login dependency.
    ServerSpec("fastapi-uvicorn", 1, "fastapi"),
    ServerSpec("fastapi-uvicorn", 2, "fastapi"),
    ServerSpec("gunicorn-sync", 2, "flask"),
    ServerSpec("gunicorn-gthread", 2, "flask"),
    ServerSpec("django-gthread", 2, "django"),  # the Django example, under gunicorn's gthread workers
)

_RUNNING: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kill_group(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # The leader may be gone while its workers linger: always sweep the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)


def stop_all() -> None:
    """Stop every server this process started and has not stopped yet."""
    for pid, proc in list(_RUNNING.items()):
        _kill_group(proc, grace=2.0)
        _RUNNING.pop(pid, None)


atexit.register(stop_all)


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux ``/proc``), minus multiprocessing's resource tracker."""
    out = []
    if not os.path.isdir("/proc/self/task"):  # not Linux: ask pgrep
        try:
            found = subprocess.run(["pgrep", "-fl", "-P", str(pid)], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return out
        for line in found.stdout.splitlines():
            child, _, command = line.partition(" ")
            if child.isdigit() and "resource_tracker" not in command:
                out.append(int(child))
        return out
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as file:
            pids = [int(p) for p in file.read().split()]
    except OSError:
        return out
    for child in pids:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as file:
                if b"resource_tracker" in file.read():
                    continue
        except OSError:
            continue  # already gone
        out.append(child)
    return out


@dataclass
class Server:
    """A running server: its port, process group, run directory and worker restarts."""

    spec: ServerSpec
    port: int
    proc: subprocess.Popen[bytes]
    run_dir: str
    restarted: list[int] = field(default_factory=list)

    @property
    def events_dir(self) -> str:
        return os.path.join(self.run_dir, "events")

    def workers(self) -> list[int]:
        """The pids of the processes that serve (the leader itself for one uvicorn worker)."""
        if self.spec.uvicorn and self.spec.workers == 1:
            return [self.proc.pid]
        return children(self.proc.pid)

    def restart_worker(self, pid: int) -> None:
        """Gracefully stop worker ``pid`` (SIGTERM); its supervisor starts a new one."""
        if pid == self.proc.pid or pid not in children(self.proc.pid):
            raise ValueError(f"{pid} is not a worker of {self.spec.label}")
        os.kill(pid, signal.SIGTERM)
        self.restarted.append(pid)

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("stdout.log", "stderr.log"):
            path = os.path.join(self.run_dir, name)
            with contextlib.suppress(OSError), open(path, errors="replace") as file:
                out.extend(file.read().splitlines()[-lines:])
        return "\n".join(out)

    def stop(self) -> None:
        _kill_group(self.proc)
        _RUNNING.pop(self.proc.pid, None)


async def start_server(
    spec: ServerSpec, *, bug: str, guard: bool, secret: str, run_dir: str, store: str | None
) -> Server:
    """Start ``spec`` serving the example app with ``bug``/``guard``; wait until it answers."""
    os.makedirs(os.path.join(run_dir, "events"), exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": REPO_ROOT + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        "PYTHONUNBUFFERED": "1",
        "RESPGUARD_EXAMPLE_BUG": bug,
        "RESPGUARD_EXAMPLE_GUARD": "1" if guard else "0",
        "RESPGUARD_EXAMPLE_SECRET": secret,
        EVENTS_ENV: os.path.join(run_dir, "events"),
    }
    env.pop(STORE_ENV, None)
    if store is not None:
        env[STORE_ENV] = store
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        with (
            open(os.path.join(run_dir, "stdout.log"), "ab") as out,
            open(os.path.join(run_dir, "stderr.log"), "ab") as err,
        ):
            proc = subprocess.Popen(
                spec.command(port), cwd=REPO_ROOT, env=env, stdout=out, stderr=err, start_new_session=True
            )
        _RUNNING[proc.pid] = proc
        server = Server(spec, port, proc, run_dir)
        try:
            await _wait_ready(server)
            return server
        except RuntimeError as exc:
            last_error = str(exc)
            server.stop()
    raise RuntimeError(f"{spec.label} did not start: {last_error}\n{server.log_tail()}")


async def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    want = server.spec.workers
    seen: set[str] = set()
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"exited with {server.proc.returncode}")
        try:
            response = await request(server.port, "GET", "/healthz", timeout=5)
            if response.status == 200:
                seen.add(response.header("x-replay-worker") or "")
                # Every worker up (its own pid answered, or all workers are listed as children).
                if len(seen) >= want or len(server.workers()) >= want:
                    return
        except HTTPError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("no answer on /healthz in time")
