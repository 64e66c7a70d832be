"""WriteTimeoutSeconds, with nginx's `send_timeout` meaning: a response part the client has not taken within
that many seconds ends the exchange and closes the connection. A client that reads slowly but steadily is
never cut, however long its download; one that stops reading (a slow-read attack, a frozen tab) no longer
holds a worker's buffers and an upstream response forever. Only the parts of a streamed response are timed: a
response sent in one piece is handed to the socket's buffer and cannot stall the app."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tracker.edge.write_timeout")


class ClientStalled(Exception):
    """The client took no part of the response for WriteTimeoutSeconds."""


class WriteTimeout:
    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_within_deadline(message: Message) -> None:
            if not message.get("more_body"):
                await send(message)
                return
            try:
                async with asyncio.timeout(self.seconds):
                    await send(message)
            except TimeoutError:
                raise ClientStalled from None

        try:
            await self.app(scope, receive, send_within_deadline)
        except* ClientStalled:
            log.info("client stopped reading; response cut", extra={"path": scope["path"], "seconds": self.seconds})
