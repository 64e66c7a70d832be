"""/tr/v1/ws (tracker/routes/stream.py) in a real tracker: the Go frames, ours, acks, cookies and the limits."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import lz4.block
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from tests.chaos.load import stored_ids
from tests.harness import TrackerProcess, snapshot_query, start_tracker, wait_until
from tracker.client import ACK_SUBPROTOCOL
from tracker.events.frames import encode_block, encode_frame

ACK = [Subprotocol(ACK_SUBPROTOCOL)]
LIMITS = {
    "MaxWebSocketMessageBytes": 64 * 1024,
    "MaxDecompressedBytes": 256 * 1024,
    "MaxEventsPerBatch": 200,
    "WebSocketIdleSeconds": 4,
}


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    process = start_tracker(tmp_path_factory.mktemp("stream"), Limits=LIMITS)
    try:
        yield process
    finally:
        process.kill9()


def events_table(tracker: TrackerProcess, eids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of these events, by eid, once the shipper has drained the spool."""
    tracker.wait_shipped()
    marks = ",".join("?" * len(eids))
    rows = snapshot_query(
        tracker.workdir / "tracker.duckdb",
        f"select eid::varchar, ename, source, vid::varchar, sid::varchar from events where eid::varchar in ({marks})",
        eids,
    )
    return {r[0]: {"ename": r[1], "source": r[2], "vid": r[3], "sid": r[4]} for r in rows}


def new_eids(count: int) -> list[str]:
    return [str(uuid.uuid1()) for _ in range(count)]


async def acked(socket: ClientConnection) -> dict[str, Any]:
    answer: dict[str, Any] = orjson.loads(await asyncio.wait_for(socket.recv(), 10))
    return answer


