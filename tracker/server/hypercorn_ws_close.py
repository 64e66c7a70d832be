"""Hypercorn 0.18 hands every close a WebSocket client starts to the app as 1006 (hypercorn#127, open): it
answers the client's close frame, then reports the stream's end as a lost connection. install() keeps the code
and reason of that frame for `websocket.disconnect`, so the app, and an upstream behind the proxy, learn what
the client said. It wraps two methods of WSStream and checks they exist, so a Hypercorn that reshapes them is
left alone (and tests/server/test_hypercorn_ws_close.py fails) rather than broken."""

from __future__ import annotations

import logging
from typing import Any

from hypercorn.protocol import ws_stream
from hypercorn.protocol.events import StreamClosed
from wsproto.connection import ConnectionState
from wsproto.events import CloseConnection

log = logging.getLogger("tracker.server.hypercorn_ws_close")


def install() -> bool:
    stream = ws_stream.WSStream
    if getattr(stream, "keeps_client_close_code", False):
        return True
    if not all(hasattr(stream, name) for name in ("handle", "_send_wsproto_event", "app_send")):
        log.warning("hypercorn's WSStream changed; WebSocket client close codes are reported as 1006")
        return False
    send_event = stream._send_wsproto_event
    handle = stream.handle

    async def send_event_noting_the_client_close(self: Any, event: Any) -> None:
        if isinstance(event, CloseConnection) and self.connection.state == ConnectionState.REMOTE_CLOSING:
            self.client_close = (event.code, event.reason or "")  # our answer echoes the client's frame
        await send_event(self, event)

    async def handle_with_the_client_close(self: Any, event: Any) -> None:
        client_close = getattr(self, "client_close", None)
        if (
            client_close is not None
            and isinstance(event, StreamClosed)
            and not self.closed
            and self.app_put is not None
            and self.state == ws_stream.ASGIWebsocketState.CONNECTED
        ):
            self.closed = True
            code, reason = client_close
            await self.app_put({"type": "websocket.disconnect", "code": code, "reason": reason})
            return
        await handle(self, event)

    stream._send_wsproto_event = send_event_noting_the_client_close  # type: ignore[method-assign]
    stream.handle = handle_with_the_client_close  # type: ignore[method-assign]
    stream.keeps_client_close_code = True  # type: ignore[attr-defined]
    return True
