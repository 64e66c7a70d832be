"""tracker/server/hypercorn_ws_close.py: a real Hypercorn on loopback tells the app the close code and reason a
WebSocket client sent, where Hypercorn 0.18 alone says 1006 (its issue #127)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from websockets.asyncio.client import connect

from tests.harness import free_port
from tracker.server import hypercorn_ws_close as ws_close_code


def test_the_app_hears_the_client_close_code_and_reason() -> None:
    assert ws_close_code.install() and ws_close_code.install()  # idempotent
    assert asyncio.run(_close_from_the_client(code=4001, reason="bye now")) == {
        "type": "websocket.disconnect",
        "code": 4001,
        "reason": "bye now",
    }


def test_a_dropped_connection_is_still_1006() -> None:
    ws_close_code.install()
    assert asyncio.run(_close_from_the_client(code=None, reason=""))["code"] == 1006


def test_a_close_the_app_starts_is_unchanged() -> None:
    ws_close_code.install()

    async def run() -> tuple[int | None, str | None]:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "websocket":
                await receive()
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 4100, "reason": "server bye"})

        async with _serving(app) as port, connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.wait_closed()
            return ws.close_code, ws.close_reason

    assert asyncio.run(run()) == (4100, "server bye")


async def _close_from_the_client(*, code: int | None, reason: str) -> dict[str, Any]:
    heard: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] != "websocket.disconnect":
            pass
        await heard.put(message)

    async with _serving(app) as port:
        ws = await connect(f"ws://127.0.0.1:{port}/")
        if code is None:
            ws.transport.abort()  # no close frame at all
        else:
            await ws.close(code=code, reason=reason)
        return await asyncio.wait_for(heard.get(), 10)


class _serving:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.stop = asyncio.Event()

    async def __aenter__(self) -> int:
        settings = Config()
        settings.bind = [f"127.0.0.1:{self.port}"]
        settings.accesslog = settings.errorlog = None
        self.task = asyncio.create_task(serve(self.app, settings, shutdown_trigger=self.stop.wait))
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return self.port
            except OSError:
                await asyncio.sleep(0.05)
        raise TimeoutError("hypercorn did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)
