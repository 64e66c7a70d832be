"""`tracker dead-letter list|replay SINK`: run as a real command against a real DuckDB file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.harness import TrackerProcess, prepare_tracker
from tests.sinks.rows import event
from tracker.pipeline.deadletter import DEAD_LETTER_DIRECTORY, DeadLetters


def command(tracker: TrackerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tracker", "dead-letter", *args, str(tracker.config_path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tracker.workdir)


def letters(tracker: TrackerProcess) -> DeadLetters:
    return DeadLetters(Path(tracker.config["SpoolDirectory"]) / DEAD_LETTER_DIRECTORY)


def test_list_shows_each_dead_lettered_row_and_a_summary(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path)
    letters(tracker).add("duckdb", "events", [event(1, ename="first"), event(2, ename="second")], "too old")
    letters(tracker).add("duckdb", "nosuch", [{"a": 1}], 'no table "nosuch"')
    listed = command(tracker, "list", "duckdb")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and "events  too old" in lines[0] and '"ename":"first"' in lines[0]
    assert "duckdb: 3 dead-lettered rows (events: 2, nosuch: 1)" in listed.stderr


def test_replay_stores_what_now_fits_and_keeps_what_is_refused_again(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path)
    good = [event(1, ename="fixed"), event(2, ename="fixed")]
    bad = event(3, lat="north")  # still does not fit a DOUBLE
    letters(tracker).add("duckdb", "events", [*good, bad], "schema was missing a column")
    letters(tracker).add("duckdb", "nosuch", [{"a": 1}], 'no table "nosuch"')
    replayed = command(tracker, "replay", "duckdb")
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.strip() == "duckdb: offered 4, stored 2, refused again 2"
    with duckdb.connect(tracker.config["Notify"][0]["Path"], read_only=True) as db:
        stored = {str(r[0]) for r in db.execute("select eid from events where ename = 'fixed'").fetchall()}
    assert stored == {row["eid"] for row in good}
    left = letters(tracker).read("duckdb")
    assert sorted(entry["table"] for entry in left) == ["events", "nosuch"]
    assert next(e for e in left if e["table"] == "events")["row"]["eid"] == bad["eid"]
    assert "north" in next(e for e in left if e["table"] == "events")["error"]  # the new reason
    again = command(tracker, "replay", "duckdb")
    assert again.stdout.strip() == "duckdb: offered 2, stored 0, refused again 2"


def test_replay_into_an_unknown_sink_names_the_enabled_ones(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path)
    refused = command(tracker, "replay", "clickhouse")
    assert refused.returncode == 2 and 'no enabled sink named "clickhouse" (enabled: duckdb)' in refused.stderr


def test_replay_while_the_sink_cannot_open_keeps_every_row(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path)
    letters(tracker).add("duckdb", "events", [event(1)], "x")
    Path(tracker.config["Notify"][0]["Path"]).mkdir()  # a directory where the database file should be
    failed = command(tracker, "replay", "duckdb")
    assert failed.returncode == 1 and "stopped early" in failed.stderr
    assert failed.stdout.strip() == "duckdb: offered 1, stored 0, refused again 1"
    assert len(letters(tracker).read("duckdb")) == 1
