"""The ClickHouse sink: JSONEachRow inserts over HTTP into ReplacingMergeTree tables, ClickHouse 18.16 to now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.config import Config
from tracker.sinks.base import Sink, SinkPlugin
from tracker.sinks.clickhouse.settings import ClickHouseSettings

if TYPE_CHECKING:
    from tracker.sinks.clickhouse.encode import encode
    from tracker.sinks.clickhouse.sink import ClickHouseSink
    from tracker.sinks.clickhouse.sql import statements


def _build(settings: ClickHouseSettings, config: Config) -> Sink:
    from tracker.sinks.clickhouse.sink import ClickHouseSink

    return ClickHouseSink(settings, config)


PLUGIN = SinkPlugin("clickhouse", ClickHouseSettings, _build)
_LAZY = {
    "ClickHouseSink": "tracker.sinks.clickhouse.sink",
    "encode": "tracker.sinks.clickhouse.encode",  # bench/clickhouse_formats.py
    "statements": "tracker.sinks.clickhouse.sql",
}


def __getattr__(name: str) -> Any:
    # The client libraries (httpx, aiochclient) load on first use: a worker unpickling its config needs settings only.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)


__all__ = ["PLUGIN", "ClickHouseSettings", "ClickHouseSink", "encode", "statements"]
