"""The retention loop, written once for every sink: which rules run, in what order, and how the report adds up.
(Each sink's statements are tested on its real database: tests/sinks/duckdb, tests/sinks/clickhouse.)"""

from __future__ import annotations

from tracker.config import PruneField, PruneRule
from tracker.sinks.retention import run_retention


class Recorder:
    """Statements that record their calls and report fixed counts."""

    def __init__(self, deleted: int = 0, scrubbed: int | None = 0) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.deleted, self.scrubbed = deleted, scrubbed

    def expired(self, rule: PruneRule) -> str:
        return f"age>{rule.ttl_seconds} keep&{rule.keep_mask}"

    async def delete(self, table: str, expired: str) -> int:
        self.calls.append(("delete", table, expired))
        return self.deleted

    async def scrub(self, rule: PruneRule, expired: str) -> int | None:
        self.calls.append(("scrub", rule.table, expired))
        return self.scrubbed


async def test_rules_run_in_order_and_the_report_adds_them_up() -> None:
    recorder = Recorder(deleted=4, scrubbed=3)
    rules = [
        PruneRule(ttl_seconds=60, fields=(PruneField(id="ip"),), cflags_ignore=(4, 1)),
        PruneRule(table="visitors", clear_all=True),  # a view: never pruned
        PruneRule(ttl_seconds=120, clear_all=True),
    ]
    report = await run_retention("s", recorder, rules, logs_only=False)
    assert recorder.calls == [("scrub", "events", "age>60 keep&5"), ("delete", "events", "age>120 keep&0")]
    assert (report.sink, report.rows_scrubbed, report.rows_deleted, report.tables) == ("s", 3, 4, {"events": 7})


async def test_logs_only_touches_nothing() -> None:
    recorder = Recorder(deleted=4)
    report = await run_retention("s", recorder, [PruneRule(clear_all=True)], logs_only=True)
    assert recorder.calls == [] and (report.rows_deleted, report.tables) == (0, {})


async def test_a_rule_with_nothing_to_change_adds_no_table_to_the_report() -> None:
    nothing, no_fields = Recorder(scrubbed=0), Recorder(scrubbed=None)
    for recorder in (nothing, no_fields):
        report = await run_retention("s", recorder, [PruneRule()], logs_only=False)
        assert (report.rows_scrubbed, report.tables) == (0, {})
