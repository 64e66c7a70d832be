"""The NATS sink behind a real tracker process: a subscriber receives every event the tracker acknowledged; and
nats-server stopped for 30 s under load and started again: with JetStream not one acknowledged event is
missing from the stream (distinct ids), and DuckDB, the other sink, kept shipping through the outage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.chaos.load import Tally, post_events
from tests.harness import eventually, snapshot_query, start_tracker
from tests.services.nats import NatsServer, start_nats

OUTAGE_SECONDS = 30.0


async def stream_ids(server: NatsServer, stream: str, subject: str, timeout: float = 60.0) -> list[str]:
    """The Nats-Msg-Id of every message the stream holds on `subject`, read back by a pull consumer: until as many
    as the stream counts have been read (a fetch that times out on a busy machine is not the end)."""
    client = await nats.connect(server.url)
    try:
        js = client.jetstream()
        held = (await js.stream_info(stream, subjects_filter=subject)).state.subjects or {}
        puller = await js.pull_subscribe(subject, stream=stream)
        ids: list[str] = []
        deadline = time.monotonic() + timeout
        while len(ids) < held.get(subject, 0) and time.monotonic() < deadline:
            try:
                messages = await puller.fetch(1000, timeout=2)
            except TimeoutError:  # nats.errors.TimeoutError is one; so is the client's own asyncio timeout
                continue
            ids += [message.headers["Nats-Msg-Id"] for message in messages if message.headers]
            for message in messages:
                await message.ack()
        return ids
    finally:
        await client.close()


async def stream_count(server: NatsServer, stream: str) -> int:
    client = await nats.connect(server.url)
    try:
        return (await client.jetstream().stream_info(stream)).state.messages or 0
    finally:
        await client.close()


async def test_a_subscriber_receives_every_event_the_tracker_acknowledged(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    listener = await nats.connect(nats_server.url)
    received: list[str] = []

    async def keep(message: Any) -> None:
        received.append(message.headers["Nats-Msg-Id"])

    await listener.subscribe("e1.events", cb=keep)
    await listener.flush()
    entry = {"Service": "nats", "Hosts": [nats_server.url], "Context": "e1", "BatchFlushInterval": 100}
    tracker = start_tracker(tmp_path / "t", Notify=[entry])
    try:
        tally = await post_events(tracker.base_url, 1500, concurrency=8, tag="subscribed")

        async def all_received() -> bool:
            return set(tally.acknowledged) <= set(received)

        await eventually(all_received, 60, interval=0.2, what="every acknowledged event at the subscriber")
    finally:
        tracker.kill9()
        await listener.close()
    assert len(tally.acknowledged) == 1500 and len(received) == len(set(received)) == 1500


@pytest.mark.timeout(240)
async def test_a_30_second_outage_under_load_loses_no_event_with_jetstream(tmp_path: Path) -> None:
    server = start_nats(tmp_path / "js")
    database = tmp_path / "t" / "tracker.duckdb"
    nats_entry = {"Service": "nats", "Hosts": [server.url], "Context": "o1", "JetStream": True, "Timeout": 2000}
    duck = {"Service": "duckdb", "Path": str(database), "MaxBatchSize": 5000, "BatchFlushInterval": 100}
    tracker = start_tracker(tmp_path / "t", Notify=[duck, {**nats_entry, "BatchFlushInterval": 100}])
    tally = Tally()
    loading = True

    async def load() -> None:
        while loading:
            tally.add(await post_events(tracker.base_url, 100, concurrency=4, tag="outage", pad=50))

    def in_duckdb() -> int:
        return int(snapshot_query(database, "SELECT count(*) FROM events WHERE ename = 'outage'")[0][0])

    try:
        task = asyncio.create_task(load())

        async def some_in_stream() -> bool:
            return await stream_count(server, "TRACKER") >= 200

        await eventually(some_in_stream, 30, interval=0.2, what="events in the stream before the outage")
        server.stop()
        stopped = time.monotonic()
        before = await asyncio.to_thread(in_duckdb)

        async def duckdb_moves() -> bool:
            return await asyncio.to_thread(in_duckdb) > before + 500

        await eventually(duckdb_moves, OUTAGE_SECONDS - 5, interval=0.2, what="DuckDB to ship while NATS is down")
        status = await asyncio.to_thread(tracker.status)
        assert status["sinks"]["nats"]["lag_bytes"] > 0  # the NATS sink waits; its rows stay in the spool
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))  # the outage itself
        during = len(tally.acknowledged)
        server.start()
        acknowledged_during_outage = during - before
        loading = False
        await task
        await asyncio.to_thread(tracker.wait_shipped, 120)
        ids = await stream_ids(server, "TRACKER", "o1.events")
    finally:
        loading = False
        tracker.kill9()
        server.stop()
    acknowledged = set(tally.acknowledged)
    stored = set(ids)
    print(
        f"\nNATS outage {OUTAGE_SECONDS:.0f}s: acknowledged {len(acknowledged)}, in stream {len(stored)} distinct"
        f" ({len(ids)} messages), lost {len(acknowledged - stored)}; ~{acknowledged_during_outage} during the outage"
    )
    assert acknowledged_during_outage > 500
    assert acknowledged - stored == set()
    assert len(ids) == len(stored)  # replays after the outage were dropped on Nats-Msg-Id
