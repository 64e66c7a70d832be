"""The event stream /tr/{v}/ws (SPEC.md §1.1): every message becomes events through the same intake as /tr/.

Go clients send a JSON text frame or an LZ4 block per message and hear nothing back. Ours may send arrays and
LZ4 frames, and ask for acknowledgements (the `tracker.v1.ack` subprotocol, or a first `{"hello": {"acks":
true}}` message): `{"ack": n, "accepted": k}` for the n-th message, sent only once its events are in the spool,
so a client resends whatever was not acknowledged when the socket drops. The handshake sets `vid`/`sid`
cookies; events that name no visitor get those ids. A full spool stops reading and then closes with 1013,
a message that would decompress past the limit closes with 1009; nothing accepted is ever dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketState

from tracker.errors import BadEvent
from tracker.events import frames, inputs
from tracker.events.batch import Batch, build_batch
from tracker.events.inputs import RequestInfo
from tracker.events.row import Visitor
from tracker.http.answers import json_error
from tracker.http.cors import preflight
from tracker.http.process import Process, process
from tracker.http.request_info import request_info
from tracker.pipeline.groupcommit import DURABLE
from tracker.pipeline.spool import SpoolFull
from tracker.records import Record
from tracker.routes.track import visitor_cookies

log = logging.getLogger("tracker.stream")
ACK_SUBPROTOCOL = "tracker.v1.ack"
SPOOL_WAIT_SECONDS = 5.0  # how long a full spool holds reading back before the socket closes with 1013
CLOSE_GOING_AWAY, CLOSE_TRY_LATER = 1001, 1013


async def http_endpoint(request: Request) -> Response:
    """Plain HTTP on the socket's path: the Go preflight for OPTIONS, else 426 naming what to do."""
    runtime = process(request)
    if request.method == "OPTIONS":
        return preflight(request, runtime.config.allow_origin)
    return json_error(426, "this path takes a WebSocket upgrade", headers={"upgrade": "websocket"})


async def endpoint(websocket: WebSocket) -> None:
    runtime = process(websocket)
    info = request_info(websocket)
    query = inputs.query_values(info.query, runtime.config.ignore_query_params_key)
    base: dict[str, Any] = {**inputs.seed(info), **query}
    visitor = _handshake_visitor(runtime, base, info, query)
    base["vid"], base["sid"] = visitor.vid, visitor.sid
    cookies = Response()
    visitor_cookies(websocket, cookies, visitor, runtime)
    set_cookies = [(name, value) for name, value in cookies.raw_headers if name == b"set-cookie"]
    acks = ACK_SUBPROTOCOL in websocket.scope.get("subprotocols", ())
    await websocket.accept(subprotocol=ACK_SUBPROTOCOL if acks else None, headers=set_cookies)
    await StreamSession(websocket, runtime, info, base, query, acks).run()


def _handshake_visitor(runtime: Process, base: dict[str, Any], info: RequestInfo, query: dict[str, Any]) -> Visitor:
    for values in (base, inputs.seed(info), {}):
        try:
            return runtime.intake.build_event(dict(values), info, is_server=False, injected_params=query)[1]
        except BadEvent:
            continue
    raise AssertionError("an empty value map always builds")


