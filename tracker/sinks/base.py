"""The sink interface: every write in tracker ends in one of these.

A sink receives rows for one table at a time from its shipper and either stores all of them, or raises
TransientSinkError (nothing stored for sure; the shipper retries the same rows later) or
PermanentSinkError(rows=...) (those rows can never be stored; they go to the dead-letter file, and the
rest are retried unless the error says `others_stored`). Rows are JSON-shaped mappings: UUIDs and
timestamps as strings, JSON columns as dicts.
Writes must be idempotent on the row's id (events: `eid`), because the spool delivers at least once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from tracker.config import Config, PruneRule, SinkConfig

Row = Mapping[str, Any]


class SinkError(Exception):
    """Base of the errors a sink may raise from write()."""


class TransientSinkError(SinkError):
    """The sink could not take the rows now (down, timeout, 5xx); retry the same rows later."""


class PermanentSinkError(SinkError):
    """These rows can never be stored (type error, constraint); dead-letter them, retry the others."""

    def __init__(self, message: str, rows: Sequence[Row], *, others_stored: bool = False) -> None:
        super().__init__(message)
        self.rows = list(rows)
        self.others_stored = others_stored  # the sink already stored the batch's good rows: do not send them again


@dataclass(slots=True)
class PruneReport:
    sink: str
    rows_deleted: int = 0
    rows_scrubbed: int = 0
    tables: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Sink(Protocol):
    name: str
    can_read: bool

    async def open(self) -> None:
        """Connect, and create the schema when the config says Schema: auto."""

    async def close(self) -> None:
        """Flush and disconnect."""

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        """Store every row or raise TransientSinkError / PermanentSinkError."""

    async def prune(self, rules: Sequence[PruneRule], logs_only: bool) -> PruneReport:
        """Apply retention rules (GDPR); see privacy/prune.py."""


class SinkFactory(Protocol):
    def __call__(self, settings: SinkConfig, config: Config) -> Sink: ...
