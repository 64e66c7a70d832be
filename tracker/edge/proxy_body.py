"""The client's request body on its way to an upstream, read from ASGI `receive` only as the upstream takes it.

A body that arrived in one ASGI message is held (it is small) so the request can still go to another target
when the first refuses the connection; a longer one streams and is spent once sending began. After the body,
the same `receive` tells when the client has gone, which is how a relayed response learns to stop, and how a
request the upstream is slow to answer is abandoned (ClientWatch) instead of held until ReadTimeoutSeconds.

The framing the upstream is told (declared_length) is unambiguous, and the bytes relayed are held to it: a
body longer or shorter than its Content-Length stops the relay, and `sent_whole` says whether the upstream
connection may go back to the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.types import Receive, Scope

from tracker.http.body import BodyTooLarge
from tracker.http.framing import BadFraming


class ClientGone(Exception):
    """The client went away while its body was being relayed."""


class RequestBody:
    def __init__(
        self,
        receive: Receive,
        first: bytes,
        more: bool,
        gone: bool = False,
        limit: int = 0,
        length: int | None = None,
    ) -> None:
        self.receive = receive
        self.first = first
        self.more = more  # the body continues past the first message: stream it
        self.limit = limit  # 0: none
        self.length = length  # the declared Content-Length, which the upstream is told: the bytes must match
        self.too_large = bool(limit) and len(first) > limit
        self.mismatch: BadFraming | None = None
        if length is not None and (len(first) > length or (not more and len(first) != length)) and not gone:
            self.mismatch = BadFraming(f"body of {len(first)} bytes, Content-Length {length}")
        self.sent_whole = not more  # every byte went upstream (a one-message body goes in one write)
        self.client_gone = gone
        self.failure: Exception | None = None  # reading the client's body failed (a slow client, say)
        self.started = False
        self.abandoned = False  # the exchange ended before the upstream asked for the body
        self.finished: asyncio.Event | None = None

    @classmethod
    async def open(
        cls, receive: Receive, limit: int = 0, length: int | None = None, *, known_empty: bool = False
    ) -> RequestBody:
        if known_empty:  # the framing says so: no wait for the engine's (empty) first message, a thread hop on Granian
            return cls(receive, b"", False, limit=limit, length=length)
        message = await receive()
        if message["type"] == "http.disconnect":
            return cls(receive, b"", False, gone=True)
        more = bool(message.get("more_body", False))
        return cls(receive, message.get("body", b""), more, limit=limit, length=length)

    @property
    def replayable(self) -> bool:
        return not self.started

    def payload(self) -> bytes | AsyncIterator[bytes] | None:
        if not self.more:
            return self.first or None
        return self._stream()

    async def _stream(self) -> AsyncIterator[bytes]:
        if self.abandoned:
            return
        self.started = True
        self.finished = asyncio.Event()
        size = len(self.first)
        try:
            if self.first:
                yield self.first
            while True:
                try:
                    message = await self.receive()
                except Exception as error:
                    self.failure = error  # the client's fault, not the upstream's: see ReverseProxy._proxy
                    raise
                if message["type"] == "http.disconnect":
                    self.client_gone = True
                    raise ClientGone("client disconnected")  # aborts the upstream request
                chunk = message.get("body", b"")
                size += len(chunk)
                if self.limit and size > self.limit:
                    self.too_large = True
                    raise BodyTooLarge(self.limit)  # aborts the upstream request
                last = not message.get("more_body", False)
                if self.length is not None and (size > self.length or (last and size != self.length)):
                    self.more = False
                    self.mismatch = BadFraming(f"body of {size} bytes or more, Content-Length {self.length}")
                    raise self.mismatch  # aborts the upstream request: aiohttp closes that connection
                if chunk:
                    yield chunk
                if last:
                    self.more = False
                    self.sent_whole = True
                    return
        finally:
            self.finished.set()

    async def drain(self, most: int) -> None:
        """Reads and drops up to `most` more bytes, so a client still sending can read the answer we give it."""
        size = 0
        while self.more and size <= most:
            message = await self.receive()
            size += len(message.get("body", b""))
            self.more = message["type"] != "http.disconnect" and bool(message.get("more_body", False))

    async def until_disconnect(self) -> None:
        """Returns once the client has gone; runs beside a relayed response and is cancelled when it ends."""
        if self.client_gone:
            return
        if self.more and not self.started:
            self.abandoned = True  # from here on the unread body is ours to drain
        elif self.finished is not None:
            await self.finished.wait()
        while not self.client_gone:
            message = await self.receive()
            self.client_gone = message["type"] == "http.disconnect"


class ClientWatch:
    """Cancels the current task if the client leaves while the upstream has not answered yet.

    Armed as a timer, so the common fast exchange costs no extra task: only a request still waiting after
    `grace` seconds gets a watcher. A body the upstream has not started reading is left alone (reading it
    here would take it from the upstream); the relay of that body notices a departure by itself.
    """

    def __init__(self, body: RequestBody, grace: float) -> None:
        self.body = body
        self.fired = False
        self._task = asyncio.current_task()
        self._watcher: asyncio.Future[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(grace, self._start)

    def _start(self) -> None:
        if self.body.more and not self.body.started:
            return
        self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        await self.body.until_disconnect()
        if self._task is not None:
            self.fired = True
            self._task.cancel()

    def left(self) -> bool:
        """True when a CancelledError came from this watch (and is now spent), False when it is a real one."""
        return self.fired and self._task is not None and self._task.uncancel() == 0

    def disarm(self) -> None:
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()


def known_empty(scope: Scope, length: int | None) -> bool:
    """RFC 9112 §6.3: an HTTP/1 request with neither Content-Length nor Transfer-Encoding has no body (HTTP/2 may
    send one without a length); nor has one that declares length 0."""
    if length is not None:
        return length == 0
    http1 = scope.get("http_version") in ("1.1", "1.0")
    return http1 and b"transfer-encoding" not in [name for name, _ in scope["headers"]]
