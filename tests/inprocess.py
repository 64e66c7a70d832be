"""A real Hypercorn server on a loopback port running create_app() in a background thread.

Route tests use it with the memory sink so they can read stored rows directly; end-to-end durability tests use
tests/harness.py (a separate process) instead.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
from hypercorn.asyncio.run import worker_serve
from hypercorn.utils import wrap_app

from tests.harness import base_config, free_port, wait_until
from tracker.app import create_app
from tracker.config import from_mapping
from tracker.server.hypercorn import hypercorn_config


class InProcessServer:
    def __init__(self, workdir: Path, **overrides: Any) -> None:
        self.port = free_port()
        raw = base_config(workdir, self.port, **overrides)
        raw.setdefault("Notify", [{"Service": "memory"}])
        if "Notify" not in overrides:
            raw["Notify"] = [{"Service": "memory", "MaxBatchSize": 1000, "BatchFlushInterval": 20}]
        self.config = from_mapping(raw)
        self.app = create_app(self.config)
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            await worker_serve(
                wrap_app(self.app, 0, "asgi"), hypercorn_config(self.config), shutdown_trigger=self._stop.wait
            )

        self.loop.run_until_complete(main())

    def start(self) -> InProcessServer:
        self._thread.start()
        wait_until(lambda: httpx.get(self.base_url + "/health", timeout=1).status_code == 200, 20, what="server")
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def run(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def sink(self, name: str = "memory") -> Any:
        return next(s for s in self.runtime.shipper.sinks if s.name == name)

    def rows(self, table: str = "events", *, at_least: int = 0, timeout: float = 10) -> list[dict[str, Any]]:
        """Rows stored by the memory sink once the shipper has shipped everything accepted so far."""
        self.run(self.runtime.shipper.wait_idle(timeout), timeout + 5)
        rows = list(self.sink().rows(table))
        assert len(rows) >= at_least, f"{len(rows)} {table} rows, expected at least {at_least}"
        return rows
