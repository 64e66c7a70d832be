"""The Cassandra / ScyllaDB sink: prepared upserts in unlogged per-partition batches, token-aware routing.

Its driver is an extra (`pip install 'tracker[cassandra]'`): without it, loading a config that names this sink
fails in one line saying so, through the registry, and so does `--check-config`.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from tracker.config import Config
from tracker.sinks.base import Sink, SinkPlugin
from tracker.sinks.cassandra.settings import CassandraSettings

MISSING_DRIVER = "cassandra-driver is not installed; pip install 'tracker[cassandra]'"


def _driver_installed() -> bool:
    try:
        return importlib.util.find_spec("cassandra.cluster") is not None
    except (ImportError, ValueError):  # ValueError: the module is hidden (None) in sys.modules
        return False


if not _driver_installed():
    raise ImportError(MISSING_DRIVER)

if TYPE_CHECKING:
    from tracker.sinks.cassandra.sink import CassandraSink


def _build(settings: CassandraSettings, config: Config) -> Sink:
    from tracker.sinks.cassandra.sink import CassandraSink

    return CassandraSink(settings, config)


PLUGIN = SinkPlugin("cassandra", CassandraSettings, _build)


def __getattr__(name: str) -> Any:
    # The driver loads on first use: a worker unpickling its config needs the settings only.
    if name == "CassandraSink":
        from tracker.sinks.cassandra.sink import CassandraSink

        return CassandraSink
    raise AttributeError(name)


__all__ = ["MISSING_DRIVER", "PLUGIN", "CassandraSettings", "CassandraSink"]
