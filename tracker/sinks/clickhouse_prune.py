"""GDPR retention on ClickHouse (SPEC.md §7): expired events are deleted or scrubbed with mutations.

Mutations (`ALTER TABLE … DELETE/UPDATE`) run asynchronously on the server; the report counts the rows that
matched when they were issued. Not done here yet: DestParamHash (keeping a hash of a scrubbed field in params),
which is logged and skipped rather than silently ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tracker.config import PruneRule
from tracker.sinks.base import PruneReport

log = logging.getLogger("tracker.sinks.clickhouse")
PRUNABLE = frozenset(("events",))
KEY_COLUMNS = frozenset(("created_at", "eid"))


async def prune(sink: Any, rules: Sequence[PruneRule], logs_only: bool) -> PruneReport:
    report = PruneReport(sink.name)
    if logs_only:
        return report
    for rule in rules:
        if rule.table not in PRUNABLE:
            continue
        keep_mask = 0
        for flag in rule.cflags_ignore:
            keep_mask |= flag
        expired = f"created_at < now() - {int(rule.ttl_seconds)}"
        if keep_mask:
            expired += f" AND bitAnd(cflags, {keep_mask}) = 0"
        matched = await sink.query(f"SELECT count() AS n FROM {rule.table} WHERE {expired}")
        count = int(matched[0]["n"]) if matched else 0
        if count == 0:
            continue
        if rule.clear_all:
            await sink.command(f"ALTER TABLE {rule.table} DELETE WHERE {expired}")
            report.rows_deleted += count
            report.tables[rule.table] = report.tables.get(rule.table, 0) + count
            continue
        columns = sink.columns.get(rule.table, {})
        assignments = [
            f"{f.id} = {_empty(columns[f.id])}" for f in rule.fields if f.id in columns and f.id not in KEY_COLUMNS
        ]
        for field in rule.fields:
            if field.dest_param_hash:
                log.warning("Prune DestParamHash is not supported on ClickHouse yet", extra={"field": field.id})
        if rule.clear_params:
            assignments.append("params = '{}'")
        if assignments:
            await sink.command(f"ALTER TABLE {rule.table} UPDATE {', '.join(assignments)} WHERE {expired}")
            report.rows_scrubbed += count
            report.tables[rule.table] = report.tables.get(rule.table, 0) + count
    return report


def _empty(column_type: str) -> str:
    if column_type.startswith("Nullable"):
        return "NULL"
    if column_type == "UUID":
        return "toUUID('00000000-0000-0000-0000-000000000000')"
    if column_type.startswith(("Int", "UInt", "Float", "Decimal")):
        return "0"
    return "''"
