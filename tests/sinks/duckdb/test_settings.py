"""The DuckDB sink's memory bounds reach the database, and its checkpoint policy keeps the WAL (and the rows held
in memory with it) from growing under a steady load."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from tests.sinks.duckdb.test_sink import make_sink
from tests.sinks.rows import EXPIRED, event, stamp
from tracker.config import PruneRule
from tracker.sinks.base import TransientSinkError


async def test_memory_limit_threads_and_threshold_are_set_on_the_database(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb", MemoryLimit="100MB", Threads=1, CheckpointThreshold="8MB")
    await sink.open()
    settings = await sink.query(
        "SELECT current_setting('memory_limit') AS memory, current_setting('threads') AS threads, "
        "current_setting('checkpoint_threshold') AS threshold, current_setting('temp_directory') AS spill"
    )
    await sink.close()
    assert settings == [
        {"memory": "95.3 MiB", "threads": 1, "threshold": "7.6 MiB", "spill": str(tmp_path / "t.duckdb.tmp")}
    ]


async def test_new_rows_go_into_row_groups_of_row_group_size(tmp_path: Path) -> None:
    """A checkpoint recompresses the last row group whole: smaller groups bound its memory peak (README)."""
    sink = make_sink(tmp_path / "t.duckdb", RowGroupSize=4096)
    await sink.open()
    for start in range(0, 10_000, 2_500):
        await sink.write("events", [event(i) for i in range(start, start + 2_500)])
    await sink.close()
    with duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True) as db:
        groups = db.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('events')").fetchall()
        stored = db.execute("SELECT count(*) FROM events").fetchall()
    assert stored == [(10_000,)]
    assert groups == [(3,)]  # 4096 + 4096 + 1808 rows


async def test_writes_are_checkpointed_once_checkpoint_seconds_have_passed(tmp_path: Path) -> None:
    wal = tmp_path / "t.duckdb.wal"
    sink = make_sink(tmp_path / "t.duckdb", CheckpointSeconds=3600)
    await sink.open()
    await sink.write("events", [event(i) for i in range(100)])
    assert wal.stat().st_size > 0  # not due yet: the rows are in the WAL (and in memory)
    sink.settings = type(sink.settings)(**{**_fields(sink.settings), "checkpoint_seconds": 0.001})
    await sink.write("events", [event(i) for i in range(100, 200)])
    assert wal.stat().st_size == 0  # due: checkpointed into the file, the WAL starts empty
    assert (await sink.query("SELECT count(*) AS n FROM events")) == [{"n": 200}]
    await sink.close()


async def test_writes_are_checkpointed_once_checkpoint_rows_were_written_since_the_last(tmp_path: Path) -> None:
    """A burst holds at most CheckpointRows rows in memory, whatever CheckpointSeconds says (README, DuckDB sink)."""
    wal = tmp_path / "t.duckdb.wal"
    sink = make_sink(tmp_path / "t.duckdb", CheckpointSeconds=3600, CheckpointRows=250)
    await sink.open()
    first = sink._connection
    for start in (0, 100):
        await sink.write("events", [event(i) for i in range(start, start + 100)])
        assert wal.stat().st_size > 0  # 100, then 200 rows since the open: not due
    await sink.write("events", [event(i) for i in range(200, 300)])
    assert wal.stat().st_size == 0  # 300 >= 250: checkpointed, on a new connection
    assert sink._connection is not first
    await sink.write("events", [event(i) for i in range(300, 400)])
    assert wal.stat().st_size > 0  # the count starts again after a checkpoint
    assert (await sink.query("SELECT count(*) AS n FROM events")) == [{"n": 400}]
    await sink.close()


async def test_the_end_of_a_burst_is_checkpointed_when_a_fifth_of_checkpoint_rows_is_held(tmp_path: Path) -> None:
    """A write a quarter of the largest since the last checkpoint or less: the shipper caught up with the spool."""
    wal = tmp_path / "t.duckdb.wal"
    sink = make_sink(tmp_path / "t.duckdb", CheckpointSeconds=3600, CheckpointRows=1000)
    await sink.open()
    sizes = iter(range(10_000))

    async def write(count: int) -> int:
        await sink.write("events", [event(next(sizes)) for _ in range(count)])
        return wal.stat().st_size

    assert await write(100) > 0 and await write(20) > 0  # a small write, but 120 rows held: less than a fifth
    assert await write(400) > 0 and await write(150) > 0  # 670 held; 150 is more than a quarter of 400
    assert await write(90) == 0  # 760 held, 90 <= 400 / 4: the burst is over, checkpointed
    assert await write(400) > 0 and await write(400) > 0  # the largest write counts from the checkpoint on
    assert (await sink.query("SELECT count(*) AS n FROM events")) == [{"n": 1560}]
    await sink.close()


async def test_a_timed_checkpoint_starts_a_new_connection_and_writes_reads_and_replays_go_on(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb", CheckpointSeconds=0.001)  # due at every write
    await sink.open()
    connections = []  # kept alive, so no two share an id()
    rows = [event(i) for i in range(300)]
    for start in range(0, 300, 100):
        await sink.write("events", rows[start : start + 100])
        connections.append(sink._connection)
    await sink.write("events", rows[:200])  # replayed across two recycles: still recognised
    assert (
        len({id(c) for c in connections}) == 3
    )  # a new connection after each write: what the old one held is released
    assert await sink.query("SELECT count(*) AS n, count(DISTINCT eid) AS d FROM events") == [{"n": 300, "d": 300}]
    await sink.close()


async def test_retention_keeps_its_connection_while_writes_come_due_for_a_checkpoint(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb", CheckpointSeconds=0.001)
    await sink.open()
    await sink.write("events", [event(i, created_at=stamp(EXPIRED)) for i in range(200)])

    async def writes() -> None:
        for batch in range(10):
            await sink.write("events", [event(1000 + batch * 10 + i) for i in range(10)])

    rule = PruneRule(ttl_seconds=86400, clear_all=True)
    report, _ = await asyncio.gather(sink.prune([rule], logs_only=False), writes())
    assert report.rows_deleted == 200
    assert await sink.query("SELECT count(*) AS n FROM events") == [{"n": 100}]
    await sink.close()


def _fields(settings: object) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}  # type: ignore[arg-type]


async def test_a_memory_limit_too_small_for_a_write_is_a_transient_error_that_names_the_setting(
    tmp_path: Path,
) -> None:
    filled = make_sink(tmp_path / "t.duckdb")
    await filled.open()
    await filled.query(
        "INSERT INTO events (eid, created_at, vid) SELECT uuid(), now()::TIMESTAMP, uuid() FROM range(200000)"
    )
    await filled.close()
    small = make_sink(tmp_path / "t.duckdb", MemoryLimit="4MB")
    await small.open()
    with pytest.raises(TransientSinkError, match="DuckDB needs more than MemoryLimit 4MB"):
        await small.write("events", [event(i) for i in range(1000)])
    await small.close()
    roomy = make_sink(tmp_path / "t.duckdb")  # the rows waited in the spool; with room they are stored
    await roomy.open()
    await roomy.write("events", [event(i) for i in range(1000)])
    assert (await roomy.query("SELECT count(*) AS n FROM events")) == [{"n": 201000}]
    await roomy.close()
