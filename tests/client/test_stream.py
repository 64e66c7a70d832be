"""tracker/client/stream.py against a real tracker: batches, acks, reconnect with resend, a killed client process;
every acknowledged event stored exactly once in DuckDB."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.chaos.load import stored_ids
from tests.client.stream_writer import batch_events
from tests.harness import ROOT, TrackerProcess, start_tracker, wait_until
from tracker.client import StreamClient, StreamError


def stored_after_stop(tracker: TrackerProcess) -> dict[str, int]:
    tracker.wait_shipped()
    assert tracker.stop() == 0, tracker.log()[-3000:]
    return dict(stored_ids(Path(tracker.config["Notify"][0]["Path"])))


@pytest.mark.parametrize("compression", ["block", "frame", "none"])
def test_batches_are_acknowledged_and_stored_once(tracker: TrackerProcess, compression: str) -> None:
    async def run() -> tuple[list[str], StreamClient]:
        async with StreamClient(tracker.ws_url(), compression=compression, batch_size=100) as client:  # type: ignore[arg-type]
            eids = [await client.send({"ename": "client", "params": {"i": i}}) for i in range(1_050)]
        return eids, client

    eids, client = asyncio.run(run())
    assert client.stats.batches_sent == client.stats.batches_acked == 11  # 10 full batches and the rest on close
    assert client.stats.events_acked == 1_050 and client.stats.rejected == [] and not client.unacked
    stored = stored_after_stop(tracker)
    assert len(set(eids)) == 1_050 and all(stored.get(e) == 1 for e in eids) and len(stored) == 1_050


async def reconnected(client: StreamClient, times: int) -> None:
    while client.stats.reconnects < times:
        await asyncio.sleep(0.01)


def test_a_dropped_socket_reconnects_and_resends_what_was_not_acknowledged(tracker: TrackerProcess) -> None:
    async def run() -> tuple[list[str], StreamClient]:
        eids: list[str] = []
        async with StreamClient(tracker.ws_url(), batch_size=50, max_in_flight=16) as client:
            for round_ in range(6):
                for i in range(500):
                    eids.append(await client.send({"ename": "drop", "params": {"round": round_, "i": i}}))
                await client.flush()
                assert client.socket is not None
                client.socket.transport.abort()  # the network goes: no close frame, unacked batches in flight
                await asyncio.wait_for(reconnected(client, round_ + 1), 30)  # each round drops a live socket
        return eids, client

    eids, client = asyncio.run(run())
    assert client.stats.reconnects >= 6 and not client.unacked
    assert client.stats.events_acked >= 3_000  # a resent batch is acknowledged once more
    stored = stored_after_stop(tracker)
    assert all(stored.get(e) == 1 for e in eids) and len(stored) == 3_000


def test_a_batch_too_large_for_the_server_is_given_up_and_the_rest_are_stored(tmp_path: Path) -> None:
    """The server closes with 1009: resending that batch would fail forever, so it is dropped (named in stats)."""
    tracker = start_tracker(tmp_path / "t", Limits={"MaxWebSocketMessageBytes": 64 * 1024})
    try:

        async def run() -> tuple[list[str], list[str], StreamClient]:
            async with StreamClient(tracker.ws_url(), compression="none", batch_size=10) as client:
                before = [await client.send({"ename": "small", "params": {"i": i}}) for i in range(10)]
                await client.drain(30)
                huge = await client.send_batch([{"ename": "huge", "params": {"pad": "x" * 100_000}}])
                after = [await client.send({"ename": "small", "params": {"i": i}}) for i in range(10)]
            return before + after, huge.eids, client

        eids, huge, client = asyncio.run(asyncio.wait_for(run(), 60))
        assert client.stats.too_large == [huge] and not client.unacked
        stored = stored_after_stop(tracker)
        assert all(stored.get(e) == 1 for e in eids) and huge[0] not in stored
    finally:
        tracker.stop()


def test_a_server_that_does_not_acknowledge_is_refused_plainly() -> None:
    async def run() -> None:
        async def silent(connection: ServerConnection) -> None:
            await connection.wait_closed()

        async with serve(silent, "127.0.0.1", 0) as server:  # a plain WebSocket server: no ack subprotocol
            port = next(iter(server.sockets)).getsockname()[1]
            await StreamClient(f"ws://127.0.0.1:{port}/").connect()

    with pytest.raises(StreamError, match="does not acknowledge"):
        asyncio.run(run())


def test_a_killed_client_resends_its_unacknowledged_batches_and_each_event_is_stored_once(
    tracker: TrackerProcess, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    journal.mkdir()
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.client.stream_writer", tracker.ws_url(), str(journal)], cwd=ROOT
    )
    acked_file = journal / "acked.txt"
    try:
        wait_until(lambda: acked_file.exists() and acked_file.read_text().count("\n") >= 30, what="30 acked batches")
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
    sent: dict[int, list[str]] = {}
    for line in (journal / "sent.jsonl").read_bytes().splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # torn by the kill: that batch was never sent
        sent[entry["batch"]] = entry["eids"]
    acknowledged = {int(n) for n in acked_file.read_text().split()}
    missing = sorted(set(sent) - acknowledged)
    assert acknowledged <= set(sent) and len(acknowledged) >= 30

    async def resend() -> None:
        async with StreamClient(tracker.ws_url()) as client:
            for index in missing:
                await client.send_batch(batch_events(index, sent[index]))

    asyncio.run(resend())
    stored = stored_after_stop(tracker)
    every = [eid for eids in sent.values() for eid in eids]
    print(f"\nSTREAM | client killed | batches acked {len(acknowledged)} | resent {len(missing)} | events {len(every)}")
    assert all(stored.get(e) == 1 for e in every) and len(stored) == len(every)
