"""The Cassandra / ScyllaDB sink: prepared upserts in unlogged per-partition batches, token-aware routing.

Its driver is an extra (`pip install 'tracker[cassandra]'`): without it, loading a config that names this sink
fails in one line saying so, through the registry, and so does `--check-config`.
"""

from __future__ import annotations

import importlib.util

from tracker.sinks.base import SinkPlugin, lazy_sink
from tracker.sinks.cassandra.settings import CassandraSettings

MISSING_DRIVER = "cassandra-driver is not installed; pip install 'tracker[cassandra]'"


def _driver_installed() -> bool:
    try:
        return importlib.util.find_spec("cassandra.cluster") is not None
    except (ImportError, ValueError):  # ValueError: the module is hidden (None) in sys.modules
        return False


if not _driver_installed():
    raise ImportError(MISSING_DRIVER)

PLUGIN = SinkPlugin("cassandra", CassandraSettings, lazy_sink("tracker.sinks.cassandra.sink:CassandraSink"))

__all__ = ["MISSING_DRIVER", "PLUGIN", "CassandraSettings"]
