"""What the shipper ships from: each spool directory (worker-N, control) or, with Durability "memory", the
in-process spool. One interface, so one shipping loop serves both: read rows after a cursor, load and save a
sink's cursor, measure the lag, and release what every sink has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Protocol

from tracker.pipeline.reader import CURSORS, Cursor, CursorFile, Rows, SpoolReader, delete_shipped
from tracker.pipeline.segments import list_segments, segment_path

log = logging.getLogger("tracker.pipeline")
WORKER_PREFIX = "worker-"
CONTROL_DIRECTORY = "control"  # the control plane's own spool: short links and accounts


class Source(Protocol):
    key: str

    @property
    def corrupt_records(self) -> int: ...

    def start(self) -> Cursor: ...

    def load_cursor(self, sink: str) -> Cursor | None: ...

    def save_cursor(self, sink: str, cursor: Cursor) -> None: ...

    async def read(self, cursor: Cursor, max_rows: int) -> tuple[Rows, Cursor]: ...

    def lag_bytes(self, cursor: Cursor | None) -> int: ...

    def release(self, cursors: list[Cursor | None]) -> None: ...


class DirectorySource:
    """One spool directory, its segments read from a thread, its cursors in `<dir>/cursors/<sink>.json`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = directory.name
        self.reader = SpoolReader(directory)

    @property
    def corrupt_records(self) -> int:
        return self.reader.corrupt_records

    def start(self) -> Cursor:
        return self.reader.start()

    def load_cursor(self, sink: str) -> Cursor | None:
        return CursorFile(self.directory, sink).load()

    def save_cursor(self, sink: str, cursor: Cursor) -> None:
        CursorFile(self.directory, sink).save(cursor)

    async def read(self, cursor: Cursor, max_rows: int) -> tuple[Rows, Cursor]:
        if self._nothing_after(cursor):
            return [], cursor
        return await asyncio.to_thread(self.reader.read, cursor, max_rows)

    def _nothing_after(self, cursor: Cursor) -> bool:
        """Nothing written after `cursor`: its segment is the newest and ends there. Two metadata calls on the
        loop (~10 µs) instead of a thread's round trip (~80 µs) for each of the shipper's idle polls (40 a second
        per source and sink)."""
        sequences = list_segments(self.directory)
        if not sequences or sequences[-1] != cursor.segment:
            return False
        try:
            return os.stat(segment_path(self.directory, cursor.segment)).st_size == cursor.offset
        except FileNotFoundError:
            return False

    def lag_bytes(self, cursor: Cursor | None) -> int:
        return self.reader.lag_bytes(cursor)

    def release(self, cursors: list[Cursor | None]) -> None:
        delete_shipped(self.directory, cursors)

    def forget_other_sinks(self, sinks: set[str]) -> None:
        """Drop cursors of sinks no longer configured: the spool's limit counts from the oldest cursor."""
        try:
            names = os.listdir(self.directory / CURSORS)
        except FileNotFoundError:
            return
        for name in names:
            if name.endswith(".json") and name[: -len(".json")] not in sinks:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.directory / CURSORS / name)
                log.info("cursor of a sink no longer configured removed", extra={"source": self.key, "file": name})


def spool_directories(root: Path) -> list[Path]:
    try:
        names = sorted(n for n in os.listdir(root) if n.startswith(WORKER_PREFIX) or n == CONTROL_DIRECTORY)
    except FileNotFoundError:
        return []
    return [root / n for n in names if (root / n).is_dir()]
