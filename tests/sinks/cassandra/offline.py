"""The driver's own statements without a server: a PreparedStatement as a cluster would return it for our
schema's insert (column types, partition-key indexes, protocol v4), so binding, serialising, routing keys and
batches run the driver's real code. The tests that need a cluster are in test_integration.py."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cassandra.cqltypes import _cqltypes
from cassandra.protocol import ColumnMetadata
from cassandra.query import PreparedStatement

from tracker.sinks.cassandra import statements
from tracker.sinks.cassandra.tables import Table, from_files

KEYSPACE = "tracker_test"
SCHEMA = from_files()


def cql_class(cql_type: str) -> Any:
    """The driver's type class for a CQL type text such as "map<text, text>"."""
    cql_type = cql_type.strip()
    if "<" not in cql_type:
        return _cqltypes[cql_type]
    outer, _, inner = cql_type.partition("<")
    parts, depth, current = [], 0, ""
    for char in inner[:-1]:
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return _cqltypes[outer.strip()].apply_parameters([cql_class(part) for part in parts])


def prepared_insert(table: Table | str) -> PreparedStatement:
    table = SCHEMA[table] if isinstance(table, str) else table
    columns = [
        ColumnMetadata(KEYSPACE, table.name, column, cql_class(cql_type)) for column, cql_type in table.columns.items()
    ]
    if statements.versioned(table):
        columns.append(ColumnMetadata(KEYSPACE, table.name, "[timestamp]", _cqltypes["bigint"]))
    names = list(table.columns)
    return PreparedStatement(
        column_metadata=columns,
        query_id=b"offline",
        routing_key_indexes=[names.index(column) for column in table.partition_key],
        query=statements.insert(table),
        keyspace=KEYSPACE,
        protocol_version=4,
        result_metadata=[],
        result_metadata_id=None,
    )


class DriverThreadFuture:
    """The two callbacks of a driver ResponseFuture, called from another thread as the driver's reactor does."""

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error

    def add_callbacks(self, callback: Callable[[Any], None], errback: Callable[[BaseException], None]) -> None:
        if self.error is not None:
            threading.Thread(target=errback, args=(self.error,)).start()
        else:
            threading.Thread(target=callback, args=(self.result,)).start()
