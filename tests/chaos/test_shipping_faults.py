"""Faults on the shipping side of a real tracker: a cursor that cannot be saved for a while, a sink that cannot
open at shutdown. Shipping goes on or waits, /status and /metrics say so, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.chaos.load import post_events, report, stored_ids
from tests.harness import TrackerProcess, prepare_tracker, wait_until


def sink_state(tracker: TrackerProcess) -> str:
    return str(tracker.status()["sinks"]["duckdb"]["state"])


def finish(tracker: TrackerProcess) -> None:
    tracker.start()
    tracker.wait_shipped()
    assert tracker.stop() == 0, tracker.log()[-3000:]


def test_a_cursor_write_that_fails_is_shown_retried_and_loses_nothing(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path / "t")
    blocker = Path(tracker.config["SpoolDirectory"]) / "worker-0" / "cursors" / "duckdb.json.tmp"
    blocker.mkdir(parents=True)  # the cursor's temporary file is a directory: every save fails (even as root)
    tracker.start()
    try:
        tally = asyncio.run(post_events(tracker.base_url, 1_000))
        wait_until(lambda: sink_state(tracker) in ("retrying", "open"), what="the sink to show it is not shipping")
        metrics = httpx.get(tracker.url("/metrics")).text
        assert 'tracker_sink_up{sink="duckdb"} 0.0' in metrics
        assert "IsADirectoryError" in tracker.status()["sinks"]["duckdb"]["last_error"]
        blocker.rmdir()  # the fault goes away once
        wait_until(lambda: sink_state(tracker) == "ok", what="the sink to recover")
        more = asyncio.run(post_events(tracker.base_url, 300))
        tally.add(more)
        tracker.wait_shipped()
    finally:
        assert tracker.stop() == 0, tracker.log()[-3000:]
    assert "shipping failed" in tracker.log()
    finish(tracker)  # the restart replays from the saved cursor: nothing doubled, nothing skipped
    stored = stored_ids(Path(tracker.config["Notify"][0]["Path"]))
    acknowledged, once, lost = report("cursor save fails (IsADirectoryError), then works", tally, stored)
    assert tally.statuses == {200: 1_300} and lost == 0 and once == acknowledged


def test_shutdown_with_a_sink_that_cannot_open_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path / "t")
    database = Path(tracker.config["Notify"][0]["Path"])
    database.mkdir()  # a directory where the DuckDB file should be: the sink cannot open
    tracker.start()
    tally = asyncio.run(post_events(tracker.base_url, 300))
    wait_until(lambda: sink_state(tracker) in ("retrying", "open"), what="the sink to show it is down")
    assert tracker.stop() == 1  # does not pretend success
    assert "stopped with events not shipped" in tracker.log()
    database.rmdir()
    finish(tracker)
    stored = stored_ids(database)
    acknowledged, once, lost = report("sink cannot open at shutdown, fixed, restarted", tally, stored)
    assert tally.statuses == {200: 300} and lost == 0 and once == acknowledged
