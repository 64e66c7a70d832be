"""The spool writer and its on-disk format: real files in tmp_path."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.pipeline import segments
from tracker.pipeline.reader import Cursor, SpoolReader
from tracker.pipeline.spool import MemorySpool, Spool, SpoolFull
from tracker.records import Record


def record(i: int, size: int = 10) -> list[Record]:
    return [Record("events", {"eid": f"e{i}", "pad": "x" * size})]


async def fill(spool: Spool, count: int, size: int = 10) -> None:
    for i in range(count):
        await spool.append(record(i, size))


def read_all(directory: Path) -> list[str]:
    rows, _ = SpoolReader(directory).read(Cursor(0, 0), 10**9)
    return [row["eid"] for _, row in rows]


async def test_append_then_read_returns_every_record_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    await fill(spool, 100)
    await spool.close()
    assert read_all(tmp_path) == [f"e{i}" for i in range(100)]


async def test_torn_tail_is_truncated_on_open_and_appends_continue(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    await fill(spool, 10)
    await spool.close()
    path = segments.segment_path(tmp_path, 0)
    whole = path.stat().st_size
    with open(path, "ab") as handle:  # a crash in the middle of an append: header and half a payload
        handle.write(segments.encode(record(99))[:15])
    reopened = Spool(tmp_path)
    reopened.open()
    assert path.stat().st_size == whole
    await reopened.append(record(10))
    await reopened.close()
    assert read_all(tmp_path) == [f"e{i}" for i in range(11)]


async def test_corrupt_record_mid_segment_is_skipped_and_counted(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    await fill(spool, 3)
    await spool.close()
    path = segments.segment_path(tmp_path, 0)
    data = bytearray(path.read_bytes())
    second = len(segments.encode(record(0)))
    data[second + 12] ^= 0xFF  # flip a payload byte of the second record
    path.write_bytes(bytes(data))
    reader = SpoolReader(tmp_path)
    rows, _ = reader.read(Cursor(0, 0), 100)
    assert [r["eid"] for _, r in rows] == ["e0", "e2"]
    assert reader.corrupt_records == 1


async def test_segments_roll_over_at_the_size_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=1000)
    spool.open()
    await fill(spool, 50, size=100)
    await spool.close()
    assert len(segments.list_segments(tmp_path)) > 5
    assert read_all(tmp_path) == [f"e{i}" for i in range(50)]


async def test_spool_full_past_max_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=2000)
    spool.open()
    with pytest.raises(SpoolFull):
        await fill(spool, 100, size=100)
    await spool.close()


async def test_fsync_durability_shares_one_fsync_between_concurrent_appends(tmp_path: Path) -> None:
    spool = Spool(tmp_path, durability="fsync")
    spool.open()
    await asyncio.gather(*(spool.append(record(i)) for i in range(200)))
    assert 1 <= spool.fsyncs < 20
    await spool.close()
    assert len(read_all(tmp_path)) == 200


async def test_memory_spool_releases_what_was_shipped() -> None:
    spool = MemorySpool(max_bytes=10_000)
    for i in range(5):
        await spool.append(record(i))
    assert spool.end == 5 and spool.bytes_on_disk > 0
    spool.release(5)
    assert spool.bytes_on_disk == 0 and spool.first_index == 5
    with pytest.raises(SpoolFull):
        for i in range(1000):
            await spool.append(record(i, 100))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_parser_never_crashes_and_never_yields_a_bad_record(data: bytes) -> None:
    try:
        for parsed in segments.parse(data):
            payload = data[parsed.start + segments.HEADER.size : parsed.end]
            assert payload == parsed.payload
    except segments.Corrupt:
        pass


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=200))
def test_any_truncation_keeps_exactly_the_whole_records(cut: int) -> None:
    data = b"".join(segments.encode(record(i)) for i in range(5))
    kept = list(segments.parse(data[:cut]))
    assert all(p.end <= cut for p in kept)
    assert len(kept) == cut // len(segments.encode(record(0)))


def test_reader_tails_a_writer_in_another_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    root, directory = str(Path(__file__).resolve().parents[2]), str(tmp_path)
    code = (
        f"import asyncio, sys; sys.path.insert(0, {root!r})\n"
        "from tracker.pipeline.spool import Spool\nfrom tracker.records import Record\n"
        f"async def main():\n s = Spool(__import__('pathlib').Path({directory!r}), segment_bytes=4000); s.open()\n"
        " for i in range(500): await s.append([Record('events', {'eid': f'e{i}'})])\n await s.close()\n"
        "asyncio.run(main())\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code])
    reader = SpoolReader(tmp_path)
    cursor, seen = Cursor(0, 0), []
    while writer.poll() is None or len(seen) < 500:
        rows, cursor = reader.read(cursor, 50)
        seen.extend(r["eid"] for _, r in rows)
        if writer.poll() is not None and not rows and len(seen) < 500:
            rows, cursor = reader.read(cursor, 1000)
            seen.extend(r["eid"] for _, r in rows)
            break
    assert writer.wait() == 0
    assert seen == [f"e{i}" for i in range(500)]
    assert os.path.exists(tmp_path)
