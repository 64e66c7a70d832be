"""The ClickHouse schema against a real server (Debian 18.16): events.eid's default, the upgrade of a database an
older tracker made (payments types, eid default), and the cluster variant on a one-node cluster."""

from __future__ import annotations

import asyncio
import json
import uuid

from tests.harness import wait_until
from tests.services.clickhouse import ClickHouseServer, sink_for
from tests.sinks.clickhouse.test_sink import STAMP
from tracker.config import PruneRule
from tracker.events.derived import derived_records
from tracker.sinks.clickhouse.cluster import cluster_statements
from tracker.sinks.clickhouse.schema import fix_columns
from tracker.sinks.clickhouse.sink import ClickHouseSink
from tracker.sinks.clickhouse.sql import statements
from tracker.sinks.schema import schema_dir

CLUSTER = "tracker_one_node"  # .setup/services/clickhouse.sh: the test server alone
OLD_TYPES = {  # the first ClickHouse schema here, before Go's types
    "eid UUID DEFAULT generateUUIDv4()": "eid UUID",
    "duration Int64 DEFAULT 0": "duration String DEFAULT ''",
    "campaign_id String DEFAULT ''": "campaign_id UUID",
}


def go_insert_without_eid(server: ClickHouseServer, database: str, ename: str, rows: int = 1000) -> None:
    """As Go's own tests insert events: a column list without eid, every row in the same second."""
    server.query(
        f"INSERT INTO events (created_at, ename) SELECT toDateTime('{STAMP[:19]}', 'UTC'), '{ename}' "
        f"FROM system.numbers LIMIT {rows}",
        database,
    )


def types(server: ClickHouseServer, database: str, table: str) -> dict[str, str]:
    answer = server.query(
        f"SELECT name, type, default_expression FROM system.columns WHERE database = '{database}' "
        f"AND table = '{table}' FORMAT JSONCompact"
    )
    return {name: f"{kind} DEFAULT {default}" for name, kind, default in json.loads(answer)["data"]}


