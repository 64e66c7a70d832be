"""Durability "memory": the spool kept in this process's memory (benchmarks only; a crash loses it).

It is shipped through the same loop as the disk spool: MemorySource gives the shipper the same read / cursor /
release interface as a spool directory, with the entry index as the cursor offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from tracker.pipeline.errors import SpoolFull
from tracker.pipeline.reader import Cursor, Rows
from tracker.records import Record

MEMORY_KEY = "memory"


class MemorySpool:
    """Records kept in this process until every sink has taken them."""

    def __init__(self, max_bytes: int = 1024**3) -> None:
        self.max_bytes = max_bytes
        self.entries: list[tuple[int, Rows]] = []
        self.first_index = 0
        self._bytes = 0
        self._over_limit = False
        self._wakeups: list[asyncio.Event] = []

    @property
    def bytes_on_disk(self) -> int:
        return self._bytes

    @property
    def unshipped_bytes(self) -> int:
        return self._bytes

    @property
    def full(self) -> bool:
        return self._over_limit

    @property
    def end(self) -> int:
        return self.first_index + len(self.entries)

    def status(self) -> dict[str, Any]:
        full = self.full
        return {
            "bytes": self._bytes,
            "unshipped_bytes": self._bytes,
            "max_bytes": self.max_bytes,
            "full": full,
            "reason": "unshipped bytes at max_bytes" if full else "",
        }

    def subscribe(self, event: asyncio.Event) -> None:
        self._wakeups.append(event)

    async def append(self, records: Sequence[Record]) -> None:
        self.write(records)

    def write(self, records: Sequence[Record]) -> None:
        """Keep the records (raises SpoolFull); None: nothing to wait for, as Spool.write answers for "write"."""
        size = len(orjson.dumps([r.row for r in records]))
        self._over_limit = self._bytes + size > self.max_bytes
        if self._over_limit:
            raise SpoolFull(f"memory spool holds {self._bytes} bytes (max {self.max_bytes})")
        self.entries.append((size, [(r.table, r.row) for r in records]))
        self._bytes += size
        for event in self._wakeups:
            event.set()

    def release(self, upto: int) -> None:
        """Forget entries before index `upto` (every sink has shipped them)."""
        drop = max(min(upto - self.first_index, len(self.entries)), 0)
        if drop:
            self._bytes -= sum(size for size, _ in self.entries[:drop])
            del self.entries[:drop]
            self.first_index += drop
        if self._bytes < self.max_bytes:
            self._over_limit = False

    async def close(self) -> None:
        return None


class MemorySource:
    """The shipper's view of a MemorySpool: cursors live in memory too (nothing survives the process)."""

    key = MEMORY_KEY
    corrupt_records = 0

    def __init__(self, spool: MemorySpool) -> None:
        self.spool = spool

    def start(self) -> Cursor:
        return Cursor(0, self.spool.first_index)

    def load_cursor(self, sink: str) -> Cursor | None:
        return None

    def save_cursor(self, sink: str, cursor: Cursor) -> None:
        return None

    async def read(self, cursor: Cursor, max_rows: int) -> tuple[Rows, Cursor]:
        spool = self.spool
        index = max(cursor.offset, spool.first_index)
        rows: Rows = []
        while index < spool.end and len(rows) < max_rows:
            rows.extend(spool.entries[index - spool.first_index][1])
            index += 1
        return rows, Cursor(0, index)

    def lag_bytes(self, cursor: Cursor | None) -> int:
        spool = self.spool
        start = max((cursor.offset if cursor else 0) - spool.first_index, 0)
        return sum(size for size, _ in spool.entries[start:])

    def release(self, cursors: list[Cursor | None]) -> None:
        if cursors and all(c is not None for c in cursors):
            self.spool.release(min(c.offset for c in cursors if c is not None))
