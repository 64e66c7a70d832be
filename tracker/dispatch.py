"""The one dispatcher: every request goes where its context's route family says, decided once on arrival.

Tracking hits, the tracked redirects (/rdr/, /xrdr/) and the catch-all (short link → static file → default
upstream → 404) are most of the traffic and are answered here directly; the routes with path parameters (the
admin API) and the ops paths live in one Starlette router, each registered once. An upstream with a prefix of
its own (`/api/`) is matched before short links; WebSockets go to a matching upstream or are refused.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tracker.edge.proxy import ReverseProxy
from tracker.edge.static import StaticFiles
from tracker.edge.upstreams import Upstream
from tracker.http.answers import json_error
from tracker.http.body import drain
from tracker.http.context import context
from tracker.routes import ltv, redirects, track

# answered here, without the router: the tracking hits and the tracked redirects, by the API segment
DIRECT_ENDPOINTS = (
    {kind: track.make_endpoint(kind) for kind in ("tr", "str", "img")}
    | {"ltv": ltv.endpoint}
    | {kind: redirects.make_tracked_redirect(kind) for kind in ("rdr", "xrdr")}
)
ROUTED_FAMILIES = frozenset(("ops", "admin", "privacy", "other"))
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"))


class CatchAll:
    def __init__(self, static: StaticFiles, proxy: ReverseProxy) -> None:
        self.static = static
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = context(scope)
        upstream = found.upstream if isinstance(found.upstream, Upstream) else None
        if upstream is not None and (upstream.prefix != "/" or scope["type"] == "websocket"):
            await self.proxy.handle(scope, receive, send, upstream)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        request = Request(scope, receive)
        response = await redirects.short_link(request)
        if response is None and self.static and await self.static.serve(scope, receive, send):
            return
        if response is None and upstream is not None:
            await self.proxy.handle(scope, receive, send, upstream)
            return
        if response is None and scope["path"] == "/robots.txt":
            response = await redirects.robots(request)
        if response is None:
            drained = await drain(receive)
            response = json_error(404, "not found", None if drained else {"connection": "close"}, path=scope["path"])
        await response(scope, receive, send)


class Dispatcher:
    def __init__(self, router: ASGIApp, catch_all: CatchAll, api_prefix: str) -> None:
        self.router = router
        self.catch_all = catch_all
        self.api_slash = api_prefix + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.router(scope, receive, send)  # lifespan
            return
        if scope["type"] == "http" and scope["method"] not in METHODS:
            await json_error(405, "method not allowed", method=scope["method"])(scope, receive, send)
            return
        found = context(scope)
        if found.api_kind and scope["type"] == "http":
            endpoint = DIRECT_ENDPOINTS.get(found.api_kind)
            if endpoint is not None:
                rest = scope["path"][len(self.api_slash) + len(found.api_kind) + 1 :]
                response = await endpoint(Request(scope, receive), rest)
                await response(scope, receive, send)
                return
        if found.api_kind or found.family in ROUTED_FAMILIES:
            await self.router(scope, receive, send)  # its default, for a path it does not know, is the catch-all
            return
        await self.catch_all(scope, receive, send)
