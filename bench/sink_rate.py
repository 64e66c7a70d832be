"""Rows/s one sink stores: batches of `batch` rows written for `seconds` of write time, after one warm-up batch.
Shared by the sink benchmarks; the sink is opened and closed here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tracker.sinks.base import Sink


async def rows_per_second(sink: Sink, make_row: Callable[[], dict[str, Any]], batch: int, seconds: float) -> float:
    await sink.open()
    try:
        await sink.write("events", [make_row() for _ in range(batch)])  # warm up
        written, spent = 0, 0.0
        while spent < seconds:
            rows = [make_row() for _ in range(batch)]
            started = time.perf_counter()
            await sink.write("events", rows)
            spent += time.perf_counter() - started
            written += batch
        return written / spent
    finally:
        await sink.close()
