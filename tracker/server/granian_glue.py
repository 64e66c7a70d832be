"""The pieces of Granian 2.8 we drive by hand, in one place: its Rust ASGI worker on a socket we hand it, the
callback scheduler that runs the app on our loop (ours: one wake-up of the loop per burst of requests), and its
lifespan runner.

Granian's embeddable server (granian.server.embed) binds its own socket and has no way to take one; its worker
spawner is what we do here, with a SocketHolder made from a duplicate of our inherited socket's fd. These names
are Granian's internals: available() checks they exist, so a Granian that reshapes them fails `--check-config`
(and tests/server/test_granian.py) with one line instead of at the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import os
import socket
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RUNTIME_BLOCKING_THREADS = 512  # Granian's default: Rust threads for blocking I/O (file responses)
BACKPRESSURE = 1024  # requests one listener runs at once before it stops accepting (the app's gate answers 503 first)
BACKLOG = 2048  # as the listening socket was made (SocketHolder wants it)


def available() -> bool:
    try:
        native = importlib.import_module("granian._granian")
        asgi = importlib.import_module("granian.asgi")
    except ImportError:
        return False
    names = [(native, "ASGIWorker"), (native, "SocketHolder"), (native, "WorkerSignal"), (native, "CallbackScheduler")]
    names += [(asgi, "LifespanProtocol")]
    return all(hasattr(module, name) for module, name in names)


class Lifespan:
    """The app's lifespan, once per process for every listener; its state is copied into each scope."""

    def __init__(self, app: ASGIApp) -> None:
        asgi: Any = importlib.import_module("granian.asgi")
        self._protocol: Any = asgi.LifespanProtocol(app)

    @property
    def state(self) -> dict[str, Any]:
        return self._protocol.state  # type: ignore[no-any-return]

    async def startup(self) -> None:
        await self._protocol.startup()
        if self._protocol.interrupt:
            raise RuntimeError(f"the app's lifespan startup failed: {self._protocol.exc!r}")

    async def shutdown(self) -> None:
        await self._protocol.shutdown()


@dataclass(frozen=True)
class ListenerSettings:
    tls_files: tuple[str, str] | None  # certificate and key, read when the worker starts
    header_read_ms: int  # hyper's header_read_timeout
    head_buffer: int  # hyper's max_buf_size: the largest request head it reads
    max_header_list: int  # HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE


class GranianListener:
    """One Granian worker serving the app on one listening socket until stop()."""

    def __init__(self, app: ASGIApp, state: dict[str, Any], sock: socket.socket, settings: ListenerSettings) -> None:
        self.app, self.state, self.sock, self.settings = app, state, sock, settings
        loop = asyncio.get_running_loop()
        self._stopped: asyncio.Future[None] = loop.create_future()
        self._signal = self._serve(loop)

    def restarted(self) -> GranianListener:
        """A new worker on the same socket (certificate files read again); this one keeps running until stop()."""
        return GranianListener(self.app, self.state, self.sock, self.settings)

    def _serve(self, loop: asyncio.AbstractEventLoop) -> Any:
        # through Any: granian's stub (_granian.pyi) lags its real ASGIWorker signature
        native: Any = importlib.import_module("granian._granian")
        from granian.http import HTTP1Settings, HTTP2Settings

        stopped = self._stopped

        def released() -> None:  # Granian calls this from its thread once every connection has ended
            loop.call_soon_threadsafe(_resolve, stopped)

        signal = native.WorkerSignal()
        signal.add_cb(released)
        settings = self.settings
        http1 = HTTP1Settings(header_read_timeout=settings.header_read_ms, max_buffer_size=settings.head_buffer)
        http2 = HTTP2Settings(max_headers_size=settings.max_header_list)
        cert, key = settings.tls_files or (None, None)
        tls: tuple[Any, ...] = (cert is not None, cert, key, None, "tls1.2", None, [], False)
        sock = (None, native.SocketHolder(os.dup(self.sock.fileno()), False, BACKLOG))  # Granian closes its copy
        threads = (1, RUNTIME_BLOCKING_THREADS, 1, 30)  # Rust runtime, its blocking pool, Python threads, idle s
        worker = native.ASGIWorker(
            1, sock, None, *threads, BACKPRESSURE, "auto", http1, http2, True, None, *tls, (None, None)
        )
        worker.serve_async(burst_scheduler(loop, request_runner(self.app, self.state)), loop, signal)
        return signal

    async def stop(self, graceful_seconds: float) -> None:
        """Stop accepting; connections in progress get graceful_seconds to end (then the process may exit)."""
        self._signal.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._stopped), graceful_seconds)


