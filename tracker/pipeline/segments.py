"""The on-disk format of the spool: segment files of CRC-checked, length-prefixed records.

A record is `u32le length | u32le crc32(payload) | payload`, payload = JSON list of [table, row] pairs. One
record is one request's rows, so a request is stored whole or not at all. Segments are named by a 20-digit
sequence number and only the newest one of a directory is ever appended to.
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


def parse(data: bytes, base: int = 0) -> Iterator[Parsed]:
    """Whole records in `data` (which starts at file offset `base`); stops quietly at a partial record.

    Raises Corrupt at a record whose length is impossible or whose CRC does not match.
    """
    position = 0
    size = len(data)
    while position + HEADER.size <= size:
        length, crc = HEADER.unpack_from(data, position)
        if length > MAX_PAYLOAD:
            raise Corrupt(base + position)
        end = position + HEADER.size + length
        if end > size:
            return
        payload = data[position + HEADER.size : end]
        if zlib.crc32(payload) != crc:
            raise Corrupt(base + position)
        yield Parsed(base + position, base + end, payload)
        position = end


def resync(data: bytes, start: int) -> int | None:
    """The first offset after `start` where a valid record begins, or None."""
    for position in range(start + 1, len(data) - HEADER.size + 1):
        try:
            first = next(parse(data[position:], position), None)
        except Corrupt:
            continue
        if first is not None:
            return position
    return None


def valid_length(path: Path) -> int:
    """The length of the longest prefix of whole, valid records (where a torn tail starts)."""
    data = path.read_bytes()
    end = 0
    try:
        for record in parse(data):
            end = record.end
    except Corrupt:
        pass
    return end
