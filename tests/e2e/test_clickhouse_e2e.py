"""A real tracker writing to a real ClickHouse server: routes → tables, outage, dead letters, two sinks, and the
`--init-schema` and `--prune` commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import TrackerProcess, free_port, prepare_tracker, snapshot_query, wait_until
from tests.routes.conftest import BROWSER_UA, add_account
from tests.services.clickhouse import ClickHouseServer
from tracker.privacy.hashing import sha


def lag(tracker: TrackerProcess, sink: str, since: float) -> int:
    """The sink's cursor lag from a status written after `since` (else unknown: -1)."""
    status = tracker.status()
    return int(status["sinks"][sink]["lag_bytes"]) if status.get("updated_unix", 0) > since else -1


def post_batches(tracker: TrackerProcess, ename: str, batches: int, size: int = 50) -> None:
    """`batches` POSTs of `size` events named `ename`, each answered 200."""
    with httpx.Client(base_url=tracker.base_url) as client:
        for batch in range(batches):
            events = [{"ename": ename, "xid": f"{batch}-{i}"} for i in range(size)]
            assert client.post("/tr/v1/tr/", json=events).status_code == 200


@pytest.fixture
def tracker_on_clickhouse(
    tmp_path: Path,
    clickhouse_server: ClickHouseServer,
    clickhouse_database: str,
) -> Iterator[TrackerProcess]:
    process = prepare_tracker(tmp_path / "t", Workers=2, Notify=[clickhouse_server.notify_entry(clickhouse_database)])
    process.token = add_account(process.config_path, "alice", "alice-password")["token"]  # type: ignore[attr-defined]
    process.start()
    try:
        yield process
    finally:
        process.kill9()


