"""The ClickHouse sink: JSONEachRow inserts over HTTP into ReplacingMergeTree tables, ClickHouse 18.16 to now."""

from __future__ import annotations

from tracker.sinks.base import SinkPlugin, lazy_sink
from tracker.sinks.clickhouse.settings import ClickHouseSettings

PLUGIN = SinkPlugin("clickhouse", ClickHouseSettings, lazy_sink("tracker.sinks.clickhouse.sink:ClickHouseSink"))

__all__ = ["PLUGIN", "ClickHouseSettings"]
