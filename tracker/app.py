"""create_app(config) → the ASGI app: the layers in order, one dispatcher, and the lifespan of a Runtime.

Outermost first: plain-to-https, the request context, metrics, header limit, slow clients, connection gate,
rate limits, then Starlette's error handling around the dispatcher.
"""

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
from tracker.dispatch import CatchAll, Dispatcher
from tracker.edge.acme import challenge_directory
from tracker.edge.connection_gate import ConnectionGate, per_worker_share
from tracker.edge.header_limit import HeaderLimit
from tracker.edge.https_redirect import PlainToHttps
from tracker.edge.proxy import ReverseProxy
from tracker.edge.proxy_track import event_recorder
from tracker.edge.ratelimit import RateLimit
from tracker.edge.slow_clients import SlowClients
from tracker.edge.static import StaticFiles
from tracker.edge.tls import tls_enabled
from tracker.edge.upstreams import match
from tracker.http.answers import json_error
from tracker.http.context import Classifier, RequestEntry, context
from tracker.routes import admin, ops, privacy, redirects, stream
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

    static = StaticFiles(
        config.static, config.static_directory, config.api_prefix, pathsend=config.write_timeout_seconds == 0
    )
    proxy = ReverseProxy(
        config.upstreams,
        runtime.trusted,
        max_websocket_bytes=config.limits.max_websocket_message_bytes,
        max_body_bytes=config.limits.body_limit("proxy"),
        verify_tls=not config.ignore_insecure_tls,
        go=config,
        track=event_recorder(config, runtime.intake),
    )
    catch_all = CatchAll(static, proxy)
    app = Starlette(routes=routes(config), lifespan=lifespan, exception_handlers={Exception: _internal_error})
    app.router.default = catch_all  # a path no route knows falls through to short links, files, upstreams
    app.router.redirect_slashes = False
    app.state.runtime = runtime
    app.add_middleware(Dispatcher, catch_all=catch_all, api_prefix=config.api_prefix)
    rules = rate_limit_rules(config)
    if rules:
        app.add_middleware(RateLimit, rules=rules, storage_uri=config.rate_limit_storage)
    if config.maximum_connections > 0:
        app.add_middleware(ConnectionGate, limit=per_worker_share(config.maximum_connections, config.workers))
    if config.read_timeout_seconds > 0 or config.write_timeout_seconds > 0:
        app.add_middleware(
            SlowClients, read_seconds=config.read_timeout_seconds, write_seconds=config.write_timeout_seconds
        )
    app.add_middleware(HeaderLimit, max_bytes=config.max_header_bytes)
    app.add_middleware(RequestMetrics, runtime=runtime)
    classifier = Classifier(
        config.api_prefix,
        match_upstream=lambda host, path: match(proxy.upstreams, host, path) if proxy.upstreams else None,
        static_prefixes=tuple(site.prefix for site in static.sites if site.prefix != "/"),
    )
    app.add_middleware(RequestEntry, classifier=classifier, trusted=runtime.trusted)
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


def routes(config: Config) -> list[BaseRoute]:
    """The routes with path parameters and the ops paths, each once; the dispatcher answers the rest."""
    api = config.api_prefix
    table: list[BaseRoute] = [Route(path, endpoint, methods=ANY_METHOD) for path, endpoint in ops.ROUTES.items()]
    for kind in ("rdr", "xrdr"):
        endpoint = redirects.make_tracked_redirect(kind)
        table += [
            Route(f"{api}/{kind}/{{rest:path}}", endpoint, methods=ANY_METHOD),
            Route(f"{api}/{kind}", endpoint, methods=ANY_METHOD),
        ]
    table += admin.routes(api)
    table += [
        WebSocketRoute(f"{api}/ws", stream.endpoint),
        Route(f"{api}/ws", stream.http_endpoint, methods=ANY_METHOD),
    ]
    table += privacy.routes(api)
    return table


async def _internal_error(request: Request, error: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "error_type": type(error).__name__})
    return json_error(500, "internal error")


class RequestMetrics:
    """Counts requests by route family and status and times them; a plain ASGI wrapper for speed."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.stats = runtime.metrics.requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        family = context(scope).family
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