async def test_a_thousand_events_without_eid_stay_a_thousand_under_final(
    sink: ClickHouseSink, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    go_insert_without_eid(clickhouse_server, clickhouse_database, "no_eid")
    counted = "SELECT count() FROM events FINAL WHERE ename = 'no_eid'"
    assert clickhouse_server.scalar(counted, clickhouse_database) == 1000
    clickhouse_server.query("OPTIMIZE TABLE events FINAL", clickhouse_database)
    assert clickhouse_server.scalar(counted, clickhouse_database) == 1000


async def test_a_database_made_by_an_older_tracker_is_upgraded_in_place(
    clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    db = clickhouse_database
    for name in ("01_events.sql", "03_commerce_privacy.sql"):
        old = (schema_dir("clickhouse") / name).read_text()
        for new, before in OLD_TYPES.items():
            old = old.replace(new, before)
        for statement in statements(old):
            clickhouse_server.query(statement, db)
    ids = [str(uuid.UUID(int=n)) for n in (1, 2, 3)]
    clickhouse_server.query(
        "INSERT INTO payments (id, duration, created_at, updated_at) VALUES "
        f"('{ids[0]}', '', '{STAMP[:19]}', '{STAMP[:19]}'), ('{ids[1]}', '30', '{STAMP[:19]}', '{STAMP[:19]}'), "
        f"('{ids[2]}', 'monthly', '{STAMP[:19]}', '{STAMP[:19]}')",
        db,
    )
    assert types(clickhouse_server, db, "payments")["duration"] == "String DEFAULT ''"

    sink = sink_for(clickhouse_server, db)
    await sink.open()
    try:
        assert types(clickhouse_server, db, "payments")["duration"] in (
            "Int64 DEFAULT 0",
            "Int64 DEFAULT CAST(0, 'Int64')",
        )
        assert types(clickhouse_server, db, "payments")["campaign_id"] == "String DEFAULT ''"
        assert types(clickhouse_server, db, "events")["eid"] == "UUID DEFAULT generateUUIDv4()"
        kept = await sink.query("SELECT id, duration, campaign_id FROM payments FINAL ORDER BY id")
        assert [(str(r["id"]), r["duration"], r["campaign_id"]) for r in kept] == [
            (ids[0], 0, ""),
            (ids[1], 30, ""),
            (ids[2], 0, ""),  # text Go could never have stored there
        ]
        line = {"id": str(uuid.uuid4()), "duration": 45, "campaign_id": "", "created_at": STAMP, "updated_at": STAMP}
        await sink.write("payments", [line, {**line, "id": str(uuid.uuid4()), "campaign_id": "spring-sale"}])
        stored = clickhouse_server.query(
            "SELECT campaign_id FROM payments FINAL WHERE duration = 45 ORDER BY campaign_id", db
        )
        assert stored.splitlines() == ["", "spring-sale"]
        go_insert_without_eid(clickhouse_server, db, "after_upgrade", rows=100)
        assert clickhouse_server.scalar("SELECT count() FROM events FINAL WHERE ename = 'after_upgrade'", db) == 100
        assert await fix_columns(sink, None, {}) == []  # a second start changes nothing
    finally:
        await sink.close()


async def test_the_cluster_variant_writes_and_reads_through_distributed_tables(
    clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    db = clickhouse_database
    sink = sink_for(clickhouse_server, db, Cluster=CLUSTER)
    await sink.open()
    try:
        engines = json.loads(
            clickhouse_server.query(
                f"SELECT name, engine FROM system.tables WHERE database = '{db}' FORMAT JSONCompact"
            )
        )["data"]
        found = dict(engines)
        for table in ("events", "payments", "agreements", "mthreads", "emails", "visitor_interests"):
            assert (found[table], found[f"{table}_local"]) == ("Distributed", "ReplacingMergeTree"), table
        assert found["hits"] == "View"

        vid, oid = str(uuid.uuid4()), str(uuid.uuid4())
        event = {"eid": str(uuid.uuid4()), "created_at": STAMP, "vid": vid, "sid": vid, "oid": oid}
        event |= {"tid": str(uuid.uuid4()), "ename": "conversion", "url": "//shop.example/a", "hhash": "h1"}
        event |= {"host": "shop.example", "uid": str(uuid.uuid4())}
        values = {"ehash": "e#", "tags": "a,b", "subject": "Hello"}
        rows = derived_records(event, values, is_server=False)
        for table in ("events", *sorted({r.table for r in rows})):
            batch = [event] if table == "events" else [r.row for r in rows if r.table == table]
            await sink.write(table, batch)
            await sink.write(table, batch)  # a replay, sharded to the same node and collapsed under FINAL
        wanted = {"events": 1, "mthreads": 1, "mstore": 1, "mtriage": 1, "impression_daily": 1, "emails": 1}
        wanted |= {"hosts": 1, "userhosts": 1, "visitor_interests": 1}

        async def counts() -> dict[str, int]:
            return {t: (await sink.query(f"SELECT count() AS n FROM {t} FINAL"))[0]["n"] for t in wanted}

        for _ in range(300):  # Distributed inserts reach the local tables in the background
            stored = await counts()
            if stored == wanted:
                break
            await asyncio.sleep(0.1)
        assert stored == wanted
        hits = await sink.query("SELECT url, total FROM hits")
        assert [(r["url"], r["total"]) for r in hits] == [("//shop.example/a", 1)]

        go_insert_without_eid(clickhouse_server, db, "no_eid")
        wait_until(
            lambda: clickhouse_server.scalar("SELECT count() FROM events FINAL WHERE ename = 'no_eid'", db) == 1000,
            30,
            what="1,000 events without eid through the Distributed table",
        )
        # --prune's mutations run on the local tables (a Distributed table refuses them), and prune waits for them
        report = await sink.prune([PruneRule(ttl_seconds=86400, clear_all=True)], logs_only=False)
        assert report.rows_deleted in (1001, 1002)  # all long expired; the replayed copy counts until merged
        assert clickhouse_server.scalar("SELECT count() FROM events_local", db) == 0
    finally:
        await sink.close()


def test_replicated_cluster_tables_name_their_keeper_path_and_shard_by_their_key() -> None:
    statement = (
        "CREATE TABLE IF NOT EXISTS hosts (\n    hhash String DEFAULT '', created_at DateTime('UTC')\n) "
        "ENGINE = ReplacingMergeTree(created_at) ORDER BY (hhash, hostname)"
    )
    local, distributed = cluster_statements(statement, "c3", "sfpla", replicated=True)
    assert local.startswith("CREATE TABLE IF NOT EXISTS hosts_local (\n    hhash String")
    assert local.endswith(
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/sfpla/hosts_local', '{replica}', "
        "created_at) ORDER BY (hhash, hostname)"
    )
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS hosts AS hosts_local "
        "ENGINE = Distributed(c3, sfpla, hosts_local, cityHash64(hhash, hostname))"
    )
    plain, _ = cluster_statements(statement.replace("(created_at)", "()"), "c3", "sfpla", replicated=False)
    assert "ENGINE = ReplacingMergeTree() ORDER BY" in plain
    view = "CREATE VIEW IF NOT EXISTS hits AS SELECT 1"
    assert cluster_statements(view, "c3", "sfpla", replicated=True) == [view]
