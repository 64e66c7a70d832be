"""The Consume[] entries: subscribe to NATS subjects and write what arrives into the sinks through the spool.

Each entry subscribes its Filter subjects in the queue group `Consumer` (default "tracker"), so several tracker
instances share the messages and each one is taken by one instance. A message becomes a `logs` or `updates`
Record (messages.py) and is appended to the spool, from where the shipper writes it into every sink like any
event; a message that cannot become a row is dead-lettered with the reason. Messages are batched into one spool
append; when the spool refuses (full, disk) the batch waits and is retried, and new messages wait in a bounded
queue, then in nats-py's buffer. Core NATS gives no redelivery: what the process holds when it is killed is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from tracker.records import Record
from tracker.sinks.nats.connection import connect
from tracker.sinks.nats.messages import TABLES, IPColumns, Malformed, record
from tracker.sinks.nats.settings import NatsSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg

log = logging.getLogger("tracker.sinks.nats")
QUEUE_SIZE = 10_000
BATCH = 1000
RETRY_SECONDS = (0.05, 2.0)  # first and longest wait before retrying a connect or a refused append


class Intake(Protocol):
    async def append(self, records: Sequence[Record]) -> None: ...


class DeadLetterFile(Protocol):
    def add(self, sink: str, table: str, rows: list[Any], error: str) -> None: ...


class NatsConsumer:
    def __init__(
        self,
        settings: NatsSettings,
        intake: Intake,
        dead_letters: DeadLetterFile,
        ip_columns: IPColumns,
        *,
        label: str = "consume",
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.dead_letters = dead_letters
        self.ip_columns = ip_columns
        self.label = label  # the dead-letter file's name: <spool>/dead-letter/<label>.jsonl
        self.queue: asyncio.Queue[tuple[str, Msg]] = asyncio.Queue(QUEUE_SIZE)
        self.received = self.stored = self.dead = 0
        self.subscribed = asyncio.Event()
        self._nc: Client | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._subscribe(), name=f"{self.label}-subscribe"),
            asyncio.create_task(self._write_forever(), name=f"{self.label}-write"),
        ]

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop taking messages, store what was taken (up to `timeout`), disconnect."""
        subscribing, writing = self._tasks or (None, None)
        if subscribing is not None:
            subscribing.cancel()
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._nc.drain(), timeout)  # the callbacks finish queueing what they hold
        if writing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), timeout)
            writing.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if not self.queue.empty():
            log.error("consumer stopped with messages not stored", extra={"messages": self.queue.qsize()})
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    async def _subscribe(self) -> None:
        wait = RETRY_SECONDS[0]
        while self._nc is None:
            try:
                self._nc = await connect(self.settings, f"tracker-{self.label}")
            except Exception as error:  # noqa: BLE001 - NATS down at start: keep trying, the server serves on
                if wait == RETRY_SECONDS[0]:  # once: NATS may stay down for hours
                    log.warning("NATS consumer cannot connect yet", extra={"error": str(error) or type(error).__name__})
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_SECONDS[1])
        for subscription in self.settings.filter:
            await self._nc.subscribe(subscription.id, queue=self.settings.consumer, cb=self._taker(subscription.alias))
        await self._nc.flush()
        self.subscribed.set()
        subjects = [s.id for s in self.settings.filter]
        log.info("NATS consumer subscribed", extra={"subjects": subjects, "queue": self.settings.consumer})

    def _taker(self, alias: str) -> Any:
        async def take(message: Msg) -> None:
            self.received += 1
            await self.queue.put((alias, message))

        return take

    async def _write_forever(self) -> None:
        while True:
            taken = [await self.queue.get()]
            while len(taken) < BATCH and not self.queue.empty():
                taken.append(self.queue.get_nowait())
            try:
                await self._store(taken)
            finally:
                for _ in taken:
                    self.queue.task_done()

    async def _store(self, taken: list[tuple[str, Msg]]) -> None:
        records: list[Record] = []
        for alias, message in taken:
            try:
                records.append(record(alias, message.subject, message.data, message.headers, self.ip_columns))
            except Malformed as error:
                self._dead_letter(alias, message, str(error))
        wait = RETRY_SECONDS[0]
        while records:
            try:
                await self.intake.append(records)
                self.stored += len(records)
                return
            except Exception as error:  # noqa: BLE001 - spool full or unwritable: hold the batch, retry
                log.warning("consumed messages wait: the spool refuses", extra={"error": str(error)})
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_SECONDS[1])

    def _dead_letter(self, alias: str, message: Msg, reason: str) -> None:
        self.dead += 1
        entry = {"subject": message.subject, "data": message.data.decode("utf-8", "replace")}
        try:
            self.dead_letters.add(self.label, TABLES[alias], [entry], f"malformed message: {reason}")
        except OSError as error:
            log.error("malformed message dropped: dead letter not written", extra={"error": str(error)})
