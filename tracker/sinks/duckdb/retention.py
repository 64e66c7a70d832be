"""The DuckDB sink's retention statements (the loop is sinks/retention.py): DELETE, or one UPDATE per scrubbed
field in order, so a field's DestParamHash is taken from its value before the field is emptied."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import duckdb

from tracker.config import PruneRule
from tracker.privacy.hashing import sha

Run = Callable[..., Awaitable[Any]]


class DuckDBRetention:
    def __init__(self, connection: duckdb.DuckDBPyConnection, run: Run, before_write: Callable[[], None]) -> None:
        self.connection, self.run, self.before_write = connection, run, before_write
        self._sha_registered = False

    def expired(self, rule: PruneRule) -> str:
        expired = f"created_at < now()::TIMESTAMP - INTERVAL ({int(rule.ttl_seconds)}) SECOND"
        if rule.keep_mask:
            expired += f" AND (cflags & {rule.keep_mask}) = 0"
        return expired

    async def delete(self, table: str, expired: str) -> int:
        return int(await self.run(self._count, [f"DELETE FROM {table} WHERE {expired}"]))

    async def scrub(self, rule: PruneRule, expired: str) -> int | None:
        assignments = scrub_assignments(rule)
        if not assignments:
            return None
        # DuckDB applies one SET list per statement; keep them ordered
        statements = [f"UPDATE {rule.table} SET {assignment} WHERE {expired}" for assignment in assignments]
        return int(await self.run(self._count, statements))

    def _count(self, statements: list[str]) -> int:
        """Run the statements on the database thread; the row count of the last."""
        self.before_write()
        if not self._sha_registered:
            varchar = getattr(duckdb, "sqltypes", None) or getattr(duckdb, "typing")  # noqa: B009 - moved in 2.0
            with contextlib.suppress(duckdb.Error):
                self.connection.remove_function("tracker_sha")
            self.connection.create_function("tracker_sha", sha, [varchar.VARCHAR], varchar.VARCHAR, side_effects=False)
            self._sha_registered = True
        count = 0
        for statement in statements:
            row = self.connection.execute(statement).fetchone()
            count = int(row[0]) if row else 0
        return count


def scrub_assignments(rule: PruneRule) -> list[str]:
    """`SET` lists, in order: each field's hash into params (DestParamHash), the field emptied, then params."""
    assignments = []
    for field in rule.fields:
        if field.dest_param_hash:
            assignments.append(
                f"params = json_merge_patch(coalesce(params, '{{}}'), json_object('{field.dest_param_hash}', "
                f'CASE WHEN "{field.id}"::VARCHAR <> \'\' THEN tracker_sha("{field.id}"::VARCHAR) END))'
            )
        assignments.append(f'"{field.id}" = DEFAULT')
    if rule.clear_params:
        kept = [f.dest_param_hash for f in rule.fields if f.dest_param_hash]
        assignments.append(
            "params = '{}'"
            if not kept
            else "params = json_object(" + ", ".join(f"'{k}', params->>'{k}'" for k in kept) + ")"
        )
    return assignments
