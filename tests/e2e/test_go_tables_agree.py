"""GET /tr/v1/ppi/agree answers a visitor's current agreement, as Go does (`agreements FINAL`), while every
consent ever given stays in `agreed`: on DuckDB and on the real ClickHouse server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import TrackerProcess, prepare_tracker, snapshot_query
from tests.services.clickhouse import ClickHouseServer


@pytest.fixture(params=["duckdb", "clickhouse"])
def sink_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tracker(request: pytest.FixtureRequest, sink_kind: str, tmp_path: Path) -> Iterator[TrackerProcess]:
    overrides: dict[str, Any] = {}
    if sink_kind == "clickhouse":
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        database = request.getfixturevalue("clickhouse_database")
        overrides["Notify"] = [{"Service": "clickhouse", "Hosts": [server.host], "Context": database}]
    process = prepare_tracker(tmp_path / "t", **overrides).start()
    try:
        yield process
    finally:
        process.stop()


def history(request: pytest.FixtureRequest, sink_kind: str, tracker: TrackerProcess, vid: str) -> list[int]:
    if sink_kind == "duckdb":
        found = snapshot_query(tracker.workdir / "tracker.duckdb", "SELECT cflags FROM agreed WHERE vid = ?", [vid])
        return sorted(int(row[0]) for row in found)
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    database = request.getfixturevalue("clickhouse_database")
    answer = server.query(f"SELECT cflags FROM agreed FINAL WHERE vid = toUUID('{vid}') FORMAT JSONCompact", database)
    return sorted(int(row[0]) for row in json.loads(answer)["data"])


def test_get_agree_answers_the_current_agreement_and_agreed_keeps_each(
    request: pytest.FixtureRequest, sink_kind: str, tracker: TrackerProcess
) -> None:
    vid = str(uuid.uuid1())
    for cflags in (1024, 3072):  # necessary only, then analytics too
        body = {"vid": vid, "cflags": cflags, "tz": "Europe/London"}
        assert httpx.post(tracker.url("/tr/v1/ppi/agree"), json=body, timeout=10).status_code == 200
        tracker.wait_shipped()

    answer = httpx.get(tracker.url(f"/tr/v1/ppi/agree?vid={vid}"), timeout=10)
    assert answer.status_code == 200
    [current] = answer.json()
    assert (current["vid"], current["cflags"], current["country"]) == (vid, 3072, "GB")
    assert history(request, sink_kind, tracker, vid) == [1024, 3072]
