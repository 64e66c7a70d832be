"""The process model: one process, or a supervisor with N workers; graceful shutdown. Engine-agnostic.

The supervisor binds the sockets, spawns `Workers` processes that serve HTTP and append to their own spool
directory, and runs the shipper itself: each sink is opened by exactly one process, and batch conversion never
competes with request handling for a worker's GIL. Durability "memory" has no spool to share, so it serves and
ships in one process. SIGTERM: stop accepting, finish in-flight requests, ship the spool, exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as ProcessEvent
from typing import TYPE_CHECKING, Any

from tracker import logs
from tracker.config import Config, ConfigError, split_bind
from tracker.edge.tls import acme_settings, tls_enabled
from tracker.server import listeners
from tracker.server.engine import GRACEFUL_SECONDS, Engine, engine_for
from tracker.server.heap import map_large_blocks, release_free_memory

if TYPE_CHECKING:
    from tracker.edge.acme import AcmeManager

log = logging.getLogger("tracker.server")
TRIM_SECONDS = 30.0  # how often the supervisor hands freed C-heap pages back (tracker/server/heap.py)


def serve(config: Config) -> int:
    try:
        engine = engine_for(config)
        engine.check(config)  # before any worker starts
        listeners.refuse_taken_ports(config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if config.durability == "memory":
        asyncio.run(_serve_one(config, engine))
        return 0
    return 1 if _supervise(config, engine) else 0  # 1: events left unshipped in the spool (logged)


def acme_manager(config: Config) -> AcmeManager | None:
    if not (tls_enabled(config) and acme_settings(config).domains):
        return None
    from tracker.edge.acme import AcmeManager  # its ACME and crypto libraries only where certificates are issued

    return AcmeManager(acme_settings(config), plain_listener=split_bind(config.proxy_port))


async def _serve_one(config: Config, engine: Engine) -> None:
    from tracker.app import create_app

    stop = _stop_event()
    certificates = acme_manager(config)
    if certificates is not None:
        await certificates.start()
    app = create_app(config, worker_index=0, run_shipper=True)
    gc.freeze()  # as in a worker (_worker)
    log.info("serving", extra={"bind": engine.describe(config), "workers": 1, "engine": engine.name})
    await engine.serve(app, config, sockets=None, shutdown=stop.wait)
    if certificates is not None:
        await certificates.stop()
    log.info("stopped")


def _quiet_cancelled_connections(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """At a graceful stop the servers (the engine's and the control socket's) cancel the tasks of idle keep-alive
    connections, and Python 3.11's StreamReaderProtocol callback logs that CancelledError as an error (3.12
    checks task.cancelled()). It is an ordinary stop; everything else goes to the default handler."""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        return
    loop.default_exception_handler(context)


def _stop_event() -> asyncio.Event:
    """SIGTERM/SIGINT set the returned event; called first in every event loop the server runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_cancelled_connections)
    for name in ("SIGTERM", "SIGINT"):
        loop.add_signal_handler(getattr(signal, name), stop.set)
    return stop


def _worker(config: Config, index: int, sockets: Any, shutdown: ProcessEvent) -> None:
    logs.setup("debug" if config.debug else "info")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides when to stop
    engine = engine_for(config)
    from tracker.app import create_app  # here, not at the top: the supervisor, which never serves, stays small

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().set_exception_handler(_quiet_cancelled_connections)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

        async def trigger() -> None:
            while not stop.is_set() and not shutdown.is_set():
                await asyncio.sleep(0.1)

        app = create_app(config, worker_index=index, run_shipper=False)
        gc.freeze()  # start-up's objects live as long as the worker: no full collection walks them again (p99)
        await engine.serve(app, config, sockets=sockets, shutdown=trigger)

    asyncio.run(main())


def _supervise(config: Config, engine: Engine) -> dict[str, int]:
    sockets = [engine.bind(config) for _ in range(config.workers)]  # a set per worker: listeners.py says why
    context = multiprocessing.get_context("spawn")
    shutdown = context.Event()
    workers: dict[int, Any] = {}

    def spawn(index: int) -> None:
        process = context.Process(target=_worker, args=(config, index, sockets[index], shutdown), daemon=False)
        process.start()
        workers[index] = process

    for index in range(config.workers):
        spawn(index)
    log.info("serving", extra={"bind": engine.describe(config), "workers": config.workers, "engine": engine.name})
    unshipped = asyncio.run(_ship_and_watch(config, workers, spawn, shutdown))
    for worker_sockets in sockets:
        engine.close(worker_sockets)
    return unshipped


async def _ship_and_watch(
    config: Config, workers: dict[int, Any], spawn: Callable[[int], None], shutdown: ProcessEvent
) -> dict[str, int]:
    from tracker.consumers import Consumers
    from tracker.pipeline.shipper import build_shipper
    from tracker.redirects.hosting import ControlHost

    stop = _stop_event()
    map_large_blocks()
    shipper = build_shipper(config)
    await shipper.start()
    control = ControlHost(config, shipper)
    await control.start()
    consumers = Consumers(config, None, shipper.wakeup)
    await consumers.start()
    certificates = acme_manager(config)
    if certificates is not None:
        await certificates.start()
    gc.freeze()  # start-up's objects outlive every batch: the collections that shipping sets off never walk them
    gc.set_threshold(50_000, 20, 10)  # a batch's rows, freed when written, mostly die before a young collection
    trimmed_at = time.monotonic()
    while not stop.is_set():
        if time.monotonic() - trimmed_at >= TRIM_SECONDS:
            trimmed_at = time.monotonic()
            await asyncio.to_thread(release_free_memory)
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
    await consumers.stop()
    await control.stop()
    unshipped = await shipper.stop()
    log.info("stopped")
    return unshipped
