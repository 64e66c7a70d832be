"""Sinks found by their `Service` name: built-ins first, then the `tracker.sinks` entry-point group."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from tracker.config import Config, ConfigError
from tracker.sinks.base import Sink, SinkFactory

BUILTIN = {
    "duckdb": "tracker.sinks.duckdb:DuckDBSink",
    "memory": "tracker.sinks.memory:MemorySink",
    "clickhouse": "tracker.sinks.clickhouse:ClickHouseSink",
    "nats": "tracker.sinks.nats:NatsSink",
    "cassandra": "tracker.sinks.cassandra:CassandraSink",
}


def factory(kind: str) -> SinkFactory:
    target = BUILTIN.get(kind)
    if target is None:
        for entry in entry_points(group="tracker.sinks"):
            if entry.name == kind:
                return entry.load()  # type: ignore[no-any-return]
        raise KeyError(kind)
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]


def build_sinks(config: Config) -> list[Sink]:
    sinks: list[Sink] = []
    for index, settings in enumerate(config.notify):
        if not settings.enabled:
            continue
        try:
            make = factory(settings.kind)
        except (KeyError, ImportError) as error:
            raise ConfigError(
                f"Notify[{index}].Service", f'sink "{settings.kind}" is not available here: {error}', config.source
            ) from None
        sinks.append(make(settings, config))
    return sinks
