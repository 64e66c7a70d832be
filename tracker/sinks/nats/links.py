"""Short-link changes between tracker instances over a NATS subject (`LinksSubject`, "<Context>.control.redirects").

Each instance's control plane publishes every link it saves or deletes and merges what the others publish
(newest `updated_at` wins, as for its periodic reload), so a change reaches every instance's workers at once
instead of at the next reload. Best effort by design: the rows themselves travel through the spool to the
shared store, and the reload still converges whatever NATS missed (down, or a message lost on a reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson

from tracker.config import SinkConfig
from tracker.sinks.nats.settings import NatsSettings

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg

log = logging.getLogger("tracker.sinks.nats")
RETRY_SECONDS = (0.2, 5.0)
OnChange = Callable[[dict[str, Any]], Awaitable[None]]


def links_settings(entries: Iterable[SinkConfig]) -> NatsSettings | None:
    """The first enabled NATS entry (Notify, then Consume) that has not switched link changes off."""
    return next((e for e in entries if isinstance(e, NatsSettings) and e.enabled and e.links), None)


class LinkBus:
    def __init__(self, settings: NatsSettings, on_change: OnChange) -> None:
        assert settings.links is not None
        self.subject = settings.links
        self.settings = settings
        self.on_change = on_change
        self.origin = uuid.uuid4().hex  # this instance: its own messages come back and are skipped
        self.ready = asyncio.Event()
        self.received = 0
        self._nc: Client | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._subscribe(), name="links-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()

    async def publish(self, row: dict[str, Any]) -> None:
        """Tell the other instances; never raises (a lost message is caught up by their next reload)."""
        if self._nc is None or not self._nc.is_connected:
            return
        try:
            await self._nc.publish(self.subject, orjson.dumps({"origin": self.origin, "link": row}, default=str))
            await self._nc.flush(timeout=1)
        except Exception as error:  # noqa: BLE001 - best effort, see the module docstring
            log.warning("short-link change not published on NATS", extra={"error": str(error) or type(error).__name__})

    async def _subscribe(self) -> None:
        from tracker.sinks.nats.connection import connect  # nats-py loads only where NATS is configured

        wait = RETRY_SECONDS[0]
        while self._nc is None:
            try:
                self._nc = await connect(self.settings, "tracker-links")
            except Exception as error:  # noqa: BLE001 - NATS down: the periodic reload carries changes meanwhile
                if wait == RETRY_SECONDS[0]:
                    log.warning("short-link changes not on NATS yet", extra={"error": str(error) or "timeout"})
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_SECONDS[1])
        await self._nc.subscribe(self.subject, cb=self._received)
        await self._nc.flush()
        self.ready.set()
        log.info("short-link changes follow NATS", extra={"subject": self.subject})

    async def _received(self, message: Msg) -> None:
        try:
            body = orjson.loads(message.data)
            if body.get("origin") == self.origin:
                return
            self.received += 1
            await self.on_change(body["link"])
        except Exception as error:  # noqa: BLE001 - one bad message must not end the subscription
            log.warning("short-link change from NATS ignored", extra={"error": str(error)[:300]})
