"""`tracker --prune` on every SQL store (real DuckDB files, the real ClickHouse server): expired rows scrubbed or
deleted page by page, newer and consented rows untouched, PruneSkipToTimestamp and PruneLimit honoured, logs past
PruneLogsTTL deleted (never the erase audit), --logs-only changing only logs, and a run stopped between pages
finished by the next one."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.sinks.rows import EXPIRED, event, stamp
from tests.sinks.stores import read, sql_store
from tracker.config import PruneField, PruneRule
from tracker.privacy.erase import AUDIT_TOPIC
from tracker.privacy.hashing import sha
from tracker.sinks.base import PruneOptions, Sink, TableCounts

__all__ = ["sql_store"]
DAY = 86400
SCRUB = PruneRule(
    ttl_seconds=DAY,
    page_size=2,
    fields=(PruneField(id="ip", dest_param_hash="iphash"), PruneField(id="ua")),
    cflags_ignore=(4,),
)
EVENT_COLUMNS = "eid, ip, ua, params, cflags"


class Stop(Exception):
    """Raised from the progress callback: the run stops there, as Ctrl-C between pages would stop it."""


async def events(store: Sink) -> dict[str, dict[str, Any]]:
    return {row["eid"]: row for row in await read(store, "events", "eid", EVENT_COLUMNS)}


def scrubbed(row: dict[str, Any]) -> dict[str, Any]:
    """An expired row as SCRUB leaves it."""
    return {**row, "ip": "", "ua": "", "params": {**row["params"], "iphash": sha(row["ip"])}}


async def test_expired_rows_are_scrubbed_in_pages_and_newer_or_consented_rows_stay(sql_store: Sink) -> None:
    old = [event(i, created_at=stamp(EXPIRED - timedelta(minutes=i))) for i in range(1, 6)]
    consented = event(9, created_at=stamp(EXPIRED), cflags=4 | 1)
    fresh = event(10)
    await sql_store.write("events", [*old, consented, fresh])
    before = await events(sql_store)
    pages: list[int] = []
    options = PruneOptions(progress=lambda table, done, total: pages.append(done))
    report = await sql_store.prune([SCRUB], logs_only=False, options=options)
    assert pages == [2, 4, 5]  # three pages of two, oldest first
    assert report.counts["events"] == TableCounts(scanned=6, scrubbed=5, kept=1)
    after = await events(sql_store)
    expired = {row["eid"] for row in old}
    assert after == {eid: scrubbed(row) if eid in expired else row for eid, row in before.items()}
    assert report.newest == max(int(_epoch(r["created_at"])) for r in old)
    again = await sql_store.prune([SCRUB], logs_only=False)
    assert again.rows_scrubbed == 0 and await events(sql_store) == after  # a re-run changes nothing
    clear = PruneRule(ttl_seconds=DAY, page_size=4, clear_all=True, cflags_ignore=(4,))
    deleted = await sql_store.prune([clear], logs_only=False)
    assert deleted.counts["events"] == TableCounts(scanned=6, deleted=5, kept=1)
    assert sorted(r["ip"] for r in (await events(sql_store)).values()) == ["203.0.113.10", "203.0.113.9"]


async def test_rows_older_than_prune_skip_to_timestamp_are_left_as_they_are(sql_store: Sink) -> None:
    ancient = [event(i, created_at=stamp(EXPIRED)) for i in range(1, 3)]  # 400 days
    older = [event(i, created_at=stamp(timedelta(days=200, minutes=i))) for i in range(3, 6)]
    await sql_store.write("events", [*ancient, *older])
    skip_to = int(time.time()) - 300 * DAY
    report = await sql_store.prune([SCRUB], logs_only=False, options=PruneOptions(skip_to=skip_to))
    assert report.counts["events"] == TableCounts(scanned=5, scrubbed=3, skipped=2)
    stored = await events(sql_store)
    assert [stored[row["eid"]]["ip"] for row in ancient] == [row["ip"] for row in ancient]
    assert all(stored[row["eid"]]["ip"] == "" for row in older)
    assert report.newest == int(_epoch(older[0]["created_at"]))  # the newest of them: 200 days and 1 minute


async def test_prune_limit_stops_the_run_and_the_next_runs_go_on(sql_store: Sink) -> None:
    await sql_store.write("events", [event(i, created_at=stamp(EXPIRED + timedelta(minutes=i))) for i in range(7)])
    done = []
    for _ in range(3):
        report = await sql_store.prune([SCRUB], logs_only=False, options=PruneOptions(limit=3))
        done.append((report.rows_scrubbed, report.limited))
    assert done == [(3, True), (3, True), (1, False)]
    assert all(row["ip"] == "" for row in (await events(sql_store)).values())


async def test_a_run_stopped_between_pages_is_finished_by_the_next_run(sql_store: Sink) -> None:
    rows = [event(i, created_at=stamp(EXPIRED + timedelta(minutes=i))) for i in range(7)]
    await sql_store.write("events", rows)
    before = await events(sql_store)

    def stop_after_first_page(table: str, done: int, total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        await sql_store.prune([SCRUB], logs_only=False, options=PruneOptions(progress=stop_after_first_page))
    halfway = await events(sql_store)
    assert sum(1 for row in halfway.values() if row["ip"] == "") == 2  # the oldest page, whole
    report = await sql_store.prune([SCRUB], logs_only=False)
    assert report.rows_scrubbed == 5
    assert await events(sql_store) == {eid: scrubbed(row) for eid, row in before.items()}


async def test_logs_past_their_ttl_go_and_logs_only_changes_nothing_else(sql_store: Sink) -> None:
    await sql_store.write("events", [event(i, created_at=stamp(EXPIRED)) for i in range(3)])
    old, fresh = stamp(EXPIRED), stamp(timedelta(minutes=5))
    logs = [
        log_row(old, "old"),
        log_row(old, "older"),
        log_row(fresh, "fresh"),
        log_row(old, "audit", topic=AUDIT_TOPIC),  # an erase's audit row outlives the logs' TTL
    ]
    await sql_store.write("logs", logs)
    before = await events(sql_store)
    options = PruneOptions(logs_ttl_seconds=DAY, logs_page_size=1)
    report = await sql_store.prune([SCRUB, PruneRule(ttl_seconds=DAY, clear_all=True)], True, options)
    assert await events(sql_store) == before
    assert report.counts == {"logs": TableCounts(scanned=2, deleted=2)} and report.newest == 0
    assert [row["msg"] for row in await read(sql_store, "logs", "msg", "msg")] == ["audit", "fresh"]
    skipped = await sql_store.prune([SCRUB], logs_only=True)  # PruneLogsSkip: no logs TTL
    assert skipped.counts == {} and await events(sql_store) == before


def log_row(created_at: str, msg: str, topic: str = "app") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "ldate": created_at[:10], "created_at": created_at, "topic": topic, "msg": msg}


def _epoch(text: str) -> float:
    from datetime import UTC, datetime

    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
