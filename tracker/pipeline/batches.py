"""One sink's batch: collect rows from a spool source (fuller batches wait up to the flush interval), then
write them table by table. A transient failure retries the same rows; rows the sink rejects for good go to
the dead-letter file and the others are written again (or not, when the sink says it stored them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tracker.pipeline.deadletter import DeadLetters, without
from tracker.pipeline.reader import Cursor, Rows
from tracker.pipeline.sinkstate import SinkState
from tracker.pipeline.sources import Source
from tracker.sinks.base import PermanentSinkError, TransientSinkError

IMMEDIATE_TABLES = frozenset(("ltv", "payments"))
POLL_SECONDS = 0.025


async def collect(
    state: SinkState, source: Source, cursor: Cursor, stopping: Callable[[], bool]
) -> tuple[Rows, Cursor]:
    """Up to max_batch_size rows; waits up to flush_interval for a fuller batch (not for ltv/payments)."""
    limit = state.settings.max_batch_size
    rows, after = await source.read(cursor, limit)
    deadline = time.monotonic() + state.settings.flush_interval
    immediate = _any_immediate(rows)
    while rows and len(rows) < limit and not immediate and not stopping() and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        more, after = await source.read(after, limit - len(rows))
        rows.extend(more)
        # the new rows only: rescanning the whole batch at every poll was a fifth of the shipper's CPU
        immediate = _any_immediate(more)
    return rows, after


async def _write(state: SinkState, table: str, rows: list[dict[str, Any]]) -> None:
    """The sink's write, bounded by its WriteTimeout: a write still running then is abandoned (a sink that
    finishes it later has stored rows that the retry writes again, which sinks dedupe) and retried."""
    seconds = state.settings.write_timeout
    try:
        async with asyncio.timeout(seconds) as deadline:
            await state.sink.write(table, rows)
    except TimeoutError as error:
        if not deadline.expired():
            raise  # the sink's own timeout: its message says which
        raise TransientSinkError(f"write into {table} did not return within {seconds:g} s (WriteTimeout)") from error


def _any_immediate(rows: Rows) -> bool:
    return any(table in IMMEDIATE_TABLES for table, _ in rows)


async def deliver(
    state: SinkState,
    rows: Rows,
    dead_letters: DeadLetters,
    *,
    pause: Callable[[float], Awaitable[None]],
    give_up: Callable[[], bool],
) -> bool:
    """Write every table's rows; False only when `give_up()` (stopping, past its deadline) on a failing sink.

    An OSError writing a dead letter propagates: the shipper retries the whole batch (writes are idempotent)."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for table, row in rows:
        by_table.setdefault(table, []).append(row)
    # an erase request goes last: the person's rows acknowledged before it, in this batch too, are erased with it
    for table, table_rows in sorted(by_table.items(), key=lambda item: item[0] == "erasures"):
        pending = table_rows
        while pending:
            try:
                await _write(state, table, pending)
                state.wrote(table, len(pending))
                pending = []
            except PermanentSinkError as error:
                rejected = error.rows or pending
                dead_letters.add(state.sink.name, table, rejected, str(error))
                state.dead_lettered(table, len(rejected))
                pending = [] if error.others_stored else without(pending, rejected)
            except Exception as error:  # noqa: BLE001 - transient or unknown: retry the same rows
                state.failed(error)
                if give_up():
                    return False
                await pause(state.backoff())
    state.batch(len(rows))
    return True
