"""The Notify keys of a DuckDB sink: the file, its schema, and the bounds on the memory the database may hold."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from tracker.config import SinkConfig, key

SIZE = re.compile(r"\d+(?:\.\d+)?\s*(?:B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(slots=True, frozen=True)
class DuckDBSettings(SinkConfig):
    path: str = key("Path", "./data/tracker.duckdb")
    schema: Literal["auto", "manual"] = key("Schema", "auto")
    # DuckDB's own defaults (80% of RAM, a thread per core) let the shipping process grow with the machine, and
    # its buffer pool keeps the blocks it wrote until it reaches the limit. 256MB holds a checkpoint of a full row
    # group and bursts of millions of rows (measured: 3M rows in 10k batches); at 128MB a checkpoint fails.
    memory_limit: str = key("MemoryLimit", "256MB")
    # One thread: the sink's inserts and checkpoints of 10,000-row batches gain nothing from a second one on a small
    # machine, and each DuckDB thread keeps its own allocator caches (measured, 500,000 rows in 10k batches, four
    # alternated pairs: peak RSS 186 instead of 208 MiB, 9.5 instead of 11.3 µs a row). Retention's deletes over a
    # large file are what more threads would speed up.
    threads: int = key("Threads", 1)
    # Rows per row group of new data. A checkpoint recompresses the last, partly filled row group whole: at
    # DuckDB's 122,880 rows that was a ~110 MiB peak every ~4 minutes at 500 events/s; at 16,384 it is gone
    # (measured: a peak of 123 instead of 199 MiB over 300,000 rows), for slightly less compression.
    row_group_size: int = key("RowGroupSize", 16_384)
    # Rows written since the last checkpoint stay in memory: checkpoint every CheckpointSeconds while writes come,
    # or sooner once the WAL reaches CheckpointThreshold. A low threshold costs bursts: checkpointing every 16 MB
    # (DuckDB's default) halved the rows/s of 10,000-row batches.
    checkpoint_seconds: float = key("CheckpointSeconds", 30.0)
    checkpoint_threshold: str = key("CheckpointThreshold", "256MB")
    # ... and once CheckpointRows rows were written since the last one, so that a burst (or a backlog shipped after
    # an outage) holds at most that many rows in memory instead of filling MemoryLimit until the next timed
    # checkpoint. DuckDB's own threshold checkpoints without releasing anything: its allocator keeps the pages
    # (measured: RSS stayed at 308 MiB after 1M rows although DuckDB held 77); the sink's checkpoint reconnects,
    # which hands them back (README, DuckDB sink).
    checkpoint_rows: int = key("CheckpointRows", 50_000)
    # How many of the newest event ids are kept to recognise a replayed or resent event (event_ids.py): about
    # 100 bytes each in memory. 100,000 covers a crash's replay and a client's resend minutes later at 500 events/s.
    dedupe_events: int = key("DedupeEvents", 100_000)

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from SinkConfig.problems(self)
        for name, value in (("MemoryLimit", self.memory_limit), ("CheckpointThreshold", self.checkpoint_threshold)):
            if not SIZE.fullmatch(value.strip()):
                yield name, f'"{value}" is not a size like "256MB" or "1GiB"'
        if self.checkpoint_seconds <= 0:
            yield "CheckpointSeconds", f"must be more than 0, got {self.checkpoint_seconds}"
        if self.checkpoint_rows < 1:
            yield "CheckpointRows", f"must be at least 1, got {self.checkpoint_rows}"
        if self.dedupe_events < 1:
            yield "DedupeEvents", f"must be at least 1, got {self.dedupe_events}"
        if self.row_group_size < 2048:
            yield "RowGroupSize", f"must be at least 2048 (DuckDB's vector size), got {self.row_group_size}"
        if self.threads < 1:
            yield "Threads", f"must be at least 1, got {self.threads}"
