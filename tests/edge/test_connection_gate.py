"""MaximumConnections (tracker/edge/connection_gate.py): requests in progress past the limit get 503, in a real
tracker whose slots are held by proxied requests to a real upstream that has not answered yet."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from tests.edge.test_proxy import start_upstream
from tests.harness import eventually, start_tracker
from tracker.edge.connection_gate import per_worker_share

PIXEL_PREFIX = b"GIF89a"


def test_the_limit_is_shared_out_among_workers() -> None:
    assert per_worker_share(150_000, 1) == 150_000
    assert per_worker_share(10, 4) == 3
    assert per_worker_share(1, 2) == 1


def test_requests_past_the_limit_get_503_until_a_slot_frees(tmp_path: Path) -> None:
    upstream = start_upstream()
    tracker = start_tracker(
        tmp_path / "t", MaximumConnections=2, Upstreams=[{"Prefix": "/app/", "Targets": [upstream.url]}]
    )
    try:
        asyncio.run(_fill_the_gate_then_free_it(tracker.url, upstream.url))
        tracker.wait_shipped()
        assert tracker.status()["sinks"]["duckdb"]["written"]["events"] == 1  # refused requests record nothing
    finally:
        tracker.kill9()
        upstream.process.terminate()
        upstream.process.wait(10)


async def _fill_the_gate_then_free_it(url, upstream: str) -> None:  # type: ignore[no-untyped-def]
    ids = [uuid.uuid4().hex for _ in range(2)]
    async with httpx.AsyncClient(timeout=10) as client:
        held = [asyncio.create_task(client.get(url(f"/app/hold?id={i}"))) for i in ids]

        async def holding(state: str) -> bool:
            holds = (await client.get(f"{upstream}/app/holds")).json()
            return all(holds.get(i) == state for i in ids)

        await eventually(lambda: holding("waiting"), 10, what="the upstream to hold requests")
        refused = await client.get(url("/tr/v1/tr/ename/refused"))
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json() == {"error": "maximum clients reached on this node", "retry_after": 1}
        pixel = await client.get(url("/tr/v1/img/ename/opened"))
        assert pixel.status_code == 200 and pixel.content.startswith(PIXEL_PREFIX)
        page = await client.get(url("/some-short-link"))
        assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
        assert (await client.get(url("/ping"))).status_code == 200  # operations routes are never gated
        assert (await client.get(url("/status"))).status_code == 200

        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        await eventually(lambda: holding("client left"), 10, what="the upstream to see the client leave")
        accepted = await client.get(url("/tr/v1/tr/ename/accepted"))
        assert accepted.status_code == 200


def test_zero_means_no_limit(tmp_path: Path) -> None:
    tracker = start_tracker(tmp_path / "t", MaximumConnections=0)
    try:
        assert httpx.get(tracker.url("/tr/v1/tr/ename/x")).status_code == 200
    finally:
        tracker.kill9()
