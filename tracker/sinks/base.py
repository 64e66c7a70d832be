"""The sink contracts: every write in tracker ends in a `Sink`; a sink that can answer reads is a `PrimaryStore`.

A sink receives rows for one table at a time from its shipper and either stores all of them, or raises
TransientSinkError (nothing stored for sure; the shipper retries the same rows later) or
PermanentSinkError(rows=...) (those rows can never be stored; they go to the dead-letter file, and the
rest are retried unless the error says `others_stored`). Rows are JSON-shaped mappings: UUIDs and
timestamps as strings, JSON columns as dicts.
Writes must be idempotent on the row's id (events: `eid`), because the spool delivers at least once.
Optional capabilities (PrimaryStore, SchemaOwner) are declared by the sink class and checked once, when the
sinks are built (registry.py); nothing probes a sink for methods later.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from tracker.config import Config, PruneRule, SinkConfig
from tracker.sinks.stats import LinkStats

Row = Mapping[str, Any]
Rows = list[dict[str, Any]]  # what a read answers (a name, so classes with a `list` method can use it)
Settings = TypeVar("Settings", bound=SinkConfig)


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


Progress = Callable[[str, int, int], None]  # (table, rows done, rows to do) as a prune goes, page by page


@dataclass(frozen=True, slots=True)
class PruneOptions:
    """The Go tracker's top-level Prune* keys, as one run of `tracker --prune` applies them."""

    skip_to: int = 0  # PruneSkipToTimestamp, Unix seconds: rows created before it are left as they are
    limit: int = 0  # PruneLimit: stop after the page that brings the rows changed to this many (0: no limit)
    logs_ttl_seconds: int | None = None  # PruneLogsTTL; None (PruneLogsSkip) leaves the logs alone
    logs_page_size: int = 10000  # PruneLogsPageSize
    progress: Progress | None = None


@dataclass(slots=True)
class TableCounts:
    """One table's prune: rows past the TTL (scanned), what happened to them, and why the others stayed."""

    scanned: int = 0
    deleted: int = 0
    scrubbed: int = 0
    kept: int = 0  # consent: cflags share a bit with CFlagsIgnore
    skipped: int = 0  # older than PruneSkipToTimestamp


@dataclass(slots=True)
class PruneReport:
    sink: str
    rows_deleted: int = 0
    rows_scrubbed: int = 0
    tables: dict[str, int] = field(default_factory=dict)  # rows changed per table
    counts: dict[str, TableCounts] = field(default_factory=dict)
    newest: int = 0  # Unix seconds of the newest row changed (PruneUpdateConfig writes it back)
    limited: bool = False  # stopped by PruneLimit before every expired row was done


@dataclass(slots=True)
class EraseReport:
    """One sink's erase of one person: rows deleted or anonymised per table."""

    sink: str
    tables: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Sink(Protocol):
    """The write side, which every sink implements."""

    name: str

    async def open(self) -> None:
        """Connect, and create the schema when the config says Schema: auto."""

    async def close(self) -> None:
        """Flush and disconnect."""

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        """Store every row or raise TransientSinkError / PermanentSinkError."""

    async def prune(
        self, rules: Sequence[PruneRule], logs_only: bool, options: PruneOptions | None = None
    ) -> PruneReport:
        """Apply retention rules (GDPR) page by page; see retention.py."""


@runtime_checkable
class PrimaryStore(Protocol):
    """A sink that answers the server's reads, in its own query language; none of these take SQL."""

    async def load_links(self) -> list[dict[str, Any]]:
        """Every short link, one row per key in the `redirects` columns (deleted ones too: deleted=true)."""

    async def load_accounts(self) -> list[dict[str, Any]]:
        """Every admin account, one row per uid in the `accounts` columns."""

    async def link_stats(self, key: str, days: int = 30) -> LinkStats:
        """Visits of the short link `key`: people and bots apart, by day over `days`, top referrers, countries."""

    async def visit_count(self, key: str) -> int:
        """Every recorded visit of the short link `key` (bots included): what `max_visits` counts."""

    async def agreements(self, vid: str) -> list[dict[str, Any]]:
        """The visitor's current consent: its `agreements` row (a list, empty when none); history is `agreed`."""

    async def jurisdictions(self) -> list[dict[str, Any]]:
        """Every `jurisdictions` row, ordered by regulation, compliance, seq."""

    async def erase(self, erasure: Row) -> EraseReport:
        """Delete or anonymise one person's rows (tracker/privacy/erase.py) and write the audit row."""


@runtime_checkable
class SchemaOwner(Protocol):
    """A sink that can create its tables on demand (`tracker --init-schema`), whatever its `Schema` setting."""

    async def init_schema(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SinkPlugin(Generic[Settings]):
    """What a sink package gives the registry: its `Service` name, the schema of its Notify entry, and how to
    build it (importing heavy client libraries only then, so loading a config stays cheap)."""

    kind: str
    settings: type[Settings]
    build: Callable[[Settings, Config], Sink]


def lazy_sink(path: str) -> Callable[[Any, Config], Sink]:
    """A SinkPlugin `build` for the sink class at "module:Class", imported on first build, so a worker
    unpickling its config never loads the sink's client libraries."""

    def build(settings: Any, config: Config) -> Sink:
        module_name, _, class_name = path.partition(":")
        sink_class: Callable[[Any, Config], Sink] = getattr(importlib.import_module(module_name), class_name)
        return sink_class(settings, config)

    return build
