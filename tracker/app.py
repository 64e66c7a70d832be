"""create_app(config) → the Starlette app: the route table, request metrics and the lifespan of a Runtime."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.config import Config, RateLimitConfig, split_bind
from tracker.edge.acme import challenge_directory
from tracker.edge.client_ip import TrustedProxies, client_ip
from tracker.edge.connection_gate import ConnectionGate, per_worker_share
from tracker.edge.header_limit import HeaderLimit
from tracker.edge.https_redirect import PlainToHttps
from tracker.edge.proxy import ReverseProxy
from tracker.edge.proxy_track import event_recorder
from tracker.edge.ratelimit import RateLimit
from tracker.edge.slow_clients import SlowClients
from tracker.edge.static import StaticFiles
from tracker.edge.tls import tls_enabled
from tracker.errors import json_error
from tracker.routes import admin, ops, redirects, track
from tracker.runtime import Runtime

log = logging.getLogger("tracker.app")
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]


def create_app(config: Config, *, worker_index: int = 0, run_shipper: bool = True) -> Starlette:
    runtime = Runtime(config, worker_index=worker_index, run_shipper=run_shipper)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await proxy.aclose()
            await runtime.stop()

    static = StaticFiles(config.static, config.static_directory, config.api_prefix)
    proxy = ReverseProxy(
        config.upstreams,
        runtime.trusted,
        max_websocket_bytes=config.limits.max_websocket_message_bytes,
        max_body_bytes=config.limits.body_limit("proxy"),
        verify_tls=not config.ignore_insecure_tls,
        go=config,
        track=event_recorder(runtime),
    )
    fallthrough = Fallthrough(static, proxy)
    app = Starlette(
        routes=routes(config, fallthrough),
        lifespan=lifespan,
        exception_handlers={Exception: _internal_error},
    )
    app.state.runtime = runtime
    app.add_middleware(HotRoutes, api=config.api_prefix, fallthrough=fallthrough)
    rules = rate_limit_rules(config)
    if rules:
        edge = EdgeFamilies(config, static, proxy)
        app.add_middleware(
            RateLimit, rules=rules, storage_uri=config.rate_limit_storage, family_of=edge.family, client_of=edge.client
        )
    if config.maximum_connections > 0:
        app.add_middleware(
            ConnectionGate,
            limit=per_worker_share(config.maximum_connections, config.workers),
            family_of=lambda path: route_family(path, config.api_prefix),
        )
    if config.read_timeout_seconds > 0 or config.write_timeout_seconds > 0:
        app.add_middleware(
            SlowClients, read_seconds=config.read_timeout_seconds, write_seconds=config.write_timeout_seconds
        )
    app.add_middleware(HeaderLimit, max_bytes=config.max_header_bytes)
    app.add_middleware(RequestMetrics, runtime=runtime)
    if tls_enabled(config):
        app.add_middleware(
            PlainToHttps,
            https_port=split_bind(config.proxy_port_redirect or config.proxy_port_tls)[1],
            challenges=challenge_directory(config.acme),
            hsts=config.hsts,
            serve_all_ports=frozenset([split_bind(config.proxy_except_http)[1]] if config.proxy_except_http else []),
        )
    return app


def rate_limit_rules(config: Config) -> list[RateLimitConfig]:
    rules = list(config.rate_limits)
    if config.proxy_daily_limit > 0:  # the Go key, as one rule of ours
        rules.append(RateLimitConfig(limit=f"{config.proxy_daily_limit}/day", routes=("proxy",)))
    return rules


class EdgeFamilies:
    """What the edge layers need to know of a raw request: its route family and its client's address."""

    def __init__(self, config: Config, static: StaticFiles, proxy: ReverseProxy) -> None:
        self.api = config.api_prefix
        self.static = static
        self.proxy = proxy
        self.trusted = TrustedProxies.parse(config.trusted_proxies)

    def family(self, scope: Scope) -> str:
        path = scope["path"]
        family = route_family(path, self.api)
        if family != "other" or path.startswith(self.api + "/"):
            return family
        upstream = self.proxy.match(scope)
        if upstream is not None and upstream.prefix != "/":
            return "proxy"
        if any(site.prefix != "/" and path.startswith(site.prefix) for site in self.static.sites):
            return "static"
        return "redirects"  # the catch-all: short links first

    def client(self, scope: Scope) -> str:
        forwarded = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"), None)
        peer = scope.get("client")
        return client_ip(peer[0] if peer else None, forwarded, self.trusted)


