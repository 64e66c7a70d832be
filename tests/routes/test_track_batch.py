"""A large batch POST through a real tracker process into the real DuckDB sink: every event stored exactly once."""

from __future__ import annotations

import uuid

import httpx
import orjson

from tests.harness import TrackerProcess, snapshot_query


def test_a_post_of_1000_events_stores_exactly_1000_rows(tracker: TrackerProcess) -> None:
    marker = f"batch_{uuid.uuid4().hex[:8]}"
    events = [
        {"ename": marker, "etyp": "view", "url": f"https://shop.example/p/{i}?utm_source=x", "params": {"n": i}}
        for i in range(1000)
    ]
    response = httpx.post(tracker.url("/tr/v1/str/"), content=orjson.dumps(events), timeout=30)
    assert response.status_code == 200, response.text
    eids = response.json()
    assert len(eids) == 1000 and len(set(eids)) == 1000
    tracker.wait_shipped(60)
    rows = snapshot_query(
        tracker.workdir / "tracker.duckdb",
        "SELECT count(*), count(DISTINCT eid), min(CAST(params->>'n' AS INT)), max(CAST(params->>'n' AS INT))"
        " FROM events WHERE ename = ?",
        [marker],
    )
    assert rows == [(1000, 1000, 0, 999)]
    stored = {str(e) for (e,) in snapshot_query(tracker.workdir / "tracker.duckdb", "SELECT eid FROM events")}
    assert set(eids) <= stored
