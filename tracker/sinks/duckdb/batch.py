"""Rows → one Arrow table per batch, and the typed SELECT that moves it into a DuckDB table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import orjson
import pyarrow as pa

Row = Mapping[str, Any]


class Column:
    __slots__ = ("name", "type", "default")

    def __init__(self, name: str, type_: str, default: str | None) -> None:
        self.name, self.type, self.default = name, type_, default

    def select(self, has_nulls: bool) -> str:
        cast = f'CAST("{self.name}" AS {self.type})'
        return f"COALESCE({cast}, {self.default})" if has_nulls and self.default is not None else cast


def dedupe(rows: list[Row], key: Sequence[str] | None) -> list[Row]:
    """One row per key in a statement (DuckDB refuses two); the last one wins."""
    if not key:
        return rows
    unique: dict[Any, Row]
    if len(key) == 1:
        name = key[0]
        unique = {row.get(name): row for row in rows}
    else:
        unique = {tuple(row.get(k) for k in key): row for row in rows}
    return list(unique.values()) if len(unique) < len(rows) else rows


def arrow_column(values: list[Any], column_type: str) -> pa.Array:
    if column_type == "JSON":
        return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # Mixed types in one column: hand DuckDB text and let its CAST decide (and name the bad row).
        return pa.array(
            [None if v is None else (v if isinstance(v, str) else orjson.dumps(v).decode()) for v in values],
            pa.string(),
        )


def register_batch(
    cursor: duckdb.DuckDBPyConnection, columns: dict[str, Column], present: list[str], rows: list[Row]
) -> str:
    """Register `rows` as the Arrow table incoming_batch on `cursor`; returns the typed SELECT that reads it."""
    values = {name: [row.get(name) for row in rows] for name in present}
    batch = pa.table({name: arrow_column(values[name], columns[name].type) for name in present})
    cursor.register("incoming_batch", batch)
    selects = ", ".join(columns[n].select(None in values[n]) for n in present)
    return f"SELECT {selects} FROM incoming_batch"
