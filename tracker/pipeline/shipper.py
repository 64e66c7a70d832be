"""The shipper: one task per sink tails every spool source and writes batches to that sink.

Promise: a row leaves the spool for a sink only after sink.write() returned for it (its cursor is saved after
the write), so delivery is at-least-once and sinks dedupe on the row id. Transient failures are retried with
capped exponential backoff forever; rows a sink rejects permanently go to the dead-letter file. One sink's
failures never hold up another: each has its own cursor, retries and circuit state. A shipping task never
dies: any error (a cursor that cannot be saved, a dead letter that cannot be written) is logged, shown in
/status and retried after a backoff. Stopping says what it could not ship.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tracker.config import Config, SinkConfig
from tracker.pipeline.batches import POLL_SECONDS, collect, deliver
from tracker.pipeline.deadletter import DEAD_LETTER_DIRECTORY, DeadLetters
from tracker.pipeline.memory import MemorySource, MemorySpool
from tracker.pipeline.private import private_directory, write_private
from tracker.pipeline.sinkstate import LOCAL_BACKOFF_CAP, SinkState
from tracker.pipeline.sources import CONTROL_DIRECTORY, DirectorySource, Source, spool_directories
from tracker.sinks.base import Sink
from tracker.sinks.registry import build_sinks

__all__ = ["CONTROL_DIRECTORY", "STATUS_FILE", "Shipper", "SinkSettings", "build_shipper"]
log = logging.getLogger("tracker.pipeline")
STOP_SECONDS = 10.0
CLOSE_SECONDS = 5.0
STOPPING_RETRY_SECONDS = 0.1
STATUS_FILE = "shipper-status.json"


@dataclass(slots=True, frozen=True)
class SinkSettings:
    max_batch_size: int = 1000
    flush_interval: float = 1.0  # seconds
    write_timeout: float = 60.0  # seconds; a write still running then is abandoned and retried


class Shipper:
    def __init__(
        self,
        spool_root: Path,
        sinks: Sequence[tuple[Sink, SinkSettings]],
        *,
        memory_spool: MemorySpool | None = None,
        status_interval: float = 1.0,
    ) -> None:
        self.spool_root = Path(spool_root)
        self.memory_spool = memory_spool
        self.status_interval = status_interval
        self.states = [SinkState(sink, settings) for sink, settings in sinks]
        self.dead_letters = DeadLetters(self.spool_root / DEAD_LETTER_DIRECTORY)
        self.wakeup = asyncio.Event()
        self.unshipped: dict[str, int] = {}  # after stop(): spool bytes each sink did not ship
        self._memory_source = MemorySource(memory_spool) if memory_spool is not None else None
        self._directory_sources: dict[Path, DirectorySource] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stop_deadline = 0.0
        self._status_failing = False
        self._stop_requested = asyncio.Event()

    @property
    def sinks(self) -> list[Sink]:
        return [state.sink for state in self.states]

    async def start(self) -> None:
        private_directory(self.spool_root)
        if self.memory_spool is not None:
            self.memory_spool.subscribe(self.wakeup)
        names = {state.sink.name for state in self.states}
        for source in self._sources():
            if isinstance(source, DirectorySource):
                source.forget_other_sinks(names)
        for state in self.states:
            task = asyncio.create_task(self._run(state), name=f"ship-{state.sink.name}")
            task.add_done_callback(functools.partial(self._ended, state))
            self._tasks.append(task)
        self._tasks.append(asyncio.create_task(self._write_status_forever(), name="ship-status"))

    async def stop(self, timeout: float = STOP_SECONDS) -> dict[str, int]:
        """Ship what is already in the spool (up to `timeout`), save cursors, close the sinks.

        Returns the spool bytes each sink could not ship (empty when everything was shipped), and logs them."""
        self._stopping = True
        self._stop_deadline = time.monotonic() + timeout
        self._stop_requested.set()
        self.wakeup.set()
        sink_tasks, status_task = self._tasks[:-1], self._tasks[-1:]
        done, pending = await asyncio.wait(sink_tasks, timeout=timeout + 1) if sink_tasks else (set(), set())
        for task in [*pending, *status_task]:
            task.cancel()
        for task in [*pending, *status_task]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for state in self.states:
            try:
                state.save_cursors()
            except OSError as error:
                log.error("cursor not saved at shutdown", extra={"sink": state.sink.name, "error": str(error)})
            if state.opened:
                await _close(state.sink)
        self.unshipped = {state.sink.name: lag for state in self.states if (lag := self._safe_lag(state))}
        if self.unshipped:
            log.error(
                "stopped with events not shipped: they stay in the spool for the next start"
                if self._memory_source is None
                else "stopped with events not shipped: Durability memory loses them",
                extra={"unshipped_bytes": self.unshipped},
            )
        self._write_status()
        return self.unshipped

    async def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self._lag(state) == 0 for state in self.states):
                return True
            await asyncio.sleep(POLL_SECONDS)
        return False

    def notify(self) -> None:
        self.wakeup.set()

    # ---- one sink --------------------------------------------------------------------------------

    async def _run(self, state: SinkState) -> None:
        if not await self._open(state):
            return
        while True:
            try:
                shipped = await self._ship_once(state)
            except Exception as error:  # noqa: BLE001 - the task must outlive any error: log, back off, retry
                state.failed(error, stage="ship")
                if self._giving_up():
                    return
                await self._pause(state.backoff(LOCAL_BACKOFF_CAP))
                continue
            if self._stopping:
                if time.monotonic() > self._stop_deadline or self._lag(state) == 0:
                    return
                if not shipped:
                    await asyncio.sleep(POLL_SECONDS)
                continue
            if not shipped:
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), POLL_SECONDS)

    async def _pause(self, seconds: float) -> None:
        """A backoff that stop() cuts short, so shutdown never waits out a 30 s backoff."""
        if self._stopping:  # retry briskly until the stop deadline
            await asyncio.sleep(min(seconds, STOPPING_RETRY_SECONDS))
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    def _ended(self, state: SinkState, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        state.stopped = True
        log.error("shipping task ended", extra={"sink": state.sink.name, "error": repr(task.exception())})

    async def wait_open(self, sink: object, timeout: float) -> bool:
        """True once `sink` (one of this shipper's) has opened; False if it has not within `timeout` seconds."""
        state = next(state for state in self.states if state.sink is sink)
        try:
            await asyncio.wait_for(state.open_event.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _open(self, state: SinkState) -> bool:
        while True:
            try:
                await state.sink.open()
                state.opened = True
                state.open_event.set()
                state.succeeded()
                return True
            except Exception as error:  # noqa: BLE001 - any failure to open is retried; the spool keeps data
                state.failed(error, stage="open")
                if self._stopping:
                    return False
                await self._pause(state.backoff())

    async def _ship_once(self, state: SinkState) -> bool:
        shipped = False
        for source in self._sources():
            cursor = state.cursor(source)
            rows, after = await collect(state, source, cursor, lambda: self._stopping)
            if after == cursor:
                continue
            if rows and not await deliver(state, rows, self.dead_letters, pause=self._pause, give_up=self._giving_up):
                return shipped
            del rows  # not alive while the next source's batch is read: a burst held two, the heap kept both
            state.advance(source, after)
            shipped = True
            self._release(source)  # by the cursors in memory: on a full disk this is what makes room to save them
        # A save that fails raises here (logged, shown, backed off by _run) but never stops shipping: the next
        # round ships on from the cursors in memory and saves again. A crash meanwhile only means a replay.
        state.save_cursors()
        state.succeeded()  # every step worked (a failing write is retried inside deliver)
        return shipped

    def _giving_up(self) -> bool:
        return self._stopping and time.monotonic() > self._stop_deadline

    # ---- sources, status -------------------------------------------------------------------------

    def _sources(self) -> list[Source]:
        if self._memory_source is not None:
            return [self._memory_source]
        sources: list[Source] = []
        for directory in spool_directories(self.spool_root):
            if directory not in self._directory_sources:
                self._directory_sources[directory] = DirectorySource(directory)
            sources.append(self._directory_sources[directory])
        return sources

    def _release(self, source: Source) -> None:
        source.release([state.cursors.get(source.key) for state in self.states])

    def _lag(self, state: SinkState) -> int:
        return sum(
            source.lag_bytes(state.cursors.get(source.key) or source.load_cursor(state.sink.name))
            for source in self._sources()
        )

    def _safe_lag(self, state: SinkState) -> int:
        try:
            return self._lag(state)
        except OSError as error:
            log.error("spool lag unknown", extra={"sink": state.sink.name, "error": str(error)})
            return -1

    def status(self) -> dict[str, Any]:
        return {
            "sinks": {state.sink.name: {**state.report(), "lag_bytes": self._safe_lag(state)} for state in self.states},
            "corrupt_records": sum(source.corrupt_records for source in self._sources()),
            "updated_unix": time.time(),
        }

    def _claim_sources(self) -> None:
        """Give every sink a saved cursor in every spool directory, at its start if it has shipped nothing.

        The writers count unshipped bytes from the oldest saved cursor: a sink that is down since start-up
        (no cursor yet) must hold the limit too, or the spool would grow past MaxSpoolBytes for it."""
        for source in self._sources():
            for state in self.states:
                if source.key not in state.cursors and source.load_cursor(state.sink.name) is None:
                    source.save_cursor(state.sink.name, source.start())

    def _write_status(self) -> None:
        try:
            self._claim_sources()
            write_private(self.spool_root / STATUS_FILE, orjson.dumps(self.status()))
        except Exception as error:  # noqa: BLE001 - status is best effort; shipping goes on
            if not self._status_failing:  # once per episode: a full disk fails it every second
                log.warning("shipper status not written", extra={"error": f"{type(error).__name__}: {error}"})
            self._status_failing = True
        else:
            self._status_failing = False

    async def _write_status_forever(self) -> None:
        while True:
            await asyncio.to_thread(self._write_status)
            await asyncio.sleep(self.status_interval)


async def _close(sink: Sink) -> None:
    """A sink's close, bounded: one that hangs (a wedged server) must not hold up the process's exit."""
    try:
        await asyncio.wait_for(sink.close(), CLOSE_SECONDS)
    except TimeoutError:
        log.error("sink did not close in time; left open", extra={"sink": sink.name, "seconds": CLOSE_SECONDS})
    except Exception as error:  # noqa: BLE001 - closing is best effort: the spool still holds anything unshipped
        log.warning("sink close failed", extra={"sink": sink.name, "error": str(error)})


def sink_settings(entry: SinkConfig) -> SinkSettings:
    return SinkSettings(entry.max_batch_size, entry.batch_flush_interval_ms / 1000, entry.write_timeout_ms / 1000)


def build_shipper(config: Config, memory_spool: MemorySpool | None = None) -> Shipper:
    """The shipper of every sink `config` names, each with its own batch size and flush interval."""
    sinks = build_sinks(config)
    settings = {s.sink_name: s for s in config.sinks}
    pairs = [(sink, sink_settings(settings[sink.name])) for sink in sinks]
    return Shipper(Path(config.spool_directory), pairs, memory_spool=memory_spool)
