"""The SQL primary stores the privacy tests run on, opened fresh per test: a DuckDB file and a database on the
real ClickHouse server. Rows read back the same from both: ids as text, JSON as parsed objects."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.services.clickhouse import ClickHouseServer
from tracker.config import from_mapping
from tracker.sinks.base import PrimaryStore, Sink
from tracker.sinks.registry import build_sinks

KINDS = ["duckdb", "clickhouse"]


def notify_entry(kind: str, request: pytest.FixtureRequest, tmp_path: Path, **keys: object) -> dict[str, object]:
    if kind == "duckdb":
        return {"Service": "duckdb", "Path": str(tmp_path / "t.duckdb"), **keys}
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    database: str = request.getfixturevalue("clickhouse_database")
    return {"Service": "clickhouse", "Hosts": [server.host], "Context": database, **keys}


@pytest.fixture(params=KINDS)
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sink]:
    (sink,) = build_sinks(from_mapping({"Notify": [notify_entry(request.param, request, tmp_path)]}))
    assert isinstance(sink, PrimaryStore)
    await sink.open()
    yield sink
    await sink.close()


async def read(store: Sink, table: str, order: str, columns: str = "*") -> list[dict[str, Any]]:
    rows = await store.query(f"SELECT {columns} FROM {table} ORDER BY {order}")  # type: ignore[attr-defined]
    return [{name: _plain(name, value) for name, value in row.items()} for row in rows]


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value.normalize())
    if name == "params" and isinstance(value, str):
        return orjson.loads(value or "{}")
    return value
