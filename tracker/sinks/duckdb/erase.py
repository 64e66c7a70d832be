"""Erase on DuckDB (privacy/erase.py says what and why): every step in one transaction on the database thread, then
the audit row in `logs`, once per request (a replayed request erases again and keeps its first audit row)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import duckdb

from tracker.privacy.erase import ZERO_UUID, audit_row
from tracker.sinks.base import Row
from tracker.sinks.sql_erase import erase_steps


def erase_rows(
    connection: duckdb.DuckDBPyConnection, tables: Mapping[str, Mapping[str, Any]], erasure: Row
) -> dict[str, int]:
    """Delete or anonymise the person's rows in every listed table; rows changed per table."""
    steps = erase_steps(erasure, tables, lambda subject: f"CAST('{subject}' AS UUID)")
    counts: dict[str, int] = {}
    connection.execute("BEGIN TRANSACTION")
    try:
        for step in steps:
            if step.anonymise:
                zeroed = ", ".join(f"\"{column}\" = CAST('{ZERO_UUID}' AS UUID)" for column in step.anonymise)
                statement = f'UPDATE "{step.table}" SET {zeroed} WHERE {step.condition}'
            else:
                statement = f'DELETE FROM "{step.table}" WHERE {step.condition}'
            row = connection.execute(statement).fetchone()
            counts[step.table] = counts.get(step.table, 0) + (int(row[0]) if row else 0)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return counts


def audit(
    sink: str,
    tables: Mapping[str, Mapping[str, Any]],
    erasure: Row,
    counts: Mapping[str, int],
    insert: Callable[[str, list[Row]], None],
) -> None:
    """The request's audit row into `logs`, when the file has that table (INSERT OR IGNORE keeps the first)."""
    if "logs" in tables:
        insert("logs", [audit_row(erasure, sink, counts)])
