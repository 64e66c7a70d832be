"""Tailing a spool directory from a cursor, and the cursor files that make shipping resumable.

A reader never changes the spool. A partial record at the tail of the newest segment is a write in progress
(the writer is another process), so it waits there. Bad bytes are skipped by resyncing on the next valid
record, never by jumping to the end: a bad record never hides the good ones after it. A cursor past the end of
its segment (a tail truncated after a crash) moves on to the next segment once the writer has started one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zlib import crc32

import orjson

from tracker.pipeline.private import write_private
from tracker.pipeline.segments import HEADER, MAX_PAYLOAD, is_partial, list_segments, resync
from tracker.pipeline.segments import segment_path as segment_path

log = logging.getLogger("tracker.pipeline")
READ_CHUNK = 4 * 1024 * 1024
CURSORS = "cursors"
Rows = list[tuple[str, dict[str, Any]]]
Stop = Literal["enough", "more", "end", "rescan"]


@dataclass(slots=True, frozen=True)
class Cursor:
    segment: int
    offset: int


class CursorFile:
    """`<dir>/cursors/<sink>.json`, replaced atomically."""

    def __init__(self, directory: Path, sink: str) -> None:
        self.path = directory / CURSORS / f"{sink}.json"

    def load(self) -> Cursor | None:
        return _load_cursor(self.path)

    def save(self, cursor: Cursor) -> None:
        if not self.path.parent.is_dir():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(self.path, orjson.dumps({"segment": cursor.segment, "offset": cursor.offset}))


def _load_cursor(path: Path) -> Cursor | None:
    try:
        raw = orjson.loads(path.read_bytes())
        return Cursor(int(raw["segment"]), int(raw["offset"]))
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def saved_cursors(directory: Path) -> dict[str, Cursor]:
    """Every sink's saved cursor in a spool directory, by sink name."""
    try:
        names = [n for n in os.listdir(directory / CURSORS) if n.endswith(".json")]
    except FileNotFoundError:
        return {}
    found = {name[: -len(".json")]: _load_cursor(directory / CURSORS / name) for name in names}
    return {sink: cursor for sink, cursor in found.items() if cursor is not None}


def bytes_after(sizes: dict[int, int], cursor: Cursor | None) -> int:
    """Bytes of the segments (sequence -> size) that `cursor` has not passed yet."""
    total = 0
    for sequence, size in sizes.items():
        if cursor is None or sequence > cursor.segment:
            total += size
        elif sequence == cursor.segment:
            total += max(size - cursor.offset, 0)
    return total


def segment_sizes(directory: Path) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for sequence in list_segments(directory):
        with contextlib.suppress(FileNotFoundError):
            sizes[sequence] = segment_path(directory, sequence).stat().st_size
    return sizes


class SpoolReader:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.corrupt_records = 0

    def start(self) -> Cursor:
        sequences = list_segments(self.directory)
        return Cursor(sequences[0] if sequences else 0, 0)

    def read(self, cursor: Cursor, max_rows: int) -> tuple[Rows, Cursor]:
        """Whole records after `cursor`, about max_rows rows (records are never split), and the next cursor."""
        rows: Rows = []
        whole = False
        while len(rows) < max_rows:
            sequences = list_segments(self.directory)
            if cursor.segment not in sequences:
                later = [s for s in sequences if s > cursor.segment]
                if not later:
                    return rows, cursor
                cursor = Cursor(later[0], 0)
            final = sequences[-1] > cursor.segment  # its writer has moved on: nothing more will come
            before = cursor
            data, at_eof = self._read_from(cursor, whole)
            taken, cursor, stop = self._take(data, cursor, max_rows - len(rows), at_eof=at_eof, final=final)
            rows.extend(taken)
            whole = stop == "rescan"
            if stop == "enough" or (stop == "end" and not final) or (stop == "more" and cursor == before):
                return rows, cursor
            if stop == "end":
                cursor = Cursor(min(s for s in sequences if s > cursor.segment), 0)
        return rows, cursor

    def lag_bytes(self, cursor: Cursor | None) -> int:
        return bytes_after(segment_sizes(self.directory), cursor)

    def _take(
        self, data: bytes, cursor: Cursor, wanted: int, *, at_eof: bool, final: bool
    ) -> tuple[Rows, Cursor, Stop]:
        rows: Rows = []
        view = memoryview(data)
        position, size = 0, len(data)
        while position < size:
            # the valid record here, inline (record_end's checks): this loop runs once per request in the spool
            start = position + HEADER.size
            length, crc = HEADER.unpack_from(view, position) if start <= size else (0, 0)
            end = start + length
            if 0 < length <= MAX_PAYLOAD and end <= size and crc32(view[start:end]) == crc:
                try:
                    rows += [(table, row) for table, row in orjson.loads(view[start:end])]
                except (orjson.JSONDecodeError, TypeError, ValueError):
                    self._corrupt(cursor.segment, cursor.offset + position, end - position, "payload is not rows")
                position = end
                if len(rows) >= wanted:
                    return rows, Cursor(cursor.segment, cursor.offset + position), "enough"
                continue
            here = Cursor(cursor.segment, cursor.offset + position)
            partial = is_partial(view, position)
            if partial and not at_eof:
                return rows, here, "more"  # a record across the read chunk's end: read on from it
            following = resync(data, position)
            if following is None and not at_eof:
                return rows, here, "rescan"  # bad bytes: look for the next record in the whole rest
            if following is None and not final:
                return rows, here, "end"  # a write in progress (or bad bytes nothing valid follows yet)
            skip_to = following if following is not None else len(data)
            self._corrupt(cursor.segment, here.offset, skip_to - position, "crc or length mismatch")
            position = skip_to
        return rows, Cursor(cursor.segment, cursor.offset + position), "end" if at_eof else "more"

    def _read_from(self, cursor: Cursor, whole: bool) -> tuple[bytes, bool]:
        """The bytes from `cursor` (at least one whole record when one is there) and whether they reach the end."""
        try:
            with open(segment_path(self.directory, cursor.segment), "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                handle.seek(cursor.offset)
                data = handle.read(-1 if whole else READ_CHUNK)
                if len(data) >= HEADER.size:
                    (length,) = struct.unpack_from("<I", data)
                    needed = HEADER.size + length
                    if len(data) < needed <= HEADER.size + MAX_PAYLOAD:
                        data += handle.read(needed - len(data))
                return data, cursor.offset + len(data) >= size
        except FileNotFoundError:
            return b"", True

    def _corrupt(self, segment: int, offset: int, length: int, reason: str) -> None:
        self.corrupt_records += 1
        log.error(
            "spool bytes skipped",
            extra={
                "directory": self.directory.name,
                "segment": segment,
                "offset": offset,
                "bytes": length,
                "reason": reason,
            },
        )


def delete_shipped(directory: Path, cursors: list[Cursor | None]) -> int:
    """Delete segments every cursor has passed, never the newest one; returns how many were deleted."""
    if not cursors or any(c is None for c in cursors):
        return 0
    oldest_needed = min(c.segment for c in cursors if c is not None)
    sequences = list_segments(directory)
    deleted = 0
    for sequence in sequences[:-1]:
        if sequence >= oldest_needed:
            break
        with contextlib.suppress(FileNotFoundError):
            segment_path(directory, sequence).unlink()
            deleted += 1
    return deleted
