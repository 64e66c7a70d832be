"""The retention loop, written once for every sink: which rules run, in what order, page by page, where PruneLimit
stops it, and how the report adds up. (Each sink's statements run on its real database: tests/sinks/duckdb,
tests/sinks/clickhouse, tests/sinks/test_sql_prune.py.)"""

from __future__ import annotations

import time

from tracker.config import PruneField, PruneRule
from tracker.sinks.base import PruneOptions, TableCounts
from tracker.sinks.retention import Census, Page, Window, run_retention


class Recorder:
    """Statements over `rows` expired rows per table, handed out in pages; every call recorded."""

    def __init__(self, rows: int = 0, census: Census | None = None, changes: bool = True) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.rows, self.changes = rows, changes
        self.left: dict[str, int] = {}
        self.census_answer = census or Census(scanned=rows, todo=rows)

    def todo(self, rule: PruneRule, window: Window) -> str | None:
        self.left.setdefault(rule.table, self.rows)
        return None if not rule.clear_all and not rule.fields else f"{rule.table} past {window.cutoff}"

    async def census(self, rule: PruneRule, window: Window, todo: str) -> Census:
        return self.census_answer

    async def next_page(self, table: str, todo: str, after: object, size: int) -> Page | None:
        self.calls.append(("page", table, after, size))
        start = int(str(after or 0))
        if start >= self.rows:
            return None
        last = min(start + size, self.rows)
        return Page(f"{todo} in {start}..{last}", 1000 + last, last)

    async def delete(self, table: str, page: Page) -> int:
        self.calls.append(("delete", table, page.condition))
        return self._changed(page)

    async def scrub(self, rule: PruneRule, page: Page) -> int:
        self.calls.append(("scrub", rule.table, page.condition))
        return self._changed(page)

    def _changed(self, page: Page) -> int:
        before = int(page.condition.rsplit("..", 1)[0].rsplit(" ", 1)[1])
        return int(str(page.after)) - before if self.changes else 0


async def test_rules_run_in_order_page_by_page_and_the_report_adds_them_up() -> None:
    recorder = Recorder(rows=5, census=Census(scanned=9, kept=3, skipped=1))
    rules = [
        PruneRule(ttl_seconds=60, page_size=2, fields=(PruneField(id="ip"),), cflags_ignore=(4, 1)),
        PruneRule(table="visitors", clear_all=True),  # a view here: never pruned
        PruneRule(ttl_seconds=120, page_size=5, clear_all=True),
    ]
    report = await run_retention("s", recorder, rules, logs_only=False)
    scrubs = [c for c in recorder.calls if c[0] == "scrub"]
    assert [c[2].split(" in ")[1] for c in scrubs] == ["0..2", "2..4", "4..5"]  # oldest first, two rows a page
    assert [c[0] for c in recorder.calls if c[0] == "delete"] == ["delete"]
    assert (report.sink, report.rows_scrubbed, report.rows_deleted, report.tables) == ("s", 5, 5, {"events": 10})
    assert report.counts == {"events": TableCounts(scanned=18, deleted=5, scrubbed=5, kept=6, skipped=2)}
    assert report.newest == 1005 and not report.limited


async def test_prune_limit_stops_after_the_page_that_reaches_it() -> None:
    recorder = Recorder(rows=10)
    report = await run_retention("s", recorder, [PruneRule(page_size=4, clear_all=True)], False, PruneOptions(limit=6))
    sizes = [c[3] for c in recorder.calls if c[0] == "page"]
    assert sizes == [4, 2] and report.rows_deleted == 6 and report.limited


async def test_logs_only_prunes_the_logs_and_nothing_else() -> None:
    recorder = Recorder(rows=3)
    options = PruneOptions(logs_ttl_seconds=3600, logs_page_size=2)
    report = await run_retention("s", recorder, [PruneRule(clear_all=True)], logs_only=True, options=options)
    assert {c[1] for c in recorder.calls} == {"logs"}
    assert [c[3] for c in recorder.calls if c[0] == "page"] == [2, 2, 2]
    assert report.tables == {"logs": 3} and report.newest == 0  # logs never move PruneSkipToTimestamp
    assert (await run_retention("s", Recorder(rows=3), [PruneRule(clear_all=True)], True)).tables == {}


async def test_the_window_carries_the_ttl_and_skip_to() -> None:
    windows: list[Window] = []

    class Windows(Recorder):
        def todo(self, rule: PruneRule, window: Window) -> str | None:
            windows.append(window)
            return None

    await run_retention("s", Windows(), [PruneRule(ttl_seconds=100)], False, PruneOptions(skip_to=42))
    assert windows and windows[0].skip_to == 42 and abs(windows[0].cutoff - (time.time() - 100)) < 5


async def test_progress_is_told_after_every_page_and_a_page_that_changes_nothing_ends_the_rule() -> None:
    seen: list[tuple[str, int, int]] = []
    options = PruneOptions(progress=lambda table, done, total: seen.append((table, done, total)))
    await run_retention("s", Recorder(rows=3), [PruneRule(page_size=2, clear_all=True)], False, options)
    assert seen == [("events", 2, 3), ("events", 3, 3)]
    stuck = Recorder(rows=3, changes=False)
    report = await run_retention("s", stuck, [PruneRule(page_size=1, fields=(PruneField(id="ip"),))], False)
    assert len([c for c in stuck.calls if c[0] == "scrub"]) == 1 and report.tables == {}
