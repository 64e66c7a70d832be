"""No data loss: every event answered 2xx reaches DuckDB exactly once, across SIGTERM, restarts and kill -9."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.harness import TrackerProcess, start_tracker


async def send_events(
    base_url: str,
    count: int,
    *,
    concurrency: int = 16,
    tag: str = "load",
    stop_after: int | None = None,
    on_progress: object = None,
) -> list[str]:
    """POST `count` events with client-chosen ids; return the ids that were answered 2xx."""
    accepted: list[str] = []
    next_index = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:

        async def worker() -> None:
            nonlocal next_index
            while next_index < count:
                index = next_index
                next_index += 1
                eid = str(uuid.uuid1())
                body = {
                    "eid": eid,
                    "ename": tag,
                    "vid": str(uuid.uuid1()),
                    "params": {"i": index},
                    "url": f"https://shop.example/p/{index}",
                }
                try:
                    response = await client.post("/tr/v1/str/", json=body)
                except httpx.HTTPError:
                    continue  # the server died mid-request: not acknowledged, so not owed
                if 200 <= response.status_code < 300:
                    accepted.append(eid)
                if callable(on_progress):
                    on_progress(len(accepted))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted


def stored(process: TrackerProcess) -> duckdb.DuckDBPyConnection:
    path = process.config["Notify"][0]["Path"]
    return duckdb.connect(path, read_only=True)


@pytest.mark.parametrize("events", [pytest.param(2_000, id="2000"), pytest.param(10_000, marks=pytest.mark.slow)])
def test_every_event_under_load_is_in_duckdb_after_shutdown(tmp_path: Path, events: int) -> None:
    process = start_tracker(tmp_path / "t")
    try:
        accepted = asyncio.run(send_events(process.base_url, events))
        assert len(accepted) == events
    finally:
        assert process.stop() == 0, process.log()[-3000:]
    with stored(process) as db:
        assert db.execute("select count(*), count(distinct eid) from events").fetchone() == (events, events)
        ids = {str(r[0]) for r in db.execute("select eid from events").fetchall()}
        assert ids == set(accepted)
        row = db.execute(
            "select ename, url, params->>'i', created_at is not null, vid <> '00000000-0000-0000-0000-000000000000'"
            " from events where url = '//shop.example/p/7'"
        ).fetchone()
        assert row == ("load", "//shop.example/p/7", "7", True, True)


@pytest.mark.parametrize(
    ("workers", "events", "kill_at"),
    [  # one worker runs the same supervisor, spool and shipper as two: the default run keeps the two-worker case
        pytest.param(2, 5_000, 1_500, id="2-workers-5000"),
        pytest.param(1, 20_000, 6_000, id="1-worker-20000", marks=pytest.mark.slow),
        pytest.param(2, 20_000, 6_000, id="2-workers-20000", marks=pytest.mark.slow),
    ],
)
def test_kill_9_mid_load_loses_no_acknowledged_event(tmp_path: Path, workers: int, events: int, kill_at: int) -> None:
    process = start_tracker(tmp_path / "t", Workers=workers)
    killed = False

    def maybe_kill(acknowledged: int) -> None:
        nonlocal killed
        if not killed and acknowledged >= kill_at:
            killed = True
            process.kill9()

    accepted = asyncio.run(send_events(process.base_url, events, on_progress=maybe_kill))
    assert killed, "the load finished before the kill"
    assert kill_at <= len(accepted) < events

    process.start()  # same config and spool: writers recover torn tails, the shipper replays from its cursors
    process.wait_shipped()
    assert process.stop() == 0, process.log()[-3000:]
    with stored(process) as db:
        ids = {str(r[0]) for r in db.execute("select eid from events").fetchall()}
        total, distinct = db.execute("select count(*), count(distinct eid) from events").fetchone()
    missing = set(accepted) - ids
    assert not missing, f"{len(missing)} acknowledged events lost"
    assert total == distinct