def routes(config: Config, fallthrough: Fallthrough) -> list[BaseRoute]:
    api = config.api_prefix
    table: list[BaseRoute] = []
    for kind, endpoint in TRACKING_ENDPOINTS.items():  # also served by HotRoutes, which usually answers first
        table.append(Route(f"{api}/{kind}/{{rest:path}}", endpoint, methods=ANY_METHOD))
        table.append(Route(f"{api}/{kind}", endpoint, methods=ANY_METHOD))
    table += [
        *(Route(path, endpoint, methods=ANY_METHOD) for path, endpoint in OPS_ROUTES.items()),
    ]
    for kind in ("rdr", "xrdr"):
        endpoint = redirects.make_tracked_redirect(kind)
        table += [
            Route(f"{api}/{kind}/{{rest:path}}", endpoint, methods=ANY_METHOD),
            Route(f"{api}/{kind}", endpoint, methods=ANY_METHOD),
        ]
    table += admin.routes(api)
    table.append(Route("/{path:path}", fallthrough, methods=ANY_METHOD))
    table.append(WebSocketRoute("/{path:path}", fallthrough))
    return table


class Fallthrough:
    """The catch-all, in SPEC order: short link → static files → default upstream → 404; an upstream with a
    prefix of its own (`/api/`) is matched first. /robots.txt, when neither a link nor a file, lists which
    short links crawlers may follow. WebSockets go to a matching upstream or are refused."""

    def __init__(self, static: StaticFiles, proxy: ReverseProxy) -> None:
        self.static = static
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upstream = self.proxy.match(scope)
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
            response = json_error(404, "not found", path=scope["path"])
        await response(scope, receive, send)


async def _internal_error(request: Request, error: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "error_type": type(error).__name__})
    return json_error(500, "internal error")


def route_family(path: str, api: str) -> str:
    if path.startswith(api):
        head = path[len(api) + 1 :].split("/", 1)[0]
        if head in ("tr", "str", "img", "ltv", "ws"):
            return "tracking"
        if head in ("rdr", "xrdr"):
            return "redirects"
        if head in ("rpi",):
            return "admin"
        if head == "ppi":
            return "privacy"
        if head == "pub":
            return "static"
        return "other"
    if path in OPS_ROUTES:
        return "ops"
    return "other"


OPS_ROUTES = {
    "/health": ops.health,
    "/ping": ops.ping,
    "/clear": ops.clear,
    "/status": ops.status,
    "/metrics": ops.metrics,
}
TRACKING_ENDPOINTS = {kind: track.make_endpoint(kind) for kind in ("tr", "str", "img")}


class HotRoutes:
    """The tracking routes and the catch-all (short links, static files, upstreams), dispatched before
    Starlette's router and exception layer: they are most of the traffic, and telling them apart is a string
    split. What the router would have chosen is unchanged; errors still reach the app's 500 handler."""

    def __init__(self, app: ASGIApp, api: str, fallthrough: Fallthrough) -> None:
        self.app = app
        self.prefix = api + "/"
        self.methods = frozenset(ANY_METHOD)
        self.fallthrough = fallthrough

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods:
            path = scope["path"]
            if path.startswith(self.prefix):
                kind, _, rest = path[len(self.prefix) :].partition("/")
                endpoint = TRACKING_ENDPOINTS.get(kind)
                if endpoint is not None:
                    scope["path_params"] = {"rest": rest}
                    response = await endpoint(Request(scope, receive))
                    await response(scope, receive, send)
                    return
            elif path not in OPS_ROUTES:
                await self.fallthrough(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RequestMetrics:
    """Counts requests by route family and status and times them; a plain ASGI wrapper for speed."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.stats = runtime.metrics.requests
        self.api = runtime.config.api_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        family = route_family(scope["path"], self.api)
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.stats.in_flight += 1
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.stats.in_flight -= 1
            self.stats.record(family, status, time.perf_counter() - started)
