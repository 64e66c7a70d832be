"""What of a request is still alive while it waits: the Records (and rows) it wrote to the spool, counted at the
moments that matter, when its answer is sent and, with Durability "fsync", when the group commit it awaits
starts. Rows kept alive across such an await on many connections fill the garbage collector's generations
(full passes were 43% of a Granian worker's time). Shared by the route and proxy tests; also an in-process
ASGI call for driving the app without an engine."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import MutableMapping
from typing import Any

from tests.asgi import asgi_scope
from tracker.pipeline.spool import Spool
from tracker.records import Record


def records_alive() -> int:
    return sum(type(o) is Record for o in gc.get_objects())


class CommitWatch:
    """Remembers the rows of every write to `spool` (Durability "fsync") and, each time a group commit starts
    (every writer of its window is then awaiting it), counts those still alive: (Records, rows) per commit.

    A row is known by its address and a copy of its content, so a new dict at a freed row's address is not
    taken for it. Rows of plain values are untracked by the collector and so invisible here, but cost it nothing.
    """

    def __init__(self, spool: Spool) -> None:
        assert spool.durability == "fsync"
        self.written: list[dict[str, Any]] = []  # a copy of every row written
        self._by_address: dict[int, dict[str, Any]] = {}  # the latest row written at each address
        self.alive_at_commits: list[tuple[int, int]] = []
        write, group = spool.write, spool._group_commit
        start = group._start

        def watched_write(records: list[Record]) -> asyncio.Future[None] | None:
            for record in records:
                copy = self._by_address[id(record.row)] = dict(record.row)
                self.written.append(copy)
            return write(records)

        def watched_start() -> None:
            self.alive_at_commits.append(self.alive())
            start()

        spool.write = watched_write  # type: ignore[method-assign]
        group._start = watched_start  # type: ignore[method-assign]

    def alive(self) -> tuple[int, int]:
        records = rows = 0
        written = self._by_address
        for thing in gc.get_objects():
            if type(thing) is Record and id(thing.row) in written:
                records += 1
            elif type(thing) is dict and id(thing) in written and thing == written[id(thing)]:
                rows += 1
        return records, rows

    @property
    def most_alive(self) -> tuple[int, int]:
        assert self.alive_at_commits, "no group commit started: nothing was written with fsync"
        return max(r for r, _ in self.alive_at_commits), max(w for _, w in self.alive_at_commits)


async def call(
    app: Any, method: str, path: str, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> tuple[int, bytes]:
    """One HTTP request through the ASGI app in this process: (status, body)."""
    query = b""
    if "?" in path:
        path, _, text = path.partition("?")
        query = text.encode()
    given = headers if headers is not None else [(b"host", b"localhost"), (b"user-agent", b"test/1.0")]
    scope = asgi_scope("http", path, [*given, (b"content-length", str(len(body)).encode())], method=method)
    scope["query_string"] = query
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()  # the client stays connected until the answer is sent
        raise AssertionError("unreachable")

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer["status"], answer["body"]
