"""The embedded default sink: one DuckDB file, written by one thread in the one process that ships."""

from __future__ import annotations

from tracker.sinks.base import SinkPlugin, lazy_sink
from tracker.sinks.duckdb.settings import DuckDBSettings

PLUGIN = SinkPlugin("duckdb", DuckDBSettings, lazy_sink("tracker.sinks.duckdb.sink:DuckDBSink"))

__all__ = ["PLUGIN", "DuckDBSettings"]
