"""A batch handed to DuckDB as NumPy object arrays (tracker/sinks/duckdb/batch.py), read back from a real
in-memory database."""

from __future__ import annotations

import uuid
from typing import Any

import duckdb
import pytest

from tracker.sinks.duckdb.batch import Column, column_values, register_batch

COLUMNS = {
    "id": Column("id", "UUID", None),
    "name": Column("name", "VARCHAR", None),
    "amount": Column("amount", "DOUBLE", None),
    "tags": Column("tags", "VARCHAR[]", None),
    "params": Column("params", "JSON", None),
    "flag": Column("flag", "BOOLEAN", "false"),
}


def store(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE t (id UUID, name VARCHAR, amount DOUBLE, tags VARCHAR[], params JSON, flag BOOLEAN DEFAULT false)"
    )
    present = [name for name in COLUMNS if any(name in row for row in rows)]
    names = ", ".join(f'"{n}"' for n in present)
    connection.execute(f"INSERT INTO t ({names}) " + register_batch(connection, COLUMNS, present, rows))
    return connection.execute(f"SELECT {names} FROM t ORDER BY rowid").fetchall()


def test_every_kind_of_value_reads_back_as_its_column_type() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    rows = [
        {"id": str(first), "name": "a", "amount": 1, "tags": ["x", "y"], "params": {"k": [1, 2]}, "flag": True},
        {"id": str(second), "name": None, "amount": 2.5, "tags": None, "params": None, "flag": None},
    ]
    assert store(rows) == [
        (first, "a", 1.0, ["x", "y"], '{"k":[1,2]}', True),
        (second, None, 2.5, None, None, False),  # a missing value takes the column's default
    ]


def test_a_column_of_mixed_python_types_goes_as_text_and_its_cast_decides() -> None:
    assert column_values([1, "b", None, {"c": 1}], "VARCHAR") == ["1", "b", None, '{"c":1}']
    assert column_values([1, 2.5, None], "DOUBLE") == [1, 2.5, None]  # numbers stay numbers
    assert store([{"name": 7}, {"name": "seven"}]) == [("7",), ("seven",)]
    with pytest.raises(duckdb.ConversionException, match="not a number"):
        store([{"amount": 1}, {"amount": "not a number"}])


def test_a_list_value_stays_one_value_of_its_row() -> None:
    rows = [{"tags": ["a"]}, {"tags": ["b", "c"]}, {"tags": []}]
    assert store(rows) == [(["a"],), (["b", "c"],), ([],)]
    same_length = [{"tags": ["a", "b"]}, {"tags": ["c", "d"]}]  # never read by NumPy as one 2 × 2 array
    assert store(same_length) == [(["a", "b"],), (["c", "d"],)]
