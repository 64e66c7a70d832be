"""GDPR retention (SPEC.md §7), the loop every sink shares: each rule expires rows older than its TTL, by
deleting them (ClearAll) or scrubbing the listed fields; rows whose cflags share a bit with CFlagsIgnore stay.

A sink gives only its statements (`RetentionStatements`); which rules apply, in what order, and how the report
adds up is decided here, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tracker.config import PruneRule
from tracker.sinks.base import PruneReport

PRUNABLE = frozenset(("events",))


class RetentionStatements(Protocol):
    """One sink's way of expiring rows. `expired` is the sink's own condition text (a SQL WHERE clause, say)."""

    def expired(self, rule: PruneRule) -> str:
        """The rows of `rule.table` past `rule.ttl_seconds`, except those `rule.keep_mask` keeps."""

    async def delete(self, table: str, expired: str) -> int:
        """Delete the expired rows; return how many."""

    async def scrub(self, rule: PruneRule, expired: str) -> int | None:
        """Empty the rule's fields in the expired rows; return how many, or None when the rule changes nothing."""


async def run_retention(
    sink: str, statements: RetentionStatements, rules: Sequence[PruneRule], logs_only: bool
) -> PruneReport:
    report = PruneReport(sink)
    if logs_only:
        return report
    for rule in rules:
        if rule.table not in PRUNABLE:
            continue
        expired = statements.expired(rule)
        if rule.clear_all:
            count = await statements.delete(rule.table, expired)
            report.rows_deleted += count
        else:
            scrubbed = await statements.scrub(rule, expired)
            if scrubbed is None:
                continue
            count = scrubbed
            report.rows_scrubbed += count
        if count:
            report.tables[rule.table] = report.tables.get(rule.table, 0) + count
    return report
