"""A link's statistics counted from its `events_by_link` partition give what DuckDB's GROUP BY queries give for
the same visits (a real DuckDB sink answers the same rows here)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.sinks.test_primary_store import BOT, visit
from tracker.config import from_mapping
from tracker.sinks.base import PrimaryStore
from tracker.sinks.cassandra.reads import LINK_COLUMNS, link_stats, link_visit_rows
from tracker.sinks.cassandra.types import to_cql
from tracker.sinks.registry import build_sinks


def as_read(row: dict[str, Any]) -> dict[str, Any]:
    """A link row as the driver returns it: UUIDs as UUID, times as naive UTC datetimes."""
    return {
        **row,
        "created_at": to_cql(row["created_at"], "timestamp").replace(tzinfo=None),
        "vid": to_cql(row["vid"], "uuid"),
        "eid": to_cql(row["eid"], "uuid"),
    }


def visits() -> list[dict[str, Any]]:
    me = str(uuid.uuid4())
    return [
        visit("go.example/a", vid=me, referer="https://news.example/", country="DE"),
        visit("go.example/a", vid=me, referer="https://news.example/", country="DE", age=timedelta(days=2)),
        visit("go.example/a", referer="https://mail.example/", country="FR"),
        visit("go.example/a", ua=BOT, referer="https://news.example/", country="US"),
        visit("go.example/a", age=timedelta(days=40), country="DE"),
        *(visit("go.example/a", referer=f"https://r{n:02}.example/") for n in range(12)),  # past the top 10
        visit("go.example/b"),
    ]


def test_only_short_link_hits_get_a_link_row() -> None:
    rows = visits() + [{"eid": str(uuid.uuid4()), "ename": "view", "created_at": "2026-01-01 00:00:00"}]
    found = link_visit_rows(rows)
    assert len(found) == len(rows) - 1
    assert all(set(row) == set(LINK_COLUMNS) for row in found)


async def test_link_stats_match_duckdb_for_the_same_visits(tmp_path: Path) -> None:
    events = visits()
    (duckdb,) = build_sinks(from_mapping({"Notify": [{"Service": "duckdb", "Path": str(tmp_path / "t.duckdb")}]}))
    assert isinstance(duckdb, PrimaryStore)
    await duckdb.open()
    try:
        await duckdb.write("events", events)
        partition = [as_read(row) for row in link_visit_rows(events) if row["link"] == "go.example/a"]
        for days in (1, 30, 60):
            expected = await duckdb.link_stats("go.example/a", days=days)
            assert link_stats("go.example/a", partition, days).as_json() == expected.as_json()
        expected_none = await duckdb.link_stats("go.example/none")
        assert link_stats("go.example/none", [], 30) == expected_none
    finally:
        await duckdb.close()
