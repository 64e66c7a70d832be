"""The embedded default sink: one DuckDB file, written by one dedicated thread in one process.

Rows go in as one Arrow table per batch (`INSERT ... SELECT FROM arrow`), never row by row. Replays are
harmless: events are stored only if their id is new to event_ids (the newest ids only: event_ids.py), other
append-only tables (histories, payments, ltv lines) use INSERT OR IGNORE on their key; state tables (redirects,
accounts, agreements, jurisdictions) use INSERT OR REPLACE. A batch the database refuses for its content is
bisected: the good rows are stored and the bad ones raised as PermanentSinkError.
DuckDB takes one writing process per file: only the shipping process opens this sink. Its memory is bounded
(MemoryLimit, Threads, CheckpointThreshold: settings.py) and its files are private to this user (files.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from tracker.config import Config, PruneRule
from tracker.privacy.erase import ERASURES
from tracker.sinks.base import (
    EraseReport,
    PermanentSinkError,
    PrimaryStore,
    PruneOptions,
    PruneReport,
    Row,
    SchemaOwner,
    TransientSinkError,
)
from tracker.sinks.duckdb import catalog, erase, event_ids, files, migrate
from tracker.sinks.duckdb.batch import Column, dedupe, register_batch
from tracker.sinks.duckdb.event_ids import EventIdWindow
from tracker.sinks.duckdb.retention import DuckDBRetention
from tracker.sinks.duckdb.settings import DuckDBSettings
from tracker.sinks.retention import run_retention
from tracker.sinks.schema import schema_files
from tracker.sinks.sql_erase import erase_each
from tracker.sinks.sql_reads import Dialect, SqlPrimaryStore

log = logging.getLogger("tracker.sinks.duckdb")
T = TypeVar("T")
REPLACE_TABLES = frozenset(("redirects", "accounts", "agreements", "jurisdictions"))
CONTENT_ERRORS = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
)


DIALECT = Dialect(
    latest="",  # one row per key: the tables' primary keys, written with INSERT OR REPLACE
    matches="regexp_matches({text}, {pattern})",
    now="now()::TIMESTAMP",
    day="strftime(CAST(created_at AS DATE), '%Y-%m-%d')",
    uuid="CAST({param} AS UUID)",
)


class DuckDBSink(SqlPrimaryStore, PrimaryStore, SchemaOwner):
    dialect = DIALECT

    def __init__(self, settings: DuckDBSettings, config: Config) -> None:
        self.name = settings.sink_name
        self.path = Path(settings.path)
        self.in_memory = settings.path == ":memory:"
        self.settings = settings
        self.create_schema = settings.schema == "auto"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"duckdb-{self.name}")
        self._connection: duckdb.DuckDBPyConnection | None = None
        self.tables: dict[str, dict[str, Column]] = {}
        self.keys: dict[str, list[str]] = {}
        self._warned: set[tuple[str, str]] = set()
        # Tables whose plain INSERT met a key already stored (hosts does at nearly every batch): written with OR
        # IGNORE from then on instead of two statements a batch.
        self._conflicting: set[str] = set()
        self._checkpointed = time.monotonic()
        self._rows_since_checkpoint = self._largest_write = 0  # since the last checkpoint: _checkpoint_due
        self._event_ids = EventIdWindow(settings.dedupe_events)
        self._dedupes_events = False  # an events table without a key: event_ids recognises replays
        self._opened = False  # open() succeeded once: from then on a lost connection is made again on use
        self._pruning = 0  # retention holds the connection: no recycling meanwhile

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            await self._run(self._open)
        except (duckdb.IOException, OSError) as error:
            raise TransientSinkError(f"cannot open {self.path}: {error}") from error

    async def init_schema(self) -> None:
        self.create_schema = True
        await self.open()

    def _open(self, schema: bool = True) -> None:
        if self._connection is not None:
            return
        connection = catalog.connect(self.path, self.settings)
        self._connection = connection
        try:
            self._prepare_wal()
            if self.create_schema and schema:
                migrate.drop_events_key(connection, self.settings.dedupe_events)
                for file in schema_files("duckdb"):
                    connection.execute(file.read_text())
            self._load_catalog()
            self._dedupes_events = migrate.UNKEYED_TABLE in self.tables and migrate.UNKEYED_TABLE not in self.keys
            if self._dedupes_events:
                self._event_ids.load(connection)
        except BaseException:  # the next open() starts over: never a sink half set up
            self._connection = None
            connection.close()
            raise
        self._opened = True

    def _live(self) -> duckdb.DuckDBPyConnection:
        """The connection, made again if recycling it failed (on the database thread)."""
        if self._connection is None:
            try:
                self._open(schema=False)
            except (duckdb.IOException, OSError) as error:
                raise TransientSinkError(f"cannot open {self.path}: {error}") from error
        assert self._connection is not None
        return self._connection

    def _prepare_wal(self) -> None:
        if not self.in_memory:
            files.prepare_wal(self.path)

    def _load_catalog(self) -> None:
        assert self._connection is not None
        found = catalog.read_catalog(self._connection)
        self.tables, self.keys = found.tables, found.keys

    async def close(self) -> None:
        if self._connection is not None:
            await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._connection is not None:
            self._prepare_wal()
            self._connection.execute("CHECKPOINT")
            self._connection.close()
            self._connection = None

    # ---- writes ------------------------------------------------------------------------------------

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        if not self._opened:
            raise TransientSinkError("duckdb sink is not open")
        if table == ERASURES:
            await erase_each(self, rows)
            return
        if table not in self.tables:
            raise PermanentSinkError(f'no table "{table}" in {self.path}', rows=rows)
        bad = await self._run(self._write_and_checkpoint, table, list(rows))
        if bad:
            error, bad_rows = bad
            raise PermanentSinkError(error, rows=bad_rows, others_stored=True)

    def _write_and_checkpoint(self, table: str, rows: list[Row]) -> tuple[str, list[Row]] | None:
        self._live()
        bad = self._write_bisecting(table, rows)
        if self._checkpoint_due(len(rows)):
            self._checkpoint()
        return bad

    def _checkpoint_due(self, written: int) -> bool:
        """Every CheckpointSeconds, once CheckpointRows rows are held, and when a burst has ended: a write a quarter
        of the largest since the last checkpoint or less (the shipper caught up with the spool) while a fifth of
        CheckpointRows is held, so that a burst's last rows do not stay in memory until the timed checkpoint."""
        self._rows_since_checkpoint += written
        self._largest_write = max(self._largest_write, written)
        held, limit = self._rows_since_checkpoint, self.settings.checkpoint_rows
        caught_up = written * 4 <= self._largest_write and held * 5 >= limit
        return held >= limit or caught_up or time.monotonic() - self._checkpointed >= self.settings.checkpoint_seconds

    def _checkpoint(self) -> None:
        """Move the rows written since the last checkpoint from memory and WAL into the file, and start a new
        connection. DuckDB checkpoints by itself only once the WAL reaches CheckpointThreshold (a sawtooth of
        memory under a steady load), and a connection keeps state for every row it appended in small batches
        (version info, the blocks it wrote): about 70 bytes an event, never released while it stays open. Closing
        the database is also what makes DuckDB's allocator return the pages of those rows to the system."""
        assert self._connection is not None
        self._checkpointed = time.monotonic()
        self._rows_since_checkpoint = self._largest_write = 0
        try:
            if self._dedupes_events:
                self._event_ids.trim(self._connection)
            if self._pruning or self.in_memory:
                self._prepare_wal()
                self._connection.execute("CHECKPOINT")
            else:
                self._close()  # a checkpoint, then closed
                self._open(schema=False)
        except (duckdb.Error, OSError) as error:  # the rows are safe in the WAL; the next write connects again
            log.warning("checkpoint failed", extra={"sink": self.name, "error": str(error)})
        self._prepare_wal()

    def _write_bisecting(self, table: str, rows: list[Row]) -> tuple[str, list[Row]] | None:
        self._prepare_wal()
        try:
            self._insert(table, rows)
            return None
        except CONTENT_ERRORS as error:
            if len(rows) == 1:
                return f"{type(error).__name__}: {error}", rows
        except (duckdb.IOException, duckdb.OutOfMemoryException, duckdb.TransactionException) as error:
            raise TransientSinkError(self._explain(error)) from error
        half = len(rows) // 2
        results = [self._write_bisecting(table, part) for part in (rows[:half], rows[half:])]
        found = [r for r in results if r is not None]
        if not found:
            return None
        return found[0][0], [row for _, part in found for row in part]

    def _explain(self, error: duckdb.Error) -> str:
        text = str(error)
        if isinstance(error, duckdb.OutOfMemoryException) or "pin block" in text:
            # The rows wait in the spool; the sink writes again once MemoryLimit is raised and the tracker restarted.
            return f"DuckDB needs more than MemoryLimit {self.settings.memory_limit} (see README, DuckDB sink): {text}"
        return text

    def _insert(self, table: str, rows: list[Row]) -> None:
        assert self._connection is not None
        columns = self.tables[table]
        keys: set[str] = set().union(*rows)
        present = [name for name in columns if name in keys]
        for unknown in keys - columns.keys():
            if (table, unknown) not in self._warned:
                self._warned.add((table, unknown))
                log.warning("column not in table; dropped", extra={"table": table, "column": unknown})
        names = ", ".join(f'"{n}"' for n in present)
        cursor = catalog.cursor(self._connection)
        try:
            if table == migrate.UNKEYED_TABLE and self._dedupes_events and event_ids.KEY in present:
                self._event_ids.store(cursor, columns, present, event_ids.unique_ids(rows))
                return
            rows = dedupe(rows, self.keys.get(table))
            statement = f'INTO "{table}" ({names}) ' + register_batch(cursor, columns, present, rows)
            if table in REPLACE_TABLES:
                cursor.execute("INSERT OR REPLACE " + statement)
                return
            if table in self._conflicting:
                cursor.execute("INSERT OR IGNORE " + statement)
                return
            try:  # a plain insert is ~40% faster than OR IGNORE while replayed batches are the rare case
                cursor.execute("INSERT " + statement)
            except duckdb.ConstraintException as error:
                if "duplicate key" not in str(error).lower():
                    raise
                self._conflicting.add(table)
                cursor.execute("INSERT OR IGNORE " + statement)
        finally:
            cursor.close()

    # ---- reads (PrimaryStore) and retention ----------------------------------------------------------------

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of any SQL, as dicts: for this sink's reads, the tests and the benchmarks."""
        if not self._opened:
            raise TransientSinkError("duckdb sink is not open")
        return await self._run(self._query, sql, list(params))

    def _query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        connection = self._live()
        self._prepare_wal()  # a statement may write
        cursor = catalog.cursor(connection)
        try:
            cursor.execute(sql, params)
            if cursor.description is None:
                return []
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    async def erase(self, erasure: Row) -> EraseReport:
        if not self._opened:
            await self.open()
        self._pruning += 1
        try:
            connection = await self._run(self._live)
            self._prepare_wal()
            counts = await self._run(erase.erase_rows, connection, self.tables, erasure)
            await self._run(erase.audit, self.name, self.tables, erasure, counts, self._insert)
        finally:
            self._pruning -= 1
        return EraseReport(self.name, counts)

    async def prune(
        self, rules: Sequence[PruneRule], logs_only: bool, options: PruneOptions | None = None
    ) -> PruneReport:
        if not self._opened:
            await self.open()
        self._pruning += 1  # retention holds the connection: no recycling meanwhile
        try:
            connection = await self._run(self._live)
            statements = DuckDBRetention(connection, self._run, self._prepare_wal, self.tables)
            return await run_retention(self.name, statements, rules, logs_only, options)
        finally:
            self._pruning -= 1
