"""The DuckDB file's disk fills up while the spool's has room: events are still acknowledged (they wait in the
spool), /status names the sink's failure, and once space returns the sink catches up by itself, every
acknowledged event stored once, with no restart and no dead letter."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.chaos.disk import fill, small_tmpfs
from tests.chaos.load import Tally, post_events, report, stored_ids
from tests.chaos.test_disk_full import tracebacks
from tests.harness import prepare_tracker, wait_until


def duckdb_sink(status: dict[str, Any]) -> dict[str, Any]:
    return next(iter(status["sinks"].values()))  # type: ignore[no-any-return]


def test_the_sinks_disk_full_holds_events_in_the_spool_and_ships_them_when_space_returns(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", size="16m") as disk:
        database = disk / "tracker.duckdb"
        tracker = prepare_tracker(
            tmp_path / "t",
            Workers=2,
            Notify=[{"Service": "duckdb", "Path": str(database), "BatchFlushInterval": 100, "CheckpointSeconds": 0.2}],
        ).start()
        tally = Tally()
        try:
            tally.add(asyncio.run(post_events(tracker.base_url, 300, tag="before")))
            tracker.wait_shipped()
            ballast = fill(disk)  # not a byte left for the DuckDB file or its WAL
            during = asyncio.run(post_events(tracker.base_url, 2_000, tag="during"))
            assert during.statuses == {200: 2_000}  # the spool's disk has room: nothing is refused
            tally.add(during)
            failing = wait_until(
                lambda: (sink := duckdb_sink(tracker.status()))["consecutive_failures"] > 0 and sink,
                what="the DuckDB sink to report its write failing",
            )
            assert "No space left on device" in failing["last_error"] and failing["state"] in ("retrying", "open")
            ballast.unlink()
            # no restart, no operator. Each worker answers /status from the supervisor's status file as it read it
            # up to a second before, so one answer can be older than the last: wait for one that has it all.
            recovered = wait_until(
                lambda: (sink := duckdb_sink(tracker.status()))["state"] == "ok" and sink["lag_bytes"] == 0 and sink,
                60,
                what="the DuckDB sink to report ok with the spool shipped",
            )
            assert recovered["dead_lettered"] == {}
        finally:
            assert tracker.stop() == 0, tracker.log()[-3000:]
        stored = stored_ids(database)  # before the tmpfs and the file on it go
    acknowledged, once, lost = report("the DuckDB file's disk full, then freed (2 workers)", tally, stored)
    assert lost == 0 and once == acknowledged == 2_300
    assert "sink write failed" in tracker.log() and not tracebacks(tracker)
