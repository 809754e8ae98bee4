"""Scan throughput beside ``bytes.find``, and peak extra memory while guarding a 1 MiB response."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from respguard import Guard, Identity
from respguard._context import RequestContext
from respguard._exchange import Exchange
from respguard._scan import RequestInfo

from .apps import binding_cookie, flask_app, make_guard, starlette_app
from .bodies import OWN_ID, Body, all_bodies
from .inprocess import asgi_batch, asgi_scope, wsgi_batch, wsgi_environ

SCAN_BODIES = ("json-64k", "json-1m", "html-64k")
#: The key a one-pass ``bytes.find`` looks for (followed by a NUL, so it runs to the end).
_NEEDLES = {"json": b'"user_id"\x00', "html": b"data-owner\x00"}


def _exchanges(guard: Guard, body: Body, count: int) -> list[Any]:
    """Exchanges past ``start()``, holding for their body, as the adapters leave them."""
    cookie = binding_cookie()
    headers = [(b"cookie", cookie.encode()), (b"x-user", str(OWN_ID).encode())]
    ready = []
    for _ in range(count):
        context = RequestContext()
        context.tell(Identity(OWN_ID))
        request = RequestInfo("GET", "/b/" + body.name, "http", {}, lambda raw: headers)
        exchange = Exchange(guard, request, context, None, cookie)
        if exchange.start(200, _response_headers(body)).head is not None:
            raise SystemExit(f"benchmarks: the guard did not ask for the {body.name} body")
        ready.append(exchange)
    return ready


def _response_headers(body: Body) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", body.content_type.encode()), (b"content-length", str(len(body.data)).encode())]


def scan_once(guard: Guard, body: Body, count: int) -> float:
    """Seconds per body decision, as the adapters take it: the exchange's ``body()`` for the
    whole body (decode, every extractor with its proof, the bulk check, the decision)."""
    ready = _exchanges(guard, body, count)
    data = body.data
    blocked = False
    start = time.perf_counter()
    for exchange in ready:
        head = exchange.body(data, False).head
        blocked = blocked or head is None or head.blocked
    took = (time.perf_counter() - start) / count
    if blocked:
        raise SystemExit(f"benchmarks: the guard blocked the own-data {body.name} body")
    return took


def find_once(body: Body, count: int) -> float:
    needle = _NEEDLES[body.kind]
    data = body.data
    start = time.perf_counter()
    for _ in range(count):
        data.find(needle)
    return (time.perf_counter() - start) / count


def run_scan(rounds: int, quick: bool, log: Callable[[str], None] = lambda s: None) -> list[dict[str, object]]:
    """Per body: the guard as configured (default, with the bulk-PII count) and with ``bulk_pii=None``."""
    configs = {"default": make_guard(), "no-bulk-pii": make_guard(bulk_pii=None)}
    rows = []
    for body, config in ((b, c) for b in all_bodies() for c in configs):
        if body.name not in SCAN_BODIES:
            continue
        guard = configs[config]
        count = 2 if body.size_label == "1m" else 20
        if not quick:
            count *= 3
        scan_once(guard, body, 1)
        speeds, ratios = [], []
        for _ in range(rounds):
            t_scan = scan_once(guard, body, count)
            t_find = find_once(body, count)
            speeds.append(len(body.data) / t_scan / 1e6)
            ratios.append(t_find / t_scan)
        find_speed = len(body.data) / find_once(body, count) / 1e6
        row = {
            "body": body.name,
            "config": config,
            "mb_per_s": round(statistics.median(speeds), 1),
            "ratio_to_find": round(statistics.median(ratios), 4),
            "find_mb_per_s": round(find_speed, 1),
        }
        log(f"  scan {body.name:<9} {config:<12} {row['mb_per_s']:>8} MB/s  {row['ratio_to_find']:.3f}x bytes.find")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- memory


def _peak(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def run_memory(log: Callable[[str], None] = lambda s: None) -> list[dict[str, object]]:
    """Peak traced memory of one 1 MiB request, guarded minus bare, for each stack."""
    body = next(b for b in all_bodies() if b.name == "json-1m")
    cookie = binding_cookie()
    rows = []
    loop = asyncio.new_event_loop()
    try:
        peaks: dict[str, dict[str, int]] = {"asgi": {}, "wsgi": {}}
        for variant in ("bare", "respguard", "respguard-exact"):
            asgi = starlette_app(variant)
            scope = asgi_scope("/b/json-1m", cookie)
            loop.run_until_complete(asgi_batch(asgi, scope, 2))
            peaks["asgi"][variant] = min(
                _peak(lambda a=asgi, s=scope: loop.run_until_complete(asgi_batch(a, s, 1))) for _ in range(3)
            )
            wsgi = flask_app(variant)
            environ = wsgi_environ("/b/json-1m", cookie)
            wsgi_batch(wsgi, environ, 2)
            peaks["wsgi"][variant] = min(_peak(lambda a=wsgi, e=environ: wsgi_batch(a, e, 1)) for _ in range(3))
    finally:
        loop.close()
    for stack in ("asgi", "wsgi"):
        for variant, path in (("respguard", "fast"), ("respguard-exact", "exact (strict_json)")):
            extra = max(0, peaks[stack][variant] - peaks[stack]["bare"])
            rows.append(
                {
                    "body": "json-1m",
                    "stack": stack,
                    "path": path,
                    "peak_extra_bytes": extra,
                    "ratio_to_body": round(extra / len(body.data), 3),
                }
            )
            log(f"  memory {stack} json-1m {path}: +{extra} bytes ({extra / len(body.data):.2f}x the body)")
    return rows
