"""Granian, the second engine: its Rust HTTP/1.1 and HTTP/2 server (hyper, tokio) serving our ASGI app inside
our own worker process and event loop, on the sockets the supervisor bound.

Granian's embeddable server binds its own socket and runs one app per server, so we drive its worker directly
(granian_glue.py): one Granian worker per listener (plain, TLS, ProxyExceptHTTP), all on the inherited
sockets, the app's lifespan run once for all of them. Granian loads a certificate when a worker starts and
cannot swap it, so a renewed certificate starts a new TLS worker on the same socket and then stops the old one:
its requests in flight finish, its idle keep-alive connections are closed gracefully (the listener is rolled
inside each process, no process restarts, no connection is cut mid-request).

What it cannot do as Hypercorn does is listed by limitations() and printed by `tracker --check-config`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import ASGIApp

from tracker.config import Config, split_bind
from tracker.edge.tls import CHECK_SECONDS, ReloadingCertificate, acme_settings, certificate_files, tls_enabled
from tracker.server import listeners
from tracker.server.engine import GRACEFUL_SECONDS
from tracker.server.granian_glue import BACKLOG, GranianAdapter, GranianListener, Lifespan, ListenerSettings

log = logging.getLogger("tracker.server.granian")


@dataclass(frozen=True)
class Listener:
    sock: socket.socket  # pickled to the workers by multiprocessing (the fd is duplicated into them)
    tls: bool


def _listen(bind: str, config: Config) -> socket.socket:
    host, port = split_bind(bind)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if listeners.shares_port(config):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


class GranianEngine:
    name = "granian"

    def check(self, config: Config) -> None:
        if tls_enabled(config):
            self._certificate(config)

    def _certificate(self, config: Config) -> ReloadingCertificate:
        cert, key = certificate_files(config)
        if acme_settings(config).domains:
            from tracker.edge.acme import ensure_bootstrap_certificate  # ACME's libraries only where it is used

            ensure_bootstrap_certificate(acme_settings(config), cert, key)
        reloading = ReloadingCertificate(cert, key)
        reloading.require(config, "TLSCert" if config.use_local_tls else "Acme.CacheDirectory")
        return reloading

    def bind(self, config: Config) -> list[Listener]:
        return [Listener(_listen(bind, config), tls) for bind, tls in listeners.binds(config)]

    def describe(self, config: Config) -> list[str]:
        return [f"{'https' if tls else 'http'}://{bind}" for bind, tls in listeners.binds(config)]

    def close(self, sockets: list[Listener]) -> None:
        for listener in sockets:
            listener.sock.close()

    def limitations(self, config: Config) -> list[str]:
        """What Granian does differently from Hypercorn with this config, one line each."""
        lines = [
            f"granian: MaxHeaderBytes is enforced by the app (431); a head over {_head_buffer(config)} bytes gets the "
            "engine's own 431 without a JSON body",
            "granian: WebSocket handshake answers carry no headers from the app (Granian's websocket.accept takes "
            "only a subprotocol): /tr/v1/ws sets no vid/sid cookies on the upgrade, and a proxied upstream's "
            "handshake headers (Set-Cookie) do not reach the client",
            "granian: a WebSocket client's close code reaches the app as 1006 (the event stream logs it so, and a "
            "proxied upstream is told 1006 instead of the client's code)",
            "granian: Limits.MaxWebSocketMessageBytes is checked after the engine has read the message (it buffers up "
            "to 64 MiB per message) and closes with 1009",
            "granian: a request target not in origin form (`http://host/x`, `@host/x`) reaches the app as its path "
            "(`/x`), so the plain port redirects it to our own host instead of answering 400",
            "granian: a renewed certificate rolls the TLS listener: requests in flight finish, idle keep-alive "
            "connections are closed gracefully (HTTP/2 GOAWAY) and clients reconnect",
            "granian: WebSockets over HTTP/2 (RFC 8441) not supported; they work over HTTP/1.1",
        ]
        if config.limits.websocket_ping_seconds:
            lines.append("granian: Limits.WebSocketPingSeconds not supported: the engine sends no WebSocket pings")
        if not tls_enabled(config):
            lines = [line for line in lines if "certificate" not in line and "plain port" not in line]
        return lines

    async def serve(
        self, app: ASGIApp, config: Config, *, sockets: list[Listener] | None, shutdown: Callable[[], Awaitable[object]]
    ) -> None:
        bound = sockets if sockets is not None else self.bind(config)
        served = GranianAdapter(app, config.limits.max_websocket_message_bytes)
        lifespan = Lifespan(served)
        await lifespan.startup()
        reloading = self._certificate(config) if tls_enabled(config) else None
        running = [self._start(served, lifespan, listener, config, reloading) for listener in bound]
        watcher = asyncio.create_task(self._roll_on_renewal(running, reloading)) if reloading else None
        try:
            await shutdown()
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await asyncio.gather(*(server.stop(GRACEFUL_SECONDS) for server in running))
            await lifespan.shutdown()
            if sockets is None:
                self.close(bound)

    def _start(
        self,
        app: ASGIApp,
        lifespan: Lifespan,
        listener: Listener,
        config: Config,
        reloading: ReloadingCertificate | None,
    ) -> GranianListener:
        settings = ListenerSettings(
            tls_files=(str(reloading.cert), str(reloading.key)) if listener.tls and reloading else None,
            header_read_ms=1000 * (config.idle_timeout_seconds or 3600),
            head_buffer=_head_buffer(config),
            max_header_list=config.max_header_bytes,
        )
        return GranianListener(app, lifespan.state, listener.sock, settings)

    async def _roll_on_renewal(self, running: list[GranianListener], reloading: ReloadingCertificate | None) -> None:
        """A new loadable certificate: a new TLS worker on the same socket first, then the old one drains."""
        assert reloading is not None
        loaded = reloading.current()
        draining: set[asyncio.Task[None]] = set()
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            fresh = await asyncio.to_thread(reloading.current)
            if fresh is None or fresh is loaded:
                continue
            loaded = fresh
            for index, server in enumerate(running):
                if server.settings.tls_files is not None:
                    running[index] = server.restarted()
                    task = asyncio.get_running_loop().create_task(server.stop(GRACEFUL_SECONDS))
                    draining.add(task)
                    task.add_done_callback(draining.discard)
            log.info("certificate renewed: TLS listener rolled", extra={"cert": str(reloading.cert)})


def _head_buffer(config: Config) -> int:
    """hyper's read buffer (a cap: it grows only as needed) bounds a request head. As Hypercorn's 64 KiB read,
    and at least twice MaxHeaderBytes, so the request entry's head limit (http/entry.py) answers an oversize head
    as on Hypercorn."""
    return max(65536, 2 * config.max_header_bytes)
