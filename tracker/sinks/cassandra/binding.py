"""Rows as bound statements of a prepared upsert, and a partition's statements as one unlogged batch.

Every column of the table is bound: a column the row lacks is UNSET (it keeps what it had and writes no
tombstone); a null clears the column only in state tables, whose rows are whole. State tables also bind their
updated_at as the write time (`USING TIMESTAMP`), so replaying an older version changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, BoundStatement, PreparedStatement

from tracker.sinks.base import Row
from tracker.sinks.cassandra import statements
from tracker.sinks.cassandra.batching import Group
from tracker.sinks.cassandra.tables import Table
from tracker.sinks.cassandra.types import BadValue, converter


@dataclass(frozen=True, slots=True)
class Bound:
    """One row's statement, and the row it came from (what is dead-lettered if the statement is refused)."""

    statement: BoundStatement
    row: Row

    @property
    def partition(self) -> tuple[str, object]:
        """The statement's table and partition (its routing key); a statement without one shares no batch."""
        key = self.statement.routing_key
        return self.statement.prepared_statement.query_string, key if key is not None else id(self)

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.statement.values if isinstance(v, (bytes, bytearray)))


Refused = list[tuple[str, Row]]  # (why, row)


def bind_rows(table: Table, prepared: PreparedStatement, rows: Sequence[Row]) -> tuple[list[Bound], Refused]:
    """Each row as a bound upsert of `table`; rows with a value their column cannot hold are returned apart."""
    bound: list[Bound] = []
    refused: Refused = []
    position = {column: index for index, column in enumerate(table.columns)}
    convert = [converter(cql_type, column) for column, cql_type in table.columns.items()]
    keys = [position[column] for column in table.partition_key]
    versioned = statements.versioned(table)
    to_time = converter("timestamp", statements.VERSION_COLUMN)
    # A null clears the column of a state row (its rows are whole); elsewhere it is left unset.
    null = None if table.name in statements.STATE_TABLES else UNSET_VALUE
    unset = [UNSET_VALUE] * len(position)
    for row in rows:
        try:
            values = unset.copy()
            for column, value in row.items():  # a sparse row sets a few of the columns: walk the row, not the table
                index = position.get(column)
                if index is not None:
                    converted = convert[index](value)
                    values[index] = null if converted is None else converted
            if any(values[index] is None or values[index] is UNSET_VALUE for index in keys):
                missing = [c for c in table.partition_key if values[position[c]] in (None, UNSET_VALUE)]
                raise BadValue(f"key column {', '.join(missing)} of {table.name} is missing")
            if versioned:
                version = to_time(row.get(statements.VERSION_COLUMN)) or datetime.now(UTC)
                values.append(int(version.timestamp() * 1_000_000))
            statement = prepared.bind(values)
        except (BadValue, TypeError, ValueError, OverflowError) as error:
            refused.append((f"{table.name}: {error}", row))
            continue
        statement.is_idempotent = True
        bound.append(Bound(statement, row))
    return bound, refused


def statement_for(group: Group[Bound]) -> BoundStatement | BatchStatement:
    """A partition's rows as one statement, or one unlogged batch (routed by its first statement's key)."""
    if len(group.items) == 1:
        return group.items[0].statement
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    for item in group.items:
        batch.add(item.statement)
    batch.is_idempotent = True
    return batch
