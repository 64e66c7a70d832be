"""The ClickHouse sink: batched JSONEachRow inserts over HTTP, idempotent through ReplacingMergeTree.

One shared httpx session (keep-alive) carries both the inserts, posted as (optionally gzip-compressed)
JSONEachRow bodies, and aiochclient's reads and DDL. Network errors, timeouts and server-side failures are
transient (the shipper retries with backoff); a batch the server refuses for its content is bisected so the
good rows are stored and only the bad ones become a PermanentSinkError. Replays are harmless: every table is
a ReplacingMergeTree on its key, so reads that must be exact use FINAL. Works on ClickHouse 18.16 and current.
Hosts are tried in order when one refuses connections; Secure uses https with CACert and a Cert/Key client pair.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from aiochclient import ChClient, ChClientError

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
from tracker.sinks.clickhouse import erase
from tracker.sinks.clickhouse.cluster import local_name
from tracker.sinks.clickhouse.encode import encode
from tracker.sinks.clickhouse.retention import ClickHouseRetention
from tracker.sinks.clickhouse.schema import create_schema
from tracker.sinks.clickhouse.settings import ClickHouseSettings
from tracker.sinks.clickhouse.sql import bind
from tracker.sinks.client_tls import client_tls, short_error
from tracker.sinks.retention import run_retention
from tracker.sinks.sql_erase import erase_each
from tracker.sinks.sql_reads import Dialect, SqlPrimaryStore

log = logging.getLogger("tracker.sinks.clickhouse")
# Server error codes that mean "this data cannot be stored" (parse and type errors), as opposed to the
# server being unable to take it now (memory, too many parts, read-only, timeouts), which is retried.
CONTENT_ERROR_CODES = frozenset((6, 25, 26, 27, 38, 41, 53, 69, 70, 72, 117, 130, 131, 321, 349, 376, 377, 407, 441))
ERROR_CODE = re.compile(r"Code:\s*(\d+)")
INSERT_SETTINGS = {"input_format_skip_unknown_fields": "1", "date_time_input_format": "best_effort"}
THREADED_ROWS = 1000  # batches this large are encoded and compressed off the event loop
MUTATION = re.compile(r"ALTER TABLE (\w+) (?:DELETE|UPDATE) ")


class ContentRejected(Exception):
    """The server refused these rows for what they contain."""


DIALECT = Dialect(
    latest="FINAL",  # ReplacingMergeTree: one row per key only with FINAL
    matches="match({text}, {pattern})",
    now="now()",
    day="toString(toDate(created_at))",
    uuid="toUUID({param})",
)


class ClickHouseSink(SqlPrimaryStore, PrimaryStore, SchemaOwner):
    dialect = DIALECT

    def __init__(self, settings: ClickHouseSettings, config: Config) -> None:
        self.name = settings.sink_name
        scheme = "https" if settings.secure else "http"
        hosts = settings.hosts or ("127.0.0.1:8123",)
        self.urls = [host if "://" in host else f"{scheme}://{host}" for host in hosts]
        self._current = 0  # the host that answered last; the next one is tried when it refuses connections
        self.database = settings.context or "default"
        self.create_schema = settings.schema == "auto"
        self.cluster, self.replicated = settings.cluster, settings.replicated
        self.compress = settings.enable_compression
        self._auth = {"X-ClickHouse-User": settings.username or "default"}
        if settings.password:
            self._auth["X-ClickHouse-Key"] = settings.password
        self._password = settings.password
        self._timeout = max(settings.timeout_ms / 1000, 0.5)
        self._connections = max(settings.connections, 1)
        self._settings = settings
        self._http: httpx.AsyncClient | None = None
        self._client: ChClient | None = None
        self.columns: dict[str, dict[str, str]] = {}

    # ---- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._http is None:
            settings = self._settings
            https = any(u.startswith("https:") for u in self.urls)
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=min(self._timeout, 5.0)),
                limits=httpx.Limits(max_connections=self._connections * 2, max_keepalive_connections=self._connections),
                headers=self._auth,
                verify=client_tls(settings.ca_cert, settings.cert, settings.tls_key) if https else True,
            )
            self._client = ChClient(
                self._http,
                url=self.url,
                user=self._auth["X-ClickHouse-User"],
                password=self._password or None,
                database=self.database,
            )
        try:
            if self.create_schema:
                await create_schema(self)
            await self._load_columns()
        except (httpx.HTTPError, ChClientError, OSError) as error:
            raise TransientSinkError(f"cannot open ClickHouse at {self.url}: {short_error(error)}") from error

    @property
    def url(self) -> str:
        return self.urls[self._current]

    def _next_host(self) -> None:
        self._current = (self._current + 1) % len(self.urls)
        if self._client is not None:
            self._client.url = self.url

    async def _post(self, params: dict[str, str], body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST to the current host, or to the next ones when it refuses the connection (nothing was sent)."""
        assert self._http is not None
        for _ in range(len(self.urls) - 1):
            try:
                return await self._http.post(self.url, params=params, content=body, headers=headers)
            except httpx.ConnectError as error:
                log.warning(
                    "ClickHouse host unreachable, trying the next", extra={"host": self.url, "error": str(error)}
                )
                self._next_host()
        return await self._http.post(self.url, params=params, content=body, headers=headers)

    async def init_schema(self) -> None:
        self.create_schema = True
        await self.open()

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = self._client = None

    async def command(self, sql: str, database: str | None = None, url: str | None = None) -> str:
        """Run one statement, on `url` when given (schema work node by node), else on the current host. On a
        cluster a mutation of a Distributed table (which refuses them) goes to its local table on every node."""
        mutation = MUTATION.match(sql) if self.cluster and url is None else None
        if mutation and local_name(mutation[1]) in self.columns:
            local = f"ALTER TABLE {local_name(mutation[1])} {sql[mutation.end(1) :].lstrip()}"
            return "".join([await self.command(local, database, node) for node in self.urls])
        params = {"database": database or self.database}
        if url is None:
            response = await self._post(params, sql.encode())
        else:
            assert self._http is not None
            response = await self._http.post(url, params=params, content=sql.encode())
        if response.status_code != 200:
            raise TransientSinkError(f"ClickHouse refused {sql[:60]!r}: {response.text[:300]}")
        return response.text

    async def _load_columns(self) -> None:
        rows = await self.query(
            "SELECT table, name, type FROM system.columns WHERE database = ? ORDER BY table", [self.database]
        )
        columns: dict[str, dict[str, str]] = {}
        for row in rows:
            columns.setdefault(row["table"], {})[row["name"]] = row["type"]
        self.columns = columns

    # ---- writes ------------------------------------------------------------------------------------

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        if self._http is None:
            raise TransientSinkError("clickhouse sink is not open")
        if table == ERASURES:
            await erase_each(self, rows)
            return
        if table not in self.columns:
            await self.open()
            if table not in self.columns:
                missing = f'no table "{table}" in ClickHouse database {self.database}'
                if self.create_schema:  # our own schema lacks it: no retry can store these rows
                    raise PermanentSinkError(missing, rows=rows)
                raise TransientSinkError(missing + ' (Schema is "manual": create it, the rows wait)')
        bad = await self._write_bisecting(table, list(rows))
        if bad:
            message, rejected = bad[0][0], [row for _, row in bad]
            message = f"ClickHouse refused {len(rejected)} row(s) of {table}: {message}"
            raise PermanentSinkError(message, rows=rejected, others_stored=True)

    async def _write_bisecting(self, table: str, rows: list[Row]) -> list[tuple[str, Row]]:
        try:
            await self._insert(table, rows)
            return []
        except ContentRejected as error:
            if len(rows) == 1:
                return [(str(error), rows[0])]
            middle = len(rows) // 2
            return await self._write_bisecting(table, rows[:middle]) + await self._write_bisecting(table, rows[middle:])

    async def _insert(self, table: str, rows: list[Row]) -> None:
        assert self._http is not None
        if len(rows) >= THREADED_ROWS:  # zlib releases the GIL; the loop keeps serving the other sinks meanwhile
            body = await asyncio.to_thread(self._body, rows, self.columns[table])
        else:
            body = self._body(rows, self.columns[table])
        headers = {"Content-Type": "application/x-ndjson"}
        if self.compress:
            headers["Content-Encoding"] = "gzip"
        params = {"database": self.database, "query": f"INSERT INTO {table} FORMAT JSONEachRow", **INSERT_SETTINGS}
        try:
            response = await self._post(params, body, headers)
        except httpx.HTTPError as error:
            raise TransientSinkError(f"ClickHouse insert into {table} failed: {short_error(error)}") from error
        if response.status_code == 200:
            return
        text = response.text.strip()
        code = ERROR_CODE.search(text)
        if code and int(code.group(1)) in CONTENT_ERROR_CODES:
            raise ContentRejected(text[:500])
        raise TransientSinkError(f"ClickHouse insert into {table}: HTTP {response.status_code}: {text[:300]}")

    def _body(self, rows: list[Row], columns: dict[str, str]) -> bytes:
        body = encode(rows, columns)
        return gzip.compress(body, compresslevel=1) if self.compress else body

    # ---- reads (PrimaryStore) and retention -----------------------------------------------------------

    async def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        """Values are escaped by aiochclient (ClickHouse 18.16 has no server-side parameters): `?` placeholders
        with a sequence, as DuckDB takes them, or aiochclient's `{name}` placeholders with a mapping."""
        if self._client is None:
            raise TransientSinkError("clickhouse sink is not open")
        if isinstance(params, Mapping):
            prepared, named = sql, dict(params)
        else:
            prepared, named = bind(sql, params)
        tries = len(self.urls)
        while True:
            tries -= 1
            try:
                records = await self._client.fetch(prepared, params=named or None)
            except httpx.ConnectError as error:
                if tries > 0:
                    self._next_host()
                    continue
                raise TransientSinkError(f"ClickHouse query failed: {short_error(error)}") from error
            except (httpx.HTTPError, ChClientError) as error:
                raise TransientSinkError(f"ClickHouse query failed: {short_error(error)}") from error
            return [dict(record) for record in records]

    async def erase(self, erasure: Row) -> EraseReport:
        if self._http is None:
            await self.open()
        return EraseReport(self.name, await erase.erase_rows(self, erasure))

    async def prune(
        self, rules: Sequence[PruneRule], logs_only: bool, options: PruneOptions | None = None
    ) -> PruneReport:
        if self._http is None:
            await self.open()
        return await run_retention(self.name, ClickHouseRetention(self), rules, logs_only, options)
