"""/tr/v1/ws answers (tracker/routes/stream.py): messages queued back to back are stored and answered one by one
in order, and nothing of a message's events is alive while its answer is sent (on Granian a send suspends the
task: batches alive across it on many sockets kept the garbage collector busy). Driven through the real app and
spool in this process, every message queued before the app reads, so nothing depends on timing."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.asgi import asgi_scope
from tests.harness import base_config, free_port
from tests.routes.alive import CommitWatch, records_alive
from tracker.app import create_app
from tracker.config import from_mapping
from tracker.events.frames import encode_block
from tracker.pipeline.segments import list_segments, parse, segment_path

EVENTS = 100
LIMITS = {"MaxDecompressedBytes": 64 * 1024}


def message(index: int) -> dict[str, Any]:
    events = [{"ename": "view", "url": f"https://shop.example/p/{i}", "params": {"m": index}} for i in range(EVENTS)]
    return {"type": "websocket.receive", "bytes": encode_block(orjson.dumps(events))}


def scope() -> dict[str, Any]:
    headers = [(b"host", b"localhost"), (b"user-agent", b"test/1.0")]
    return asgi_scope("websocket", "/tr/v1/ws", headers, subprotocols=["tracker.v1.ack"])


class Socket:
    """The client's side: what it queued for the app, what the app sent back, and the events alive meanwhile."""

    def __init__(self, queued: list[dict[str, Any]], expected: int) -> None:
        self.expected = expected  # answers before the client leaves (-1: it waits for the close)
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for item in [{"type": "websocket.connect"}, *queued]:
            self.incoming.put_nowait(item)
        self.sent: list[MutableMapping[str, Any]] = []
        self.records_alive_at_answers: list[int] = []
        self.answered = asyncio.Event()
        self.watch: CommitWatch | None = None

    async def send(self, item: MutableMapping[str, Any]) -> None:
        self.sent.append(item)
        if item["type"] == "websocket.send":
            self.records_alive_at_answers.append(records_alive())
        if item["type"] == "websocket.close" or len(self.answers) == self.expected:
            self.answered.set()

    @property
    def answers(self) -> list[dict[str, Any]]:
        return [orjson.loads(item["text"]) for item in self.sent if item["type"] == "websocket.send"]


def spool_appends(spool: Path) -> list[int]:
    """Rows of each spool record (one record per append), oldest first."""
    rows = []
    for sequence in list_segments(spool):
        data = segment_path(spool, sequence).read_bytes()
        rows += [len(orjson.loads(parsed.payload)) for parsed in parse(data)]
    return rows


def drive(
    workdir: Path, queued: list[dict[str, Any]], expected: int, durability: str = "write"
) -> tuple[Socket, list[int]]:
    """Run the app on one socket whose messages are all queued before it reads; (the socket, spool appends).
    With "fsync", socket.watch counts what is alive when each group commit starts."""
    config = from_mapping(base_config(workdir, free_port(), Durability=durability, Limits=LIMITS))
    app = create_app(config, run_shipper=False)
    socket = Socket(queued, expected)

    async def run() -> None:
        async with app.router.lifespan_context(app):
            if durability == "fsync":
                socket.watch = CommitWatch(app.state.runtime.spool)
            task = asyncio.create_task(app(scope(), socket.incoming.get, socket.send))
            await asyncio.wait_for(socket.answered.wait(), 30)
            socket.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
            await asyncio.wait_for(task, 30)

    asyncio.run(run())
    return socket, spool_appends(app.state.runtime.spool.directory)


def test_messages_queued_together_are_each_appended_then_acked_in_order(tmp_path: Path) -> None:
    socket, appends = drive(tmp_path, [message(i) for i in range(5)], expected=5)
    assert socket.answers == [{"ack": n, "accepted": EVENTS} for n in range(1, 6)]
    assert len(appends) == 5 and min(appends) >= EVENTS, appends  # each event's row (plus the rows it derives)


def test_no_event_of_a_message_is_alive_while_its_answer_is_sent(tmp_path: Path) -> None:
    before = records_alive()  # whatever other tests in this process left alive
    socket, _ = drive(tmp_path, [message(i) for i in range(5)], expected=5)
    assert len(socket.answers) == 5
    assert max(socket.records_alive_at_answers) <= before, (before, socket.records_alive_at_answers)


def test_with_fsync_no_event_of_a_message_is_alive_while_its_commit_or_answer_is_awaited(tmp_path: Path) -> None:
    before = records_alive()
    socket, appends = drive(tmp_path, [message(i) for i in range(5)], expected=5, durability="fsync")
    assert socket.answers == [{"ack": n, "accepted": EVENTS} for n in range(1, 6)] and len(appends) == 5
    assert socket.watch is not None and len(socket.watch.alive_at_commits) >= 5  # a commit per message, awaited
    assert socket.watch.most_alive == (0, 0), socket.watch.alive_at_commits
    assert max(socket.records_alive_at_answers) <= before, (before, socket.records_alive_at_answers)


def test_a_bad_frame_between_good_ones_is_answered_in_its_place(tmp_path: Path) -> None:
    queued = [message(0), {"type": "websocket.receive", "bytes": b"\x01"}, message(2)]
    socket, appends = drive(tmp_path, queued, expected=3)
    first, bad, last = socket.answers
    assert first == {"ack": 1, "accepted": EVENTS} and last == {"ack": 3, "accepted": EVENTS}
    assert bad["ack"] == 2 and bad["accepted"] == 0 and "length prefix" in bad["rejected"][0]["error"]
    assert len(appends) == 2


def test_a_bomb_closes_1009_after_the_messages_queued_before_it_are_stored_and_acked(tmp_path: Path) -> None:
    bomb = {"type": "websocket.receive", "bytes": encode_block(b" " * (LIMITS["MaxDecompressedBytes"] + 1))}
    socket, appends = drive(tmp_path, [message(0), message(1), bomb, message(3)], expected=-1)
    assert socket.answers == [{"ack": 1, "accepted": EVENTS}, {"ack": 2, "accepted": EVENTS}]
    assert socket.sent[-1] == {"type": "websocket.close", "code": 1009, "reason": "message too large"}
    assert len(appends) == 2


def test_a_failed_fsync_closes_1013_without_acknowledging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", refuse)
    socket, appends = drive(tmp_path, [message(0), message(1)], expected=-1, durability="fsync")
    assert socket.answers == []  # the client resends what was not acknowledged
    assert socket.sent[-1] == {"type": "websocket.close", "code": 1013, "reason": "spool unavailable; retry later"}
    assert len(appends) == 1  # written, never made durable: the next message was not read
