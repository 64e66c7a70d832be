"""Exactly-once across a crash between the sink's write and the spool cursor's save: the restart replays rows
DuckDB already holds, and each event is still stored once (events have no key: event_ids recognises them)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.chaos.load import post_events, report, stored_ids
from tests.harness import prepare_tracker, snapshot_query, wait_until


def test_events_written_then_killed_before_the_cursor_is_saved_are_stored_once_after_the_restart(
    tmp_path: Path,
) -> None:
    tracker = prepare_tracker(tmp_path / "t")
    cursors = Path(tracker.config["SpoolDirectory"]) / "worker-0" / "cursors"
    blocker = cursors / "duckdb.json.tmp"
    blocker.mkdir(parents=True)  # the cursor's temporary file is a directory: no cursor is ever saved
    database = Path(tracker.config["Notify"][0]["Path"])
    tracker.start()
    try:
        tally = asyncio.run(post_events(tracker.base_url, 1_000, tag="replayed"))
        wait_until(
            lambda: snapshot_query(database, "SELECT count(*) FROM events WHERE ename = 'replayed'") == [(1_000,)],
            what="every event in DuckDB",
        )
    finally:
        tracker.kill9()  # written, but the spool still says nothing was shipped
    assert not (cursors / "duckdb.json").exists()
    blocker.rmdir()
    tracker.start()
    try:
        tracker.wait_shipped()
        offered = tracker.status()["sinks"]["duckdb"]["written"]
    finally:
        assert tracker.stop() == 0, tracker.log()[-3000:]
    assert offered.get("events") == 1_000  # the whole spool was replayed into the sink
    stored = stored_ids(database)
    acknowledged, once, lost = report("kill -9 after the write, before the cursor save; replayed", tally, stored)
    assert tally.statuses == {200: 1_000} and lost == 0 and once == acknowledged
    assert sum(stored.values()) == 1_000
