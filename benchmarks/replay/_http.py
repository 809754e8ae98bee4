"""A small HTTP/1.1 client over asyncio streams, and a per-browser cookie jar.

One connection per request (``Connection: close``): the kernel spreads the
connections over a server's workers, so one browser's requests land on every
worker in turn, which is what the binding check across processes needs; and a
restarted worker never strands a kept-alive connection.

A GET whose connection closed before a single byte of the response arrived is
retried once, as browsers do for idempotent requests (RFC 9110, 9.2.2); the
caller counts those retries.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

#: Never wait longer than this for one response, in seconds.
DEFAULT_TIMEOUT = 15.0
MAX_HEAD = 64 * 1024
MAX_BODY = 32 * 1024 * 1024


class HTTPError(Exception):
    """The request got no complete response (connection refused/reset/closed, timeout, garbage)."""

    def __init__(self, reason: str, *, started: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        #: Did any byte of a response arrive? (if not, an idempotent request may be retried)
        self.started = started


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    retried: int = 0

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CookieJar:
    """The cookies of one simulated browser: name -> value, for one host.

    Enough of RFC 6265 for the apps under test: ``Max-Age=0`` or an empty value
    deletes; ``Path``/``Domain`` are all ``/`` and 127.0.0.1 here.
    """

    cookies: dict[str, str] = field(default_factory=dict)

    def header(self) -> str | None:
        if not self.cookies:
            return None
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def update(self, response: Response) -> None:
        for line in response.header_values("set-cookie"):
            self.set_from_header(line)

    def set_from_header(self, line: str) -> None:
        first, _, attributes = line.partition(";")
        name, sep, value = first.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            return
        expired = False
        for attribute in attributes.split(";"):
            key, _, val = attribute.strip().partition("=")
            key = key.lower()
            if key == "max-age" and val.strip().lstrip("-").isdigit() and int(val) <= 0:
                expired = True
            elif key == "expires" and "1970" in val:
                expired = True
        if expired or value == "" or value == '""':
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value


async def request(
    port: int,
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    timeout: float = DEFAULT_TIMEOUT,
    host: str = "127.0.0.1",
) -> Response:
    """Send one request on a fresh connection; GETs are retried once if nothing came back."""
    attempts = 2 if method in ("GET", "HEAD") else 1
    for attempt in range(attempts):
        try:
            response = await asyncio.wait_for(_exchange(host, port, method, path, headers or [], body), timeout)
        except asyncio.TimeoutError:
            raise HTTPError("timeout", started=True) from None
        except HTTPError as exc:
            if exc.started or attempt + 1 == attempts:
                raise
            continue
        response.retried = attempt
        return response
    raise AssertionError("unreachable")  # pragma: no cover


async def _exchange(
    host: str, port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes
) -> Response:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise HTTPError(f"connect: {exc.__class__.__name__}", started=False) from None
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines.extend(f"{k}: {v}" for k, v in headers)
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            writer.write(head + body)
            await writer.drain()
        except OSError as exc:
            raise HTTPError(f"send: {exc.__class__.__name__}", started=False) from None
        return await _read_response(reader, method)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def _read_response(reader: asyncio.StreamReader, method: str) -> Response:
    try:
        raw_head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise HTTPError("closed before the response", started=bool(exc.partial)) from None
    except asyncio.LimitOverrunError:
        raise HTTPError("response head too long", started=True) from None
    except OSError as exc:
        raise HTTPError(f"recv: {exc.__class__.__name__}", started=False) from None
    if len(raw_head) > MAX_HEAD:
        raise HTTPError("response head too long", started=True)
    head_lines = raw_head.decode("latin-1").split("\r\n")
    parts = head_lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HTTPError("bad status line", started=True)
    status = int(parts[1])
    headers: list[tuple[str, str]] = []
    for line in head_lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HTTPError("bad header line", started=True)
        headers.append((name.strip().lower(), value.strip()))
    response = Response(status, headers, b"")
    try:
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return response
        length = response.header("content-length")
        if response.header("transfer-encoding") and "chunked" in (response.header("transfer-encoding") or "").lower():
            response.body = await _read_chunked(reader)
        elif length is not None:
            if not length.isdigit() or int(length) > MAX_BODY:
                raise HTTPError("bad content-length", started=True)
            response.body = await reader.readexactly(int(length))
        else:  # delimited by the end of the connection
            chunks: list[bytes] = []
            total = 0
            while chunk := await reader.read(65536):
                total += len(chunk)
                if total > MAX_BODY:
                    raise HTTPError("body too large", started=True)
                chunks.append(chunk)
            response.body = b"".join(chunks)
    except asyncio.IncompleteReadError:
        raise HTTPError("truncated body", started=True) from None
    except OSError as exc:
        raise HTTPError(f"recv body: {exc.__class__.__name__}", started=True) from None
    return response


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HTTPError("bad chunk size", started=True) from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise HTTPError("body too large", started=True)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
