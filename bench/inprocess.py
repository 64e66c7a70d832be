"""CPU per request inside the app, without sockets: the tracking GET and a short-link redirect through the whole
ASGI stack (every middleware, the dispatcher, the spool append with Durability "memory"), in µs of process
time. Process time, not wall time, so a busy machine moves it less; compare builds in one run.

    python bench/inprocess.py [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import base_config, free_port  # noqa: E402
from tracker.app import create_app  # noqa: E402
from tracker.config import from_mapping  # noqa: E402

TRACK = "/tr/v1/tr/vid/14fb0860-b4bf-11e9-8971-7b80435315ac/ename/bench/etyp/view"


async def drive(app: Any, path: str, query: bytes, requests: int) -> float:
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"user-agent", b"bench/1.0"), (b"origin", b"https://site.example")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

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


async def main(requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = base_config(Path(tmp), free_port(), Durability="memory", Notify=[{"Service": "memory"}])
        app = create_app(from_mapping(raw))
        lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await lifespan.put({"type": "lifespan.startup"})
        sent: list[dict[str, Any]] = []

        async def lsend(message: dict[str, Any]) -> None:
            sent.append(message)

        task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, lifespan.get, lsend))
        while not sent:
            await asyncio.sleep(0.01)
        await drive(app, TRACK, b"utm_source=bench", 2000)  # warm up
        track = await drive(app, TRACK, b"utm_source=bench&page=2", requests)
        missing = await drive(app, "/tr/v1/rdr/", b"url=https%3A%2F%2Fyourdomain.com%2Fsale", requests)
        print(f"tracking GET {track:.1f} µs/request; /rdr/ hop {missing:.1f} µs/request ({requests} each)")
        await lifespan.put({"type": "lifespan.shutdown"})
        await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    asyncio.run(main(parser.parse_args().requests))
