"""The shipping process's memory under a burst: a real DuckDB sink (and the real shipper) in a process of its own,
its RSS from /proc and its allocators' own counts.

Without the sink's CheckpointRows the rows of a burst stayed in memory until the next timed checkpoint (measured:
290,000 rows, +175 MiB after the burst, +209 at its peak); the bounds below are generous and hold on a loaded
machine, since they count memory, not time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.ship_burst import ship_in_process
from bench.sink_duckdb import burst_in_process

MIB_HELD_AFTER = 120  # up to CheckpointRows (50,000) rows since the last checkpoint: 73-80 MiB measured
MIB_PEAK = 150  # those and a 10,000-row write: 64-88 MiB measured (one or two DuckDB threads)
SHIP_BENCH = Path(__file__).resolve().parents[3] / "bench" / "ship_burst.py"


def assert_bounded(rows: int) -> None:
    memory = burst_in_process(rows, {})  # the default settings
    assert memory["after_burst"] - memory["before"] < MIB_HELD_AFTER, memory
    assert memory["peak"] - memory["before"] < MIB_PEAK, memory
    assert memory["after_checkpoint"] - memory["before"] < 30, memory  # the next checkpoint hands it all back


def test_a_burst_of_290_thousand_rows_leaves_the_process_near_where_it_was() -> None:
    assert_bounded(290_000)  # not a multiple of CheckpointRows: 40,000 rows are held when the burst ends


@pytest.mark.slow
def test_a_burst_of_two_million_rows_stays_bounded() -> None:
    assert_bounded(1_990_000)


def test_a_burst_shipped_from_two_workers_leaves_one_batch_in_the_python_heap_and_little_else() -> None:
    """The shipper read one worker's batch while the other's was still alive: Python's heap grew by two batches of
    10,000 decoded rows (+23-27 arenas of 1 MiB measured) and kept them, and the C heap kept the spool reads (RSS
    +14-24 MiB after the burst); now +13 arenas and +4 MiB (README, DuckDB sink: After a burst)."""
    memory: dict[str, Any] = ship_in_process(100_000, {})
    before, after = memory["before"], memory["after"]
    assert after["pymalloc"]["current"] - before["pymalloc"]["current"] < 19, memory
    assert after["rss"] - before["rss"] < 15, memory
    assert memory["peak"] - before["rss"] < 130, memory  # 74-94 MiB measured (102-116 before)


def test_duckdb_gives_its_freed_pages_back_while_the_sink_is_idle() -> None:
    """DuckDB's allocator (jemalloc) purged freed pages only when it allocated again, so the 7-15 MiB freed by the
    last writes stayed resident until the next checkpoint; its background thread purges them now."""
    command = [sys.executable, str(SHIP_BENCH), "--idle", "30"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    memory = json.loads(done.stdout.strip().splitlines()[-1])
    assert memory["dirty_written"] >= 0, memory  # -1: DuckDB's allocator is not reachable (a build without it)
    assert memory["dirty_lowest"] <= 1, memory