async def closed_with(socket: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(socket.recv(), 30)
    return socket.close_code


def test_go_text_frames_are_one_event_each_take_the_cookie_ids_and_get_no_reply(tracker: TrackerProcess) -> None:
    eids = new_eids(3)
    own_vid = str(uuid.uuid1())

    async def run() -> tuple[list[str], list[str]]:
        async with connect(tracker.ws_url("/tr/v1/ws?utm_source=newsletter")) as socket:
            cookies = socket.response.headers.get_all("set-cookie")
            await socket.send(orjson.dumps({"eid": eids[0], "ename": "Page_View"}).decode())
            await socket.send(orjson.dumps({"eid": eids[1], "ename": "click", "vid": own_vid}).decode())
            await socket.send(orjson.dumps({"eid": eids[2], "etyp": "x", "source": "own"}).decode())
            stored = await asyncio.to_thread(events_table, tracker, eids)
            assert len(stored) == 3
            with pytest.raises(TimeoutError):  # the events are stored: an answer would have come by now
                await asyncio.wait_for(socket.recv(), 0.5)
            return cookies, [stored[e]["vid"] for e in eids]

    cookies, vids = asyncio.run(run())
    vid_cookie = next(c for c in cookies if c.startswith("vid="))
    sid_cookie = next(c for c in cookies if c.startswith("sid="))
    handshake_vid = vid_cookie.split(";")[0][4:]
    assert "Path=/" in vid_cookie and "SameSite=Lax" in vid_cookie and "Max-Age=31536000" in vid_cookie
    assert "Max-Age=1800" in sid_cookie
    assert vids == [handshake_vid, own_vid, handshake_vid]  # the row stores the ids the cookie holds
    stored = events_table(tracker, eids)
    assert stored[eids[0]]["ename"] == "page_view" and stored[eids[0]]["source"] == "newsletter"
    assert stored[eids[2]]["source"] == "own"  # the message wins over the upgrade URL's query


def test_a_returning_visitor_keeps_the_cookie_ids(tracker: TrackerProcess) -> None:
    vid, sid, eid = str(uuid.uuid1()), str(uuid.uuid1()), str(uuid.uuid1())

    async def run() -> list[str]:
        headers = {"cookie": f"vid={vid}; sid={sid}"}
        async with connect(tracker.ws_url(), additional_headers=headers, subprotocols=ACK) as socket:
            await socket.send(orjson.dumps({"eid": eid, "ename": "back"}).decode())
            assert await acked(socket) == {"ack": 1, "accepted": 1}
            return socket.response.headers.get_all("set-cookie")

    cookies = asyncio.run(run())
    assert not any(c.startswith("vid=") for c in cookies)  # already set: only the session slides
    assert any(c.startswith(f"sid={sid}") for c in cookies)
    stored = events_table(tracker, [eid])[eid]
    assert (stored["ename"], stored["vid"], stored["sid"]) == ("back", vid, sid)


def test_lz4_blocks_frames_and_arrays_from_a_raw_websockets_client_are_acked_after_the_spool(
    tracker: TrackerProcess,
) -> None:
    eids = new_eids(7)

    async def run() -> list[dict[str, Any]]:
        async with connect(tracker.ws_url(), subprotocols=ACK) as socket:
            assert socket.subprotocol == ACK_SUBPROTOCOL
            one = orjson.dumps({"eid": eids[0], "ename": "block"})
            await socket.send(len(one).to_bytes(4, "little") + lz4.block.compress(one, store_size=False))
            await socket.send(encode_block(orjson.dumps([{"eid": e, "ename": "block-array"} for e in eids[1:4]])))
            await socket.send(encode_frame(orjson.dumps([{"eid": e, "ename": "frame-array"} for e in eids[4:6]])))
            await socket.send(orjson.dumps([{"eid": eids[6], "ename": "text-array"}]).decode())
            return [await acked(socket) for _ in range(4)]

    answers = asyncio.run(run())
    assert answers == [
        {"ack": 1, "accepted": 1},
        {"ack": 2, "accepted": 3},
        {"ack": 3, "accepted": 2},
        {"ack": 4, "accepted": 1},
    ]
    stored = events_table(tracker, eids)
    assert [stored[e]["ename"] for e in eids] == ["block"] + ["block-array"] * 3 + ["frame-array"] * 2 + ["text-array"]


def test_a_hello_message_turns_acks_on_for_clients_that_cannot_pick_a_subprotocol(tracker: TrackerProcess) -> None:
    eid = str(uuid.uuid1())

    async def run(subprotocols: list[Subprotocol] | None) -> list[dict[str, Any]]:
        async with connect(tracker.ws_url(), subprotocols=subprotocols) as socket:
            await socket.send('{"hello": {"acks": true}}')
            hello = await acked(socket)
            await socket.send(encode_block(orjson.dumps({"eid": eid, "ename": "hello-ack"})))
            return [hello, await acked(socket)]

    expected = [{"hello": {"acks": True, "subprotocol": ACK_SUBPROTOCOL}}, {"ack": 1, "accepted": 1}]
    assert asyncio.run(run(None)) == expected
    assert asyncio.run(run(ACK)) == expected  # with both, the hello is still no event
    assert events_table(tracker, [eid])[eid]["ename"] == "hello-ack"


def test_bad_messages_are_acked_with_the_reason_and_the_socket_stays_open(tracker: TrackerProcess) -> None:
    eid = str(uuid.uuid1())

    async def run() -> list[dict[str, Any]]:
        async with connect(tracker.ws_url(), subprotocols=ACK) as socket:
            await socket.send("{not json")
            await socket.send(b"\x10\x00\x00\x00\xff\xff\xff\xff")
            await socket.send(orjson.dumps([{"ename": "x"}] * 201).decode())
            mixed = [{"eid": eid, "ename": "good"}, 7, {"ename": "y", "duration": "long"}]
            await socket.send(orjson.dumps(mixed).decode())
            return [await acked(socket) for _ in range(4)]

    answers = asyncio.run(run())
    assert [a["ack"] for a in answers] == [1, 2, 3, 4]
    assert [a["accepted"] for a in answers] == [0, 0, 0, 1]
    assert "not valid JSON" in answers[0]["rejected"][0]["error"]
    assert "not an LZ4 block" in answers[1]["rejected"][0]["error"]
    assert "201 events in one message; the limit is 200" in answers[2]["rejected"][0]["error"]
    assert [r["index"] for r in answers[3]["rejected"]] == [1, 2] and answers[3]["rejected"][1]["field"] == "duration"
    assert events_table(tracker, [eid])[eid]["ename"] == "good"


def test_an_lz4_bomb_closes_1009_and_nothing_else_breaks(tracker: TrackerProcess) -> None:
    small_bomb = encode_block(b" " * (LIMITS["MaxDecompressedBytes"] + 1))
    assert len(small_bomb) < 2048
    eid = str(uuid.uuid1())

    async def run() -> tuple[int | None, int | None, dict[str, Any]]:
        async with connect(tracker.ws_url(), subprotocols=ACK) as neighbour:
            async with connect(tracker.ws_url()) as attacker:
                await attacker.send(small_bomb)
                first = await closed_with(attacker)
            async with connect(tracker.ws_url()) as attacker:
                await attacker.send(encode_frame(b" " * (LIMITS["MaxDecompressedBytes"] * 4)))
                second = await closed_with(attacker)
            await neighbour.send(orjson.dumps({"eid": eid, "ename": "after-bomb"}).decode())
            return first, second, await acked(neighbour)

    assert asyncio.run(run()) == (1009, 1009, {"ack": 1, "accepted": 1})
    assert httpx.get(tracker.url("/health")).status_code == 200
    assert events_table(tracker, [eid])[eid]["ename"] == "after-bomb"
    assert "websocket message too large" in tracker.log()


def test_a_message_over_the_size_limit_closes_1009(tracker: TrackerProcess) -> None:
    async def run() -> int | None:
        async with connect(tracker.ws_url(), max_size=None) as socket:
            await socket.send("x" * (LIMITS["MaxWebSocketMessageBytes"] + 1))
            return await closed_with(socket)

    assert asyncio.run(run()) == 1009


def test_an_idle_socket_is_closed_1001_after_the_idle_timeout(tracker: TrackerProcess) -> None:
    async def run() -> tuple[int | None, str | None, float]:
        loop = asyncio.get_running_loop()
        async with connect(tracker.ws_url(), ping_interval=None) as socket:
            started = loop.time()
            code = await closed_with(socket)
            return code, socket.close_reason, loop.time() - started

    code, reason, waited = asyncio.run(run())
    assert (code, reason) == (1001, "idle")
    assert LIMITS["WebSocketIdleSeconds"] - 0.5 <= waited < LIMITS["WebSocketIdleSeconds"] + 20


def test_options_is_the_go_preflight_and_plain_get_says_upgrade(tracker: TrackerProcess) -> None:
    preflight = httpx.options(tracker.url("/tr/v1/ws"), headers={"origin": "https://shop.example"})
    assert preflight.status_code == 200 and preflight.text == ""
    assert preflight.headers["access-control-max-age"] == "1728000"
    assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
    plain = httpx.get(tracker.url("/tr/v1/ws"))
    assert plain.status_code == 426 and plain.json() == {"error": "this path takes a WebSocket upgrade"}


def test_the_handshake_is_rate_limited(tmp_path: Path) -> None:
    limited = start_tracker(tmp_path / "t", RateLimits=[{"Limit": "3/minute", "Routes": ["tracking"]}])

    async def handshake() -> int:
        try:
            async with connect(limited.ws_url()):
                return 101
        except InvalidStatus as refused:
            assert refused.response.headers["retry-after"]
            assert orjson.loads(refused.response.body or b"{}")["error"] == "rate limited"
            return refused.response.status_code

    try:
        assert [asyncio.run(handshake()) for _ in range(4)] == [101, 101, 101, 429]
    finally:
        limited.kill9()


def test_a_full_spool_closes_1013_and_every_acked_event_is_stored_once(tmp_path: Path) -> None:
    limited = start_tracker(tmp_path / "t", MaxSpoolBytes=1024 * 1024)
    database = Path(limited.config["Notify"][0]["Path"])
    limited.stop()
    database.rename(database.with_name("away.duckdb"))
    database.mkdir()  # a directory where the DuckDB file should be: the sink cannot open, nothing ships
    limited.start()
    acked_eids: list[str] = []
    pad = "p" * 2000

    async def run() -> int | None:
        async with connect(limited.ws_url(), subprotocols=ACK) as socket:
            for _ in range(100):  # 100 batches of 200 KB: far past 1 MiB
                eids = new_eids(100)
                await socket.send(encode_block(orjson.dumps([{"eid": e, "ename": "fill", "pad": pad} for e in eids])))
                try:
                    answer = await acked(socket)
                except ConnectionClosed:
                    return socket.close_code
                assert answer["accepted"] == 100
                acked_eids.extend(eids)
        return None

    try:
        assert asyncio.run(run()) == 1013
        assert limited.status()["spool"]["full"]
        assert "spool full: closing websocket" in limited.log()
    finally:
        assert limited.stop() == 1  # events not shipped: says so
    database.rmdir()
    limited.start()
    limited.wait_shipped()
    limited.stop()
    stored = stored_ids(database)
    assert 0 < len(acked_eids) < 100 * 100
    assert all(stored[e] == 1 for e in acked_eids)
    assert sum(stored.values()) == len(acked_eids)  # the refused batch was not kept: never accept and drop


def test_a_handshake_needs_a_free_connection_slot_but_an_open_socket_holds_none(tmp_path: Path) -> None:
    gated = start_tracker(tmp_path / "t", MaximumConnections=1)

    async def handshake() -> int:
        try:
            async with connect(gated.ws_url()):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    try:
        with socket.create_connection(("127.0.0.1", gated.port)) as held:  # a POST whose body has not all come
            held.sendall(b"POST /tr/v1/tr/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
            held.sendall(b"Content-Length: 20\r\n\r\n{")
            wait_until(lambda: asyncio.run(handshake()) == 503, 10, what="the one slot held")
            held.sendall(b'"ename": "held"}   ')
            assert held.recv(100).startswith(b"HTTP/1.1 200")

        async def open_then_handshake() -> tuple[int, int]:
            async with connect(gated.ws_url()):  # an open socket holds no slot: the next one still gets in
                return 101, await handshake()

        assert asyncio.run(open_then_handshake()) == (101, 101)
    finally:
        gated.kill9()
