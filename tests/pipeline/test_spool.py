"""The spool writer and its on-disk format: real files in tmp_path."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.pipeline import segments
from tracker.pipeline import spool as spool_module
from tracker.pipeline.reader import Cursor, CursorFile, SpoolReader, delete_shipped
from tracker.pipeline.spool import MemorySpool, Spool, SpoolFull, SpoolUnavailable
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


def ship_everything(directory: Path, sink: str = "s") -> None:
    """What the shipper does after a sink stored every record: save its cursor at the end, delete old segments."""
    sequences = segments.list_segments(directory)
    cursor = Cursor(sequences[-1], segments.segment_path(directory, sequences[-1]).stat().st_size)
    CursorFile(directory, sink).save(cursor)
    delete_shipped(directory, [cursor])


async def test_max_bytes_bounds_unshipped_bytes_so_a_small_share_keeps_accepting(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=64 * 1024)
    spool.open()
    appended = 0
    for _ in range(40):  # 40 rounds of ~16 KiB: ten times max_bytes pass through
        for i in range(100):
            await spool.append(record(i, 100))
            appended += 1
        ship_everything(tmp_path)
        assert spool.unshipped_bytes <= 64 * 1024
    assert appended == 4000 and not spool.full
    assert sum(p.stat().st_size for p in tmp_path.glob("*.seg")) <= spool.segment_bytes + 64 * 1024
    await spool.close()


async def test_past_max_unshipped_bytes_the_spool_refuses_and_says_full_until_shipped(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=64 * 1024)
    spool.open()
    with pytest.raises(SpoolFull):
        await fill(spool, 1000, size=100)
    status = spool.status()
    assert status["full"] and status["unshipped_bytes"] <= 64 * 1024 and "max_bytes" in status["reason"]
    ship_everything(tmp_path)
    await spool.append(record(1, 100))
    assert not spool.full
    await spool.close()


async def test_full_lasts_until_the_refused_append_would_fit_not_until_any_byte_is_free(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=64 * 1024)
    spool.open()
    await fill(spool, 50, size=1000)  # about 50 KiB: room left, but not for 20 KiB more
    with pytest.raises(SpoolFull):
        await spool.append(record(0, 20 * 1024))
    await spool.maintain()
    assert spool.full, "still full: the refused batch does not fit, whatever the gap"
    ship_everything(tmp_path)
    await spool.maintain()
    assert not spool.full
    await spool.append(record(0, 20 * 1024))
    await spool.close()


class DiskFull:
    """os.write for the spool module that writes `first` bytes of a call, then fails with ENOSPC."""

    def __init__(self, first: int = 7) -> None:
        self.first = first
        self.calls = 0
        self.write = os.write  # the real one: the patch replaces os.write for everyone

    def __call__(self, fd: int, data: Any) -> int:
        self.calls += 1
        if self.calls % 2 == 1 and self.first:
            return self.write(fd, bytes(data[: self.first]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


async def test_disk_full_raises_unavailable_keeps_the_segment_as_it_was_and_logs_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    spool.open()
    await fill(spool, 5)
    path = segments.segment_path(tmp_path, 0)
    size = path.stat().st_size
    monkeypatch.setattr(spool_module.os, "write", DiskFull())
    for i in range(3):
        with pytest.raises(SpoolUnavailable):
            await spool.append(record(100 + i))
        assert path.stat().st_size == size  # the partial record was taken back
    assert spool.full and "space" in spool.status()["reason"]
    assert sum("spool cannot write" in r.getMessage() for r in caplog.records) == 1
    monkeypatch.undo()
    await spool.append(record(5))  # space is back: no restart needed
    assert not spool.full
    await spool.close()
    assert read_all(tmp_path) == [f"e{i}" for i in range(6)]
    assert issubclass(SpoolUnavailable, SpoolFull)  # the routes' 503 for a full spool covers it


async def test_a_partial_record_that_cannot_be_taken_back_never_has_records_appended_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    spool.open()
    await fill(spool, 3)
    monkeypatch.setattr(spool_module.os, "write", DiskFull(first=20))

    def refuse(fd: int, length: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(spool_module.os, "ftruncate", refuse)
    with pytest.raises(SpoolUnavailable):
        await spool.append(record(99))
    monkeypatch.undo()
    await spool.append(record(3))
    await spool.close()
    assert segments.list_segments(tmp_path) == [0, 1]  # the torn record ends segment 0; appends went on in 1
    reader = SpoolReader(tmp_path)
    rows, _ = reader.read(Cursor(0, 0), 100)
    assert [r["eid"] for _, r in rows] == ["e0", "e1", "e2", "e3"] and reader.corrupt_records == 1


async def test_recovery_keeps_every_valid_record_after_a_bad_one(tmp_path: Path) -> None:
    path = segments.segment_path(tmp_path, 0)
    torn = segments.encode(record(50))[:30]  # the old failure: a partial append, later appends after it
    path.write_bytes(b"".join(segments.encode(record(i)) for i in range(5)) + torn)
    with open(path, "ab") as handle:
        handle.write(b"".join(segments.encode(record(i)) for i in range(5, 10)))
    size = path.stat().st_size
    spool = Spool(tmp_path)
    spool.open()
    await spool.append(record(10))
    await spool.close()
    assert path.stat().st_size == size  # nothing cut: the reader skips the bad stretch
    assert read_all(tmp_path) == [f"e{i}" for i in range(11)]


async def test_a_cursor_past_the_end_of_a_truncated_segment_skips_no_later_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    await fill(spool, 10)
    await spool.close()
    path = segments.segment_path(tmp_path, 0)
    saved = Cursor(0, path.stat().st_size + 500)  # saved before the tail it points into was lost
    with open(path, "ab") as handle:
        handle.write(b"\x00\x01garbage")
    reopened = Spool(tmp_path)
    reopened.open()
    for i in range(10, 15):
        await reopened.append(record(i))
    await reopened.close()
    rows, _ = SpoolReader(tmp_path).read(saved, 100)
    assert [r["eid"] for _, r in rows] == [f"e{i}" for i in range(10, 15)]


async def test_spool_files_and_directories_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    directory = tmp_path / "root" / "worker-0"
    previous = os.umask(0)
    try:
        (tmp_path / "old").mkdir(mode=0o755)
        old = Spool(tmp_path / "old")
        stale = segments.segment_path(tmp_path / "old", 0)
        stale.write_bytes(segments.encode(record(0)))
        os.chmod(stale, 0o644)
        old.open()
        spool = Spool(directory, segment_bytes=200)
        spool.open()
        await fill(spool, 10)
        await spool.close()
        await old.close()
        CursorFile(directory, "s").save(Cursor(0, 0))
    finally:
        os.umask(previous)
    for path in [directory, tmp_path / "root", tmp_path / "old", directory / "cursors"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = [*directory.glob("*.seg"), *(tmp_path / "old").glob("*.seg"), directory / "cursors" / "s.json"]
    assert len(files) > 3
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
