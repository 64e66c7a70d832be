"""Our Granian callback scheduler (granian_glue.wake_per_burst): every request Granian hands it runs as its own
asyncio Task in its own context, none is lost when requests arrive from another thread while the loop drains,
and a burst wakes the loop once instead of once per request. The scheduler on a real loop with stand-in
watchers (what Granian's Rust side hands it), then a real Granian tracker under concurrent hits."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from pathlib import Path
from typing import Any

import httpx

from tests.harness import snapshot_query, start_tracker, wait_until
from tracker.server.granian_glue import wake_per_burst

request_name: contextvars.ContextVar[str] = contextvars.ContextVar("request_name", default="")


class Watcher:
    """What Granian's Rust side hands the scheduler per request: the scope, and a slot for the Task."""

    def __init__(self, name: str) -> None:
        self.scope = {"name": name}
        self.task: asyncio.Task[None] | None = None

    def taskref(self, task: asyncio.Task[None]) -> None:
        self.task = task


def recording_app(seen: dict[str, tuple[str, asyncio.Task[Any] | None]], until: int, done: asyncio.Event) -> Any:
    async def run(watcher: Watcher) -> None:
        assert request_name.get() == ""  # nothing leaks in from another request's context
        request_name.set(watcher.scope["name"])
        await asyncio.sleep(0)  # let the others run in between
        seen[watcher.scope["name"]] = (request_name.get(), asyncio.current_task())
        if len(seen) == until:
            done.set()

    return run


def count_wakeups(loop: asyncio.AbstractEventLoop) -> list[int]:
    wakeups = [0]
    threadsafe = loop.call_soon_threadsafe

    def counted(*args: Any, **kwargs: Any) -> Any:
        wakeups[0] += 1
        return threadsafe(*args, **kwargs)

    loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
    return wakeups


async def test_a_burst_of_requests_wakes_the_loop_once_and_each_runs_as_its_own_task() -> None:
    loop = asyncio.get_running_loop()
    wakeups = count_wakeups(loop)
    seen: dict[str, tuple[str, asyncio.Task[Any] | None]] = {}
    done = asyncio.Event()
    schedule = wake_per_burst(loop, recording_app(seen, 50, done), contextvars.copy_context())
    watchers = [Watcher(f"r{index}") for index in range(50)]
    for watcher in watchers:  # one burst: the loop does not run in between
        schedule(watcher)
    await asyncio.wait_for(done.wait(), 5)
    assert wakeups[0] == 1
    assert {name: value for name, (value, _) in seen.items()} == {w.scope["name"]: w.scope["name"] for w in watchers}
    tasks = [task for _, task in seen.values()]
    assert len({id(task) for task in tasks}) == 50  # a Task per request, as Granian's asyncio scheduler makes
    assert all(watcher.task is seen[watcher.scope["name"]][1] for watcher in watchers)

    seen.clear()
    schedule(Watcher("later"))

    async def later_ran() -> None:
        while "later" not in seen:
            await asyncio.sleep(0.001)

    await asyncio.wait_for(later_ran(), 5)
    assert wakeups[0] == 2  # a request after the burst was taken wakes the loop again


async def test_no_request_is_lost_when_another_thread_schedules_while_the_loop_takes_them() -> None:
    loop = asyncio.get_running_loop()
    seen: dict[str, tuple[str, asyncio.Task[Any] | None]] = {}
    done = asyncio.Event()
    schedule = wake_per_burst(loop, recording_app(seen, 2000, done), contextvars.copy_context())

    def granian_thread() -> None:
        for index in range(2000):
            schedule(Watcher(f"t{index}"))
            if index % 7 == 0:
                threading.Event().wait(0.0001)  # give the loop a chance to take some mid-burst

    thread = threading.Thread(target=granian_thread)
    thread.start()
    await asyncio.wait_for(done.wait(), 30)
    thread.join()
    assert len(seen) == 2000


def test_every_concurrent_hit_on_granian_is_answered_and_stored(tmp_path: Path) -> None:
    tracker = start_tracker(tmp_path, Server="granian", Workers=1)
    try:

        async def hits() -> list[int]:
            limits = httpx.Limits(max_connections=32)
            async with httpx.AsyncClient(base_url=tracker.base_url, limits=limits) as client:
                answers = await asyncio.gather(
                    *(client.get(f"/tr/v1/tr/ename/burst/etyp/n{index}") for index in range(400))
                )
            return [answer.status_code for answer in answers]

        assert asyncio.run(hits()) == [200] * 400
        database = tmp_path / "tracker.duckdb"
        query = "SELECT count(DISTINCT etyp) FROM events WHERE ename = 'burst'"
        wait_until(lambda: snapshot_query(database, query)[0][0] == 400, 30, what="the 400 events shipped")
    finally:
        tracker.stop()
