"""A DuckDB file made by the version whose events table had a PRIMARY KEY (eid) is rebuilt without it at open:
every row and column kept, the newest ids seeded into event_ids, once, and a failed rebuild changes nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pytest

from tests.sinks.duckdb.test_sink import make_sink
from tracker.sinks.schema import schema_files

REBUILT = "events table rebuilt without its key"
KEYS = "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'events' AND constraint_type = 'PRIMARY KEY'"


def old_schema() -> list[str]:
    """The schema files as the keyed version had them: eid the PRIMARY KEY (and no event_ids, which the sink makes)."""
    texts = [file.read_text() for file in schema_files("duckdb")]
    first = texts[0].replace("eid UUID NOT NULL,", "eid UUID PRIMARY KEY,")
    assert "eid UUID PRIMARY KEY" in first
    return [first, *texts[1:]]


def make_old_file(path: Path, events: int) -> list[tuple[object, ...]]:
    """A database in the old schema holding `events` rows; returns them ordered by created_at."""
    with duckdb.connect(str(path)) as db:
        for text in old_schema():
            db.execute(text)
        db.execute(
            "INSERT INTO events (eid, created_at, vid, ename, params) SELECT uuid(), "
            "now()::TIMESTAMP - to_seconds(i), uuid(), 'old', json_object('i', i) FROM range(?) t(i)",
            [events],
        )
        assert db.execute(KEYS).fetchall() == [(1,)]
        return db.execute("SELECT * FROM events ORDER BY created_at").fetchall()


def columns(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.execute(
            "SELECT column_name, data_type, column_default FROM duckdb_columns() WHERE table_name = 'events' "
            "ORDER BY column_index"
        ).fetchall()


async def test_an_old_file_loses_the_key_and_keeps_every_row_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "old.duckdb"
    before = make_old_file(database, 1_000)
    shape = columns(database)
    caplog.set_level(logging.INFO, logger="tracker.sinks.duckdb")
    for _ in range(2):  # the second open finds nothing to do
        sink = make_sink(database, DedupeEvents=300)
        await sink.open()
        assert "events" not in sink.keys
        newest = await sink.query(
            "SELECT eid::VARCHAR AS eid, created_at FROM events ORDER BY created_at DESC LIMIT 50"
        )
        replay = [{"eid": row["eid"], "created_at": str(row["created_at"]), "ename": "replayed"} for row in newest]
        await sink.write("events", replay)  # the old version stored these just before the upgrade: not again
        await sink.close()
    assert [r.message for r in caplog.records].count(REBUILT) == 1
    assert columns(database) == shape
    with duckdb.connect(str(database), read_only=True) as db:
        assert db.execute("SELECT * FROM events ORDER BY created_at").fetchall() == before
        seeded = db.execute("SELECT count(*), min(e.created_at) FROM event_ids JOIN events e USING (eid)").fetchall()
        assert db.execute(KEYS).fetchall() == [(0,)]
    created_at = [name for name, _, _ in shape].index("created_at")
    assert seeded == [(300, before[-300][created_at])]  # the newest 300 ids


async def test_a_rebuild_that_fails_leaves_the_old_table_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "old.duckdb"
    before = make_old_file(database, 100)
    with duckdb.connect(str(database)) as db:
        db.execute("CREATE VIEW events__without_key AS SELECT 1")  # in the way: the rebuild fails halfway
    sink = make_sink(database)
    with pytest.raises(duckdb.Error):
        await sink.open()
    with duckdb.connect(str(database)) as db:
        assert db.execute("SELECT * FROM events ORDER BY created_at").fetchall() == before
        assert db.execute(KEYS).fetchall() == [(1,)]
        db.execute("DROP VIEW events__without_key")
    await sink.open()  # the shipper's next try completes it
    assert "events" not in sink.keys
    assert (await sink.query("SELECT count(*) AS n FROM events"))[0]["n"] == 100
    await sink.close()
