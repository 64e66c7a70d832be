"""The shipper: one task per sink tails every worker's spool directory and writes batches to that sink.

Promise: a row leaves the spool for a sink only after sink.write() returned for it (its cursor is saved after
the write), so delivery is at-least-once and sinks dedupe on the row id. Transient failures are retried with
capped exponential backoff forever; rows a sink rejects permanently go to the dead-letter file. One sink's
failures never hold up another: each has its own cursor, retries and circuit state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from tracker.pipeline.deadletter import DeadLetters
from tracker.pipeline.reader import Cursor, CursorFile, Rows, SpoolReader, delete_shipped
from tracker.pipeline.sinkstate import SinkState
from tracker.pipeline.spool import MemorySpool
from tracker.sinks.base import PermanentSinkError, Sink

log = logging.getLogger("tracker.pipeline")
IMMEDIATE_TABLES = frozenset(("ltv", "payments"))
POLL_SECONDS = 0.025
STOP_SECONDS = 10.0
STATUS_FILE = "shipper-status.json"


@dataclass(slots=True, frozen=True)
class SinkSettings:
    max_batch_size: int = 1000
    flush_interval: float = 1.0  # seconds


CONTROL_DIRECTORY = "control"  # the control plane's own spool: short links and accounts


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
        self.dead_letters = DeadLetters(self.spool_root / "dead-letter")
        self.wakeup = asyncio.Event()
        self._readers: dict[Path, SpoolReader] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._stop_deadline = 0.0

    @property
    def sinks(self) -> list[Sink]:
        return [state.sink for state in self.states]

    async def start(self) -> None:
        self.spool_root.mkdir(parents=True, exist_ok=True)
        if self.memory_spool is not None:
            self.memory_spool.subscribe(self.wakeup)
        for state in self.states:
            self._tasks.append(asyncio.create_task(self._run(state), name=f"ship-{state.sink.name}"))
        self._tasks.append(asyncio.create_task(self._write_status_forever(), name="ship-status"))

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Ship what is already in the spool (up to `timeout`), save cursors, close the sinks."""
        self._stopping = True
        self._stop_deadline = time.monotonic() + timeout
        self.wakeup.set()
        sink_tasks, status_task = self._tasks[:-1], self._tasks[-1:]
        done, pending = await asyncio.wait(sink_tasks, timeout=timeout + 1) if sink_tasks else (set(), set())
        for task in [*pending, *status_task]:
            task.cancel()
        for task in [*pending, *status_task]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for state in self.states:
            if state.opened:
                with contextlib.suppress(Exception):
                    await state.sink.close()
        self._write_status()

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
            shipped = await self._ship_once(state)
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

    async def _open(self, state: SinkState) -> bool:
        while True:
            try:
                await state.sink.open()
                state.opened = True
                state.succeeded()
                return True
            except Exception as error:  # noqa: BLE001 - any failure to open is retried; the spool keeps data
                state.failed(error, opening=True)
                if self._stopping:
                    return False
                await asyncio.sleep(state.backoff())

    async def _ship_once(self, state: SinkState) -> bool:
        if self.memory_spool is not None:
            return await self._ship_memory(state)
        shipped = False
        for directory in self._directories():
            reader = self._reader(directory)
            cursor = state.cursor(directory, reader)
            rows, after = await self._collect(state, reader, cursor)
            if after == cursor:
                continue
            if rows and not await self._deliver(state, rows):
                return shipped
            state.advance(directory, after)
            shipped = True
            delete_shipped(directory, [s.cursors.get(directory) for s in self.states])
        return shipped

    async def _collect(self, state: SinkState, reader: SpoolReader, cursor: Cursor) -> tuple[Rows, Cursor]:
        """Up to max_batch_size rows; waits up to flush_interval for a fuller batch (not for ltv/payments)."""
        limit = state.settings.max_batch_size
        rows, after = await asyncio.to_thread(reader.read, cursor, limit)
        deadline = time.monotonic() + state.settings.flush_interval
        while (
            rows
            and len(rows) < limit
            and not self._stopping
            and time.monotonic() < deadline
            and not any(table in IMMEDIATE_TABLES for table, _ in rows)
        ):
            await asyncio.sleep(POLL_SECONDS)
            more, after = await asyncio.to_thread(reader.read, after, limit - len(rows))
            rows.extend(more)
        return rows, after

    async def _ship_memory(self, state: SinkState) -> bool:
        spool = self.memory_spool
        assert spool is not None
        start = max(state.memory_index, spool.first_index)
        end = spool.end
        if start >= end:
            return False
        rows: Rows = []
        index = start
        while index < end and len(rows) < state.settings.max_batch_size:
            rows.extend(spool.entries[index - spool.first_index][1])
            index += 1
        if not await self._deliver(state, rows):
            return False
        state.memory_index = index
        spool.release(min(s.memory_index for s in self.states))
        return True

    async def _deliver(self, state: SinkState, rows: Rows) -> bool:
        """Write every table's rows; False only when stopping gave up on a failing sink."""
        by_table: dict[str, list[dict[str, Any]]] = {}
        for table, row in rows:
            by_table.setdefault(table, []).append(row)
        for table, table_rows in by_table.items():
            pending = table_rows
            while pending:
                try:
                    await state.sink.write(table, pending)
                    state.wrote(table, len(pending))
                    pending = []
                except PermanentSinkError as error:
                    rejected = error.rows or pending
                    self.dead_letters.add(state.sink.name, table, rejected, str(error))
                    state.dead_lettered(table, len(rejected))
                    pending = [] if error.others_stored else _without(pending, rejected)
                except Exception as error:  # noqa: BLE001 - transient or unknown: retry the same rows
                    state.failed(error)
                    if self._stopping and time.monotonic() > self._stop_deadline:
                        return False
                    await asyncio.sleep(state.backoff())
            state.succeeded()
        state.batch(len(rows))
        return True

    # ---- directories, status ---------------------------------------------------------------------

    def _directories(self) -> list[Path]:
        try:
            names = sorted(n for n in os.listdir(self.spool_root) if n.startswith("worker-") or n == CONTROL_DIRECTORY)
        except FileNotFoundError:
            return []
        return [self.spool_root / n for n in names]

    def _reader(self, directory: Path) -> SpoolReader:
        if directory not in self._readers:
            self._readers[directory] = SpoolReader(directory)
        return self._readers[directory]

    def _lag(self, state: SinkState) -> int:
        if self.memory_spool is not None:
            spool = self.memory_spool
            return sum(size for size, _ in spool.entries[max(state.memory_index - spool.first_index, 0) :])
        return sum(
            self._reader(d).lag_bytes(state.cursors.get(d) or CursorFile(d, state.sink.name).load())
            for d in self._directories()
        )

    def status(self) -> dict[str, Any]:
        return {
            "sinks": {state.sink.name: {**state.report(), "lag_bytes": self._lag(state)} for state in self.states},
            "corrupt_records": sum(r.corrupt_records for r in self._readers.values()),
            "updated_unix": time.time(),
        }

    def _write_status(self) -> None:
        path = self.spool_root / STATUS_FILE
        temporary = path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            temporary.write_bytes(orjson.dumps(self.status()))
            os.replace(temporary, path)

    async def _write_status_forever(self) -> None:
        while True:
            await asyncio.to_thread(self._write_status)
            await asyncio.sleep(self.status_interval)


def _without(pending: list[dict[str, Any]], rejected: list[Any]) -> list[dict[str, Any]]:
    """`pending` less the rejected rows (same objects, else equal ones); never the same list back."""
    rejected_ids = {id(r) for r in rejected}
    remaining = [r for r in pending if id(r) not in rejected_ids]
    if len(remaining) == len(pending):
        remaining = [r for r in pending if r not in rejected]
    return remaining if len(remaining) < len(pending) else []
