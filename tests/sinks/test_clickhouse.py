"""The ClickHouse sink against a real ClickHouse server (Debian 18.16), and its schema and insert format
against current ClickHouse, in process (chdb-core 26.x)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.sink_duckdb import event
from tests.services.clickhouse import ClickHouseServer
from tracker.config import from_mapping
from tracker.sinks.base import PermanentSinkError, TransientSinkError
from tracker.sinks.clickhouse import ClickHouseSink, encode, statements
from tracker.sinks.schema import schema_files

TABLES = {
    "events",
    "redirects",
    "redirect_history",
    "accounts",
    "payments",
    "ltv",
    "agreements",
    "agreed",
    "jurisdictions",
}
VIEWS = {"visitors", "sessions", "hits", "ips", "reqs", "dailies", "browsers", "referrers", "counters", "ltvu", "ltvv"}


def sink_for(server: ClickHouseServer, database: str, **extra: object) -> ClickHouseSink:
    config = from_mapping({"Notify": [{"Service": "clickhouse", "Hosts": [server.host], "Context": database, **extra}]})
    return ClickHouseSink(config.notify[0], config)


@pytest.fixture
async def sink(clickhouse_server: ClickHouseServer, clickhouse_database: str) -> AsyncIterator[ClickHouseSink]:
    opened = sink_for(clickhouse_server, clickhouse_database)
    await opened.open()
    yield opened
    await opened.close()


async def test_schema_auto_creates_every_table_and_view(
    sink: ClickHouseSink, clickhouse_server: ClickHouseServer
) -> None:
    names = set(clickhouse_server.query(f"SELECT name FROM system.tables WHERE database = '{sink.database}'").split())
    assert names >= TABLES | VIEWS


async def test_events_arrive_with_their_values(sink: ClickHouseSink, clickhouse_server: ClickHouseServer) -> None:
    rows = [event() for _ in range(3)]
    await sink.write("events", rows)
    got = clickhouse_server.query(
        f"SELECT toString(eid), ename, source, campaign, params, toString(created_at) FROM {sink.database}.events "
        "ORDER BY eid FORMAT JSONCompact"
    )
    import json

    data = {r[0]: r for r in json.loads(got)["data"]}
    first = rows[0]
    assert data[first["eid"]][1:5] == [
        "page_view",
        "google",
        "winter",
        json.dumps(first["params"], separators=(",", ":")),
    ]
    assert data[first["eid"]][5] == first["created_at"][:19]


async def test_a_replayed_batch_is_not_counted_twice(sink: ClickHouseSink, clickhouse_server: ClickHouseServer) -> None:
    rows = [event() for _ in range(500)]
    await sink.write("events", rows)
    await sink.write("events", rows)
    assert clickhouse_server.scalar(f"SELECT count() FROM {sink.database}.events FINAL") == 500


async def test_a_bad_row_is_refused_alone_and_the_rest_stored(
    sink: ClickHouseSink, clickhouse_server: ClickHouseServer
) -> None:
    rows = [event() for _ in range(9)]
    bad = copy.deepcopy(rows[4])
    bad["eid"] = "not-a-uuid"
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("events", rows[:4] + [bad] + rows[4:])
    assert caught.value.rows == [bad] and "Code:" in str(caught.value)
    assert clickhouse_server.scalar(f"SELECT count() FROM {sink.database}.events") == 9


async def test_state_tables_keep_the_newest_version(sink: ClickHouseSink, clickhouse_server: ClickHouseServer) -> None:
    older = {
        "urlfrom": "go.example/a",
        "urlto": "https://example.com/1",
        "created_at": "2026-01-01 00:00:00.000",
        "updated_at": "2026-01-01 00:00:00.000",
        "tags": ["x"],
        "targets": {},
        "crawlable": False,
    }
    newer = {**older, "urlto": "https://example.com/2", "updated_at": "2026-01-02 00:00:00.000"}
    await sink.write("redirects", [newer])
    await sink.write("redirects", [older])  # a late replay of an older version
    rows = await sink.query("SELECT urlto, tags FROM redirects FINAL WHERE urlfrom = ?", ["go.example/a"])
    assert rows == [{"urlto": "https://example.com/2", "tags": '["x"]'}]


async def test_query_escapes_parameters(sink: ClickHouseSink) -> None:
    assert await sink.query("SELECT ? AS a, ? AS b", ["it's {x} \\ 'quoted'", 7]) == [
        {"a": "it's {x} \\ 'quoted'", "b": 7}
    ]


async def test_a_server_that_is_down_is_a_transient_error(clickhouse_database: str) -> None:
    from tests.harness import free_port

    config = from_mapping(
        {"Notify": [{"Service": "clickhouse", "Hosts": [f"127.0.0.1:{free_port()}"], "Timeout": 1000}]}
    )
    down = ClickHouseSink(config.notify[0], config)
    with pytest.raises(TransientSinkError):
        await down.open()
    await down.close()


async def test_gzip_and_plain_bodies_both_store(clickhouse_server: ClickHouseServer, clickhouse_database: str) -> None:
    for compress in (True, False):
        sink = sink_for(clickhouse_server, clickhouse_database, EnableCompression=compress)
        await sink.open()
        await sink.write("events", [event() for _ in range(10)])
        await sink.close()
    assert clickhouse_server.scalar(f"SELECT count() FROM {clickhouse_database}.events") == 20


def test_schema_and_inserts_work_on_current_clickhouse(tmp_path: Path) -> None:
    """The same SQL files and the sink's JSONEachRow body, on ClickHouse 26.x in process."""
    chdb_session = pytest.importorskip("chdb.session")
    db = chdb_session.Session(str(tmp_path / "chdb"))
    try:
        db.query("CREATE DATABASE IF NOT EXISTS t")
        db.query("USE t")
        for file in schema_files("clickhouse"):
            for statement in statements(file.read_text()):
                db.query(statement)
        names = set(
            str(db.query("SELECT name FROM system.tables WHERE database = 't'", "CSV")).replace('"', "").split()
        )
        assert names >= TABLES | VIEWS
        columns = {
            line.split(",")[0].strip('"'): line.split(",", 1)[1].strip('"')
            for line in str(
                db.query("SELECT name, type FROM system.columns WHERE database='t' AND table='events'", "CSV")
            ).split("\n")
            if line
        }
        rows = [event() for _ in range(50)]
        body = encode(rows + rows, columns).decode()
        settings = "SETTINGS input_format_skip_unknown_fields=1, date_time_input_format='best_effort'"
        db.query(f"INSERT INTO events {settings} FORMAT JSONEachRow\n{body}")
        assert str(db.query("SELECT count() FROM events FINAL", "CSV")).strip() == "50"
        assert str(db.query("SELECT count() FROM visitors", "CSV")).strip() == "50"
        link = {
            "urlfrom": "go.example/a",
            "urlto": "https://example.com/",
            "created_at": "2026-01-01 00:00:00.123",
            "updated_at": "2026-01-01 00:00:00.123",
            "tags": [],
            "targets": {},
            "crawlable": True,
            "valid_until": None,
            "oid": str(uuid.UUID(int=0)),
        }
        redirect_columns = {
            "urlfrom": "String",
            "urlto": "String",
            "created_at": "DateTime",
            "updated_at": "DateTime",
            "tags": "String",
            "targets": "String",
            "crawlable": "UInt8",
            "valid_until": "Nullable(DateTime)",
            "oid": "UUID",
        }
        db.query(f"INSERT INTO redirects {settings} FORMAT JSONEachRow\n{encode([link], redirect_columns).decode()}")
        assert str(db.query("SELECT crawlable FROM redirects FINAL", "CSV")).strip() == "1"
    finally:
        db.close()