def test_every_route_writes_its_clickhouse_tables(
    tracker_on_clickhouse: TrackerProcess, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    tracker, db = tracker_on_clickhouse, clickhouse_database
    bearer = {"authorization": f"Bearer {tracker.token}"}  # type: ignore[attr-defined]
    assert httpx.get(tracker.url("/tr/v1/tr/ename/ch_get/etyp/view?utm_source=g")).status_code == 200
    assert httpx.post(tracker.url("/tr/v1/tr/"), json=[{"ename": "ch_post", "params": {"k": "v"}}]).status_code == 200
    assert httpx.post(tracker.url("/tr/v1/str/"), json={"ename": "ch_server"}).status_code == 200
    assert httpx.get(tracker.url("/tr/v1/img/ename/ch_pixel")).status_code == 200
    link = httpx.post(
        tracker.url("/tr/v1/rpi/links"),
        headers=bearer,
        json={"host": "go.example", "slugfrom": "ch", "urlto": "https://example.com/"},
    )
    assert link.status_code == 201, link.text
    hit = httpx.get(tracker.url("/ch?utm_campaign=c1"), headers={"host": "go.example", "user-agent": BROWSER_UA})
    assert hit.status_code == 302

    def events() -> dict[str, list[str]]:
        text = clickhouse_server.query(
            f"SELECT ename, source, campaign, params, link FROM {db}.events FINAL FORMAT JSONCompact"
        )
        return {row[0]: row[1:] for row in json.loads(text)["data"]}

    found = wait_until(lambda: len(events()) >= 5 and events(), 60, what="five events in ClickHouse")
    assert found["ch_get"][0] == "g" and found["ch_post"][2] == '{"k":"v"}'
    assert {"ch_server", "ch_pixel"} <= found.keys()
    assert found["short_rdr"][1] == "c1" and found["short_rdr"][3] == "go.example/ch"
    control_rows = (  # shipped from the control plane's own spool, on its own schedule
        f"SELECT count() FROM {db}.redirects FINAL WHERE urlfrom = 'go.example/ch'",
        f"SELECT count() FROM {db}.redirect_history WHERE action = 'create'",
        f"SELECT count() FROM {db}.accounts FINAL WHERE uid = 'alice'",
    )
    wait_until(lambda: [clickhouse_server.scalar(q) for q in control_rows] == [1, 1, 1], 30, what="control rows")
    # the stats read from ClickHouse as the primary store
    stats = wait_until(lambda: httpx.get(tracker.url("/tr/v1/rpi/stats/go.example/ch"), headers=bearer).json(), 30)
    assert stats["visits"] == 1 and stats["uniques"] == 1


def test_a_bad_row_is_dead_lettered_and_its_batch_arrives(
    tracker_on_clickhouse: TrackerProcess, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    tracker, db = tracker_on_clickhouse, clickhouse_database
    # a stricter column than the tracker knows: an xid that is not a UUID cannot be stored
    clickhouse_server.query(f"ALTER TABLE {db}.events MODIFY COLUMN xid UUID")
    batch = [{"ename": f"dl{i}"} for i in range(20)]
    batch[7]["xid"] = "not-a-uuid"
    assert httpx.post(tracker.url("/tr/v1/tr/"), json=batch).status_code == 200
    tracker.wait_shipped()
    assert clickhouse_server.scalar(f"SELECT count() FROM {db}.events WHERE ename LIKE 'dl%'") == 19
    dead = (tracker.workdir / "spool" / "dead-letter" / "clickhouse.jsonl").read_text().splitlines()
    assert len(dead) == 1 and json.loads(dead[0])["row"]["ename"] == "dl7" and "Code:" in json.loads(dead[0])["error"]


def test_outage_loses_nothing_and_does_not_slow_the_other_sink(
    tmp_path: Path,
    clickhouse_server: ClickHouseServer,
    clickhouse_database: str,
) -> None:
    duck = {"Service": "duckdb", "Path": str(tmp_path / "t" / "tracker.duckdb"), "BatchFlushInterval": 100}
    tracker = prepare_tracker(
        tmp_path / "t", Workers=2, Notify=[duck, clickhouse_server.notify_entry(clickhouse_database)]
    )
    tracker.start()
    try:
        clickhouse_server.stop()
        post_batches(tracker, "outage", 100)
        sent = time.time()
        wait_until(lambda: lag(tracker, "duckdb", sent) == 0, 60, what="DuckDB to drain while ClickHouse is down")
        wait_until(lambda: lag(tracker, "clickhouse", sent) > 0, 10, what="ClickHouse's lag to show")
        stored = snapshot_query(
            tracker.workdir / "tracker.duckdb", "SELECT count(*) FROM events WHERE ename = 'outage'"
        )
        assert stored[0][0] == 5000
        clickhouse_server.start()
        restarted = time.time()
        wait_until(lambda: lag(tracker, "clickhouse", restarted) == 0, 120, interval=0.5, what="ClickHouse to catch up")
        db = clickhouse_database
        assert clickhouse_server.scalar(f"SELECT uniqExact(eid) FROM {db}.events WHERE ename = 'outage'") == 5000
        assert clickhouse_server.scalar(f"SELECT count() FROM {db}.events FINAL WHERE ename = 'outage'") == 5000
    finally:
        if clickhouse_server.process is not None and clickhouse_server.process.poll() is not None:
            clickhouse_server.start()  # the server is shared by the session
        tracker.kill9()


def test_init_schema_and_prune_from_the_command_line(
    tmp_path: Path,
    clickhouse_server: ClickHouseServer,
    clickhouse_database: str,
) -> None:
    entry = {**clickhouse_server.notify_entry(clickhouse_database), "Schema": "manual"}
    entry["Prune"] = [{"TTL": 86400, "Fields": [{"Id": "ip", "DestParamHash": "iphash"}]}]
    tracker = prepare_tracker(tmp_path / "t", Notify=[entry])

    def cli(*args: str) -> str:
        run = [sys.executable, "-m", "tracker", *args, str(tracker.config_path)]
        done = subprocess.run(run, cwd=tracker.workdir, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "schema ready" in cli("--init-schema")
    db = clickhouse_database
    tables = set(clickhouse_server.query(f"SELECT name FROM system.tables WHERE database = '{db}'").split())
    assert {"events", "redirects", "accounts", "payments", "ltv", "agreements", "agreed", "visitors"} <= tables
    old = {"eid": "00000000-0000-1000-8000-000000000001", "created_at": "2020-01-01 00:00:00", "ip": "203.0.113.5"}
    clickhouse_server.query(f"INSERT INTO {db}.events FORMAT JSONEachRow {json.dumps(old)}")
    assert cli("--prune").splitlines()[1].split() == ["clickhouse", "events", "1", "0", "1", "0", "0"]
    stored = clickhouse_server.query(f"SELECT ip, params FROM {db}.events FORMAT JSONEachRow")
    assert json.loads(stored) == {"ip": "", "params": json.dumps({"iphash": sha("203.0.113.5")}, separators=(",", ":"))}


def test_a_tracker_started_while_clickhouse_is_down_serves_and_catches_up(tmp_path: Path) -> None:
    late = ClickHouseServer(tmp_path / "late", free_port(), free_port())
    duck = {"Service": "duckdb", "Path": str(tmp_path / "t" / "tracker.duckdb"), "BatchFlushInterval": 100}
    tracker = prepare_tracker(tmp_path / "t", Notify=[late.notify_entry("late"), duck])
    tracker.start()  # ClickHouse, the primary store, is not running yet
    try:
        events = [{"ename": "early", "xid": str(i)} for i in range(100)]
        assert httpx.post(tracker.url("/tr/v1/tr/"), json=events).status_code == 200
        sent = time.time()
        wait_until(lambda: lag(tracker, "duckdb", sent) == 0, 60, what="DuckDB while ClickHouse has never been up")
        late.start()
        started = time.time()
        wait_until(lambda: lag(tracker, "clickhouse", started) == 0, 120, interval=0.5, what="ClickHouse to catch up")
        assert late.scalar("SELECT uniqExact(eid) FROM late.events WHERE ename = 'early'") == 100
    finally:
        tracker.kill9()
        late.stop()


def test_a_hung_clickhouse_holds_up_neither_requests_nor_duckdb_nor_shutdown_and_loses_nothing(
    tmp_path: Path,
    clickhouse_server: ClickHouseServer,
    clickhouse_database: str,
) -> None:
    """SIGSTOP: the server's sockets still accept (the kernel's backlog) but nothing answers, the way a wedged
    server or a half-open network path looks to a client."""
    assert clickhouse_server.process is not None
    duck = {"Service": "duckdb", "Path": str(tmp_path / "t" / "tracker.duckdb"), "BatchFlushInterval": 100}
    hung = {**clickhouse_server.notify_entry(clickhouse_database), "Timeout": 1000}
    tracker = prepare_tracker(tmp_path / "t", Workers=2, Notify=[duck, hung]).start()
    os.killpg(clickhouse_server.process.pid, signal.SIGSTOP)
    try:
        post_batches(tracker, "hung", 40)
        sent = time.time()
        wait_until(lambda: lag(tracker, "duckdb", sent) == 0, 60, what="DuckDB to drain while ClickHouse hangs")
        stuck = wait_until(
            lambda: (sink := tracker.status()["sinks"]["clickhouse"])["consecutive_failures"] > 0 and sink,
            30,
            what="the hung ClickHouse to show as failing",
        )
        assert "Timeout" in stuck["last_error"] and stuck["lag_bytes"] > 0, stuck
        assert tracker.stop(timeout=60) == 1  # bounded: ships what it can, says what it could not, exits
        assert "stopped with events not shipped" in tracker.log()
    finally:
        os.killpg(clickhouse_server.process.pid, signal.SIGCONT)  # the server is shared by the session
        tracker.kill9()
    assert snapshot_query(tracker.workdir / "tracker.duckdb", "SELECT count(*) FROM events")[0][0] == 2000
    tracker.start()  # the same spool: ClickHouse gets every event it missed, once
    try:
        tracker.wait_shipped(timeout=120)
        db = clickhouse_database
        assert clickhouse_server.scalar(f"SELECT uniqExact(eid) FROM {db}.events WHERE ename = 'hung'") == 2000
        assert clickhouse_server.scalar(f"SELECT count() FROM {db}.events FINAL WHERE ename = 'hung'") == 2000
    finally:
        tracker.kill9()
