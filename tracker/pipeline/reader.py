"""Tailing a spool directory from a cursor, and the cursor files that make shipping resumable.

A reader never changes the spool: a partial record at the tail is a write in progress (the writer may be
another process), so it stops there and tries again later. A corrupt record is counted and skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tracker.pipeline.segments import (
    HEADER,
    MAX_PAYLOAD,
    Corrupt,
    decode,
    list_segments,
    parse,
    resync,
    segment_path,
)

log = logging.getLogger("tracker.pipeline")
READ_CHUNK = 4 * 1024 * 1024
Rows = list[tuple[str, dict[str, Any]]]


@dataclass(slots=True, frozen=True)
class Cursor:
    segment: int
    offset: int


class CursorFile:
    """`<dir>/cursors/<sink>.json`, replaced atomically."""

    def __init__(self, directory: Path, sink: str) -> None:
        self.path = directory / "cursors" / f"{sink}.json"

    def load(self) -> Cursor | None:
        try:
            raw = orjson.loads(self.path.read_bytes())
            return Cursor(int(raw["segment"]), int(raw["offset"]))
        except (FileNotFoundError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def save(self, cursor: Cursor) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_bytes(orjson.dumps({"segment": cursor.segment, "offset": cursor.offset}))
        os.replace(temporary, self.path)


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
        while len(rows) < max_rows:
            sequences = list_segments(self.directory)
            if not sequences:
                return rows, cursor
            if cursor.segment < sequences[0] or cursor.segment not in sequences:
                later = [s for s in sequences if s >= cursor.segment]
                if not later:
                    return rows, cursor
                cursor = Cursor(later[0], 0)
            newer = [s for s in sequences if s > cursor.segment]
            before = cursor
            data = self._read_from(cursor)
            taken, cursor, finished = self._take(data, cursor, max_rows - len(rows))
            rows.extend(taken)
            if finished:
                return rows, cursor
            if cursor != before and cursor.offset < self._size(cursor.segment):
                continue  # more in this segment: past a read chunk or a skipped corrupt record
            if not newer:
                return rows, cursor
            if cursor == before:
                # Nothing more here and a newer segment exists: this one is final (its writer moved on).
                if self._size(cursor.segment) > cursor.offset:
                    self._corrupt(cursor, "unreadable bytes at the end of a finished segment")
                cursor = Cursor(newer[0], 0)
        return rows, cursor

    def lag_bytes(self, cursor: Cursor | None) -> int:
        total = 0
        for sequence in list_segments(self.directory):
            size = self._size(sequence)
            if cursor is None or sequence > cursor.segment:
                total += size
            elif sequence == cursor.segment:
                total += max(size - cursor.offset, 0)
        return total

    def _take(self, data: bytes, cursor: Cursor, wanted: int) -> tuple[Rows, Cursor, bool]:
        rows: Rows = []
        position = cursor.offset
        try:
            for record in parse(data, cursor.offset):
                rows.extend(decode(record.payload))
                position = record.end
                if len(rows) >= wanted:
                    return rows, Cursor(cursor.segment, position), True
        except Corrupt as error:
            self._corrupt(Cursor(cursor.segment, error.offset), "crc or length mismatch")
            relative = resync(data, error.offset - cursor.offset)
            skip_to = cursor.offset + relative if relative is not None else cursor.offset + len(data)
            return rows, Cursor(cursor.segment, skip_to), False
        return rows, Cursor(cursor.segment, position), False

    def _read_from(self, cursor: Cursor) -> bytes:
        """At least one whole record when one is there, even one larger than READ_CHUNK."""
        try:
            with open(segment_path(self.directory, cursor.segment), "rb") as handle:
                handle.seek(cursor.offset)
                data = handle.read(READ_CHUNK)
                if len(data) >= HEADER.size:
                    (length,) = struct.unpack_from("<I", data)
                    needed = HEADER.size + length
                    if len(data) < needed <= HEADER.size + MAX_PAYLOAD:
                        data += handle.read(needed - len(data))
                return data
        except FileNotFoundError:
            return b""

    def _size(self, sequence: int) -> int:
        with contextlib.suppress(FileNotFoundError):
            return segment_path(self.directory, sequence).stat().st_size
        return 0

    def _corrupt(self, cursor: Cursor, reason: str) -> None:
        self.corrupt_records += 1
        log.error(
            "spool record skipped",
            extra={
                "directory": str(self.directory),
                "segment": cursor.segment,
                "offset": cursor.offset,
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
