"""The CQL schema has the other sinks' tables, each keyed so that a replayed row overwrites itself."""

from __future__ import annotations

import re

from tests.harness import ROOT
from tests.sinks.cassandra.offline import SCHEMA
from tracker.sinks.cassandra.tables import parse_create_table, statements

DUCKDB = ROOT / ".setup" / "duckdb"


def duckdb_tables() -> dict[str, set[str]]:
    """Table name → column names of the DuckDB schema files (views left out: CQL has no GROUP BY views)."""
    tables: dict[str, set[str]] = {}
    for file in sorted(DUCKDB.glob("*.sql")):
        for match in re.finditer(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", file.read_text(), re.DOTALL):
            body = re.sub(r"--[^\n]*", "", match.group(2))
            columns = {part.split()[0] for part in re.split(r",\s*(?![^()]*\))", body) if part.split()}
            tables[match.group(1)] = columns - {"PRIMARY"}
    return tables


def test_every_duckdb_table_exists_in_cassandra_with_its_columns() -> None:
    for table, columns in duckdb_tables().items():
        assert table in SCHEMA, table
        assert columns <= set(SCHEMA[table].columns), (table, columns - set(SCHEMA[table].columns))
    assert "agreed" in SCHEMA  # DuckDB makes it AS SELECT from agreements
    assert set(SCHEMA) - set(duckdb_tables()) == {"agreed", "events_by_link"}


def test_keys_hold_each_rows_id_so_upserts_are_idempotent() -> None:
    assert SCHEMA["events"].primary_key == ("eid",)
    assert SCHEMA["events_by_link"].partition_key == ("link",)
    assert "eid" in SCHEMA["events_by_link"].clustering_key
    assert SCHEMA["redirects"].primary_key == ("urlfrom",)
    assert SCHEMA["accounts"].primary_key == ("uid",)
    assert SCHEMA["payments"].primary_key == ("id",)
    assert SCHEMA["ltv"].partition_key == ("id", "id_type")  # one person's lifetime value is one partition
    assert SCHEMA["ltv"].clustering_key == ("payment_id",)
    assert SCHEMA["jurisdictions"].primary_key == ("regulation", "compliance", "seq")


def test_types_follow_the_row_shapes() -> None:
    events = SCHEMA["events"].columns
    assert events["eid"] == "uuid" and events["vid"] == "uuid"
    assert events["created_at"] == "timestamp" and events["params"] == "map<text, text>"
    assert events["cflags"] == "bigint" and events["score"] == "double"
    assert SCHEMA["payments"].columns["revenue"] == "decimal"
    assert SCHEMA["redirects"].columns["tags"] == "list<text>"


def test_create_table_parsing_reads_composite_keys_and_stops_before_with() -> None:
    table = parse_create_table(
        "CREATE TABLE IF NOT EXISTS t (a text, b map<text, frozen<list<int>>>, c int, "
        "PRIMARY KEY ((a, c), b)) WITH CLUSTERING ORDER BY (b DESC)"
    )
    assert table is not None
    assert table.columns == {"a": "text", "b": "map<text, frozen<list<int>>>", "c": "int"}
    assert table.partition_key == ("a", "c") and table.clustering_key == ("b",)
    assert parse_create_table("CREATE KEYSPACE k WITH replication = {}") is None


def test_schema_files_split_into_statements_without_comments() -> None:
    found = statements("-- a comment; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY); -- tail\n\nSELECT 1;\n")
    assert found == ["CREATE TABLE a (x int PRIMARY KEY)", "SELECT 1"]
