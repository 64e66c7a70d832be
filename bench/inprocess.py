"""CPU inside the app, without sockets: the tracking GET, a short-link redirect, a POST of 100 events and
WebSocket LZ4 batches of 100 events, through the whole ASGI stack (every middleware, the dispatcher, the spool
append). Process time, not wall time, so a busy machine moves it less; compare builds in one run.

The GET and the redirect append to a Durability "memory" spool, as before (its memory sink keeps every row, so
the garbage collector walks them: ~6-8 µs of a GET); `get-spool`, the batch rows and the stream append to a real
spool on disk (Durability "write") with no shipper in the process, as a worker does, so they measure the path
into the spool.

    python bench/inprocess.py [--requests N] [--batches N] [--case get|pixel|short|rdr|get-spool|post|stream ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stream import BATCH, batch_json  # noqa: E402
from tests.harness import base_config, free_port  # noqa: E402
from tracker.app import create_app  # noqa: E402
from tracker.config import from_mapping  # noqa: E402
from tracker.events.frames import encode_block  # noqa: E402

TRACK = "/tr/v1/tr/vid/14fb0860-b4bf-11e9-8971-7b80435315ac/ename/bench/etyp/view"
PIXEL = "/tr/v1/img/vid/14fb0860-b4bf-11e9-8971-7b80435315ac/ename/open/etyp/email"
CASES = ("get", "pixel", "short", "rdr", "get-spool", "post", "stream")
HEADERS = [(b"host", b"localhost"), (b"user-agent", b"bench/1.0"), (b"origin", b"https://site.example")]


def http_scope(method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


async def drive(
    app: Any, path: str, query: bytes, requests: int, *, body: bytes = b"", headers: list[tuple[bytes, bytes]] = HEADERS
) -> float:
    """CPU µs per request of `requests` requests (a GET, or a JSON POST when `body` is given)."""
    headers = headers + [(b"content-type", b"application/json")] if body else headers
    scope_base = http_scope("POST" if body else "GET", path, query, headers)
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(requests):
        await app(dict(scope_base), receive, send)
    spent = time.process_time() - started
    assert statuses and statuses[-1] < 400, statuses[-5:]
    return spent / requests * 1e6


async def drive_stream(app: Any, batches: int) -> float:
    """CPU µs per message of `batches` LZ4 messages of BATCH events on one acknowledged socket."""
    scope = {**http_scope("GET", "/tr/v1/ws", b"", HEADERS), "type": "websocket", "subprotocols": ["tracker.v1.ack"]}
    frame = encode_block(batch_json())
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await incoming.put({"type": "websocket.connect"})
    acked = asyncio.Event()
    accepted = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal accepted
        if message["type"] == "websocket.send":
            accepted += int(message["text"].split('"accepted":', 1)[1].split(",")[0].rstrip("}"))
            acked.set()

    task = asyncio.create_task(app(scope, incoming.get, send))
    started = time.process_time()
    for _ in range(batches):  # one message in flight: each is acknowledged before the next is sent
        acked.clear()
        await incoming.put({"type": "websocket.receive", "bytes": frame})
        await acked.wait()
    spent = time.process_time() - started
    await incoming.put({"type": "websocket.disconnect", "code": 1000})
    await task
    assert accepted == batches * BATCH, f"{accepted} of {batches * BATCH} events acknowledged"
    return spent / batches * 1e6


@contextlib.asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await lifespan.put({"type": "lifespan.startup"})
    sent: list[dict[str, Any]] = []

    async def lsend(message: dict[str, Any]) -> None:
        sent.append(message)

    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.get, lsend))
    while not sent:
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        await lifespan.put({"type": "lifespan.shutdown"})
        await task


def batch_line(name: str, micros_per_message: float) -> str:
    per_event = micros_per_message / BATCH
    return f"{name}: {1e6 / per_event:,.0f} events/s, {per_event * 10_000 / 1000:.1f} ms CPU per 10k events"


async def short_link(app: Any) -> None:
    """A live short link go.example/spring, through the control plane as the admin API saves it."""
    runtime = app.state.runtime
    await runtime.control.save({"host": "go.example", "slugfrom": "spring", "urlto": "https://example.com/x"}, "bench")
    while runtime.links.lookup("go.example", "/spring") is None:
        await asyncio.sleep(0.01)


async def main(requests: int, batches: int, cases: set[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = base_config(Path(tmp), free_port(), Durability="memory", Notify=[{"Service": "memory"}])
        app = create_app(from_mapping(raw))
        short = [(b"host", b"go.example"), *HEADERS[1:]]
        async with running(app):
            await short_link(app)
            await drive(app, TRACK, b"utm_source=bench", 2000)  # warm up
            if "get" in cases:
                track = await drive(app, TRACK, b"utm_source=bench&page=2", requests)
                print(f"tracking GET {track:.1f} µs/request ({requests})")
            if "pixel" in cases:
                print(f"pixel /img/ {await drive(app, PIXEL, b'utm_source=bench', requests):.1f} µs/request")
            if "short" in cases:
                hit = await drive(app, "/spring", b"utm_source=bench", requests, headers=short)
                print(f"short link 302 {hit:.1f} µs/request")
            if "rdr" in cases:
                hop = await drive(app, "/tr/v1/rdr/", b"url=https%3A%2F%2Fyourdomain.com%2Fsale", requests)
                print(f"/rdr/ hop {hop:.1f} µs/request")
        if not cases & {"get-spool", "post", "stream"}:
            return

        raw = base_config(Path(tmp) / "batch", free_port(), Durability="write", MaxSpoolBytes=1 << 34)
        app = create_app(from_mapping(raw), run_shipper=False)
        body = batch_json()
        async with running(app):
            if "get-spool" in cases:
                await drive(app, TRACK, b"utm_source=bench", 2000)  # warm up
                track = await drive(app, TRACK, b"utm_source=bench&page=2", requests)
                print(f"tracking GET into a real spool {track:.1f} µs/request ({requests})")
            await drive(app, "/tr/v1/tr/", b"", batches // 10, body=body)  # warm up
            await drive_stream(app, batches // 10)
            if "post" in cases:
                print(batch_line(f"POST {BATCH} events", await drive(app, "/tr/v1/tr/", b"", batches, body=body)))
            if "stream" in cases:
                print(batch_line(f"WebSocket LZ4 batches of {BATCH}", await drive_stream(app, batches)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases (repeatable)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.batches, set(arguments.case or CASES)))
