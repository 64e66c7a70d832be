"""Prune on Cassandra (SPEC.md §7) through the shared retention loop: which rows have expired (the earlier of
created_at and the eid's v1 time), which stay (CFlagsIgnore, already stamped), and the statements each gets.
The cluster's side is a recording stand-in for the sink's three blocking calls (page, prepare, execute); the
same loop against a real cluster is in test_integration.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.sinks.cassandra.offline import SCHEMA
from tracker.config import from_mapping
from tracker.config.sinks import PruneRule
from tracker.privacy.hashing import sha
from tracker.sinks.cassandra.retention import CassandraRetention, Expiry, created, is_expired, scrubbed_params
from tracker.sinks.retention import run_retention

NOW = datetime.now(UTC).replace(tzinfo=None)


def rule(**keys: Any) -> PruneRule:
    config = from_mapping({"Notify": [{"Service": "cassandra", "Prune": [{"Table": "events", **keys}]}]})
    return config.notify[0].prune[0]


def v1_at(moment: datetime) -> uuid.UUID:
    """A v1 UUID whose time is `moment` (UTC)."""
    ticks = int((moment - datetime(1582, 10, 15)).total_seconds() * 10_000_000)
    return uuid.UUID(fields=(ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, (ticks >> 48) | 0x1000, 0x80, 0, 1), version=1)


def row(age: timedelta, eid_age: timedelta | None = None, **values: Any) -> dict[str, Any]:
    eid = v1_at(NOW - eid_age) if eid_age is not None else uuid.uuid4()
    return {"eid": eid, "created_at": NOW - age, "cflags": 0, "link": None, "updated": None, "params": None, **values}


def test_age_counts_from_the_earlier_of_created_at_and_the_eids_time() -> None:
    old_id = row(timedelta(minutes=1), eid_age=timedelta(days=10))
    assert abs(created(old_id) - (NOW - timedelta(days=10))) < timedelta(milliseconds=1)  # type: ignore[operator]
    assert created(row(timedelta(days=3))) == NOW - timedelta(days=3)  # a v4 eid has no time
    expiry = Expiry(NOW - timedelta(days=7), keep_mask=0)
    assert is_expired(old_id, expiry) and not is_expired(row(timedelta(days=1)), expiry)
    assert not is_expired({"eid": uuid.uuid4()}, expiry)  # no time at all: never guessed old


def test_rows_whose_cflags_share_a_bit_with_cflags_ignore_stay() -> None:
    expiry = Expiry(NOW - timedelta(days=7), keep_mask=1024 | 4096)
    assert not is_expired(row(timedelta(days=30), cflags=4096 | 1), expiry)
    assert is_expired(row(timedelta(days=30), cflags=2), expiry)


def test_scrubbed_params_keep_the_hashes_of_emptied_fields() -> None:
    fields = [{"Id": "ip", "DestParamHash": "iphash"}, {"Id": "vid"}]
    old = row(timedelta(days=30), ip="203.0.113.9", params={"campaign": "x", "old": "1"})
    assert scrubbed_params(old, rule(Fields=fields), ["ip", "vid"]) == {
        "campaign": "x",
        "old": "1",
        "iphash": sha("203.0.113.9"),
    }
    cleared = scrubbed_params(old, rule(Fields=fields, ClearParams=True), ["ip", "vid"])
    assert cleared == {"iphash": sha("203.0.113.9")}
    assert scrubbed_params(row(timedelta(days=30), ip=None), rule(Fields=fields), ["ip"]) is None  # nothing to hash


class RecordingCluster:
    """The sink's blocking calls, answered from rows in memory; every executed statement is recorded."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.tables = SCHEMA
        self.rows = rows
        self.executed: list[tuple[str, list[Any]]] = []
        self.page_sizes: list[int] = []

    def scan(self, table: str, columns: Sequence[str], page_size: int) -> Iterator[dict[str, Any]]:
        self.page_sizes.append(page_size)
        for stored in self.rows:
            yield {column: stored.get(column) for column in columns}

    def prepare_blocking(self, cql: str) -> str:
        return cql

    def execute_blocking(self, statement: str, values: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        self.executed.append((statement, list(values or ())))
        return []


async def test_clear_all_deletes_expired_rows_and_their_link_twins() -> None:
    expired_hit = row(timedelta(days=30), link="go.example/a")
    kept = row(timedelta(days=30), cflags=1024)
    cluster = RecordingCluster([expired_hit, row(timedelta(days=1)), kept])
    clear = rule(TTL=7 * 86400, ClearAll=True, CFlagsIgnore=[1024], PageSize=200)
    report = await run_retention("cassandra", CassandraRetention(cluster), [clear], logs_only=False)
    assert (report.rows_deleted, report.tables) == (1, {"events": 1})
    assert cluster.executed == [
        ("DELETE FROM events WHERE eid = ?", [expired_hit["eid"]]),
        (
            "DELETE FROM events_by_link WHERE link = ? AND created_at = ? AND eid = ?",
            ["go.example/a", expired_hit["created_at"], expired_hit["eid"]],
        ),
    ]
    assert cluster.page_sizes == [200]


async def test_scrub_nulls_the_fields_keeps_their_hashes_and_stamps_the_row_once() -> None:
    expired_hit = row(timedelta(days=30), ip="203.0.113.9", vid=uuid.uuid4(), link="go.example/a", params={"a": "1"})
    already = row(timedelta(days=30), ip="203.0.113.8", updated=NOW - timedelta(days=1))
    cluster = RecordingCluster([expired_hit, already, row(timedelta(days=1), ip="203.0.113.7")])
    scrub = rule(TTL=7 * 86400, Fields=[{"Id": "ip", "DestParamHash": "iphash"}, {"Id": "vid"}, {"Id": "eid"}])
    report = await run_retention("cassandra", CassandraRetention(cluster), [scrub], logs_only=False)
    assert (report.rows_scrubbed, report.rows_deleted) == (1, 0)
    (update, values), (link_update, link_values) = cluster.executed
    assert update == "UPDATE events SET ip = null, vid = null, params = ?, updated = ? WHERE eid = ?"  # eid: the key
    assert values[0] == {"a": "1", "iphash": sha("203.0.113.9")}
    assert isinstance(values[1], datetime) and values[2] == expired_hit["eid"]
    assert link_update == "UPDATE events_by_link SET vid = null WHERE link = ? AND created_at = ? AND eid = ?"
    assert link_values == ["go.example/a", expired_hit["created_at"], expired_hit["eid"]]


async def test_a_rule_that_changes_nothing_is_skipped_and_logs_only_prunes_no_events() -> None:
    cluster = RecordingCluster([row(timedelta(days=30))])
    report = await run_retention("cassandra", CassandraRetention(cluster), [rule(Fields=[{"Id": "nope"}])], False)
    assert report.rows_scrubbed == 0 and cluster.executed == []
    report = await run_retention("cassandra", CassandraRetention(cluster), [rule(ClearAll=True)], logs_only=True)
    assert report.rows_deleted == 0 and cluster.executed == []
