"""CQL text for the Cassandra sink. Every statement that carries row values is prepared once per table and
bound, so values never enter the text; only names (from the schema) and the keyspace settings do."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tracker.sinks.cassandra.tables import Table

SIMPLE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# Tables whose rows are the state of a key (a link, an account, a consent): a write carries the row's
# updated_at as its write time, so a replayed older version can never overwrite a newer one.
STATE_TABLES = frozenset(("redirects", "accounts", "agreements", "jurisdictions"))
VERSION_COLUMN = "updated_at"


def name(identifier: str) -> str:
    """A CQL identifier, quoted unless it is plain lower case (CQL folds unquoted names to lower case)."""
    if SIMPLE_NAME.fullmatch(identifier):
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def versioned(table: Table) -> bool:
    return table.name in STATE_TABLES and VERSION_COLUMN in table.columns


def insert(table: Table) -> str:
    """An upsert of every column (unset ones are sent as UNSET: no tombstone, no overwrite)."""
    columns = list(table.columns)
    text = (
        f"INSERT INTO {name(table.name)} ({', '.join(map(name, columns))}) VALUES ({', '.join('?' for _ in columns)})"
    )
    return text + " USING TIMESTAMP ?" if versioned(table) else text


def create_keyspace(keyspace: str, replication: Mapping[str, Any]) -> str:
    return f"CREATE KEYSPACE IF NOT EXISTS {name(keyspace)} WITH replication = {_literal_map(replication)}"


def select(table: str, columns: Iterable[str] = (), where: Iterable[str] = ()) -> str:
    shown = ", ".join(map(name, columns)) or "*"
    conditions = " AND ".join(f"{name(column)} = ?" for column in where)
    return f"SELECT {shown} FROM {name(table)}" + (f" WHERE {conditions}" if conditions else "")


def count(table: str, where: Iterable[str]) -> str:
    conditions = " AND ".join(f"{name(column)} = ?" for column in where)
    return f"SELECT count(*) AS n FROM {name(table)} WHERE {conditions}"


def delete(table: Table) -> str:
    conditions = " AND ".join(f"{name(column)} = ?" for column in table.primary_key)
    return f"DELETE FROM {name(table.name)} WHERE {conditions}"


def update(table: Table, nulled: Iterable[str], assigned: Iterable[str]) -> str:
    """`nulled` columns set to null, `assigned` ones bound in order, then the key's columns."""
    sets = [f"{name(column)} = null" for column in nulled] + [f"{name(column)} = ?" for column in assigned]
    conditions = " AND ".join(f"{name(column)} = ?" for column in table.primary_key)
    return f"UPDATE {name(table.name)} SET {', '.join(sets)} WHERE {conditions}"


def _literal_map(values: Mapping[str, Any]) -> str:
    members = []
    for key, value in values.items():
        shown = str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else _quoted(str(value))
        members.append(f"{_quoted(str(key))}: {shown}")
    return "{" + ", ".join(members) + "}"


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
