"""The CQL text the sink prepares: names from the schema, values always bound."""

from __future__ import annotations

from tests.sinks.cassandra.offline import SCHEMA
from tracker.sinks.cassandra import statements
from tracker.sinks.cassandra.tables import Table


def test_insert_binds_every_column_and_state_tables_carry_their_write_time() -> None:
    events = statements.insert(SCHEMA["events"])
    assert events.startswith("INSERT INTO events (eid, oid, org, vid,")
    assert events.count("?") == len(SCHEMA["events"].columns)
    assert "USING TIMESTAMP" not in events
    links = statements.insert(SCHEMA["redirects"])
    assert links.endswith(" USING TIMESTAMP ?")
    assert links.count("?") == len(SCHEMA["redirects"].columns) + 1
    assert statements.versioned(SCHEMA["accounts"]) and not statements.versioned(SCHEMA["payments"])


def test_names_are_quoted_unless_plain_lower_case() -> None:
    table = Table("Odd", {"Key": "text", 'a"b': "int", "ok_1": "int"}, ("Key",))
    assert statements.insert(table) == 'INSERT INTO "Odd" ("Key", "a""b", ok_1) VALUES (?, ?, ?)'
    assert statements.delete(table) == 'DELETE FROM "Odd" WHERE "Key" = ?'


def test_keyspace_replication_is_rendered_as_a_cql_map() -> None:
    assert statements.create_keyspace("tr", {"class": "SimpleStrategy", "replication_factor": 1}) == (
        "CREATE KEYSPACE IF NOT EXISTS tr WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    text = statements.create_keyspace("tr", {"class": "NetworkTopologyStrategy", "dc'1": 3})
    assert text.endswith("{'class': 'NetworkTopologyStrategy', 'dc''1': 3}")


def test_reads_deletes_and_updates_address_rows_by_their_key() -> None:
    assert statements.select("events_by_link", ["created_at", "vid"], ["link"]) == (
        "SELECT created_at, vid FROM events_by_link WHERE link = ?"
    )
    assert statements.select("redirects") == "SELECT * FROM redirects"
    assert statements.count("events_by_link", ["link"]) == "SELECT count(*) AS n FROM events_by_link WHERE link = ?"
    assert statements.delete(SCHEMA["events_by_link"]) == (
        "DELETE FROM events_by_link WHERE link = ? AND created_at = ? AND eid = ?"
    )
    assert statements.update(SCHEMA["events"], ["ip", "vid"], ["params", "updated"]) == (
        "UPDATE events SET ip = null, vid = null, params = ?, updated = ? WHERE eid = ?"
    )
