"""NATS: a write-only sink publishing every row (JetStream optional), the Consume[] consumer that feeds
`logs`/`updates` through the spool, and the subject short-link changes travel on between instances."""

from __future__ import annotations

from tracker.sinks.base import SinkPlugin, lazy_sink
from tracker.sinks.nats.settings import NatsFilter, NatsSettings

PLUGIN = SinkPlugin("nats", NatsSettings, lazy_sink("tracker.sinks.nats.sink:NatsSink"))

__all__ = ["PLUGIN", "NatsFilter", "NatsSettings"]
