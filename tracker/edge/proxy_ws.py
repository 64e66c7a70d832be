"""WebSocket passthrough: the client's socket is accepted only once the upstream accepted, then frames are
relayed both ways (text and binary, with the close code and reason) until either side closes.

Ping/pong is answered on each leg by its own endpoint (ASGI does not expose ping frames). Messages larger than
Limits.MaxWebSocketMessageBytes are refused by Hypercorn on the client leg and by `websockets` on the other.
Close codes that may not be sent (1005 "none given", 1006 "connection lost") become 1000 and 1001 towards the
upstream, and 1000 and 1014 (bad gateway) towards the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time

from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tracker.edge.proxy_headers import SET_BY_SERVER
from tracker.edge.upstreams import PASSIVE_HEALTH_SECONDS, Upstream
from tracker.http.answers import deny_websocket
from tracker.http.request_target import OriginForm

log = logging.getLogger("tracker.edge.proxy")
# Headers the websocket handshake itself sets, or that are hop-by-hop: never copied to the upstream leg.
HANDSHAKE = frozenset(
    (
        b"host",
        b"connection",
        b"upgrade",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
        b"content-length",
        b"transfer-encoding",
        b"keep-alive",
        b"te",
    )
)


class connect_once(connect):
    """`websockets.connect` without its redirect following (up to 10, to any host): an upstream's 3xx goes to
    the client as the refusal it is, so no Location (an app's open redirect, say) picks where the tracker
    connects, as no request target may."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        return exc


# Codes a peer reports but no close frame may carry (RFC 6455 §7.4.1).
TO_UPSTREAM = {1005: 1000, 1006: 1001}
TO_CLIENT = {1005: 1000, 1006: 1014}


async def relay_websocket(
    scope: Scope,
    receive: Receive,
    send: Send,
    upstream: Upstream,
    target: OriginForm,
    headers: list[tuple[bytes, bytes]],
    max_bytes: int,
    tls: ssl.SSLContext,
) -> None:
    """`target`: the path and query to ask each upstream target for, already checked to be origin form."""
    if not upstream.config.websocket:
        await deny_websocket(scope, send, 404, "websockets are not proxied here", close_code=1011)
        return
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    forwarded = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers if n not in HANDSHAKE]
    for upstream_target in upstream.candidates():
        url = upstream_target.websocket_url(target)
        try:
            upstream_socket = await connect_once(
                url,
                additional_headers=forwarded,
                subprotocols=scope.get("subprotocols") or None,
                proxy=None,
                open_timeout=upstream.config.connect_timeout_seconds,
                max_size=max_bytes,
                compression=None,
                user_agent_header=None,
                ssl=tls if url.startswith("wss:") else None,
            )
        except InvalidStatus as refused:
            await deny_websocket(
                scope, send, refused.response.status_code, "upstream refused the websocket", close_code=1011
            )
            return
        except (OSError, TimeoutError, InvalidHandshake) as error:
            if isinstance(error, (OSError, TimeoutError)):  # a target that answered badly is not down
                upstream_target.failed_until = time.monotonic() + PASSIVE_HEALTH_SECONDS
            log.warning(
                "websocket upstream failing", extra={"target": upstream_target.base, "error": type(error).__name__}
            )
            continue
        async with upstream_socket:
            # the upstream's own handshake headers (cookies, say) reach the client; the handshake's do not
            accepted = (
                [
                    (n.lower().encode("latin-1"), v.encode("latin-1"))
                    for n, v in upstream_socket.response.headers.raw_items()
                    if n.lower().encode("latin-1") not in HANDSHAKE | SET_BY_SERVER
                ]
                if upstream_socket.response is not None
                else []
            )
            await send({"type": "websocket.accept", "subprotocol": upstream_socket.subprotocol, "headers": accepted})
            await _pump(receive, send, upstream_socket)
        return
    await deny_websocket(scope, send, 502, "no upstream target could be reached", close_code=1011)


async def _pump(receive: Receive, send: Send, upstream: ClientConnection) -> None:
    async def client_to_upstream() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                code = int(message.get("code") or 1000)
                code = TO_UPSTREAM.get(code, code)
                await upstream.close(code=code, reason=message.get("reason") or "")
                return
            if message.get("bytes") is not None:
                await upstream.send(message["bytes"])
            elif message.get("text") is not None:
                await upstream.send(message["text"])

    async def upstream_to_client() -> None:
        try:
            async for data in upstream:
                key = "bytes" if isinstance(data, bytes) else "text"
                await send({"type": "websocket.send", key: data})
        except ConnectionClosed:
            pass
        # The upstream's close frame, else the one our side sent it (1009 for an oversized message, say).
        frame = upstream.protocol.close_rcvd or upstream.protocol.close_sent
        code = TO_CLIENT.get(frame.code, frame.code) if frame is not None else 1014
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "websocket.close", "code": code, "reason": frame.reason if frame else ""})

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
