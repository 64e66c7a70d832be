"""Every Go table's derived rows are stored by each sink's schema as they are built: bound by the Cassandra driver
offline (its real serialisers), written into a DuckDB file and into the real ClickHouse server and read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.services.clickhouse import ClickHouseServer, sink_for
from tests.sinks.cassandra.offline import SCHEMA, prepared_insert
from tracker.config import from_mapping
from tracker.events.derived import derived_records
from tracker.events.go_columns import MESSAGING_TABLES
from tracker.records import Record
from tracker.sinks.cassandra.binding import bind_rows
from tracker.sinks.duckdb.sink import DuckDBSink

GO_TABLES = {"mthreads", "mstore", "mtriage", "impression_daily", "visitor_interests", "outcomes", "hosts"}
GO_TABLES |= {"usernames", "emails", "cells", "userhosts"}
OID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
VID = "14fb0860-b4bf-11e9-8971-7b80435315ac"


def every_go_row() -> list[Record]:
    """One event that fills every Go table, with a value of every column kind the messaging tables have."""
    event = {"eid": "0d6b8a2e-2f6c-11ef-9a4f-0242ac120002", "created_at": "2026-03-04 05:06:07.890", "vid": VID}
    event |= {"sid": VID, "uid": VID, "oid": OID, "tid": VID, "ename": "conversion", "hhash": "h1", "host": "a.test"}
    samples = {
        "text": "x",
        "uuid": VID,
        "int8": 3,
        "int16": -60,
        "int32": 7,
        "int64": 10**12,
        "float": 0.25,
        "flag": True,
        "json": {"a": [1, 2]},
        "texts": ["p", "q"],
        "uuids": [VID],
        "time": "2026-01-02T03:04:05Z",
    }
    values: dict[str, Any] = {"uhash": "u#", "ehash": "e#", "chash": "c#", "outcome": "won", "tags": "t1,t2"}
    for kinds in MESSAGING_TABLES.values():
        values |= {column: samples[kind] for column, kind in kinds.items()}
    records = derived_records(event, values, is_server=False)
    assert {record.table for record in records} == GO_TABLES
    return records


def test_cassandra_binds_every_go_row() -> None:
    for record in every_go_row():
        table = SCHEMA[record.table]
        assert set(record.row) <= set(table.columns), (record.table, set(record.row) - set(table.columns))
        bound, refused = bind_rows(table, prepared_insert(table), [record.row])
        assert refused == [] and len(bound) == 1, record.table


async def test_duckdb_stores_every_go_row_with_its_values(tmp_path: Path) -> None:
    config = from_mapping({"Notify": [{"Service": "duckdb", "Path": str(tmp_path / "t.duckdb")}]})
    sink = DuckDBSink(config.notify[0], config)
    await sink.open()
    try:
        for record in every_go_row():
            assert set(record.row) <= set(sink.tables[record.table]), record.table
            await sink.write(record.table, [record.row])
            await sink.write(record.table, [record.row])  # a replay is ignored
        [thread] = await sink.query(
            "SELECT alias, admins, cats, ddata, opens, ephemeral, provider_cost, deleted, tid FROM mthreads"
        )
        assert thread["alias"] == "x" and [str(u) for u in thread["admins"]] == [VID] and thread["cats"] == ["p", "q"]
        assert thread["ddata"] == '{"a":[1,2]}' and thread["opens"] is True and thread["ephemeral"] == 7
        assert thread["provider_cost"] == 0.25 and str(thread["deleted"]) == "2026-01-02 03:04:05"
        [triage] = await sink.query("SELECT scheduled_local_hour, utc_offset_minutes, keep FROM mtriage")
        assert (triage["scheduled_local_hour"], triage["utc_offset_minutes"], triage["keep"]) == (3, -60, True)
        for table in GO_TABLES:
            assert (await sink.query(f"SELECT count(*) AS n FROM {table}"))[0]["n"] == 1, table
    finally:
        await sink.close()


async def test_clickhouse_stores_every_go_row_with_its_values(
    clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    sink = sink_for(clickhouse_server, clickhouse_database)
    await sink.open()
    try:
        for record in every_go_row():
            assert set(record.row) <= set(sink.columns[record.table]), record.table
            await sink.write(record.table, [record.row])
            await sink.write(record.table, [record.row])  # a replay collapses under FINAL
        [thread] = await sink.query(
            "SELECT alias, admins, cats, ddata, opens, ephemeral, provider_cost, deleted FROM mthreads FINAL"
        )
        assert thread["alias"] == "x" and [str(u) for u in thread["admins"]] == [VID] and thread["cats"] == ["p", "q"]
        assert thread["ddata"] == '{"a":[1,2]}' and thread["opens"] == 1 and thread["ephemeral"] == 7
        assert thread["provider_cost"] == 0.25 and str(thread["deleted"]) == "2026-01-02 03:04:05"
        [triage] = await sink.query("SELECT scheduled_local_hour, utc_offset_minutes, keep FROM mtriage FINAL")
        assert (triage["scheduled_local_hour"], triage["utc_offset_minutes"], triage["keep"]) == (3, -60, 1)
        for table in GO_TABLES:
            assert (await sink.query(f"SELECT count() AS n FROM {table} FINAL"))[0]["n"] == 1, table
    finally:
        await sink.close()
