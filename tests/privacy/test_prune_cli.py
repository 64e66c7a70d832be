"""`tracker --prune` as a user runs it, on a DuckDB file and a database on the real ClickHouse server at once: the
summary table per sink and table, PruneUpdateConfig writing PruneSkipToTimestamp back into the config file (the
rest of the file as it was), the next run skipping what is older, and the progress bar only on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.services.clickhouse import ClickHouseServer
from tests.sinks.rows import EXPIRED, event, stamp
from tracker.config import from_mapping
from tracker.sinks.registry import build_sinks

RULES = [{"Table": "events", "TTL": 86400, "PageSize": 2, "Fields": [{"Id": "ip", "DestParamHash": "iphash"}]}]


def tracker(*args: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tracker", *args]
    return subprocess.run(command, capture_output=not popen, text=True, timeout=120, check=False, **popen)


@pytest.fixture
def config_path(tmp_path: Path, clickhouse_server: ClickHouseServer, clickhouse_database: str) -> Path:
    raw = {
        "ApiVersion": 1,
        "PruneUpdateConfig": True,
        "PruneLogsTTL": 86400,
        "Notify": [
            {"Service": "duckdb", "Path": str(tmp_path / "t.duckdb"), "Prune": RULES},
            {
                "Service": "clickhouse",
                "Hosts": [clickhouse_server.host],
                "Context": clickhouse_database,
                "Prune": RULES,
            },
        ],
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw, indent=2))
    return path


async def fill(config_path: Path, rows: list[dict[str, Any]]) -> None:
    for sink in build_sinks(from_mapping(json.loads(config_path.read_text()))):
        await sink.open()
        await sink.write("events", rows)
        await sink.close()


def table(stdout: str) -> dict[tuple[str, str], list[int]]:
    lines = [line.split() for line in stdout.splitlines()]
    assert lines[0] == ["sink", "table", "scanned", "deleted", "scrubbed", "kept", "skipped"]
    return {(cells[0], cells[1]): [int(c) for c in cells[2:]] for cells in lines[1:] if len(cells) == 7}


async def test_prune_prints_a_summary_per_sink_and_writes_skip_to_back(config_path: Path) -> None:
    old = [event(i, created_at=stamp(EXPIRED - timedelta(hours=i))) for i in range(1, 4)]
    await fill(config_path, [*old, event(9)])
    before = config_path.read_text()
    first = tracker("--prune", str(config_path))
    assert first.returncode == 0, first.stderr
    assert table(first.stdout) == {
        **{(sink, "events"): [3, 0, 3, 0, 0] for sink in ("duckdb", "clickhouse")},
        **{(sink, "logs"): [0, 0, 0, 0, 0] for sink in ("duckdb", "clickhouse")},  # PruneLogsTTL: none that old
    }
    assert "rows/s" not in first.stderr and "it/s" not in first.stderr  # no bar off a terminal
    newest = json.loads(config_path.read_text())["PruneSkipToTimestamp"]
    assert newest == int(stamp_seconds(old[-1]["created_at"]))  # the newest of them: 400 days less 3 hours
    assert config_path.read_text() == before.replace(
        '{\n  "ApiVersion"', f'{{\n  "PruneSkipToTimestamp": {newest},\n  "ApiVersion"'
    )

    await fill(config_path, [event(20, created_at=stamp(EXPIRED + timedelta(days=1)))])  # older than skip-to
    second = tracker("--prune", str(config_path))
    # skipped: the new row and the two pruned before skip-to's second; the third (at it) is already scrubbed
    assert table(second.stdout)[("duckdb", "events")] == [4, 0, 0, 0, 3]
    assert table(second.stdout)[("clickhouse", "events")] == [4, 0, 0, 0, 3]


async def test_the_progress_bar_shows_on_a_terminal(config_path: Path) -> None:
    await fill(config_path, [event(i, created_at=stamp(EXPIRED - timedelta(hours=i))) for i in range(1, 6)])
    controller, terminal = pty.openpty()
    try:
        command = [sys.executable, "-m", "tracker", "--prune", str(config_path)]
        running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)  # read while it runs: the terminal's output is gone once its last writer closes
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other side is closed: everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert running.wait(timeout=120) == 0
    assert b"duckdb events" in shown and b"clickhouse events" in shown and b"rows" in shown


def stamp_seconds(text: str) -> float:
    from datetime import UTC, datetime

    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()


async def test_sigterm_stops_the_run_between_pages_and_the_next_run_finishes_it(tmp_path: Path) -> None:
    database = tmp_path / "t.duckdb"
    rules = [{**RULES[0], "PageSize": 10}]
    raw = {"PruneLogsSkip": True, "Notify": [{"Service": "duckdb", "Path": str(database), "Prune": rules}]}
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(raw))
    total = 3000  # 300 pages: the signal lands long before the last
    await fill(config_path, [event(i % 250, created_at=stamp(EXPIRED + timedelta(seconds=i))) for i in range(total)])
    controller, terminal = pty.openpty()
    command = [sys.executable, "-m", "tracker", "--prune", str(config_path)]
    running = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown, signalled = b"", False
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
            if not signalled and re.search(rb"\| *[1-9]\d*/\d+ \[", shown):  # a page is done: stop it now
                running.send_signal(signal.SIGTERM)
                signalled = True
    finally:
        os.close(controller)
    assert running.wait(timeout=120) == 130 and signalled
    assert b"prune stopped between pages" in shown
    with duckdb.connect(str(database), read_only=True) as db:
        done = db.execute("SELECT count(*) FROM events WHERE ip = ''").fetchone()[0]
    assert 0 < done < total and done % 10 == 0  # whole pages only
    again = tracker("--prune", str(config_path))
    assert again.returncode == 0 and table(again.stdout)[("duckdb", "events")][2] == total - done
    with duckdb.connect(str(database), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM events WHERE ip <> ''").fetchone() == (0,)
