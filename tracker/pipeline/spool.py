"""The spool writer: a request is acknowledged only after its records are appended here.

Guarantee by Durability: "write" — the bytes are in the OS (os.write) before append() returns and fsynced
about once a second, so they survive kill -9; "fsync" — append() returns after an fsync shared by every append
in a ~2 ms window (group commit), so they survive power loss; write() writes at once and hands back that commit
to await, so a caller keeps none of its records alive through the wait; "memory" — MemorySpool, in-process only.
An append that fails (disk full, I/O error) leaves the segment as it was: it is truncated back to where the
record started (or, if even that fails, the writer moves to a new segment) and SpoolUnavailable is raised.
On open, a torn tail of the newest segment (a crash mid-write) is truncated and appends go to a new segment,
so a cursor saved past the cut never skips a later record. max_bytes bounds the bytes not yet shipped (after
the oldest saved cursor), not the files: shipped segments roll and are deleted, so a small share keeps taking.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from tracker.pipeline.errors import SpoolFull, SpoolUnavailable
from tracker.pipeline.groupcommit import GroupCommit
from tracker.pipeline.memory import MemorySpool
from tracker.pipeline.private import FILE_MODE, open_private, private_directory
from tracker.pipeline.reader import CURSORS, bytes_after, saved_cursors, segment_sizes
from tracker.pipeline.segments import encode, list_segments, scan, segment_path
from tracker.records import Record

__all__ = ["MemorySpool", "Spool", "SpoolFull", "SpoolUnavailable", "segment_bytes_for"]
log = logging.getLogger("tracker.pipeline")
SEGMENT_BYTES = 64 * 1024 * 1024
MIN_SEGMENT_BYTES = 64 * 1024
BACKGROUND_SECONDS = 1.0
REMEASURE_SECONDS = 0.05  # while refusing, how often an append may look again at what the shipper has taken
APPEND_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def segment_bytes_for(max_bytes: int) -> int:
    """Segments small enough that shipped ones are deleted long before the unshipped bytes reach max_bytes."""
    return max(MIN_SEGMENT_BYTES, min(SEGMENT_BYTES, max_bytes // 8))


class Spool:
    def __init__(
        self,
        directory: Path,
        *,
        durability: Literal["write", "fsync"] = "write",
        max_bytes: int = 1024**3,
        segment_bytes: int | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.durability = durability
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or segment_bytes_for(max_bytes)
        self._background_fsyncs = 0
        self._fd = -1
        self._sequence = 0
        self._segment_size = 0
        self._bytes = 0
        self._unshipped = 0
        self._measured_at = 0.0
        self._cursors_mtime = 0
        self._over_limit = False
        self._refused_bytes = 0  # the size of the append refused for room: "full" lasts until it would fit
        self._disk_error = ""  # set for the length of a disk-full episode
        self._roll_first = False
        self._group_commit = GroupCommit(lambda: self._fd)
        self._background: asyncio.Task[None] | None = None
        self._wakeups: list[asyncio.Event] = []

    @property
    def fsyncs(self) -> int:
        return self._group_commit.fsyncs + self._background_fsyncs

    @property
    def bytes_on_disk(self) -> int:
        return self._bytes

    @property
    def unshipped_bytes(self) -> int:
        return self._unshipped

    @property
    def full(self) -> bool:
        """Appends are being refused (past max_bytes unshipped, or the disk refuses writes)."""
        return self._over_limit or bool(self._disk_error)

    def status(self) -> dict[str, Any]:
        return {
            "bytes": self._bytes,
            "unshipped_bytes": self._unshipped,
            "max_bytes": self.max_bytes,
            "full": self.full,
            "reason": self._disk_error or ("unshipped bytes at max_bytes" if self._over_limit else ""),
        }

    def open(self) -> None:
        private_directory(self.directory)
        sequences = list_segments(self.directory)
        for sequence in sequences:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(segment_path(self.directory, sequence), FILE_MODE)
        self._sequence = sequences[-1] if sequences else 0
        path = segment_path(self.directory, self._sequence)
        if path.exists() and path.stat().st_size > 0:
            self._recover(path)
            self._sequence += 1
        self._fd = open_private(segment_path(self.directory, self._sequence), APPEND_FLAGS)
        self._segment_size = os.fstat(self._fd).st_size
        self._bytes, self._unshipped = self._measure()

    def _recover(self, path: Path) -> None:
        size = path.stat().st_size
        found = scan(path)
        if found.skipped:
            log.warning(
                "spool bad bytes left for readers to skip", extra={"segment": path.name, "bytes": found.skipped}
            )
        if found.valid_end < size:
            log.warning("spool torn tail truncated", extra={"segment": path.name, "bytes": size - found.valid_end})
            os.truncate(path, found.valid_end)

    def subscribe(self, event: asyncio.Event) -> None:
        """Set `event` after every append (the in-process shipper's wake-up)."""
        self._wakeups.append(event)

    async def append(self, records: Sequence[Record]) -> None:
        """Write the records and return once they are durable per `durability` (see write)."""
        commit = self.write(records)
        del records  # nothing of them stays alive through the group commit
        if commit is not None:
            await commit

    def write(self, records: Sequence[Record]) -> asyncio.Future[None] | None:
        """Encode and write the records now (raises SpoolFull, SpoolUnavailable). With "fsync", the group commit
        to await before answering (it raises SpoolUnavailable if the fsync fails); with "write", None: the bytes
        are already as durable as promised. The caller need not keep the records: they are bytes in the file."""
        data = encode(records)
        if self._unshipped + len(data) > self.max_bytes and not self._room_for(len(data)):
            raise SpoolFull(f"spool holds {self._unshipped} unshipped bytes (max {self.max_bytes})")
        try:
            self._write(data)
        except OSError as error:
            self._disk_refused(error)
            raise SpoolUnavailable(f"spool cannot write: {error.strerror or error}") from error
        self._over_limit = False
        if self._disk_error:
            log.info("spool writing again", extra={"directory": self.directory.name, "after": self._disk_error})
            self._disk_error = ""
        if self._background is None:
            self._background = asyncio.get_running_loop().create_task(self._maintain())
        for event in self._wakeups:
            event.set()
        return self._group_commit.join() if self.durability == "fsync" else None

    def _room_for(self, size: int) -> bool:
        if time.monotonic() - self._measured_at >= REMEASURE_SECONDS or self._cursors_moved():
            self._bytes, self._unshipped = self._measure()  # the shipper may have taken more since
        over = self._unshipped + size > self.max_bytes
        if over and not self._over_limit:
            log.warning(
                "spool full: refusing events until sinks catch up",
                extra={"directory": self.directory.name, "unshipped_bytes": self._unshipped, "max": self.max_bytes},
            )
        self._over_limit = over
        self._refused_bytes = size if over else 0
        return not over

    def _write(self, data: bytes) -> None:
        if self._roll_first or (self._segment_size and self._segment_size + len(data) > self.segment_bytes):
            self._roll()
        start = self._segment_size
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            self._undo(start)
            raise
        self._segment_size += len(data)
        self._bytes += len(data)
        self._unshipped += len(data)

    def _undo(self, start: int) -> None:
        """Take back a partly written record; failing that, never append after it again."""
        try:
            os.ftruncate(self._fd, start)
        except OSError as error:
            log.error("spool could not take back a partial record", extra={"error": str(error)})
            self._roll_first = True
            return
        # A new segment lets the shipper delete this one once shipped: that frees the disk even at max.
        self._roll_first = start > 0

    def _disk_refused(self, error: OSError) -> None:
        if not self._disk_error:
            log.error(
                "spool cannot write: refusing events until the disk takes writes again",
                extra={"directory": self.directory.name, "error": f"{type(error).__name__}: {error.strerror or error}"},
            )
        self._disk_error = error.strerror or type(error).__name__

    async def close(self) -> None:
        if self._background is not None:
            self._background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._background
            self._background = None
        if self._fd >= 0:
            try:
                await asyncio.to_thread(os.fsync, self._fd)
            except OSError as error:
                log.error("spool fsync failed at close", extra={"error": str(error)})
            os.close(self._fd)
            self._fd = -1

    def _roll(self) -> None:
        fd = open_private(segment_path(self.directory, self._sequence + 1), APPEND_FLAGS)
        old, self._fd = self._fd, fd
        self._sequence += 1
        self._segment_size = 0
        self._roll_first = False
        try:
            os.fsync(old)  # rare (once per segment): the old segment is final and durable before the next
        except OSError as error:
            log.error("spool fsync failed at roll", extra={"error": str(error)})
        finally:
            os.close(old)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(BACKGROUND_SECONDS)
            await self.maintain()

    async def maintain(self) -> None:
        """What runs every BACKGROUND_SECONDS: the `write` mode's fsync, and a fresh measure of unshipped bytes,
        which ends a "full" episode once the append that was refused would fit."""
        try:
            if self.durability == "write":
                await asyncio.to_thread(os.fsync, self._fd)
                self._background_fsyncs += 1
            self._bytes, self._unshipped = await asyncio.to_thread(self._measure)
            if self._over_limit and self._unshipped + self._refused_bytes <= self.max_bytes:
                self._over_limit = False
                log.info("spool accepting again", extra={"directory": self.directory.name})
        except OSError as error:
            log.error("spool maintenance failed", extra={"error": str(error)})

    def _cursors_moved(self) -> bool:
        """A cursor file was replaced since the last measure (a rename changes its directory's mtime)."""
        try:
            changed = os.stat(self.directory / CURSORS).st_mtime_ns
        except OSError:
            return False
        return changed != self._cursors_mtime

    def _measure(self) -> tuple[int, int]:
        """(bytes in segment files, bytes after the oldest saved cursor); no cursor yet: nothing is shipped."""
        self._measured_at = time.monotonic()
        with contextlib.suppress(OSError):
            self._cursors_mtime = os.stat(self.directory / CURSORS).st_mtime_ns
        sizes = segment_sizes(self.directory)
        cursors = saved_cursors(self.directory).values()
        oldest = min(cursors, key=lambda c: (c.segment, c.offset), default=None)
        return sum(sizes.values()), bytes_after(sizes, oldest)
