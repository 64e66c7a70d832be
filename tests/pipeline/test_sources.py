"""A spool directory as the shipper's source: an idle directory is seen without a thread's round trip, and
whatever is new (an append, a new segment, a cursor past a truncated tail) still goes to the reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tracker.pipeline import segments
from tracker.pipeline.reader import Cursor, Rows
from tracker.pipeline.sources import DirectorySource
from tracker.records import Record


def record(i: int) -> bytes:
    return segments.encode([Record("events", {"eid": f"e{i}"})])


def counting_reads(source: DirectorySource, monkeypatch: pytest.MonkeyPatch) -> list[Cursor]:
    """The cursors the reader (in its thread) was asked to read from."""
    asked: list[Cursor] = []
    read = source.reader.read

    def recorded(cursor: Cursor, max_rows: int) -> tuple[Rows, Cursor]:
        asked.append(cursor)
        return read(cursor, max_rows)

    monkeypatch.setattr(source.reader, "read", recorded)
    return asked


def eids(rows: Rows) -> list[Any]:
    return [row["eid"] for _, row in rows]


async def test_an_idle_directory_is_answered_without_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segments.segment_path(tmp_path, 0).write_bytes(record(0) + record(1))
    source = DirectorySource(tmp_path)
    asked = counting_reads(source, monkeypatch)
    rows, cursor = await source.read(Cursor(0, 0), 100)
    assert eids(rows) == ["e0", "e1"] and len(asked) == 1
    for _ in range(3):  # the shipper's idle polls
        assert await source.read(cursor, 100) == ([], cursor)
    assert len(asked) == 1
    with open(segments.segment_path(tmp_path, 0), "ab") as handle:
        handle.write(record(2))
    rows, cursor = await source.read(cursor, 100)
    assert eids(rows) == ["e2"] and len(asked) == 2


async def test_a_new_segment_after_an_ended_one_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    segments.segment_path(tmp_path, 0).write_bytes(record(0))
    source = DirectorySource(tmp_path)
    rows, cursor = await source.read(Cursor(0, 0), 100)
    segments.segment_path(tmp_path, 1).write_bytes(record(1))  # the writer rolled to a new segment
    rows, cursor = await source.read(cursor, 100)
    assert eids(rows) == ["e1"] and cursor == Cursor(1, len(record(1)))


async def test_a_cursor_past_a_truncated_tail_still_goes_to_the_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    segments.segment_path(tmp_path, 0).write_bytes(record(0))
    source = DirectorySource(tmp_path)
    asked = counting_reads(source, monkeypatch)
    past = Cursor(0, 10_000)
    assert await source.read(past, 100) == ([], past) and asked == [past]
    segments.segment_path(tmp_path, 1).write_bytes(record(1))
    rows, _ = await source.read(past, 100)
    assert eids(rows) == ["e1"]


async def test_an_empty_or_missing_directory_reads_nothing(tmp_path: Path) -> None:
    assert await DirectorySource(tmp_path / "absent").read(Cursor(0, 0), 10) == ([], Cursor(0, 0))
    assert await DirectorySource(tmp_path).read(Cursor(0, 0), 10) == ([], Cursor(0, 0))
