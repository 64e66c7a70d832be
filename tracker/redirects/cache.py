"""Each worker's in-memory copy of the short links: a lookup is one dict access, never a database trip.

The copy follows the control plane's version by long polling: a change reaches every worker in milliseconds,
and the control plane answers an admin change only once every live worker has acknowledged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any, Protocol

from tracker.redirects.errors import ControlError
from tracker.redirects.model import Redirect

log = logging.getLogger("tracker.redirects.cache")
WAIT_SECONDS = 20.0
FIRST_LOAD_SECONDS = 5.0  # how long a hit on a worker that has no copy yet waits for it


class ChangeFeed(Protocol):
    """The control plane's change log, as a worker's cache follows it (the plane itself, or its client)."""

    async def changes(self, since: int, wait: float = 0.0, worker: str = "") -> dict[str, Any]: ...


class LinkCache:
    def __init__(self, control: ChangeFeed | None) -> None:
        self.control = control
        self.links: dict[str, Redirect] = {}
        self.version = 0
        self._first_load = asyncio.Event()  # set by the first answer of the control plane
        self._waits_until = 0.0  # hits wait for the first copy until then (loaded)
        self._task: asyncio.Task[None] | None = None
        self.worker = f"{os.getpid()}-{id(self)}"

    @property
    def ready(self) -> bool:
        """The first copy of the links has arrived."""
        return self._first_load.is_set()

    def lookup(self, host: str, path: str) -> Redirect | None:
        key = host.lower() + (path.lower().rstrip("/") or "/")
        link = self.links.get(key)
        return None if link is None or link.deleted else link

    def for_host(self, host: str) -> list[Redirect]:
        host = host.lower()
        return [x for x in self.links.values() if x.host == host and not x.deleted]

    async def start(self) -> None:
        self._waits_until = time.monotonic() + FIRST_LOAD_SECONDS
        self._task = asyncio.create_task(self._follow(), name="link-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def refresh(self, wait: float = 0.0) -> None:
        assert self.control is not None, "a cache with no control plane holds no links"
        answer = await self.control.changes(since=self.version, wait=wait, worker=self.worker)
        if answer["full"]:
            self.links = {}
        for values in answer["links"]:
            link = Redirect.from_row(values)
            self.links[link.urlfrom] = link
        self.version = answer["version"]
        self._first_load.set()

    async def loaded(self) -> None:
        """Until the first copy of the links has arrived, for at most FIRST_LOAD_SECONDS after the cache started.
        A worker serves as soon as it starts, before its first poll is answered, and the control plane confirms
        an admin change once the workers that have polled hold it: a hit on a newer worker must not miss a link
        the API has already confirmed. Past that, a control plane that does not answer delays nothing."""
        remaining = self._waits_until - time.monotonic()
        if self.ready or self.control is None or remaining <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_load.wait(), remaining)

    async def _follow(self) -> None:
        failures = 0
        while True:
            try:
                await self.refresh(wait=WAIT_SECONDS if self.ready else 0.0)
                failures = 0
            except (ControlError, OSError) as error:
                failures += 1
                if failures == 5:  # the control socket appears a moment after the workers start
                    log.warning("short links not refreshed", extra={"error": str(error)})
                await asyncio.sleep(min(0.1 * failures, 2.0))