def request_runner(app: ASGIApp, state: dict[str, Any]) -> Callable[[Any], Coroutine[Any, Any, None]]:
    """One request as Granian's own wrappers (`_future_watcher_wrapper(_callback_wrapper(app))`) run it, in one
    coroutine instead of three frames: the scope completed as Granian's wrapper does (root_path, a copy of the
    lifespan state), the app called with Granian's receive and send, then the watcher told how it ended."""

    async def run(watcher: Any) -> None:
        scope = watcher.scope
        scope["root_path"] = ""
        scope["state"] = state.copy()
        protocol = watcher.proto
        try:
            await app(scope, protocol.receive, protocol.send)
        except BaseException as error:  # as Granian's future watcher: the watcher reports it
            watcher.err(error)
            return
        watcher.done()

    return run


def burst_scheduler(loop: asyncio.AbstractEventLoop, run: Callable[[Any], Coroutine[Any, Any, None]]) -> Any:
    """Granian's callback scheduler (its Rust base), with our schedule function (wake_per_burst) in place of its
    asyncio one: Granian calls `_schedule_fn(watcher)` from its Python thread for every request."""
    native: Any = importlib.import_module("granian._granian")
    tasks: Any = importlib.import_module("asyncio.tasks")
    scheduler = native.CallbackScheduler(
        loop, run, None, partial(tasks._enter_task, loop), partial(tasks._leave_task, loop)
    )
    scheduler._schedule_fn = wake_per_burst(loop, run, scheduler._ctx)
    return scheduler


def wake_per_burst(
    loop: asyncio.AbstractEventLoop, run: Callable[[Any], Coroutine[Any, Any, None]], context: contextvars.Context
) -> Callable[[Any], None]:
    """Run each request as its own asyncio Task on `loop`, in a copy of `context`, as Granian's own asyncio
    scheduler does, but wake the loop once per burst of requests instead of once per request.

    Granian's scheduler calls `loop.call_soon_threadsafe` per request, which writes the loop's self-pipe: a
    syscall that releases the GIL, so under load Granian's thread and the loop's hand the GIL back and forth (a
    futex wait and a context switch each way) once per request. Here a request is queued, and the loop is woken
    only when no wake-up is pending yet; it then starts a Task for every request queued by then."""
    queued: deque[Any] = deque()
    waking = False

    def start_queued() -> None:
        nonlocal waking
        waking = False  # before taking: a request queued from now on wakes the loop again
        while queued:
            watcher = queued.popleft()
            watcher.taskref(loop.create_task(run(watcher)))

    def schedule(watcher: Any) -> None:  # on Granian's thread, holding the GIL
        nonlocal waking
        queued.append(watcher)
        if not waking:
            waking = True
            loop.call_soon_threadsafe(start_queued, context=context)

    return schedule


class GranianAdapter:
    """What Granian hands the app differently from the ASGI spec and from Hypercorn, set right in one place:
    the ports of `server` and `client` come as strings (the edge compares them with ints), and
    Limits.MaxWebSocketMessageBytes on the client leg, which Hypercorn enforces and Granian does not: a larger
    message closes the socket with 1009 and the app sees that disconnect."""

    def __init__(self, app: ASGIApp, max_websocket_bytes: int) -> None:
        self.app, self.max_bytes = app, max_websocket_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        for name in ("server", "client"):
            address = scope.get(name)
            if address is not None:
                scope[name] = (address[0], int(address[1]))
        if scope["type"] != "websocket" or not self.max_bytes:
            await self.app(scope, receive, send)
            return

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                data = message.get("bytes") or message.get("text") or b""
                if len(data) > self.max_bytes // 4 and _size(data) > self.max_bytes:
                    with contextlib.suppress(Exception):
                        await send({"type": "websocket.close", "code": 1009, "reason": "message too big"})
                    return {"type": "websocket.disconnect", "code": 1009, "reason": "message too big"}
            return message

        await self.app(scope, limited_receive, send)


def _size(data: bytes | str) -> int:
    return len(data) if isinstance(data, bytes) else len(data.encode())


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
