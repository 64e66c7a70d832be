"""A worker's copy of the short links: a hit that comes before the first copy waits for it, within bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tracker.config import from_mapping
from tracker.pipeline.spool import MemorySpool
from tracker.redirects import cache as cache_module
from tracker.redirects.cache import LinkCache
from tracker.redirects.control import ControlPlane


class HeldFeed:
    """The control plane, answering only once `release` is set: a worker whose first poll is slow."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.release = asyncio.Event()

    async def changes(self, since: int, wait: float = 0.0, worker: str = "") -> dict[str, Any]:
        await self.release.wait()
        return await self.plane.changes(since=since, wait=wait, worker=worker)


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    control = ControlPlane(from_mapping({"Domains": ["go.example"]}), [], MemorySpool(), tmp_path / "control.key")
    await control.start()
    await control.add_account(uid="alice", password="alice-password")
    yield control
    await control.stop()


def returns_at_once(cache: LinkCache) -> bool:
    step = cache.loaded()
    try:
        step.send(None)
    except StopIteration:
        return True
    step.close()
    return False


async def test_a_hit_before_the_first_copy_waits_for_it(plane: ControlPlane) -> None:
    # confirmed at once: no worker has polled yet, so none is waited for
    await plane.save(fields={"slugfrom": "early", "urlto": "https://example.com/"}, uid="alice", mode="create")
    feed = HeldFeed(plane)
    cache = LinkCache(feed)
    await cache.start()
    waiting = asyncio.create_task(cache.loaded())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not waiting.done() and cache.lookup("go.example", "/early") is None
    feed.release.set()
    await asyncio.wait_for(waiting, 5)
    assert cache.lookup("go.example", "/early") is not None
    assert returns_at_once(cache)
    await cache.stop()


async def test_a_control_plane_that_never_answers_delays_hits_only_for_a_bounded_time(
    plane: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "FIRST_LOAD_SECONDS", 0.2)
    cache = LinkCache(HeldFeed(plane))  # never released
    await cache.start()
    await asyncio.wait_for(cache.loaded(), 5)  # gives up after 0.2 s
    assert not cache.ready and returns_at_once(cache)  # and from then on waits no more
    await cache.stop()


def test_a_cache_without_a_control_plane_never_waits() -> None:
    assert returns_at_once(LinkCache(None))
