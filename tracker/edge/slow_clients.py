"""Clients too slow to send their request or to take their response.

Reading: the request body must keep coming. A wait of more than ReadTimeoutSeconds for its next part answers
408 (when no answer has started) and closes the connection. Hypercorn's own `read_timeout` cannot be used:
it times every socket read for the connection's whole life, so it also cut downloads, server-sent events and
WebSockets whose client had nothing to send for that long. The head is bounded by IdleTimeoutSeconds.

Writing: WriteTimeoutSeconds has nginx's `send_timeout` meaning. A response part the client has not taken
within that time ends the exchange and closes the connection. A client that reads slowly but steadily is never
cut, however long its download; one that stops reading (a slow-read attack, a frozen tab) no longer holds a
worker's buffers and an upstream response forever. Only the parts of a streamed response are timed: a response
sent in one piece is handed to the socket's buffer and cannot stall the app. So a tracking GET, HEAD or
OPTIONS, which reads no body and is answered in one piece, is not wrapped at all.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.http.answers import json_error
from tracker.http.context import context

log = logging.getLogger("tracker.edge.slow_clients")
READS_NO_BODY = frozenset(("GET", "HEAD", "OPTIONS"))  # on the tracking routes; every answer there is one piece


class ClientStalled(Exception):
    """The client sent no part of its body, or took no part of the response, for the configured time."""


class SlowClients:
    def __init__(self, app: ASGIApp, *, read_seconds: float, write_seconds: float) -> None:
        self.app = app
        self.read_seconds = read_seconds or None  # 0: no limit
        self.write_seconds = write_seconds or None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] in READS_NO_BODY and context(scope).family == "tracking"):
            await self.app(scope, receive, send)  # a tracking GET reads no body and is answered in one piece
            return
        body_done = False
        started = False

        async def receive_within_deadline() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()  # from here on the app only waits for a disconnect: no deadline
            try:
                async with asyncio.timeout(self.read_seconds):
                    message = await receive()
            except TimeoutError:
                raise ClientStalled("reading the request body") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def send_within_deadline(message: Message) -> None:
            nonlocal started
            started = True
            if not message.get("more_body"):
                await send(message)
                return
            try:
                async with asyncio.timeout(self.write_seconds):
                    await send(message)
            except TimeoutError:
                raise ClientStalled("sending the response") from None

        try:
            await self.app(scope, receive_within_deadline, send_within_deadline)
        except* ClientStalled as stalled:
            what = str(stalled.exceptions[0])
            log.info("client stalled; connection closed", extra={"path": scope["path"], "while": what})
            if not started:
                refusal = json_error(408, "request body too slow", headers={"connection": "close"})
                await refusal(scope, receive, send)
