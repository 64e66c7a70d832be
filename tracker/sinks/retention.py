"""GDPR retention (SPEC.md §7), the loop every sink shares: each rule expires rows older than its TTL, by
deleting them (ClearAll) or scrubbing the listed fields; rows whose cflags share a bit with CFlagsIgnore stay, and
so do rows created before PruneSkipToTimestamp. Logs older than PruneLogsTTL are deleted (never the erase audit).

Work goes oldest first, one page at a time (PageSize rows, PruneLogsPageSize for logs), and each page is one
statement or transaction: a run stopped between pages (Ctrl-C, SIGTERM, PruneLimit) leaves every row either done
or untouched, and the next run picks up what is left, because a scrubbed row no longer matches its rule.
A sink gives only its statements (`RetentionStatements`); rules, pages and the report are decided here, once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from tracker.config import PruneRule
from tracker.sinks.base import PruneOptions, PruneReport, TableCounts

log = logging.getLogger("tracker.sinks.retention")
PRUNABLE = frozenset(("events",))
DERIVED = frozenset(("events_recent", "visitors", "sessions"))  # views over events here: prune events instead
LOGS = "logs"


@dataclass(frozen=True, slots=True)
class Window:
    """Which rows a rule may touch: created before `cutoff` and not before `skip_to` (Unix seconds)."""

    cutoff: int
    skip_to: int = 0


@dataclass(frozen=True, slots=True)
class Census:
    scanned: int = 0  # past the TTL
    kept: int = 0  # of those, kept for consent
    skipped: int = 0  # of those, older than PruneSkipToTimestamp
    todo: int = 0  # of those, the rows the rule will change (what the progress bar counts to)


@dataclass(frozen=True, slots=True)
class Page:
    """Up to a page of the rows still to do, oldest first: `condition` selects exactly them."""

    condition: str
    newest: int  # Unix seconds of the page's newest row (0 when the sink cannot tell)
    after: object  # where the next page starts, in the sink's own terms


class RetentionStatements(Protocol):
    """One sink's way of expiring rows. `todo` is the sink's own condition (a SQL WHERE clause, say) for the rows a
    rule still has to change: inside the window, not kept for consent, and not already scrubbed."""

    def todo(self, rule: PruneRule, window: Window) -> str | None:
        """None when the rule can change nothing on this sink (no such table, no field it can empty)."""

    async def census(self, rule: PruneRule, window: Window, todo: str) -> Census:
        """How many rows are past the TTL, how many of them stay (consent, skip-to), how many are `todo`."""

    async def next_page(self, table: str, todo: str, after: object, size: int) -> Page | None:
        """The next page of `todo` rows after `after` (None: the first page), or None when there are none."""

    async def delete(self, table: str, page: Page) -> int:
        """Delete the page's rows; return how many."""

    async def scrub(self, rule: PruneRule, page: Page) -> int:
        """Empty the rule's fields in the page's rows; return how many."""


async def run_retention(
    sink: str,
    statements: RetentionStatements,
    rules: Sequence[PruneRule],
    logs_only: bool,
    options: PruneOptions | None = None,
) -> PruneReport:
    options = options or PruneOptions()
    report = PruneReport(sink)
    now = int(time.time())
    planned: list[tuple[PruneRule, Window]] = []
    if not logs_only:
        for rule in rules:
            if rule.table in DERIVED:
                log.warning("prune rule skipped: a view over events here", extra={"sink": sink, "table": rule.table})
            elif rule.table in PRUNABLE:
                planned.append((rule, Window(now - int(rule.ttl_seconds), options.skip_to)))
    if options.logs_ttl_seconds is not None:
        logs_rule = PruneRule(table=LOGS, ttl_seconds=options.logs_ttl_seconds, clear_all=True)
        planned.append((replace(logs_rule, page_size=options.logs_page_size), Window(now - options.logs_ttl_seconds)))
    for rule, window in planned:
        if options.limit and report.rows_deleted + report.rows_scrubbed >= options.limit:
            report.limited = True
            break
        await _apply(statements, rule, window, options, report)
    return report


async def _apply(
    statements: RetentionStatements,
    rule: PruneRule,
    window: Window,
    options: PruneOptions,
    report: PruneReport,
) -> None:
    todo = statements.todo(rule, window)
    if todo is None:
        return
    census = await statements.census(rule, window, todo)
    counts = report.counts.setdefault(rule.table, TableCounts())
    counts.scanned += census.scanned
    counts.kept += census.kept
    counts.skipped += census.skipped
    expected = census.todo
    done, after = 0, None
    while True:
        size = max(rule.page_size, 1)
        if options.limit:
            left = options.limit - report.rows_deleted - report.rows_scrubbed
            if left <= 0:
                report.limited = True
                return
            size = min(size, left)
        page = await statements.next_page(rule.table, todo, after, size)
        if page is None:
            return
        if rule.clear_all:
            changed = await statements.delete(rule.table, page)
            counts.deleted += changed
            report.rows_deleted += changed
        else:
            changed = await statements.scrub(rule, page)
            counts.scrubbed += changed
            report.rows_scrubbed += changed
        if changed:
            report.tables[rule.table] = report.tables.get(rule.table, 0) + changed
            if rule.table != LOGS:
                report.newest = max(report.newest, page.newest)
        done += changed
        after = page.after
        if options.progress is not None:
            options.progress(rule.table, done, max(expected, done))
        if not changed:
            return  # a page that changes nothing would come back forever
