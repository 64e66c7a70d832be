"""The spool writer: a request is acknowledged only after its records are appended here.

Guarantee by Durability: "write" — the bytes are in the OS (os.write) before append() returns and fsynced
about once a second, so they survive kill -9; "fsync" — append() returns after an fsync shared by every append
in a ~2 ms window (group commit), so they survive power loss; "memory" — MemorySpool, in-process only.
On open, a torn tail of the newest segment (a crash mid-write) is truncated. Past max_bytes: SpoolFull.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import orjson

from tracker.pipeline.segments import encode, list_segments, segment_path, valid_length
from tracker.records import Record

log = logging.getLogger("tracker.pipeline")
SEGMENT_BYTES = 64 * 1024 * 1024
GROUP_COMMIT_SECONDS = 0.002
BACKGROUND_SECONDS = 1.0


class SpoolFull(Exception):
    """The spool holds max_bytes already: sinks are behind. Answer 503 and let clients retry."""


class Spool:
    def __init__(
        self,
        directory: Path,
        *,
        durability: Literal["write", "fsync"] = "write",
        max_bytes: int = 1024**3,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.directory = Path(directory)
        self.durability = durability
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsyncs = 0
        self._fd = -1
        self._sequence = 0
        self._segment_size = 0
        self._bytes = 0
        self._sync_waiter: asyncio.Future[None] | None = None
        self._background: asyncio.Task[None] | None = None
        self._wakeups: list[asyncio.Event] = []

    @property
    def bytes_on_disk(self) -> int:
        return self._bytes

    def open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        sequences = list_segments(self.directory)
        self._sequence = sequences[-1] if sequences else 0
        path = segment_path(self.directory, self._sequence)
        if path.exists():
            keep = valid_length(path)
            if keep < path.stat().st_size:
                log.warning(
                    "spool torn tail truncated", extra={"segment": path.name, "bytes": path.stat().st_size - keep}
                )
                os.truncate(path, keep)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._segment_size = os.fstat(self._fd).st_size
        self._bytes = self._measure()

    def subscribe(self, event: asyncio.Event) -> None:
        """Set `event` after every append (the in-process shipper's wake-up)."""
        self._wakeups.append(event)

    async def append(self, records: Sequence[Record]) -> None:
        data = encode(records)
        if self._bytes + len(data) > self.max_bytes:
            self._bytes = self._measure()  # the shipper may have deleted segments since
            if self._bytes + len(data) > self.max_bytes:
                raise SpoolFull(f"spool holds {self._bytes} bytes (max {self.max_bytes})")
        if self._segment_size and self._segment_size + len(data) > self.segment_bytes:
            self._roll()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._segment_size += len(data)
        self._bytes += len(data)
        if self._background is None:
            self._background = asyncio.get_running_loop().create_task(self._maintain())
        for event in self._wakeups:
            event.set()
        if self.durability == "fsync":
            await self._group_commit()

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None
        if self._fd >= 0:
            await asyncio.to_thread(os.fsync, self._fd)
            os.close(self._fd)
            self._fd = -1

    def _roll(self) -> None:
        os.fsync(self._fd)  # rare (once per segment): the old segment is final and durable before the next
        os.close(self._fd)
        self._sequence += 1
        self._fd = os.open(segment_path(self.directory, self._sequence), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._segment_size = 0

    async def _group_commit(self) -> None:
        if self._sync_waiter is None:
            self._sync_waiter = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(GROUP_COMMIT_SECONDS, self._start_sync)
        await asyncio.shield(self._sync_waiter)

    def _start_sync(self) -> None:
        # Appends after this point join the next window: their bytes may not be covered by this fsync.
        waiter, self._sync_waiter = self._sync_waiter, None
        assert waiter is not None
        self.fsyncs += 1
        task = asyncio.ensure_future(asyncio.to_thread(os.fsync, self._fd))

        def done(finished: asyncio.Future[None]) -> None:
            error = finished.exception()
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(None)

        task.add_done_callback(done)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(BACKGROUND_SECONDS)
            try:
                if self.durability == "write":
                    await asyncio.to_thread(os.fsync, self._fd)
                    self.fsyncs += 1
                self._bytes = await asyncio.to_thread(self._measure)
            except OSError as error:
                log.error("spool maintenance failed", extra={"error": str(error)})

    def _measure(self) -> int:
        total = 0
        for sequence in list_segments(self.directory):
            with contextlib.suppress(FileNotFoundError):
                total += segment_path(self.directory, sequence).stat().st_size
        return total


class MemorySpool:
    """Durability "memory": records kept in this process until every sink has taken them (benchmarks only)."""

    def __init__(self, max_bytes: int = 1024**3) -> None:
        self.max_bytes = max_bytes
        self.entries: list[tuple[int, list[tuple[str, dict]]]] = []  # type: ignore[type-arg]
        self.first_index = 0
        self._bytes = 0
        self._wakeups: list[asyncio.Event] = []

    @property
    def bytes_on_disk(self) -> int:
        return self._bytes

    @property
    def end(self) -> int:
        return self.first_index + len(self.entries)

    def subscribe(self, event: asyncio.Event) -> None:
        self._wakeups.append(event)

    async def append(self, records: Sequence[Record]) -> None:
        size = len(orjson.dumps([r.row for r in records]))
        if self._bytes + size > self.max_bytes:
            raise SpoolFull(f"memory spool holds {self._bytes} bytes (max {self.max_bytes})")
        self.entries.append((size, [(r.table, r.row) for r in records]))
        self._bytes += size
        for event in self._wakeups:
            event.set()

    def release(self, upto: int) -> None:
        """Forget entries before index `upto` (every sink has shipped them)."""
        while self.first_index < upto and self.entries:
            size, _ = self.entries.pop(0)
            self._bytes -= size
            self.first_index += 1

    async def close(self) -> None:
        return None
