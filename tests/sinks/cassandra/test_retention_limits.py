"""PruneLimit and the logs' TTL on Cassandra (tracker/sinks/cassandra/retention.py) through the shared loop: a run
stops after PruneLimit changed rows and the next goes on; logs older than PruneLogsTTL are deleted by id, paged
by PruneLogsPageSize, never the erase audit rows; PruneLogsSkip leaves the logs alone. Against a stand-in that
applies the DELETEs and UPDATEs it records, so a second run sees what the first one left."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from tests.sinks.cassandra.test_erase import Tables
from tests.sinks.cassandra.test_retention import NOW, row
from tracker.config import from_mapping
from tracker.privacy.erase import AUDIT_TOPIC
from tracker.privacy.prune_cli import options, summary
from tracker.sinks.base import PruneOptions, PruneReport
from tracker.sinks.cassandra.retention import CassandraRetention
from tracker.sinks.retention import run_retention

STATEMENT = re.compile(r"(?:DELETE FROM|UPDATE) (\w+) (?:SET (.+) )?WHERE (.+)")
WEEK = 7 * 86400


class AppliedTables(Tables):
    """The per-table stand-in that also applies each DELETE/UPDATE by key, as a cluster would."""

    def scan(self, table: str, columns: Sequence[str], page_size: int) -> Iterator[dict[str, Any]]:
        self.page_sizes.append(page_size)
        for stored in list(self.by_table.get(table, [])):  # rows deleted during the scan were already yielded
            yield {column: stored.get(column) for column in columns}

    def execute_blocking(self, statement: str, values: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        super().execute_blocking(statement, values)
        found = STATEMENT.fullmatch(statement)
        assert found is not None, statement
        table, sets, where = found.groups()
        keys = re.findall(r"(\w+) = \?", where)
        bound = list(values or ())
        assigned = dict(zip(re.findall(r"(\w+) = \?", sets or ""), bound, strict=False))
        key = bound[len(bound) - len(keys) :]
        rows = self.by_table.get(table, [])
        for stored in [r for r in rows if [r.get(k) for k in keys] == key]:
            if sets is None:
                rows.remove(stored)
            else:
                stored.update({column: None for column in re.findall(r"(\w+) = null", sets)}, **assigned)
        return []


def clear_events(**keys: Any) -> Any:
    config = from_mapping({"Notify": [{"Service": "cassandra", "Prune": [{"Table": "events", **keys}]}]})
    return config.notify[0].prune[0]


def log_row(age: timedelta, topic: str = "tracker.log") -> dict[str, Any]:
    return {"id": uuid.uuid4(), "created_at": NOW - age, "topic": topic, "msg": "m"}


async def prune(cluster: AppliedTables, rules: list[Any], logs_only: bool, opts: PruneOptions) -> PruneReport:
    return await run_retention("cassandra", CassandraRetention(cluster), rules, logs_only, opts)  # type: ignore[arg-type]


async def test_prune_limit_stops_after_that_many_changed_rows_and_the_next_run_goes_on() -> None:
    fresh, consented = row(timedelta(days=1)), row(timedelta(days=30), cflags=1024)
    expired = [row(timedelta(days=30 + n)) for n in range(5)]
    cluster = AppliedTables({"events": [*expired, fresh, consented]})
    rule = clear_events(TTL=WEEK, ClearAll=True, CFlagsIgnore=[1024], PageSize=200)
    runs = [await prune(cluster, [rule], False, PruneOptions(limit=2)) for _ in range(4)]
    assert [(r.rows_deleted, r.limited) for r in runs] == [(2, True), (2, True), (1, False), (0, False)]
    assert cluster.by_table["events"] == [fresh, consented]
    assert "cassandra: stopped at PruneLimit; run again to go on" in summary(runs[:1])
    assert "PruneLimit" not in summary(runs[2:3])


async def test_pages_change_page_size_rows_of_one_scan_until_the_limit() -> None:
    cluster = AppliedTables({"events": [row(timedelta(days=30 + n)) for n in range(6)]})
    done: list[tuple[str, int, int]] = []
    rule = clear_events(TTL=WEEK, ClearAll=True, PageSize=2)
    report = await prune(cluster, [rule], False, PruneOptions(limit=3, progress=lambda *p: done.append(p)))
    assert (report.rows_deleted, report.limited, len(cluster.by_table["events"])) == (3, True, 3)
    assert done == [("events", 2, 2), ("events", 3, 3)]  # a page of PageSize, then what was left of the limit
    assert cluster.page_sizes == [2]  # one scan across the pages


async def test_a_limited_scrub_is_finished_by_the_next_run_and_never_redone() -> None:
    rows = [row(timedelta(days=30 + n), ip=f"203.0.113.{n}") for n in range(3)]
    cluster = AppliedTables({"events": rows})
    rule = clear_events(TTL=WEEK, Fields=[{"Id": "ip"}])
    runs = [await prune(cluster, [rule], False, PruneOptions(limit=2)) for _ in range(3)]
    assert [(r.rows_scrubbed, r.limited) for r in runs] == [(2, True), (1, False), (0, False)]
    assert all(r["ip"] is None and r["updated"] is not None for r in cluster.by_table["events"])


async def test_logs_older_than_the_ttl_are_deleted_but_not_newer_or_audit_rows() -> None:
    old, new, audit = log_row(timedelta(days=30)), log_row(timedelta(days=1)), log_row(timedelta(days=30), AUDIT_TOPIC)
    expired_event = row(timedelta(days=30))
    cluster = AppliedTables({"events": [expired_event], "logs": [old, new, audit]})
    opts = PruneOptions(logs_ttl_seconds=WEEK, logs_page_size=321)
    report = await prune(cluster, [clear_events(TTL=WEEK, ClearAll=True)], True, opts)
    assert (report.rows_deleted, report.tables, report.counts["logs"].deleted) == (1, {"logs": 1}, 1)
    assert cluster.executed == [("DELETE FROM logs WHERE id = ?", [old["id"]])]
    assert cluster.by_table == {"events": [expired_event], "logs": [new, audit]}  # logs only: no event changes
    assert cluster.page_sizes == [321]  # PruneLogsPageSize


async def test_prune_limit_counts_the_logs_too() -> None:
    cluster = AppliedTables({"events": [row(timedelta(days=30))], "logs": [log_row(timedelta(days=30))]})
    rule = clear_events(TTL=WEEK, ClearAll=True)
    report = await prune(cluster, [rule], False, PruneOptions(limit=1, logs_ttl_seconds=WEEK))
    assert (report.tables, report.limited, len(cluster.by_table["logs"])) == ({"events": 1}, True, 1)
    report = await prune(cluster, [rule], False, PruneOptions(limit=1, logs_ttl_seconds=WEEK))
    assert (report.tables, cluster.by_table) == ({"logs": 1}, {"events": [], "logs": []})
    report = await prune(cluster, [rule], False, PruneOptions(limit=1, logs_ttl_seconds=WEEK))
    assert (report.tables, report.limited) == ({}, False)  # reaching the limit exactly says limited, as on SQL


async def test_prune_logs_skip_deletes_no_log() -> None:
    keys = {"PruneLogsTTL": WEEK, "Notify": [{"Service": "cassandra", "Prune": []}]}
    skipped, kept = options(from_mapping({**keys, "PruneLogsSkip": True})), options(from_mapping(keys))
    old = log_row(timedelta(days=30))
    cluster = AppliedTables({"logs": [old]})
    report = await prune(cluster, [], True, skipped)
    assert (report.rows_deleted, report.counts, cluster.executed) == (0, {}, [])
    report = await prune(cluster, [], True, kept)  # the same config without PruneLogsSkip does delete it
    assert report.tables == {"logs": 1} and cluster.by_table["logs"] == []
