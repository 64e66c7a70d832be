"""StreamClient: events to a tracker's /tr/{v}/ws in LZ4 batches, acknowledged, resent after a reconnect.

Every event gets an `eid` (UUIDv1) unless it has one, so a batch resent after a dropped socket is stored once:
the sinks key events by eid. A batch stays in memory until the server acknowledges it (after its spool append);
when the socket drops, the client reconnects with back-off and resends every unacknowledged batch in order.
At most `max_in_flight` batches wait for their ack; `send` waits for room (back-pressure reaches the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from tracker.events.frames import encode_block, encode_frame

log = logging.getLogger("tracker.client")
ACK_SUBPROTOCOL = "tracker.v1.ack"
Compression = Literal["block", "frame", "none"]


class StreamError(Exception):
    """The client cannot go on: it is closed, or the server refuses what it needs (acks)."""


TOO_BIG = 1009  # the server's close code for a message over its size limits


@dataclass(slots=True)
class Batch:
    payload: bytes | str
    eids: list[str]
    sequence: int = 0  # the message's number on the current socket; the server's ack names it
    acked: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(slots=True)
class ClientStats:
    batches_sent: int = 0
    batches_acked: int = 0
    events_acked: int = 0
    resent: int = 0
    reconnects: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    too_large: list[list[str]] = field(default_factory=list)  # eids of batches the server refused as too big


class StreamClient:
    def __init__(
        self,
        url: str,
        *,
        compression: Compression = "block",
        batch_size: int = 100,
        max_in_flight: int = 64,
        reconnect_delay: float = 0.1,
        max_reconnect_delay: float = 5.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.compression = compression
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.reconnect_delay = reconnect_delay
        self.max_reconnect_delay = max_reconnect_delay
        self.headers = dict(headers or {})
        self.stats = ClientStats()
        self.unacked: deque[Batch] = deque()
        self._buffer: list[Mapping[str, Any]] = []
        self._socket: ClientConnection | None = None
        self._sequence = 0
        self._lock = asyncio.Lock()  # one writer: sequence numbers follow the order on the wire
        self._room = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def __aenter__(self) -> StreamClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close(drain=exc[0] is None)

    @property
    def socket(self) -> ClientConnection | None:
        return self._socket

    async def connect(self) -> None:
        self._socket = await self._open()
        self._reader = asyncio.get_running_loop().create_task(self._read_acks())

    async def send(self, event: Mapping[str, Any]) -> str:
        """Buffer one event; a full buffer goes out as one batch. Returns the event's eid."""
        event = with_eid(event)
        self._buffer.append(event)
        if len(self._buffer) >= self.batch_size:
            await self.flush()
        return str(event["eid"])

    async def send_batch(self, events: Iterable[Mapping[str, Any]]) -> Batch:
        """Send these events now as one message (after anything buffered)."""
        await self.flush()
        return await self._send([with_eid(e) for e in events])

    async def flush(self) -> None:
        if self._buffer:
            events, self._buffer = self._buffer, []
            await self._send(events)

    async def drain(self, timeout: float | None = None) -> None:
        """Flush, then wait until every batch sent so far is acknowledged."""
        await self.flush()
        async with asyncio.timeout(timeout), self._room:
            await self._room.wait_for(lambda: not self.unacked)

    async def close(self, drain: bool = True, timeout: float | None = 30.0) -> None:
        try:
            if drain and not self._closing:
                await self.drain(timeout)
        finally:
            self._closing = True
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
            if self._socket is not None:
                await self._socket.close()

    async def _send(self, events: list[Mapping[str, Any]]) -> Batch:
        if self._closing:
            raise StreamError("the client is closed")
        data = orjson.dumps(events)
        payload: bytes | str = data.decode()
        if self.compression == "block":
            payload = encode_block(data)
        elif self.compression == "frame":
            payload = encode_frame(data)
        batch = Batch(payload, [str(e["eid"]) for e in events])
        async with self._room:
            await self._room.wait_for(lambda: len(self.unacked) < self.max_in_flight)
        async with self._lock:
            self.unacked.append(batch)
            await self._write(batch)
        self.stats.batches_sent += 1
        return batch

    async def _write(self, batch: Batch) -> None:
        self._sequence += 1
        batch.sequence = self._sequence
        assert self._socket is not None
        with contextlib.suppress(ConnectionClosed):  # the reader reconnects and resends it
            await self._socket.send(batch.payload)

    async def _read_acks(self) -> None:
        while not self._closing:
            assert self._socket is not None
            try:
                async for message in self._socket:
                    await self._acknowledge(orjson.loads(message))
            except ConnectionClosed:
                pass
            if self._closing:
                return
            if self._socket.close_code == TOO_BIG:
                await self._drop_refused_batch()
            await self._reconnect()

    async def _drop_refused_batch(self) -> None:
        """The server closed with 1009: the oldest unacknowledged batch is larger than it takes. Resending it
        would fail forever, so it is given up (its eids kept in stats.too_large) and the rest are resent."""
        async with self._room:
            if self.unacked:
                batch = self.unacked.popleft()
                self.stats.too_large.append(batch.eids)
                batch.acked.set()
                log.warning("stream batch refused as too large", extra={"events": len(batch.eids)})
            self._room.notify_all()

    async def _acknowledge(self, answer: dict[str, Any]) -> None:
        number = answer.get("ack")
        if not isinstance(number, int):
            return
        self.stats.rejected.extend(answer.get("rejected", ()))
        async with self._room:
            while self.unacked and self.unacked[0].sequence <= number:
                batch = self.unacked.popleft()
                batch.acked.set()
                self.stats.batches_acked += 1
                self.stats.events_acked += len(batch.eids)
            self._room.notify_all()

    async def _reconnect(self) -> None:
        async with self._lock:
            self._socket = await self._open()
            self.stats.reconnects += 1
            self._sequence = 0
            for batch in list(self.unacked):
                await self._write(batch)
                self.stats.resent += 1
            log.info("stream reconnected", extra={"resent": len(self.unacked)})

    async def _open(self) -> ClientConnection:
        delay = self.reconnect_delay
        while True:
            try:
                socket = await connect(
                    self.url,
                    subprotocols=[Subprotocol(ACK_SUBPROTOCOL)],
                    additional_headers=self.headers,
                    compression=None,
                    open_timeout=10,
                )
            except (OSError, InvalidHandshake, TimeoutError) as error:
                if self._closing:
                    raise StreamError("closed while connecting") from error
                log.warning("stream connect failed", extra={"error": f"{type(error).__name__}: {error}"[:200]})
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_reconnect_delay)
                continue
            if socket.subprotocol != ACK_SUBPROTOCOL:
                await socket.close()
                raise StreamError(f"{self.url} does not acknowledge messages (no {ACK_SUBPROTOCOL} subprotocol)")
            return socket


def with_eid(event: Mapping[str, Any]) -> dict[str, Any]:
    found = dict(event)
    if not found.get("eid"):
        found["eid"] = str(uuid.uuid1())
    return found
