"""A tiny caching reverse proxy on 127.0.0.1, the shared cache of the ``shared-cache`` replay.

It stores what RFC 9111 lets a *shared* cache store, and nothing else:

- only ``GET`` responses with status 200;
- only with ``Cache-Control: public`` or an explicit ``s-maxage``/``max-age``
  freshness, and never with ``private``, ``no-store`` or ``no-cache``;
- a request with ``Authorization`` only if the response says ``public`` or ``s-maxage``;
- never a response with ``Set-Cookie`` (as the common CDNs do), and never
  ``Vary: *``; other ``Vary`` headers are part of the key (``Vary: Cookie``
  gives each browser its own entry).

A stored response is served, with an ``Age`` header, to every request with the
same key while fresh: when the response was one person's page, the next person
gets it. That is the leak the replay counts.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ._http import HTTPError, Response, request

CACHE_HEADER = "x-replay-cache"
#: On a 502: why the upstream request failed (the harness attributes it like its own failures).
UPSTREAM_ERROR_HEADER = "x-replay-upstream-error"
UPSTREAM_STARTED_HEADER = "x-replay-upstream-started"
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "te", "upgrade"})


@dataclass
class _Entry:
    response: Response
    vary: tuple[str, ...]
    vary_values: tuple[str, ...]
    stored: float
    ttl: float


def _directives(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (value or "").split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            out[name.lower()] = arg.strip().strip('"')
    return out


def shared_ttl(req_headers: dict[str, str], response: Response) -> float | None:
    """How long a shared cache may serve ``response`` (seconds), or ``None``: not storable."""
    if response.status != 200 or response.header_values("set-cookie"):
        return None
    cc = _directives(", ".join(response.header_values("cache-control")))
    if "no-store" in cc or "private" in cc or "no-cache" in cc:
        return None
    if "authorization" in req_headers and "public" not in cc and "s-maxage" not in cc:
        return None
    if any(v.strip() == "*" for v in ",".join(response.header_values("vary")).split(",")):
        return None
    for name in ("s-maxage", "max-age"):
        if name in cc:
            try:
                return float(int(cc[name]))
            except ValueError:
                return None
    return None  # no explicit freshness: the proxy does not guess heuristically


def _started(exc: HTTPError) -> list[tuple[str, str]]:
    return [(UPSTREAM_STARTED_HEADER, "1")] if exc.started else []


class CachingProxy:
    """Forward to ``127.0.0.1:upstream``; keep shared-cacheable responses. Counts hits and stores."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.cache: dict[str, list[_Entry]] = {}
        self.hits = 0
        self.stores = 0
        self.port = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def lookup(self, path: str, headers: dict[str, str]) -> Response | None:
        now = time.monotonic()
        for entry in self.cache.get(path, ()):
            if now - entry.stored > entry.ttl:
                continue
            if tuple(headers.get(name, "") for name in entry.vary) == entry.vary_values:
                age = int(now - entry.stored)
                stored = entry.response
                out = [(k, v) for k, v in stored.headers if k != "age"]
                out += [("age", str(age)), (CACHE_HEADER, "HIT")]
                return Response(stored.status, out, stored.body)
        return None

    def store(self, path: str, headers: dict[str, str], response: Response) -> None:
        ttl = shared_ttl(headers, response)
        if ttl is None or ttl <= 0:
            return
        vary = tuple(
            sorted({v.strip().lower() for v in ",".join(response.header_values("vary")).split(",") if v.strip()})
        )
        entry = _Entry(response, vary, tuple(headers.get(n, "") for n in vary), time.monotonic(), ttl)
        entries = [e for e in self.cache.get(path, []) if e.vary_values != entry.vary_values]
        entries.append(entry)
        self.cache[path] = entries
        self.stores += 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0") or "0"))
            response = self.lookup(path, headers) if method == "GET" else None
            if response is not None:
                self.hits += 1
            else:
                forward = [(k, v) for k, v in headers.items() if k not in _HOP and k != "host"]
                try:
                    response = await request(self.upstream, method, path, headers=forward, body=body)
                except HTTPError as exc:
                    response = Response(
                        502,
                        [("content-type", "text/plain"), (UPSTREAM_ERROR_HEADER, exc.reason), *_started(exc)],
                        b"bad gateway\n",
                    )
                else:
                    if method == "GET":
                        self.store(path, headers, response)
                    response = Response(response.status, [*response.headers, (CACHE_HEADER, "MISS")], response.body)
            out = [f"HTTP/1.1 {response.status} X"]
            out += [f"{k}: {v}" for k, v in response.headers if k not in _HOP]
            out += [f"content-length: {len(response.body)}", "connection: close"]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + response.body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError):
            pass
        finally:
            writer.close()
