"""The on-disk format of the spool: segment files of CRC-checked, length-prefixed records.

A record is `u32le length | u32le crc32(payload) | payload`, payload = JSON list of [table, row] pairs. One
record is one request's rows, so a request is stored whole or not at all. Segments are named by a 20-digit
sequence number and only the newest one of a directory is ever appended to. Bytes that are not a valid record
(a torn write, a flipped bit) never hide the valid records after them: `resync` finds the next one.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tracker.records import Record

HEADER = struct.Struct("<II")
SUFFIX = ".seg"
MAX_PAYLOAD = 64 * 1024 * 1024
PAYLOAD_START = b"["  # every payload is a JSON list: resync only tries offsets whose payload starts with it


def encode(records: Sequence[Record]) -> bytes:
    payload = orjson.dumps([[r.table, r.row] for r in records])
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def decode(payload: bytes) -> list[tuple[str, dict[str, Any]]]:
    return [(table, row) for table, row in orjson.loads(payload)]


def segment_path(directory: Path, sequence: int) -> Path:
    return directory / f"{sequence:020d}{SUFFIX}"


def list_segments(directory: Path) -> list[int]:
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(int(n[: -len(SUFFIX)]) for n in names if n.endswith(SUFFIX) and n[: -len(SUFFIX)].isdigit())


@dataclass(slots=True, frozen=True)
class Parsed:
    start: int
    end: int
    payload: bytes


class Corrupt(Exception):
    def __init__(self, offset: int) -> None:
        super().__init__(f"corrupt record at byte {offset}")
        self.offset = offset


def record_end(data: bytes | memoryview, position: int) -> int | None:
    """Where the whole, CRC-valid record starting at `position` ends, or None when there is none."""
    if position + HEADER.size > len(data):
        return None
    length, crc = HEADER.unpack_from(data, position)
    end = position + HEADER.size + length
    if length == 0 or length > MAX_PAYLOAD or end > len(data):
        return None
    return end if zlib.crc32(data[position + HEADER.size : end]) == crc else None


def is_partial(data: bytes | memoryview, position: int) -> bool:
    """The bytes at `position` could be the start of a record that `data` does not hold whole yet."""
    if position + HEADER.size > len(data):
        return True
    length: int = struct.unpack_from("<I", data, position)[0]
    return 0 < length <= MAX_PAYLOAD and position + HEADER.size + length > len(data)


def parse(data: bytes, base: int = 0) -> Iterator[Parsed]:
    """Whole records in `data` (which starts at file offset `base`); stops quietly at a partial record.

    Raises Corrupt at a record whose length is impossible or whose CRC does not match.
    """
    view = memoryview(data)
    position = 0
    while position < len(data):
        end = record_end(view, position)
        if end is None:
            if is_partial(view, position):
                return
            raise Corrupt(base + position)
        yield Parsed(base + position, base + end, bytes(view[position + HEADER.size : end]))
        position = end


def resync(data: bytes, start: int) -> int | None:
    """The first offset after `start` where a whole, valid record begins, or None."""
    view = memoryview(data)
    search = start + 1 + HEADER.size
    while (found := data.find(PAYLOAD_START, search)) >= 0:
        if record_end(view, found - HEADER.size) is not None:
            return found - HEADER.size
        search = found + 1
    return None


@dataclass(slots=True, frozen=True)
class Scan:
    valid_end: int  # the end of the last valid record: what follows is a torn tail
    skipped: int  # bytes of bad stretches between valid records (kept: the reader skips them too)


def scan(path: Path) -> Scan:
    """Walk a whole segment, resyncing past bad stretches, so a bad record never hides the ones after it."""
    data = path.read_bytes()
    view = memoryview(data)
    position = valid_end = skipped = 0
    while position < len(data):
        end = record_end(view, position)
        if end is not None:
            skipped += position - valid_end
            position = valid_end = end
            continue
        following = resync(data, position)
        if following is None:
            break
        position = following
    return Scan(valid_end, skipped)
