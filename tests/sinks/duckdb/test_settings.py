"""The DuckDB sink's memory bounds reach the database, and its checkpoint policy keeps the WAL (and the rows held
in memory with it) from growing under a steady load."""

from __future__ import annotations

from pathlib import Path

from tests.sinks.duckdb.test_sink import make_sink
from tests.sinks.rows import event


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


def _fields(settings: object) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}  # type: ignore[arg-type]
