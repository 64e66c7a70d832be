"""create_app(config) → the ASGI app: the layers in order, one dispatcher, and the lifespan of a Runtime.

Outermost first: plain-to-https (with TLS), the request entry (refusals, context, header limit, metrics, the
last-resort 500), slow clients, connection gate, rate limits (each only when configured), then the dispatcher;
the routes with path parameters behind it in Starlette's router.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Lifespan

from tracker.config import Config, RateLimitConfig, split_bind
from tracker.dispatch import CatchAll, Dispatcher
from tracker.edge.acme import challenge_directory
from tracker.edge.connection_gate import ConnectionGate, per_worker_share
from tracker.edge.https_redirect import PlainToHttps
from tracker.edge.proxy import ReverseProxy
from tracker.edge.proxy_track import event_recorder
from tracker.edge.ratelimit import RateLimit
from tracker.edge.slow_clients import SlowClients
from tracker.edge.static import StaticFiles
from tracker.edge.tls import tls_enabled
from tracker.edge.upstreams import match
from tracker.http.context import Classifier
from tracker.http.entry import RequestEntry
from tracker.routes import admin, ops, privacy, stream
from tracker.runtime import Runtime

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]


class TrackerApp(Starlette):
    """Starlette's application (router, lifespan, state) with our layers in front of its router instead of its
    own error middleware: the request entry does that work, and only the layers this config needs are there."""

    def __init__(
        self,
        *,
        routes: list[BaseRoute],
        lifespan: Lifespan[Starlette],
        front: Callable[[ASGIApp], ASGIApp],
        runtime: Runtime,
    ) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self.front = front
        self.runtime = runtime  # what http/process.py hands the routes: an attribute, not a State lookup
        self.state.runtime = runtime

    def build_middleware_stack(self) -> ASGIApp:
        return self.front(ExceptionMiddleware(self.router, handlers={}))  # HTTPException for the routed paths


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
    classifier = Classifier(
        config.api_prefix,
        match_upstream=lambda host, path: match(proxy.upstreams, host, path) if proxy.upstreams else None,
        static_prefixes=tuple(site.prefix for site in static.sites if site.prefix != "/"),
    )

    def front(router: ASGIApp) -> ASGIApp:
        """The layers, innermost first; one that would do nothing for this config is not there at all."""
        app: ASGIApp = Dispatcher(router, catch_all=catch_all, api_prefix=config.api_prefix)
        rules = rate_limit_rules(config)
        if rules:
            app = RateLimit(app, rules=rules, storage_uri=config.rate_limit_storage)
        if config.maximum_connections > 0:
            app = ConnectionGate(app, limit=per_worker_share(config.maximum_connections, config.workers))
        if config.read_timeout_seconds > 0 or config.write_timeout_seconds > 0:
            app = SlowClients(app, read_seconds=config.read_timeout_seconds, write_seconds=config.write_timeout_seconds)
        app = RequestEntry(
            app,
            classifier=classifier,
            trusted=runtime.trusted,
            max_header_bytes=config.max_header_bytes,
            stats=runtime.metrics.requests,
        )
        if tls_enabled(config):
            app = PlainToHttps(
                app,
                https_port=split_bind(config.proxy_port_redirect or config.proxy_port_tls)[1],
                challenges=challenge_directory(config.acme),
                hsts=config.hsts,
                serve_all_ports=frozenset(
                    [split_bind(config.proxy_except_http)[1]] if config.proxy_except_http else []
                ),
            )
        return app

    app = TrackerApp(routes=routes(config), lifespan=lifespan, front=front, runtime=runtime)
    app.router.default = catch_all  # a path no route knows falls through to short links, files, upstreams
    app.router.redirect_slashes = False
    return app


def rate_limit_rules(config: Config) -> list[RateLimitConfig]:
    rules = list(config.rate_limits)
    if config.proxy_daily_limit > 0:  # the Go key, as one rule of ours
        rules.append(RateLimitConfig(limit=f"{config.proxy_daily_limit}/day", routes=("proxy",)))
    return rules


def routes(config: Config) -> list[BaseRoute]:
    """The routes with path parameters and the ops paths, each once; the dispatcher answers the rest (tracking,
    the tracked redirects, the catch-all)."""
    api = config.api_prefix
    table: list[BaseRoute] = [Route(path, endpoint, methods=ANY_METHOD) for path, endpoint in ops.ROUTES.items()]
    table += admin.routes(api)
    table += [
        WebSocketRoute(f"{api}/ws", stream.endpoint),
        Route(f"{api}/ws", stream.http_endpoint, methods=ANY_METHOD),
    ]
    table += privacy.routes(api)
    return table
