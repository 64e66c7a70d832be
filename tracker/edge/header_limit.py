"""MaxHeaderBytes: a request whose line and headers together exceed it gets 431, as Go's net/http answers.

Hypercorn's h11 limit (h11_max_incomplete_size) only bounds a head that arrives in pieces: one that arrives in a
single read, which is the usual case, is parsed whatever its size, up to Hypercorn's 64 KiB read. So the size
is counted here, on every request, the way Go counts it: method, target and each `name: value` line.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from tracker.http.answers import json_error


def head_size(scope: Scope) -> int:
    """The bytes of `METHOD target HTTP/1.1\r\n`, each `name: value\r\n` and the closing `\r\n`."""
    query = len(scope["query_string"])
    target = len(scope.get("raw_path") or scope["path"].encode())
    size = len(scope.get("method", "GET")) + target + (query + 1 if query else 0) + 14
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
    return size


class HeaderLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and head_size(scope) > self.max_bytes:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close"})  # before the handshake Hypercorn answers it with 403
                return
            await json_error(431, "request header fields too large", limit=self.max_bytes)(scope, receive, send)
            return
        await self.app(scope, receive, send)
