"""Hypercorn, the default engine: its settings from Config, TLS with the certificate hot swap, and the patch
for what it gets wrong (WebSocket client close codes: hypercorn_ws_close.py).

Hypercorn's own limits that we rely on: h11_max_incomplete_size and the h2 header limits (MaxHeaderBytes; the
request entry's head limit, http/entry.py, counts the heads h11 parses in one read), keep_alive_timeout
(IdleTimeoutSeconds), the WebSocket message size, graceful_timeout. read_timeout stays off: it timed every read
and cut downloads and quiet WebSockets (edge/slow_clients.py bounds body reads instead).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app
from starlette.types import ASGIApp

from tracker.config import Config
from tracker.edge.tls import ALPN, ReloadingCertificate, acme_settings, certificate_files, tls_enabled
from tracker.server import hypercorn_ws_close, listeners
from tracker.server.engine import GRACEFUL_SECONDS


class TLSHypercornConfig(HypercornConfig):
    """Hypercorn's config with our SSLContext: same settings, plus the certificate hot swap."""

    reloading: ReloadingCertificate | None = None

    def create_ssl_context(self) -> ssl.SSLContext | None:
        if self.reloading is None:
            return super().create_ssl_context()
        context = self.reloading.current()
        if context is None:
            return super().create_ssl_context()
        context.sni_callback = self.reloading.sni_callback
        return context


def hypercorn_config(config: Config) -> TLSHypercornConfig:
    settings = TLSHypercornConfig()
    secure = [_bind(address) for address, tls in listeners.binds(config) if tls]
    plain = [_bind(address) for address, tls in listeners.binds(config) if not tls]
    settings.bind = secure or plain  # without TLS, Hypercorn serves plain HTTP on `bind`
    if tls_enabled(config):
        cert, key = certificate_files(config)
        if acme_settings(config).domains:
            from tracker.edge.acme import ensure_bootstrap_certificate  # ACME's libraries only where it is used

            ensure_bootstrap_certificate(acme_settings(config), cert, key)
        settings.insecure_bind = plain
        settings.certfile, settings.keyfile = str(cert), str(key)
        settings.alpn_protocols = list(ALPN)
        settings.reloading = ReloadingCertificate(cert, key)
        settings.reloading.require(config, "TLSCert" if config.use_local_tls else "Acme.CacheDirectory")
    settings.keep_alive_timeout = float(config.idle_timeout_seconds or 3600)
    settings.read_timeout = None
    settings.h11_max_incomplete_size = config.max_header_bytes
    settings.h2_max_inbound_frame_size = max(16384, min(config.max_header_bytes, 2**24 - 1))
    settings.h2_max_header_list_size = config.max_header_bytes
    settings.websocket_max_message_size = config.limits.max_websocket_message_bytes
    settings.websocket_ping_interval = config.limits.websocket_ping_seconds or None
    settings.graceful_timeout = GRACEFUL_SECONDS
    settings.accesslog = None
    settings.errorlog = logging.getLogger("hypercorn.error")
    settings.workers = config.workers  # above 1, create_sockets sets SO_REUSEPORT: a set per worker (listeners.py)
    settings.backlog = 2048
    return settings


def _bind(value: str) -> str:
    host, _, port = value.rpartition(":")
    return f"{host or '0.0.0.0'}:{port}"


class HypercornEngine:
    name = "hypercorn"

    def check(self, config: Config) -> None:
        hypercorn_config(config)  # certificate files are loaded once here

    def bind(self, config: Config) -> Sockets:
        settings = hypercorn_config(config)
        sockets = settings.create_sockets()
        for sock in sockets.secure_sockets + sockets.insecure_sockets:
            # listening from here, not from when the worker starts: a connection the kernel gives this worker's
            # socket (SO_REUSEPORT) waits in its backlog while the worker starts or restarts
            sock.listen(settings.backlog)
        return sockets

    def describe(self, config: Config) -> list[str]:
        settings = hypercorn_config(config)
        return [*settings.bind, *settings.insecure_bind]

    def close(self, sockets: Any) -> None:
        for sock in sockets.insecure_sockets + sockets.secure_sockets:
            sock.close()

    def limitations(self, config: Config) -> list[str]:
        return []  # the reference engine: every feature is built for it

    async def serve(
        self, app: ASGIApp, config: Config, *, sockets: Any | None, shutdown: Callable[[], Awaitable[object]]
    ) -> None:
        hypercorn_ws_close.install()
        served = wrap_app(app, 0, "asgi")  # type: ignore[arg-type]
        await worker_serve(served, hypercorn_config(config), sockets=sockets, shutdown_trigger=shutdown)