class StreamSession:
    """One accepted socket: read, decode, build, spool, acknowledge, until the client leaves or a limit closes it.

    A message is written in one step and answered in the next, so nothing of its events is alive while its
    group commit ("fsync") is awaited or the answer is sent: on Granian a send suspends the task, and batches
    kept alive across it on many sockets made the garbage collector's full passes most of a worker's time.
    Messages are stored one by one, not grouped: a group keeps every message's rows alive until its append, which
    the collector's passes made dearer than the appends it saved.
    """

    def __init__(
        self,
        websocket: WebSocket,
        runtime: Process,
        info: RequestInfo,
        base: dict[str, Any],
        injected: dict[str, Any],
        acks: bool,
    ) -> None:
        limits = runtime.config.limits
        self.websocket = websocket
        self.runtime = runtime
        self.info = info
        self.base = base
        self.rows = runtime.intake.event_rows(info, is_server=False, injected_params=injected)
        self.acks = acks
        self.limits = frames.FrameLimits(limits.max_decompressed_bytes, limits.max_events_per_batch)
        self.idle_seconds = limits.websocket_idle_seconds or None
        self.sequence = 0

    async def run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.idle_seconds):
                    message = await self.websocket.receive()
            except TimeoutError:
                await self._close(CLOSE_GOING_AWAY, "idle")
                return
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = message.get("text") or ""
            if not await self.handle(data):
                return

    async def handle(self, data: bytes | str) -> bool:
        """One message; False once the socket has been closed."""
        try:
            going_on, answer, durable = await self._take(data)
        except frames.FrameTooLarge as error:
            self.runtime.metrics.rejected("FrameTooLarge")
            log.warning("websocket message too large", extra={"client": self.info.client_ip, "error": error.message})
            await self._close(frames.CLOSE_TOO_BIG, "message too large")
            return False
        if not await self._commit(durable):
            return False
        if answer is not None:
            await self._send(answer)
        return going_on

    async def _take(self, data: bytes | str) -> tuple[bool, dict[str, Any] | None, Awaitable[None]]:
        """The message's events written to the spool: (whether the socket is still open, the client's answer,
        the commit to await before answering)."""
        try:
            items = frames.events(data, self.limits)
        except frames.FrameTooLarge:  # a BadFrame too, but not one to acknowledge: handle() closes the socket
            raise
        except frames.BadFrame as error:
            self.runtime.metrics.rejected("BadFrame")
            self.sequence += 1
            return True, self._ack(0, [{"field": error.field, "error": error.message}]), DURABLE
        if self.sequence == 0 and _is_hello(items):  # never an event, whichever way acks were asked for
            self.acks = self.acks or bool(items[0]["hello"].get("acks"))
            return True, {"hello": {"acks": self.acks, "subprotocol": ACK_SUBPROTOCOL}}, DURABLE
        self.sequence += 1
        batch = self._build(items)
        durable: Awaitable[None] = DURABLE
        if batch.records:
            stored = await self._store(batch.records)
            if stored is None:
                return False, None, DURABLE
            durable = stored
        return True, self._ack(len(batch.visitors), batch.rejected), durable  # a visitor per event accepted

    def _build(self, items: list[Any]) -> Batch:
        batch = build_batch(items, self.base, self.rows, item_field="message")
        if batch.rejected:
            self.runtime.metrics.rejected("BadEvent")
        return batch

    async def _store(self, records: list[Record]) -> Awaitable[None] | None:
        """Into the spool before anything is acknowledged: the commit to await, or None once the socket is closed
        (while the spool is full, stop reading, then close 1013)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SPOOL_WAIT_SECONDS
        pause = 0.05
        while True:
            try:
                return self.runtime.intake.append(records, family="tracking")
            except SpoolFull as error:
                if loop.time() + pause > give_up:
                    self.runtime.metrics.rejected("SpoolFull")
                    log.warning(
                        "spool full: closing websocket", extra={"client": self.info.client_ip, "error": str(error)}
                    )
                    await self._close(CLOSE_TRY_LATER, "spool full; retry later")
                    return None
                await asyncio.sleep(pause)  # back-pressure: nothing is read from this socket meanwhile
                pause = min(pause * 2, 1.0)

    async def _commit(self, durable: Awaitable[None]) -> bool:
        """Wait until the message is durable; a failed fsync closes 1013 (the client resends what was not acked:
        the message's records are gone, so unlike a refused write it cannot be tried again here)."""
        try:
            await durable
            return True
        except SpoolFull as error:
            self.runtime.metrics.rejected(type(error).__name__)
            log.warning(
                "spool fsync failed: closing websocket", extra={"client": self.info.client_ip, "error": str(error)}
            )
            await self._close(CLOSE_TRY_LATER, "spool unavailable; retry later")
            return False

    def _ack(self, accepted: int, rejected: list[dict[str, Any]]) -> dict[str, Any] | None:
        if not self.acks:
            return None
        answer: dict[str, Any] = {"ack": self.sequence, "accepted": accepted}
        if rejected:
            answer["rejected"] = rejected
        return answer

    async def _send(self, answer: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError, OSError):  # the client left; its next reconnect resends
            await self.websocket.send_text(orjson.dumps(answer).decode())

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):
                await self.websocket.close(code, reason)


def _is_hello(items: list[Any]) -> bool:
    return len(items) == 1 and isinstance(items[0], dict) and isinstance(items[0].get("hello"), dict)
