"""NATS: a write-only sink publishing every row (JetStream optional), the Consume[] consumer that feeds
`logs`/`updates` through the spool, and the subject short-link changes travel on between instances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.config import Config
from tracker.sinks.base import Sink, SinkPlugin
from tracker.sinks.nats.settings import NatsFilter, NatsSettings

if TYPE_CHECKING:
    from tracker.sinks.nats.sink import NatsSink


def _build(settings: NatsSettings, config: Config) -> Sink:
    from tracker.sinks.nats.sink import NatsSink

    return NatsSink(settings, config)


PLUGIN = SinkPlugin("nats", NatsSettings, _build)


def __getattr__(name: str) -> Any:
    # nats-py loads on first use: a worker unpickling its config needs the settings only.
    if name == "NatsSink":
        from tracker.sinks.nats.sink import NatsSink

        return NatsSink
    raise AttributeError(name)


__all__ = ["PLUGIN", "NatsFilter", "NatsSettings", "NatsSink"]
