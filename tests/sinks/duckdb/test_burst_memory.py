"""The shipping process's memory under a burst: a real DuckDB sink in its own process, its RSS from /proc.

Without the sink's CheckpointRows the rows of a burst stayed in memory until the next timed checkpoint (measured:
290,000 rows, +175 MiB after the burst, +209 at its peak); the bounds below are generous and hold on a loaded
machine, since they count memory, not time.
"""

from __future__ import annotations

import pytest

from bench.sink_duckdb import burst_in_process

MIB_HELD_AFTER = 120  # up to CheckpointRows (50,000) rows since the last checkpoint: 73-80 MiB measured
MIB_PEAK = 150  # those and a 10,000-row write: 64-88 MiB measured (one or two DuckDB threads)


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
