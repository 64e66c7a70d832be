"""Creating and upgrading the ClickHouse schema: the .setup/clickhouse files on one server, or their cluster variant
on every node listed in Hosts (DDL is run node by node, so no `ON CLUSTER` and no Keeper is needed for it), then the
column fixes a database made by an older tracker needs. Idempotent: a column with its type and default is left alone.

A new default is an `ALTER … MODIFY COLUMN`. A new type is a rebuild, because 18.16 converts a column's outdated
parts too (values an UPDATE already rewrote still fail the cast for minutes): the table is renamed to
`<table>_before_upgrade`, created anew and filled from it with the conversions, then the old one is dropped. Inserts
meanwhile fail and are retried from the spool; a rebuild cut short resumes at the next start.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from tracker.sinks.clickhouse.cluster import cluster_statements, local_name
from tracker.sinks.clickhouse.sql import statements
from tracker.sinks.schema import schema_files

if TYPE_CHECKING:
    from tracker.sinks.clickhouse.sink import ClickHouseSink

log = logging.getLogger("tracker.sinks.clickhouse")
CREATED = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+) ")
ZERO_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class ColumnFix:
    table: str
    column: str
    type: str
    default: str
    convert: str = ""  # the old value in the new type, in SQL, when the type changes

    @property
    def defaults(self) -> tuple[str, str]:
        """The default as system.columns may show it (18.16 wraps constants in a CAST)."""
        return self.default, f"CAST({self.default}, '{self.type}')"


FIXES = (
    # Go's own tests insert events without eid: without a default they all share the zero eid and FINAL keeps one
    ColumnFix("events", "eid", "UUID", "generateUUIDv4()"),
    # Go's payments types (the first ClickHouse schema here had duration String and campaign_id UUID)
    ColumnFix("payments", "duration", "Int64", "0", convert="toInt64OrZero(toString(duration))"),
    ColumnFix(
        "payments",
        "campaign_id",
        "String",
        "''",
        convert=f"if(toString(campaign_id) = '{ZERO_UUID}', '', toString(campaign_id))",
    ),
)
Columns = dict[tuple[str, str], tuple[str, str]]  # (table, column) → (type, default expression)


async def create_schema(sink: ClickHouseSink) -> None:
    # One server: the current host, passing over hosts that refuse connections. A cluster: every node in turn.
    urls: list[str | None] = list(sink.urls) if sink.cluster else [None]
    for url in urls:
        await sink.command(f"CREATE DATABASE IF NOT EXISTS {sink.database}", database="default", url=url)
        creates: dict[str, str] = {}
        for file in schema_files("clickhouse"):
            for statement in statements(file.read_text()):
                await create(sink, url, statement)
                created = CREATED.match(statement)
                if created:
                    creates[created.group(1)] = statement
        await fix_columns(sink, url, creates)


async def create(sink: ClickHouseSink, url: str | None, statement: str) -> None:
    parts = cluster_statements(statement, sink.cluster, sink.database, sink.replicated) if sink.cluster else [statement]
    for part in parts:
        await sink.command(part, url=url)


async def fix_columns(sink: ClickHouseSink, url: str | None, creates: dict[str, str]) -> list[str]:
    """Bring the FIXES columns to their type and default on this server; returns what it changed."""
    columns = await read_columns(sink, url)
    changed = []
    for table in sorted({fix.table for fix in FIXES}):
        fixes = [fix for fix in FIXES if fix.table == table]
        stored = local_name(table) if sink.cluster else table  # where the rows are
        resumed = any(name == f"{stored}_before_upgrade" for name, _ in columns)
        if resumed or any(columns.get((stored, fix.column), (fix.type,))[0] != fix.type for fix in fixes):
            await rebuild(sink, url, table, creates[table], columns)
            changed.append(table)
            continue
        for fix in fixes:
            current = columns.get((stored, fix.column))
            if current is None or (current[0] == fix.type and current[1] in fix.defaults):
                continue
            for name in dict.fromkeys((stored, table)):  # the Distributed table's columns follow its local one
                await sink.command(
                    f"ALTER TABLE {name} MODIFY COLUMN {fix.column} {fix.type} DEFAULT {fix.default}", url=url
                )
            changed.append(f"{table}.{fix.column}")
    for name in changed:
        log.info("ClickHouse schema upgraded", extra={"database": sink.database, "upgraded": name})
    return changed


async def rebuild(sink: ClickHouseSink, url: str | None, table: str, create_statement: str, columns: Columns) -> None:
    stored = local_name(table) if sink.cluster else table
    old = f"{stored}_before_upgrade"
    if not any(name == old for name, _ in columns):
        await sink.command(f"RENAME TABLE {stored} TO {old}", url=url)
        columns = {(old if name == stored else name, column): kind for (name, column), kind in columns.items()}
        if sink.cluster:  # recreated below over the new local table
            await sink.command(f"DROP TABLE IF EXISTS {table}", url=url)
    await create(sink, url, create_statement)
    new = await read_columns(sink, url)
    shared = [column for name, column in columns if name == old and (stored, column) in new]
    converted = {fix.column: fix.convert for fix in FIXES if fix.table == table}
    selected = [
        converted[column] if columns[(old, column)][0] != new[(stored, column)][0] and column in converted else column
        for column in shared
    ]
    await sink.command(f"INSERT INTO {stored} ({', '.join(shared)}) SELECT {', '.join(selected)} FROM {old}", url=url)
    await sink.command(f"DROP TABLE {old}", url=url)


async def read_columns(sink: ClickHouseSink, url: str | None) -> Columns:
    found = await rows(
        sink,
        url,
        f"SELECT table, name, type, default_expression FROM system.columns WHERE database = '{sink.database}'",
    )
    return {(str(r["table"]), str(r["name"])): (str(r["type"]), str(r["default_expression"])) for r in found}


async def rows(sink: ClickHouseSink, url: str | None, sql: str) -> list[dict[str, object]]:
    text = await sink.command(sql + " FORMAT JSONEachRow", url=url)
    return [orjson.loads(line) for line in text.splitlines() if line.strip()]
