"""The Cassandra / ScyllaDB sink: prepared upserts, unlogged batches of one partition each, token-aware routing.

Writes are idempotent: every table's key holds the row's id (events: eid), so a replayed row overwrites itself,
and state tables (links, accounts, consents) write with their updated_at as the write time, so an older version
never overwrites a newer one. Columns a row does not set are sent UNSET (no tombstones). Rows whose values cannot
be stored (bad UUID, text for a number) or that the cluster refuses as invalid are dead-lettered one by one; the
others are stored. Timeouts, unavailable replicas and unreachable hosts are transient: the shipper retries.
The driver is blocking at connect, prepare and paging: those run on a thread; writes use its async futures.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from cassandra.cluster import Cluster, ResponseFuture, Session
from cassandra.query import PreparedStatement, SimpleStatement

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
from tracker.sinks.cassandra import erase, reads, statements
from tracker.sinks.cassandra.batching import Group, by_partition
from tracker.sinks.cassandra.binding import Bound, bind_rows, statement_for
from tracker.sinks.cassandra.errors import classify, describe
from tracker.sinks.cassandra.retention import CassandraRetention
from tracker.sinks.cassandra.session import build_cluster, wait
from tracker.sinks.cassandra.settings import CassandraSettings
from tracker.sinks.cassandra.tables import Table, from_metadata, schema_statements
from tracker.sinks.cassandra.types import from_cql
from tracker.sinks.retention import run_retention
from tracker.sinks.sql_erase import erase_each
from tracker.sinks.stats import LinkStats

log = logging.getLogger("tracker.sinks.cassandra")
READ_PAGE = 5000  # rows per page of a read


class CassandraSink(PrimaryStore, SchemaOwner):
    def __init__(self, settings: CassandraSettings, config: Config) -> None:
        self.name = settings.sink_name
        self.settings = settings
        self.keyspace = settings.context
        self.create_schema = settings.schema == "auto"
        self.tables: dict[str, Table] = {}
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._prepared_reads: dict[str, PreparedStatement] = {}
        self._limit = asyncio.Semaphore(settings.in_flight)
        self._warned: set[tuple[str, str]] = set()

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            await asyncio.to_thread(self._open)
        except Exception as error:  # noqa: BLE001 - whatever stops the connect, the rows wait in the spool
            raise TransientSinkError(f"cannot open Cassandra {self.keyspace}: {describe(error)}") from error

    async def init_schema(self) -> None:
        self.create_schema = True
        if self._session is not None:
            await asyncio.to_thread(self._create_schema)
        await self.open()

    def _open(self) -> None:
        if self._session is None:
            cluster = build_cluster(self.settings)
            try:
                self._session = cluster.connect()
            except Exception:
                cluster.shutdown()
                raise
            self._cluster = cluster
            if self.create_schema:
                self._create_schema()
            self._session.set_keyspace(self.keyspace)
        self._load_tables()

    def _create_schema(self) -> None:
        assert self._session is not None
        self._session.execute(statements.create_keyspace(self.keyspace, self.settings.replication))
        self._session.set_keyspace(self.keyspace)
        for statement in schema_statements():
            self._session.execute(statement)

    def _load_tables(self) -> None:
        assert self._cluster is not None
        self._cluster.refresh_keyspace_metadata(self.keyspace)
        keyspace = self._cluster.metadata.keyspaces.get(self.keyspace)
        self.tables = from_metadata(keyspace.tables if keyspace is not None else {})
        self._prepared, self._prepared_reads = {}, {}

    async def close(self) -> None:
        cluster, self._cluster, self._session = self._cluster, None, None
        if cluster is not None:
            await asyncio.to_thread(cluster.shutdown)

    # ---- writes ------------------------------------------------------------------------------------

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        if self._session is None:
            raise TransientSinkError("cassandra sink is not open")
        if table == ERASURES:
            await erase_each(self, rows)
            return
        schema = await self._table(table, rows)
        bound, refused = bind_rows(schema, await self._prepare_insert(schema), rows)
        if table == "events" and reads.LINK_TABLE in self.tables:
            bound += await self._link_twins(bound)
        self._warn_unknown(schema, rows)
        groups = by_partition(
            bound, lambda b: b.partition, lambda b: b.size, self.settings.batch_rows, self.settings.batch_bytes
        )
        results = await asyncio.gather(*(self._send(group) for group in groups), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise TransientSinkError(f"Cassandra write to {table} failed: {describe(failures[0])}") from failures[0]
        refused += [item for result in results if isinstance(result, list) for item in result]
        if refused:
            bad = list({id(row): row for _, row in refused}.values())  # an event and its twin may both be refused
            message = f"Cassandra refused {len(bad)} row(s) of {table}: {refused[0][0]}"
            raise PermanentSinkError(message, rows=bad, others_stored=True)

    async def _link_twins(self, events: list[Bound]) -> list[Bound]:
        """The `events_by_link` rows of the short-link hits, each carrying its event as the row to dead-letter."""
        hits = [b.row for b in events if reads.is_link_hit(b.row)]
        twins = [reads.link_visit_row(row) for row in hits]
        source = {id(twin): hit for twin, hit in zip(twins, hits, strict=True)}
        link_table = self.tables[reads.LINK_TABLE]
        bound, _ = bind_rows(link_table, await self._prepare_insert(link_table), twins)  # binds: its event did
        return [Bound(b.statement, source[id(b.row)]) for b in bound]

    async def _table(self, table: str, rows: Sequence[Row]) -> Table:
        if table not in self.tables:
            try:
                await asyncio.to_thread(self._load_tables)
            except Exception as error:  # noqa: BLE001 - the metadata could not be read now
                raise TransientSinkError(f"cannot read the tables of {self.keyspace}: {describe(error)}") from error
        if table not in self.tables:
            missing = f'no table "{table}" in keyspace {self.keyspace}'
            if self.create_schema:  # our own schema lacks it: no retry can store these rows
                raise PermanentSinkError(missing, rows=rows)
            raise TransientSinkError(missing + ' (Schema is "manual": create it, the rows wait)')
        return self.tables[table]

    async def _prepare_insert(self, table: Table) -> PreparedStatement:
        if table.name not in self._prepared:
            try:
                self._prepared[table.name] = await asyncio.to_thread(self.prepare_blocking, statements.insert(table))
            except Exception as error:  # noqa: BLE001 - an unprepared statement stores nothing: retry later
                raise TransientSinkError(f"cannot prepare the insert into {table.name}: {describe(error)}") from error
        return self._prepared[table.name]

    async def _send(self, group: Group[Bound]) -> list[tuple[str, Row]]:
        """Store a partition's rows; the rows the cluster refuses (tried one by one), or raise if it cannot answer."""
        try:
            await self._execute(statement_for(group))
            return []
        except Exception as error:  # noqa: BLE001 - classified below
            if classify(error) == "transient":
                raise
            if len(group.items) == 1:
                return [(describe(error), group.items[0].row)]
        refused = []
        for item in group.items:
            try:
                await self._execute(item.statement)
            except Exception as error:  # noqa: BLE001 - classified below
                if classify(error) == "transient":
                    raise
                refused.append((describe(error), item.row))
        return refused

    async def _execute(self, statement: Any, values: Sequence[Any] | None = None) -> Any:
        assert self._session is not None
        async with self._limit:
            future: ResponseFuture = self._session.execute_async(statement, values)
            return await wait(future)

    def _warn_unknown(self, table: Table, rows: Sequence[Row]) -> None:
        for column in {key for row in rows for key in row} - table.columns.keys():
            if (table.name, column) not in self._warned:
                self._warned.add((table.name, column))
                log.warning("column not in table; dropped", extra={"table": table.name, "column": column})

    # ---- blocking helpers (on a thread): prepare, execute, page ---------------------------------------

    def prepare_blocking(self, cql: str) -> PreparedStatement:
        assert self._session is not None
        return self._session.prepare(cql)

    def execute_blocking(self, statement: Any, values: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        assert self._session is not None
        return list(self._session.execute(statement, values))

    def scan(self, table: str, columns: Sequence[str], page_size: int) -> Iterator[dict[str, Any]]:
        """Every row of `table`, page by page (the driver fetches the next page as the iteration reaches it)."""
        assert self._session is not None
        yield from self._session.execute(SimpleStatement(statements.select(table, columns), fetch_size=page_size))

    # ---- reads (PrimaryStore) and retention -----------------------------------------------------------

    async def query(self, cql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of any CQL as the other sinks give them (UUIDs and times as text): reads, tests, tools."""
        rows = await self._fetch(cql, params)
        return [{key: from_cql(value) for key, value in row.items()} for row in rows]

    async def _fetch(self, cql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self._session is None:
            raise TransientSinkError("cassandra sink is not open")
        try:
            return await asyncio.to_thread(self._read, cql, list(params))
        except Exception as error:  # noqa: BLE001 - a read that fails is retried by its caller
            raise TransientSinkError(f"Cassandra query failed: {describe(error)}") from error

    def _read(self, cql: str, params: list[Any]) -> list[dict[str, Any]]:
        """`?` placeholders are bound through a prepared statement (prepared once per text); pages of READ_PAGE."""
        statement: Any
        if params:
            if cql not in self._prepared_reads:
                self._prepared_reads[cql] = self.prepare_blocking(cql)
            statement = self._prepared_reads[cql].bind(params)
        else:
            statement = SimpleStatement(cql)
        statement.fetch_size = READ_PAGE
        return self.execute_blocking(statement)

    async def load_links(self) -> list[dict[str, Any]]:
        return await self.query(statements.select("redirects"))

    async def load_accounts(self) -> list[dict[str, Any]]:
        return await self.query(statements.select("accounts"))

    async def link_stats(self, key: str, days: int = 30) -> LinkStats:
        visits = await self._fetch(statements.select(reads.LINK_TABLE, reads.LINK_READ, ["link"]), [key])
        return reads.link_stats(key, visits, days)

    async def agreements(self, vid: str) -> list[dict[str, Any]]:
        try:
            key = uuid.UUID(vid)
        except ValueError:
            return []
        return await self._fetch(statements.select("agreements", where=["vid"]), [key])

    async def jurisdictions(self) -> list[dict[str, Any]]:
        rows = await self._fetch(statements.select("jurisdictions"))
        return sorted(rows, key=lambda row: (row.get("regulation", ""), row.get("compliance", ""), row.get("seq", 0)))

    async def visit_count(self, key: str) -> int:
        rows = await self._fetch(statements.count(reads.LINK_TABLE, ["link"]), [key])
        return int(rows[0]["n"]) if rows else 0

    async def erase(self, erasure: Row) -> EraseReport:
        if self._session is None:
            await self.open()
        counts = await asyncio.to_thread(erase.erase_rows, self, erasure)
        audit = erase.audit(self, erasure, counts)
        if audit is not None:  # a replayed request writes the same row again: one row per id
            await self.write("logs", [audit])
        return EraseReport(self.name, counts)

    async def prune(
        self, rules: Sequence[PruneRule], logs_only: bool, options: PruneOptions | None = None
    ) -> PruneReport:
        if self._session is None:
            await self.open()
        return await run_retention(self.name, CassandraRetention(self), rules, logs_only, options)
