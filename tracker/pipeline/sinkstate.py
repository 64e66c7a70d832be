"""What the shipper knows of one sink: its cursors, retry and circuit state, and counters for /status."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracker.pipeline.reader import Cursor
from tracker.sinks.base import Sink

if TYPE_CHECKING:
    from tracker.pipeline.shipper import SinkSettings
    from tracker.pipeline.sources import Source

log = logging.getLogger("tracker.pipeline")
BACKOFF_FIRST = 0.1
BACKOFF_CAP = 30.0
LOCAL_BACKOFF_CAP = 1.0  # a local fault (cursor, dead letter) is retried at least every second: shipping goes on
CIRCUIT_OPENS_AFTER = 5


@dataclass(slots=True)
class SinkState:
    sink: Sink
    settings: SinkSettings
    opened: bool = False
    open_event: asyncio.Event = field(default_factory=asyncio.Event)  # set once the sink has opened
    cursors: dict[str, Cursor] = field(default_factory=dict)  # by source key
    unsaved: dict[str, Source] = field(default_factory=dict)  # sources whose cursor moved since it was saved
    stopped: bool = False  # the shipping task ended while the shipper was not stopping
    consecutive_failures: int = 0
    last_error: str = ""
    last_error_unix: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    dead: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    failed_batches: int = 0
    last_batch_size: int = 0

    def cursor(self, source: Source) -> Cursor:
        if source.key not in self.cursors:
            self.cursors[source.key] = source.load_cursor(self.sink.name) or source.start()
        return self.cursors[source.key]

    def advance(self, source: Source, cursor: Cursor) -> None:
        self.cursors[source.key] = cursor
        self.unsaved[source.key] = source

    def save_cursors(self) -> None:
        """Persist moved cursors; raises OSError and keeps the rest for the next try (shipping goes on)."""
        for key, source in list(self.unsaved.items()):
            source.save_cursor(self.sink.name, self.cursors[key])
            del self.unsaved[key]

    @property
    def state(self) -> str:
        if self.stopped:
            return "stopped"
        if not self.opened and self.consecutive_failures == 0:
            return "starting"
        if self.consecutive_failures >= CIRCUIT_OPENS_AFTER:
            return "open"
        return "retrying" if self.consecutive_failures else "ok"

    def backoff(self, cap: float = BACKOFF_CAP) -> float:
        exponent = min(max(self.consecutive_failures - 1, 0), 12)
        return float(min(BACKOFF_FIRST * 2**exponent, cap) * random.uniform(0.8, 1.2))

    def failed(self, error: BaseException, *, stage: str = "write") -> None:
        """stage: "open" or "write" (the sink failed), "ship" (reading the spool, saving a cursor, a dead letter)."""
        self.consecutive_failures += 1
        self.failed_batches += 1 if stage == "write" else 0
        self.last_error = f"{stage}: {type(error).__name__}: {error}"[:500]
        self.last_error_unix = time.time()
        if self.consecutive_failures in (1, CIRCUIT_OPENS_AFTER) or self.consecutive_failures % 50 == 0:
            log.warning(
                f"sink {stage} failed" if stage != "ship" else "shipping failed",
                # An unexpected error (a bug) gets its traceback once; an I/O error says enough in one line.
                exc_info=error
                if stage == "ship" and self.consecutive_failures == 1 and not isinstance(error, OSError)
                else None,
                extra={
                    "sink": self.sink.name,
                    "error": self.last_error,
                    "state": self.state,
                    "consecutive_failures": self.consecutive_failures,
                },
            )

    def succeeded(self) -> None:
        if self.consecutive_failures >= CIRCUIT_OPENS_AFTER:
            log.info("sink recovered", extra={"sink": self.sink.name, "after_failures": self.consecutive_failures})
        self.consecutive_failures = 0

    def wrote(self, table: str, count: int) -> None:
        self.written[table] = self.written.get(table, 0) + count

    def dead_lettered(self, table: str, count: int) -> None:
        self.dead[table] = self.dead.get(table, 0) + count

    def batch(self, rows: int) -> None:
        self.batches += 1
        self.last_batch_size = rows

    def report(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "shipping": self.state == "ok",
            "written": dict(self.written),
            "dead_lettered": dict(self.dead),
            "batches": self.batches,
            "failed_batches": self.failed_batches,
            "last_batch_size": self.last_batch_size,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
        }
