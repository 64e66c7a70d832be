"""The event stream end to end: a browser's WebSocket (the Go wire: text frames), kill -9 of the tracker during a
stream, and many idle sockets held with bounded memory."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.chaos.load import stored_ids
from tests.e2e.test_admin_page import launch
from tests.harness import TrackerProcess, prepare_tracker, snapshot_query, start_tracker, wait_until
from tracker.client import ACK_SUBPROTOCOL, Batch, StreamClient

playwright_api = pytest.importorskip("playwright.sync_api")

# The Go project's browser client (sfproductlabs/tracker .setup/track.js), never copied into this repository:
# point GO_TRACK_JS at a checkout's file to run it too.
GO_TRACK_JS = os.environ.get("GO_TRACK_JS", "")
# What the Go browser clients do over the socket, written here: a text frame of JSON per event, reconnect in 2 s.
WIRE_CLIENT_JS = """
let socket;
function setupWebSocket() {
  socket = new WebSocket(window._sfpl.wsUrl);
  socket.addEventListener('close', () => setTimeout(setupWebSocket, 2000));
}
setupWebSocket();
window.track = (event) => socket.send(JSON.stringify(event));
"""


def site(tracker: TrackerProcess, client: str) -> None:
    root = tracker.workdir / "site"
    root.mkdir()
    script = Path(GO_TRACK_JS).read_text() if client == "go-track.js" else WIRE_CLIENT_JS
    (root / "track.js").write_text(script)
    settings = f"{{ trackerUrl: 'http://127.0.0.1:9', wsUrl: '{tracker.ws_url()}' }}"  # no HTTP fallback
    (root / "index.html").write_text(
        f"<!doctype html><title>shop</title><script>window._sfpl = {settings};</script>"
        '<script src="track.js"></script><p>shop</p>'
    )


@pytest.mark.parametrize("client", ["wire-client", "go-track.js"])
def test_a_browser_streams_its_events_over_the_socket(tmp_path: Path, client: str) -> None:
    if client == "go-track.js" and not Path(GO_TRACK_JS).is_file():
        pytest.skip("set GO_TRACK_JS to the Go project's .setup/track.js to run the Go client itself")
    tracker = prepare_tracker(tmp_path / "t")
    tracker.config["Static"] = [{"Prefix": "/site/", "Root": str(tracker.workdir / "site")}]
    site(tracker, client)
    tracker.start()
    probes = [str(uuid.uuid4()) for _ in range(3)]
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            page.goto(tracker.url("/site/index.html"))
            page.wait_for_function("typeof socket !== 'undefined' && socket && socket.readyState === 1")
            for probe in probes:
                page.evaluate("(probe) => window.track({ename: 'ws_probe', etyp: 'test', params: {probe}})", probe)
            cookie = page.evaluate("document.cookie")
            browser.close()

        def stored() -> list[tuple[Any, ...]]:
            tracker.wait_shipped()
            return snapshot_query(
                tracker.workdir / "tracker.duckdb",
                "select params, vid::varchar from events where ename = 'ws_probe'",
            )

        rows = wait_until(lambda: len(stored()) == 3 and stored(), what="the three probes in DuckDB")
    finally:
        tracker.kill9()
    assert sorted(probe for params, _ in rows for probe in probes if probe in params) == sorted(probes)
    if client == "wire-client":  # events that name no visitor carry the vid the handshake's cookie set
        assert {vid for _, vid in rows} == {_cookie(cookie, "vid")}


def _cookie(header: str, name: str) -> str:
    return next(part.split("=", 1)[1] for part in header.split("; ") if part.startswith(name + "="))


def test_kill_9_of_the_tracker_during_a_stream_loses_no_acknowledged_event(tmp_path: Path) -> None:
    tracker = start_tracker(tmp_path / "t")

    unacked_at_kill: list[Batch] = []

    async def stream() -> tuple[StreamClient, list[Batch]]:
        batches: list[Batch] = []
        async with StreamClient(tracker.ws_url(), max_in_flight=16, max_reconnect_delay=0.5) as client:
            for round_ in range(80):
                events = [{"ename": "kill9", "params": {"round": round_, "i": i}} for i in range(100)]
                batches.append(await client.send_batch(events))
                if round_ == 30:  # kill with batches in flight: the loop reads no ack until the kill is done
                    unacked_at_kill.extend(client.unacked)
                    tracker.kill9()
                    await asyncio.to_thread(tracker.start)
            await client.drain(timeout=60)
        return client, batches

    try:
        client, batches = asyncio.run(stream())
        tracker.wait_shipped()
    finally:
        tracker.stop()
    acknowledged = [eid for batch in batches if batch.acked.is_set() for eid in batch.eids]
    stored = stored_ids(Path(tracker.config["Notify"][0]["Path"]))
    print(
        f"\nSTREAM | kill -9 mid-stream | acked {len(acknowledged)} | reconnects {client.stats.reconnects}"
        f" | unacked at the kill {len(unacked_at_kill)} | resent {client.stats.resent}"
        f" | stored once {sum(1 for e in acknowledged if stored[e] == 1)}"
    )
    assert client.stats.reconnects >= 1 and unacked_at_kill and client.stats.resent >= 1
    assert len(acknowledged) == 8_000
    assert all(stored[e] == 1 for e in acknowledged) and sum(stored.values()) == 8_000


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants (the supervisor and its workers)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
        for task in Path(f"/proc/{current}/task").iterdir():
            pending += [int(child) for child in (task / "children").read_text().split()]
    return total


@pytest.mark.parametrize("sockets", [pytest.param(1_000, id="1000"), pytest.param(5_000, marks=pytest.mark.slow)])
def test_many_idle_sockets_are_held_with_bounded_memory(tmp_path: Path, sockets: int) -> None:
    tracker = start_tracker(tmp_path / "t")
    assert tracker.process is not None
    try:

        async def hold() -> tuple[int, int]:
            async with connect(tracker.ws_url()) as warm:
                await warm.send('{"ename": "warm"}')
            before = tree_rss_kib(tracker.process.pid)  # type: ignore[union-attr]
            opened: list[ClientConnection] = []
            for start in range(0, sockets, 100):
                opened += await asyncio.gather(
                    *(connect(tracker.ws_url(), ping_interval=None) for _ in range(start, min(start + 100, sockets)))
                )
            # every socket is open and still answered: one event on the last one is acked
            async with connect(tracker.ws_url(), subprotocols=[Subprotocol(ACK_SUBPROTOCOL)]) as probe:
                await probe.send('{"ename": "probe"}')
                assert await asyncio.wait_for(probe.recv(), 30) == '{"ack":1,"accepted":1}'
            during = tree_rss_kib(tracker.process.pid)  # type: ignore[union-attr]
            assert all(s.state.name == "OPEN" for s in opened)
            await asyncio.gather(*(s.close() for s in opened))
            return before, during

        before, during = asyncio.run(hold())
    finally:
        tracker.kill9()
    per_socket = (during - before) / sockets
    print(f"\nSTREAM | {sockets} idle sockets | RSS {before} KiB -> {during} KiB | {per_socket:.1f} KiB per socket")
    assert per_socket < 128, "an idle socket should cost tens of KiB, not more"
