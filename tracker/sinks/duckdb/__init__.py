"""The embedded default sink: one DuckDB file, written by one thread in the one process that ships."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.config import Config
from tracker.sinks.base import Sink, SinkPlugin
from tracker.sinks.duckdb.settings import DuckDBSettings

if TYPE_CHECKING:
    from tracker.sinks.duckdb.sink import DuckDBSink


def _build(settings: DuckDBSettings, config: Config) -> Sink:
    from tracker.sinks.duckdb.sink import DuckDBSink

    return DuckDBSink(settings, config)


PLUGIN = SinkPlugin("duckdb", DuckDBSettings, _build)


def __getattr__(name: str) -> Any:
    # DuckDBSink (duckdb, pyarrow) is imported on first use: a worker unpickling its config needs only settings.
    if name == "DuckDBSink":
        from tracker.sinks.duckdb.sink import DuckDBSink

        return DuckDBSink
    raise AttributeError(name)


__all__ = ["PLUGIN", "DuckDBSettings", "DuckDBSink"]
