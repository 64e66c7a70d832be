"""GDPR retention on DuckDB (SPEC.md §7): expire events older than a rule's TTL by deleting or scrubbing them.

Kept as they are: rows whose cflags share a bit with the rule's CFlagsIgnore, and rows older than
PruneSkipToTimestamp handled elsewhere. Scrubbing empties the listed fields; with DestParamHash the old value's
hash is kept in params so joins on it still work.
"""

from __future__ import annotations

import contextlib
from typing import Any

import duckdb

from tracker.config import PruneRule
from tracker.privacy.hashing import sha
from tracker.sinks.base import PruneReport

PRUNABLE = frozenset(("events",))


def prune(connection: Any, sink: str, rules: list[PruneRule], logs_only: bool) -> PruneReport:
    report = PruneReport(sink)
    if logs_only:
        return report
    assert isinstance(connection, duckdb.DuckDBPyConnection)
    varchar = getattr(duckdb, "sqltypes", None) or getattr(duckdb, "typing")  # noqa: B009 - moved in DuckDB 2.0
    with contextlib.suppress(duckdb.Error):
        connection.remove_function("tracker_sha")
    connection.create_function("tracker_sha", sha, [varchar.VARCHAR], varchar.VARCHAR, side_effects=False)
    for rule in rules:
        if rule.table not in PRUNABLE:
            continue
        keep_mask = 0
        for flag in rule.cflags_ignore:
            keep_mask |= flag
        expired = f"created_at < now()::TIMESTAMP - INTERVAL ({int(rule.ttl_seconds)}) SECOND"
        if keep_mask:
            expired += f" AND (cflags & {keep_mask}) = 0"
        if rule.clear_all:
            count = _count(connection.execute(f"DELETE FROM {rule.table} WHERE {expired}").fetchone())
            report.rows_deleted += count
            report.tables[rule.table] = report.tables.get(rule.table, 0) + count
            continue
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
        if not assignments:
            continue
        count = 0
        for assignment in assignments:  # DuckDB applies one SET list per statement; keep them ordered
            count = _count(connection.execute(f"UPDATE {rule.table} SET {assignment} WHERE {expired}").fetchone())
        report.rows_scrubbed += count
        report.tables[rule.table] = report.tables.get(rule.table, 0) + count
    return report


def _count(row: tuple[object, ...] | None) -> int:
    return int(row[0]) if row else 0  # type: ignore[call-overload]
