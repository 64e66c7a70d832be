"""The Consume[] entries, run in the process that ships: each NATS consumer writes through the spool directory
`worker-consume` (the shipper tails every `worker-*` directory, so its rows reach every sink with the same
guarantees as events), dead-letters into the shipper's dead-letter directory, and stores IPs per IPStorage.
With Durability "memory" they append to the in-process spool instead.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

from tracker.config import Config
from tracker.pipeline.deadletter import DEAD_LETTER_DIRECTORY, DeadLetters
from tracker.pipeline.memory import MemorySpool
from tracker.pipeline.sources import WORKER_PREFIX
from tracker.pipeline.spool import Spool
from tracker.privacy.storage import IPPolicy
from tracker.sinks.nats.settings import NatsSettings

CONSUME_DIRECTORY = f"{WORKER_PREFIX}consume"


class Consumers:
    def __init__(self, config: Config, memory_spool: MemorySpool | None, wakeup: asyncio.Event) -> None:
        from tracker.sinks.nats.consumer import NatsConsumer  # nats-py only where something is consumed

        root = Path(config.spool_directory)
        entries = [(i, e) for i, e in enumerate(config.consume) if e.enabled and isinstance(e, NatsSettings)]
        self.spool: Spool | MemorySpool | None = memory_spool
        if entries and memory_spool is None:
            durability: Literal["write", "fsync"] = "fsync" if config.durability == "fsync" else "write"
            self.spool = Spool(root / CONSUME_DIRECTORY, durability=durability, max_bytes=_share(config))
            self.spool.open()
            self.spool.subscribe(wakeup)
        dead_letters = DeadLetters(root / DEAD_LETTER_DIRECTORY)
        ip_columns = IPPolicy(config.stored_ip, config.prefix_private_hash).apply
        self.consumers = [
            NatsConsumer(entry, self.spool, dead_letters, ip_columns, label=f"consume-{index}")  # Consume[index]
            for index, entry in entries
            if self.spool is not None
        ]

    async def start(self) -> None:
        for consumer in self.consumers:
            await consumer.start()

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.stop()
        if isinstance(self.spool, Spool):
            await self.spool.close()


def _share(config: Config) -> int:
    return max(config.max_spool_bytes // (config.workers + 1), 1024 * 1024)
