"""Serving: Hypercorn settings from Config, one process or a supervisor with N workers, graceful shutdown.

The supervisor binds the sockets, spawns `Workers` processes that serve HTTP and append to their own spool
directory, and runs the shipper itself: each sink is opened by exactly one process, and batch conversion never
competes with request handling for a worker's GIL. Durability "memory" has no spool to share, so it serves and
ships in one process. SIGTERM: stop accepting, finish in-flight requests, ship the spool, exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import sys
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app

from tracker import logs
from tracker.app import create_app
from tracker.config import Config, ConfigError, split_bind
from tracker.edge import ws_close_code
from tracker.edge.acme import AcmeManager, ensure_bootstrap_certificate
from tracker.edge.tls import (
    ALPN,
    ReloadingCertificate,
    TLSHypercornConfig,
    acme_settings,
    certificate_files,
    tls_enabled,
)

log = logging.getLogger("tracker.server")
GRACEFUL_SECONDS = 10.0


def hypercorn_config(config: Config) -> TLSHypercornConfig:
    settings = TLSHypercornConfig()
    plain = [p for p in (config.proxy_port, config.proxy_except_http) if p]
    settings.bind = [_bind(p) for p in plain]
    if tls_enabled(config):
        cert, key = certificate_files(config)
        if acme_settings(config).domains:
            ensure_bootstrap_certificate(acme_settings(config), cert, key)
        settings.insecure_bind = settings.bind
        settings.bind = [_bind(config.proxy_port_tls)]
        settings.certfile, settings.keyfile = str(cert), str(key)
        settings.alpn_protocols = list(ALPN)
        settings.reloading = ReloadingCertificate(cert, key)
        settings.reloading.require(config, "TLSCert" if config.use_local_tls else "Acme.CacheDirectory")
    settings.keep_alive_timeout = float(config.idle_timeout_seconds or 3600)
    settings.read_timeout = None  # it timed every read, so cut downloads and quiet WebSockets: see slow_clients.py
    settings.h11_max_incomplete_size = config.max_header_bytes
    settings.h2_max_inbound_frame_size = max(16384, min(config.max_header_bytes, 2**24 - 1))
    settings.h2_max_header_list_size = config.max_header_bytes
    settings.websocket_max_message_size = config.limits.max_websocket_message_bytes
    settings.graceful_timeout = GRACEFUL_SECONDS
    settings.accesslog = None
    settings.errorlog = logging.getLogger("hypercorn.error")
    settings.workers = config.workers
    settings.backlog = 2048
    return settings


def _bind(value: str) -> str:
    host, _, port = value.rpartition(":")
    return f"{host or '0.0.0.0'}:{port}"


def serve(config: Config) -> int:
    try:
        hypercorn_config(config)  # certificate files are checked before any worker starts
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if config.durability == "memory":
        asyncio.run(_serve_one(config))
        return 0
    return 1 if _supervise(config) else 0  # 1: events left unshipped in the spool (logged)


def acme_manager(config: Config) -> AcmeManager | None:
    if not (tls_enabled(config) and acme_settings(config).domains):
        return None
    return AcmeManager(acme_settings(config), plain_listener=split_bind(config.proxy_port))


async def _serve_one(config: Config) -> None:
    ws_close_code.install()
    stop = _stop_event()
    certificates = acme_manager(config)
    if certificates is not None:
        await certificates.start()
    app = create_app(config, worker_index=0, run_shipper=True)
    log.info("serving", extra={"bind": hypercorn_config(config).bind, "workers": 1})
    served = wrap_app(app, 0, "asgi")  # type: ignore[arg-type]
    await worker_serve(served, hypercorn_config(config), shutdown_trigger=stop.wait)
    if certificates is not None:
        await certificates.stop()
    log.info("stopped")


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT"):
        loop.add_signal_handler(getattr(signal, name), stop.set)
    return stop


def _worker(config: Config, index: int, sockets: Sockets, shutdown: ProcessEvent) -> None:
    logs.setup("debug" if config.debug else "info")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when to stop
    ws_close_code.install()

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

        async def trigger() -> None:
            while not stop.is_set() and not shutdown.is_set():
                await asyncio.sleep(0.1)

        app = create_app(config, worker_index=index, run_shipper=False)
        served = wrap_app(app, 0, "asgi")  # type: ignore[arg-type]
        await worker_serve(served, hypercorn_config(config), sockets=sockets, shutdown_trigger=trigger)

    asyncio.run(main())


def _supervise(config: Config) -> dict[str, int]:
    settings = hypercorn_config(config)
    sockets = settings.create_sockets()
    context = multiprocessing.get_context("spawn")
    shutdown = context.Event()
    workers: dict[int, Any] = {}

    def spawn(index: int) -> None:
        process = context.Process(target=_worker, args=(config, index, sockets, shutdown), daemon=False)
        process.start()
        workers[index] = process

    for index in range(config.workers):
        spawn(index)
    log.info("serving", extra={"bind": settings.bind, "workers": config.workers})
    unshipped = asyncio.run(_ship_and_watch(config, workers, spawn, shutdown))
    for sock in sockets.insecure_sockets + sockets.secure_sockets:
        sock.close()
    return unshipped


async def _ship_and_watch(
    config: Config, workers: dict[int, Any], spawn: Any, shutdown: ProcessEvent
) -> dict[str, int]:
    from tracker.redirects.hosting import ControlHost
    from tracker.runtime import build_shipper

    stop = _stop_event()
    shipper = build_shipper(config)
    await shipper.start()
    control = ControlHost(config, shipper)
    await control.start()
    certificates = acme_manager(config)
    if certificates is not None:
        await certificates.start()
    while not stop.is_set():
        for index, process in list(workers.items()):
            if not process.is_alive():
                log.warning("worker exited; restarting", extra={"worker": index, "exitcode": process.exitcode})
                spawn(index)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    shutdown.set()
    for process in workers.values():
        await asyncio.to_thread(process.join, GRACEFUL_SECONDS + 5)
        if process.is_alive():
            process.kill()
    if certificates is not None:
        await certificates.stop()
    await control.stop()
    unshipped = await shipper.stop()
    log.info("stopped")
    return unshipped
