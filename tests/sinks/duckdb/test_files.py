"""The DuckDB file, its WAL and its spill directory are private to the tracker's user, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.harness import ROOT, start_tracker
from tests.sinks.duckdb.test_sink import make_sink
from tests.sinks.rows import event


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    """The umask a child process inherits; the test's own is restored at once."""
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("process_umask", [0o022, 0o000])
def test_a_tracker_keeps_its_database_wal_and_spill_directory_private(tmp_path: Path, process_umask: int) -> None:
    workdir = tmp_path / "t"
    database = workdir / "data" / "tracker.duckdb"  # its directory does not exist yet: the sink makes it
    notify = [{"Service": "duckdb", "Path": str(database), "BatchFlushInterval": 50}]
    with umask(process_umask):
        tracker = start_tracker(workdir, Notify=notify)
    try:
        answer = httpx.post(tracker.url("/tr/v1/tr/"), json=[{"ename": "private", "xid": str(i)} for i in range(50)])
        assert answer.status_code == 200
        tracker.wait_shipped()
        wal = database.with_name("tracker.duckdb.wal")
        assert wal.exists() and wal.stat().st_size > 0  # rows written since the last checkpoint
        assert (mode(database), mode(wal)) == (0o600, 0o600)
        assert mode(database.with_name("tracker.duckdb.tmp")) == 0o700
        assert mode(database.parent) == 0o700
        assert all(mode(p) & 0o077 == 0 for p in database.parent.iterdir()), sorted(database.parent.iterdir())
    finally:
        tracker.stop()
    assert mode(database) == 0o600


async def test_a_database_made_before_this_fix_is_made_private_when_opened(tmp_path: Path) -> None:
    database = tmp_path / "t.duckdb"
    with umask(0o022):
        duckdb.connect(str(database)).close()
    assert mode(database) == 0o644
    sink = make_sink(database)
    await sink.open()
    await sink.write("events", [event(1)])
    assert mode(database) == 0o600 and mode(database.with_name("t.duckdb.wal")) == 0o600
    await sink.close()


CRASH = """
import asyncio, os, sys
from tests.sinks.duckdb.test_sink import make_sink
from tests.sinks.rows import event

async def main():
    sink = make_sink(sys.argv[1], CheckpointSeconds=3600)
    await sink.open()
    await sink.write("events", [event(i) for i in range(10)])
    os.chmod(sys.argv[1] + ".wal", 0o644)  # as an older version would have left it
    os._exit(0)  # no closing checkpoint: the rows are only in the WAL

asyncio.run(main())
"""


async def test_a_wal_left_by_a_crash_is_replayed_and_made_private(tmp_path: Path) -> None:
    database = tmp_path / "t.duckdb"
    subprocess.run([sys.executable, "-c", CRASH, str(database)], cwd=ROOT, check=True, timeout=60)
    wal = database.with_name("t.duckdb.wal")
    assert wal.stat().st_size > 0 and mode(wal) == 0o644
    reopened = make_sink(database)
    await reopened.open()
    assert (await reopened.query("SELECT count(*) AS n FROM events")) == [{"n": 10}]
    await reopened.write("events", [event(11)])
    assert mode(wal) == 0o600 and mode(database) == 0o600
    await reopened.close()
