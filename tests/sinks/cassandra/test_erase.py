"""Erase on Cassandra (tracker/sinks/cassandra/erase.py): each listed table paged through, the person's rows
deleted by their key (a short link's hit with its events_by_link twin) and payments anonymised, against the
recording stand-in of test_retention.py (no Cassandra server here; test_integration.py needs one).
Also PruneSkipToTimestamp on Cassandra's age test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from tests.sinks.cassandra.test_retention import NOW, RecordingCluster, row
from tracker.privacy.erase import ZERO_UUID, request
from tracker.sinks.cassandra.erase import audit, erase_rows
from tracker.sinks.cassandra.retention import Expiry, is_expired


class Tables(RecordingCluster):
    """The stand-in with rows per table."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__([])
        self.by_table = tables
        self.name = "cassandra"

    def scan(self, table: str, columns: Sequence[str], page_size: int) -> Iterator[dict[str, Any]]:
        for stored in self.by_table.get(table, []):
            yield {column: stored.get(column) for column in columns}


def test_a_persons_rows_are_deleted_by_key_and_payments_anonymised() -> None:
    vid, uid, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    hit = {"eid": uuid.uuid4(), "vid": vid, "link": "go.example/a", "created_at": NOW}
    payment, kept_payment = uuid.uuid4(), uuid.uuid4()
    cluster = Tables(
        {
            "events": [hit, {"eid": uuid.uuid4(), "vid": other, "uid": uid}, {"eid": uuid.uuid4(), "vid": other}],
            "agreed": [{"vid": other, "avid": vid, "created_at": NOW}],
            "ltv": [
                {"id": vid, "id_type": "vid", "payment_id": payment},
                {"id": vid, "id_type": "orid", "payment_id": payment},  # an order id that happens to match: kept
            ],
            "payments": [{"id": payment, "vid": vid}, {"id": kept_payment, "vid": other}],
        }
    )
    counts = erase_rows(cluster, request("vid", str(vid), "cli:root"))  # type: ignore[arg-type]
    held = {table: count for table, count in counts.items() if count}  # the Go tables hold nothing of them here
    assert held == {"events": 1, "agreed": 1, "ltv": 1, "payments": 1} and counts["agreements"] == 0
    assert cluster.executed == [
        ("DELETE FROM events WHERE eid = ?", [hit["eid"]]),
        ("DELETE FROM events_by_link WHERE link = ? AND created_at = ? AND eid = ?", ["go.example/a", NOW, hit["eid"]]),
        ("DELETE FROM agreed WHERE vid = ? AND created_at = ?", [other, NOW]),
        ("DELETE FROM ltv WHERE id = ? AND id_type = ? AND payment_id = ?", [vid, "vid", payment]),
        ("UPDATE payments SET vid = ?, uid = ?, sid = ? WHERE id = ?", [uuid.UUID(ZERO_UUID)] * 3 + [payment]),
    ]
    by_user = Tables({"events": cluster.by_table["events"]})
    assert erase_rows(by_user, request("uid", str(uid), "cli:root"))["events"] == 1  # type: ignore[arg-type]
    row_ = audit(cluster, request("vid", str(vid), "cli:root"), counts)  # type: ignore[arg-type]
    assert row_ is not None and row_["params"]["counts"] == counts and str(vid) not in str(row_)


def test_rows_older_than_skip_to_are_not_expired() -> None:
    expiry = Expiry(NOW - timedelta(days=7), keep_mask=0, skip_to=NOW - timedelta(days=60))
    assert is_expired(row(timedelta(days=30)), expiry) and not is_expired(row(timedelta(days=90)), expiry)
