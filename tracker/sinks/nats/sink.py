"""The NATS sink: every row published as JSON to `<Context>.<table>` (or the `Subject` template). Write-only.

write() returns only once NATS holds the rows, so the shipper advances its cursor after that and delivery is
at-least-once end to end: with JetStream every publish is acknowledged by the stream, and its `Nats-Msg-Id`
(the row's `eid`, else its `id`, else a hash of the payload) lets the stream drop a replay within its
duplicate window; with core NATS the batch ends with a PING/PONG flush (the server has the messages; who
listens is its business). A server that is down or slow raises TransientSinkError, so the shipper keeps the
rows and retries with backoff while the other sinks ship on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import nats.errors
import nats.js.errors
import orjson

from tracker.config import Config, PruneRule
from tracker.sinks.base import PermanentSinkError, PruneOptions, PruneReport, Row, TransientSinkError
from tracker.sinks.client_tls import short_error
from tracker.sinks.nats.connection import connect
from tracker.sinks.nats.settings import NatsSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

log = logging.getLogger("tracker.sinks.nats")
MESSAGE_ID = "Nats-Msg-Id"
ID_COLUMNS = ("eid", "id")
ROWS_PER_TIMEOUT = 1000  # a JetStream batch may take Timeout per this many rows (a big batch on a busy server)
FAILURES = (nats.errors.Error, OSError, TimeoutError, asyncio.TimeoutError)


def message_id(row: Row, payload: bytes) -> str:
    """What JetStream deduplicates on: the row's own id, else the payload's hash (a replay sends equal bytes)."""
    for column in ID_COLUMNS:
        value = row.get(column)
        if value:
            return str(value)
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def encode(row: Row) -> bytes:
    return orjson.dumps(row, default=str)


class NatsSink:
    """Publishes rows; declares no PrimaryStore: it never answers the server's reads."""

    def __init__(self, settings: NatsSettings, config: Config) -> None:
        self.name = settings.sink_name
        self.settings = settings
        self.timeout = settings.timeout_ms / 1000
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    async def open(self) -> None:
        if self._nc is None or self._nc.is_closed:
            try:
                self._nc = await connect(self.settings, f"tracker-sink-{self.name}")
            except FAILURES as error:
                raise TransientSinkError(
                    f"cannot connect to NATS {self.settings.servers}: {short_error(error)}"
                ) from None
        if self.settings.jetstream:
            self._js = self._nc.jetstream(timeout=self.timeout)
            if self.settings.schema == "auto":
                await self._ensure_stream()

    async def _ensure_stream(self) -> None:
        assert self._js is not None
        subjects = [self.settings.subject_for("*")]
        try:
            await self._js.stream_info(self.settings.stream)
            return
        except nats.js.errors.NotFoundError:
            pass
        except FAILURES as error:
            raise TransientSinkError(f"JetStream not answering: {short_error(error)}") from None
        try:
            await self._js.add_stream(
                name=self.settings.stream,
                subjects=subjects,
                duplicate_window=self.settings.duplicate_window_seconds,
            )
            log.info("JetStream stream created", extra={"stream": self.settings.stream, "subjects": subjects})
        except FAILURES as error:
            raise TransientSinkError(
                f"cannot create JetStream stream {self.settings.stream}: {short_error(error)}"
            ) from None

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(*FAILURES):
                await asyncio.wait_for(self._nc.drain(), self.timeout)
            with contextlib.suppress(*FAILURES):
                await self._nc.close()
            self._nc = self._js = None

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise TransientSinkError("NATS is not connected (reconnecting in the background)")
        subject = self.settings.subject_for(table)
        too_large: list[Row] = []
        try:
            if self._js is not None:  # one deadline per batch (Timeout per 1,000 rows), not one per message
                deadline = self.timeout * max(1.0, len(rows) / ROWS_PER_TIMEOUT)
                await asyncio.wait_for(self._publish_acknowledged(self._js, subject, rows, too_large), deadline)
            else:
                await self._publish_flushed(nc, subject, rows, too_large)
        except FAILURES as error:
            raise TransientSinkError(f"NATS publish to {subject} failed: {short_error(error)}") from None
        if too_large:
            limit = nc.max_payload
            message = f"{len(too_large)} row(s) of {table} exceed the server's max_payload of {limit} bytes"
            raise PermanentSinkError(message, rows=too_large, others_stored=True)

    async def _publish_flushed(self, nc: Client, subject: str, rows: Sequence[Row], too_large: list[Row]) -> None:
        limit = nc.max_payload
        for row in rows:
            payload = encode(row)
            if len(payload) > limit:
                too_large.append(row)
                continue
            await nc.publish(subject, payload, headers={MESSAGE_ID: message_id(row, payload)})
        await nc.flush(timeout=math.ceil(self.timeout))  # whole seconds in nats-py

    async def _publish_acknowledged(
        self, js: JetStreamContext, subject: str, rows: Sequence[Row], too_large: list[Row]
    ) -> None:
        assert self._nc is not None
        limit = self._nc.max_payload
        pending: list[asyncio.Future[Any]] = []
        try:
            for row in rows:
                payload = encode(row)
                if len(payload) > limit:
                    too_large.append(row)
                    continue
                headers = {MESSAGE_ID: message_id(row, payload)}
                # No wait_stall: its wait_for would yield per message, and nats-py would then send each on its own.
                pending.append(await js.publish_async(subject, payload, headers=headers))
            await asyncio.gather(*pending)
        finally:
            for future in pending:  # a timed-out batch: free nats-py's slots; the shipper sends the rows again
                future.cancel()

    async def prune(
        self, rules: Sequence[PruneRule], logs_only: bool, options: PruneOptions | None = None
    ) -> PruneReport:
        return PruneReport(self.name)  # a subject keeps nothing to prune; a stream has its own limits
