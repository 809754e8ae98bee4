"""The incident replay harness (``benchmarks/replay``): its truth, and one tiny real replay.

The unit tests pin the classification the README's replay table rests on; the
last tests start real servers (127.0.0.1, a free port, stopped in ``finally``):
one uvicorn worker, to prove the harness sees a leak without the guard and a
block with it; two gunicorn workers, one restarted mid-run, to prove a binding
made on one worker holds on the other and on the replacement.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from benchmarks.replay._apps import create_store, read_events, share_shop
from benchmarks.replay._classify import (
    BLOCK_BODY,
    Outcome,
    Person,
    World,
    classify,
    classify_record,
    is_block,
    resolve_block,
)
from benchmarks.replay._cli import restarter
from benchmarks.replay._http import CookieJar, Response, request
from benchmarks.replay._proxy import CachingProxy, shared_ttl
from benchmarks.replay._run import Run, replay
from benchmarks.replay._servers import SERVERS, ServerSpec, children, start_server
from examples.customers import Shop, all_records, make_record, write_card

SECRET = "replay-test-secret"
ME = Person("c0001", "c0001@example.test")
OTHER = Person("c0002", "c0002@example.test")


def world() -> World:
    w = World(SECRET)
    for n in range(1, 201):
        record = make_record(n)
        w.add(Person(record["customer_id"], record["email"]))
    return w


def response(status: int, body: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status, headers or [("content-type", "application/json")], raw)


# ---------------------------------------------------------------------- classification


def test_own_record_is_correct_and_anothers_is_a_leak() -> None:
    w = world()
    assert classify_record(response(200, make_record(1)), ME, w) is Outcome.CORRECT
    assert classify_record(response(200, make_record(2)), ME, w) is Outcome.LEAK
    assert classify(response(200, make_record(2)), ME, w) is Outcome.LEAK


def test_same_id_with_another_persons_email_is_a_leak() -> None:
    w = world()
    record = {**make_record(1), "email": "c0002@example.test"}
    assert classify_record(response(200, record), ME, w) is Outcome.LEAK


def test_unknown_addresses_are_not_people() -> None:
    w = world()
    body = {"subject": "news", "body": "write to help@shop.test, c0001@example.test"}
    assert classify(response(200, body), ME, w) is Outcome.CORRECT
    w.emails.add(b"help@shop.test")
    assert classify(response(200, body), ME, w) is Outcome.LEAK


def test_errors_blocks_and_other_statuses() -> None:
    w = world()
    assert classify(None, ME, w) is Outcome.SERVER_ERROR
    assert classify(response(502, b"bad gateway"), ME, w) is Outcome.SERVER_ERROR
    block = response(403, BLOCK_BODY, [("content-type", "text/plain; charset=utf-8")])
    assert is_block(block)
    assert classify(block, ME, w) is None  # resolved with its event
    assert classify(response(403, {"error": "forbidden"}), ME, w) is Outcome.OTHER
    assert classify(response(401, {"error": "login required"}), ME, w) is Outcome.OTHER
    assert classify(response(403, {"error": "forbidden"}), ME, w, expected=(403,)) is Outcome.CORRECT


def test_a_block_is_resolved_by_whose_data_its_event_names() -> None:
    w = world()
    h = w.hasher
    foreign = {"action": "blocked", "kind": "owner_mismatch", "owners": [h(OTHER.id)], "requester": h(ME.id)}
    own = {"action": "blocked", "kind": "owner_mismatch", "owners": [h("email:" + ME.email)], "requester": None}
    write = {"action": "blocked", "kind": "cross_owner_write", "owners": [h(ME.id)], "requester": None}
    assert resolve_block([foreign], ME, w) is Outcome.BLOCKED
    assert resolve_block([own], ME, w) is Outcome.FALSE_BLOCK
    assert resolve_block([write], ME, w) is Outcome.FALSE_BLOCK
    assert resolve_block([], ME, w) is Outcome.FALSE_BLOCK  # no proof: the conservative side
    assert resolve_block([{"action": "ignored", "kind": "binding_rejected"}], ME, w) is Outcome.FALSE_BLOCK
    assert resolve_block([{"action": "blocked", "kind": "bulk_personal_data"}], ME, w) is Outcome.BLOCKED
    drift_other = {"action": "blocked", "kind": "session_drift", "owners": [], "requester": h(OTHER.id)}
    drift_self = {"action": "blocked", "kind": "session_drift", "owners": [], "requester": h(ME.id)}
    assert resolve_block([drift_other], ME, w) is Outcome.BLOCKED
    assert resolve_block([drift_self], ME, w) is Outcome.FALSE_BLOCK
    w.add(Person(ME.id, "someone-else@members.test"))  # two people now hold c0001
    assert resolve_block([drift_self], ME, w) is Outcome.BLOCKED


def test_cookie_jar_sets_and_clears() -> None:
    jar = CookieJar()
    jar.set_from_header("sid=abc; HttpOnly; Path=/; SameSite=lax")
    jar.set_from_header("respguard_bind=xyz; Max-Age=1209600; Path=/")
    assert jar.header() == "sid=abc; respguard_bind=xyz"
    jar.set_from_header("respguard_bind=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/")
    jar.set_from_header('sid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/')
    assert jar.header() is None


def test_the_client_reads_chunked_and_close_delimited_bodies() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n")
            await writer.drain()
            writer.close()

        async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            for _ in range(3):
                writer.write(b"x" * 70000)
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.close()

        servers = [await asyncio.start_server(h, "127.0.0.1", 0) for h in (chunked, until_close)]
        try:
            first, second = [await request(s.sockets[0].getsockname()[1], "GET", "/") for s in servers]
        finally:
            for server in servers:
                server.close()
                await server.wait_closed()
        return first.body, second.body

    first, second = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert first == b"hello!"
    assert second == b"x" * 210000


@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        ([("cache-control", "public, max-age=60")], 60.0),
        ([("cache-control", "s-maxage=30, max-age=5")], 30.0),
        ([("cache-control", "private, no-store")], None),
        ([("cache-control", "public, max-age=60"), ("set-cookie", "a=b")], None),
        ([("cache-control", "public, max-age=60"), ("vary", "*")], None),
        ([("cache-control", "no-cache, max-age=60")], None),
        ([], None),
    ],
)
def test_what_the_shared_cache_may_store(headers: list[tuple[str, str]], ttl: float | None) -> None:
    assert shared_ttl({}, Response(200, headers, b"{}")) == ttl


def test_the_proxy_serves_one_browsers_public_page_to_the_next_and_honours_vary() -> None:
    async def scenario() -> tuple[bytes, bytes, bytes, bytes, int]:
        served = [0]

        async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            served[0] += 1
            vary = b"\r\nVary: Cookie" if b"/vary" in head.split(b"\r\n", 1)[0] else b""
            body = b"page %d" % served[0]
            writer.write(
                b"HTTP/1.1 200 OK\r\nCache-Control: public, max-age=60%s\r\nContent-Length: %d\r\n\r\n%s"
                % (vary, len(body), body)
            )
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(upstream, "127.0.0.1", 0)
        proxy = CachingProxy(server.sockets[0].getsockname()[1])
        port = await proxy.start()
        try:
            first = await request(port, "GET", "/me", headers=[("Cookie", "sid=a")])
            second = await request(port, "GET", "/me", headers=[("Cookie", "sid=b")])
            third = await request(port, "GET", "/vary", headers=[("Cookie", "sid=a")])
            fourth = await request(port, "GET", "/vary", headers=[("Cookie", "sid=b")])
        finally:
            await proxy.close()
            server.close()
            await server.wait_closed()
        return first.body, second.body, third.body, fourth.body, proxy.hits

    first, second, third, fourth, hits = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert first == second == b"page 1"  # browser b got browser a's page
    assert (third, fourth) == (b"page 2", b"page 3")  # Vary: Cookie keeps them apart
    assert hits == 1


def test_the_shared_store_is_seen_by_every_shop(tmp_path: Any) -> None:
    path = str(tmp_path / "shop.sqlite")
    create_store(path, all_records())
    one, two = Shop("none"), Shop("none")
    share_shop(one, path)
    share_shop(two, path)
    sid = one.new_session("c0003", "c0003@example.test")
    assert two.session(sid) == {"customer_id": "c0003", "email": "c0003@example.test"}
    write_card(one, "c0003", "4242")
    assert two.records["c0003"]["card_last4"] == "4242"
    with one._lock:
        one.next_member = one.next_member + 1
    assert two.next_member == 2
    two.drop_session(sid)
    assert one.session(sid) is None
    one.replay_db.close()
    two.replay_db.close()


# ---------------------------------------------------------------------- one tiny real replay


def _tiny_replay(
    tmp_path: Any, *, bug: str, guard: bool, spec: ServerSpec = SERVERS[0], budget: int = 60
) -> tuple[Run, dict[str, Any]]:
    run_dir = str(tmp_path / f"{bug}-{guard}")
    os.makedirs(run_dir)
    store = None
    if spec.workers > 1:
        store = os.path.join(run_dir, "shop.sqlite")
        create_store(store, all_records())

    async def scenario() -> tuple[Run, dict[str, Any]]:
        server = await start_server(spec, bug=bug, guard=guard, secret=SECRET, run_dir=run_dir, store=store)
        try:
            run = await replay(
                port=server.port,
                bug=bug,
                guard=guard,
                budget=budget,
                users=6,
                seconds=8.0,
                secret=SECRET,
                seed=7,
                events_dir=server.events_dir,
                restart=restarter(server) if spec.workers > 1 else None,
            )
            events = read_events(server.events_dir)
        finally:
            server.stop()
        assert server.proc.poll() is not None
        assert children(server.proc.pid) == []
        return run, events

    return asyncio.run(asyncio.wait_for(scenario(), 40))


def test_a_real_replay_sees_the_leak_without_the_guard(tmp_path: Any) -> None:
    run, events = _tiny_replay(tmp_path, bug="bulk-emails", guard=False)
    counts = run.tally.counts
    assert counts["leaks"] > 0
    assert counts["blocked"] == counts["false_blocks"] == counts["server_errors"] == 0
    assert events == {}


def test_a_real_replay_sees_the_block_with_the_guard(tmp_path: Any) -> None:
    run, events = _tiny_replay(tmp_path, bug="bulk-emails", guard=True)
    counts = run.tally.counts
    assert counts["blocked"] > 0
    assert counts["leaks"] == counts["false_blocks"] == counts["server_errors"] == 0
    kinds = {e["kind"] for found in events.values() for e in found if e["action"] == "blocked"}
    assert kinds == {"bulk_personal_data"}


def test_bindings_hold_across_two_workers_and_a_worker_restart(tmp_path: Any) -> None:
    spec = next(s for s in SERVERS if s.name == "gunicorn-sync")
    run, _ = _tiny_replay(tmp_path, bug="none", guard=True, spec=spec, budget=150)
    counts = run.tally.counts
    assert run.stats.cross_worker > 0  # a browser bound on one worker was checked on the other
    assert run.stats.restarts == 1 and run.stats.restart_replaced
    assert counts["leaks"] == counts["false_blocks"] == counts["server_errors"] == counts["other"] == 0
