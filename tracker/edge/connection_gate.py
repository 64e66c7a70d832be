"""MaximumConnections: at most that many requests in progress per node, as the Go tracker's token channel did.

Every HTTP request but the operations routes (/health, /ping, /status, /metrics, /clear) holds a slot from its
start to its last byte; a proxied download holds one until it ends. With no slot free the answer is 503 with
`Retry-After: 1` (pixels still answer their GIF). The limit is shared out among the workers, each holding its
share, so the node serves at most MaximumConnections at once. A WebSocket handshake is refused when no slot is
free, but an open socket holds none (Go did not gate /ws at all). 0 means no limit (in Go it refused everything).
"""

from __future__ import annotations

import math

from starlette.types import ASGIApp, Receive, Scope, Send

from tracker.http.answers import refuse
from tracker.http.context import context

RETRY_AFTER = [(b"retry-after", b"1")]


def per_worker_share(maximum: int, workers: int) -> int:
    return math.ceil(maximum / max(1, workers))


class ConnectionGate:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        family = context(scope).family
        if family == "ops" or (scope["type"] == "websocket" and self.in_progress < self.limit):
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await refuse(
                scope,
                send,
                status=503,
                family=family,
                title="Maximum clients reached on this node",
                headers=list(RETRY_AFTER),
                error="maximum clients reached on this node",
                retry_after=1,
            )
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1
