"""The DuckDB sink's retention statements (the loop is sinks/retention.py, the shared SQL sql_retention.py): a page
is one DELETE, or one UPDATE whose SET list reads the row as it was, so a field's DestParamHash is taken from the
value the same statement empties. Times are naive UTC; a page's bounds are exact microseconds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import duckdb

from tracker.config import PruneRule
from tracker.privacy.hashing import sha
from tracker.sinks.duckdb import catalog
from tracker.sinks.duckdb.batch import Column
from tracker.sinks.retention import Page
from tracker.sinks.sql_retention import SqlRetention

Run = Callable[..., Awaitable[Any]]
HASH_VALUE = "[A-Za-z0-9_=-]*"


class DuckDBRetention(SqlRetention):
    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        run: Run,
        before_write: Callable[[], None],
        tables: dict[str, dict[str, Column]],
    ) -> None:
        self.connection, self.run, self.before_write = connection, run, before_write
        self.tables = {
            table: {name: column.default or "NULL" for name, column in columns.items()}
            for table, columns in tables.items()
        }
        self._sha_registered = False

    def at_seconds(self, seconds: int) -> str:
        return f"make_timestamp({int(seconds) * 1_000_000})"

    def at_position(self, position: int) -> str:
        return f"make_timestamp({int(position)})"

    def position(self, expression: str) -> str:
        return f"epoch_us({expression})"

    def seconds(self, position: int) -> int:
        return position // 1_000_000

    def bit_and(self, left: str, right: int) -> str:
        return f"({left} & {int(right)})"

    def count_if(self, condition: str) -> str:
        return f"count_if({condition})"

    def differs(self, column: str, empty: str) -> str:
        return f'"{column}" IS DISTINCT FROM {empty}'

    def hashes_only(self, keys: list[str]) -> str:
        members = f'"({"|".join(keys)})":"{HASH_VALUE}",?' if keys else ""
        pattern = rf"\{{({members})*\}}" if keys else r"\{\}"
        return f"regexp_full_match(coalesce(CAST(params AS VARCHAR), '{{}}'), '{pattern}')"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return list(await self.run(self._rows, sql))

    async def delete(self, table: str, page: Page) -> int:
        return int(await self.run(self._count, f"DELETE FROM {table} WHERE {page.condition}"))

    async def scrub(self, rule: PruneRule, page: Page) -> int:
        assignments = self.assignments(rule)
        if not assignments:
            return 0
        return int(
            await self.run(self._count, f"UPDATE {rule.table} SET {', '.join(assignments)} WHERE {page.condition}")
        )

    def assignments(self, rule: PruneRule) -> list[str]:
        """Every emptied field, and params with the fields' hashes merged in (ClearParams: only the hashes)."""
        columns = self.tables.get(rule.table, {})
        fields = self.fields(rule, columns)
        hashed = [(f.id, f.dest_param_hash) for f in rule.fields if f.id in fields and f.dest_param_hash]
        params = "coalesce(params, '{}')"
        for column, key in hashed:
            value = f'"{column}"::VARCHAR'
            params = (
                f"json_merge_patch({params}, CASE WHEN coalesce({value}, '') <> '' "
                f"THEN json_object('{key}', tracker_sha({value})) ELSE '{{}}' END)"
            )
        assignments = [f'"{column}" = DEFAULT' for column in fields]
        if "params" not in columns:
            return assignments
        if rule.clear_params:
            keys = [key for _, key in hashed]
            kept = ", ".join(f"'{key}', ({params})->>'{key}'" for key in keys)
            assignments.append("params = " + (f"json_merge_patch('{{}}', json_object({kept}))" if keys else "'{}'"))
        elif hashed:
            assignments.append(f"params = {params}")
        return assignments

    def _rows(self, sql: str) -> list[dict[str, Any]]:
        cursor = catalog.cursor(self.connection)
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _count(self, statement: str) -> int:
        """Run one writing statement on the database thread; its row count."""
        self.before_write()
        if not self._sha_registered:
            varchar = getattr(duckdb, "sqltypes", None) or getattr(duckdb, "typing")  # noqa: B009 - moved in 2.0
            with contextlib.suppress(duckdb.Error):
                self.connection.remove_function("tracker_sha")
            self.connection.create_function("tracker_sha", sha, [varchar.VARCHAR], varchar.VARCHAR, side_effects=False)
            self._sha_registered = True
        row = self.connection.execute(statement).fetchone()
        return int(row[0]) if row else 0
