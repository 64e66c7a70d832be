"""Rows bound into the driver's real statements (prepared offline, as a cluster returns them): sparse rows are
UNSET, bad values are refused row by row, and a partition's rows become one unlogged batch routed by its key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cassandra.cqltypes import UUIDType
from cassandra.query import UNSET_VALUE, BatchStatement, BatchType, BoundStatement

from tests.sinks.cassandra.offline import SCHEMA, prepared_insert
from tests.sinks.rows import event, stamp
from tracker.sinks.cassandra.batching import by_partition
from tracker.sinks.cassandra.binding import bind_rows, statement_for

EVENTS = SCHEMA["events"]


def column_value(statement: BoundStatement, column: str) -> object:
    names = [c.name for c in statement.prepared_statement.column_metadata]
    return statement.values[names.index(column)]


def test_an_event_binds_its_columns_and_leaves_the_others_unset() -> None:
    row = event(1, revenue_unknown_column="x")
    (bound,), refused = bind_rows(EVENTS, prepared_insert(EVENTS), [row])
    assert refused == []
    statement = bound.statement
    assert column_value(statement, "eid") == UUIDType.serialize(uuid.UUID(row["eid"]), 4)
    assert column_value(statement, "country") is UNSET_VALUE  # not in the row: no tombstone, no overwrite
    assert column_value(statement, "params") not in (None, UNSET_VALUE)
    assert statement.routing_key == uuid.UUID(row["eid"]).bytes  # token-aware routing goes by eid
    assert statement.is_idempotent
    assert bound.row is row


def test_a_null_is_unset_in_events_but_clears_the_column_in_state_tables() -> None:
    (bound,), _ = bind_rows(EVENTS, prepared_insert(EVENTS), [event(1, city=None)])
    assert column_value(bound.statement, "city") is UNSET_VALUE
    link = {
        "urlfrom": "x.test/a",
        "urlto": "https://example.com",
        "valid_until": None,
        "updated_at": stamp(timedelta()),
    }
    (bound,), _ = bind_rows(SCHEMA["redirects"], prepared_insert("redirects"), [link])
    assert column_value(bound.statement, "valid_until") is None


def test_state_rows_are_written_at_their_updated_at_so_an_older_replay_loses() -> None:
    updated = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    row = {"uid": "alice", "pwd": "h", "tokens": [], "updated_at": "2026-01-02 03:04:05.678"}
    (bound,), _ = bind_rows(SCHEMA["accounts"], prepared_insert("accounts"), [row])
    write_time = bound.statement.values[-1]
    assert int.from_bytes(write_time, "big") == int(updated.timestamp() * 1_000_000)


def test_rows_with_bad_values_or_no_key_are_refused_and_the_others_bound() -> None:
    good = event(1)
    bad_uuid = event(2, vid="nope")
    bad_number = event(3, duration="long")
    no_key = {k: v for k, v in event(4).items() if k != "eid"}
    bound, refused = bind_rows(EVENTS, prepared_insert(EVENTS), [good, bad_uuid, bad_number, no_key])
    assert [b.row for b in bound] == [good]
    assert [row for _, row in refused] == [bad_uuid, bad_number, no_key]
    reasons = [why for why, _ in refused]
    assert "column vid (uuid)" in reasons[0] and "column duration (bigint)" in reasons[1]
    assert "key column eid of events is missing" in reasons[2]


def test_the_drivers_own_serialisation_errors_refuse_the_row() -> None:
    # An int beyond bigint passes our mapping (an int is an int) and is refused by the driver's serialiser.
    bound, refused = bind_rows(EVENTS, prepared_insert(EVENTS), [event(1, cflags=2**70)])
    assert bound == [] and len(refused) == 1 and "events" in refused[0][0]


def test_decimals_and_lists_bind_in_commerce_and_admin_tables() -> None:
    payment = {"id": str(uuid.uuid4()), "revenue": "19.99", "qty": 2, "created_at": stamp(timedelta())}
    (bound,), refused = bind_rows(SCHEMA["payments"], prepared_insert("payments"), [payment])
    assert refused == [] and column_value(bound.statement, "revenue") not in (None, UNSET_VALUE)
    assert Decimal("19.99") == Decimal(payment["revenue"])


def test_payments_take_the_go_column_types_an_integer_duration_and_any_campaign_id() -> None:
    payment = {"id": str(uuid.uuid4()), "duration": 3600, "campaign_id": "spring", "created_at": stamp(timedelta())}
    (bound,), refused = bind_rows(SCHEMA["payments"], prepared_insert("payments"), [payment])
    assert refused == []
    assert column_value(bound.statement, "campaign_id") == b"spring"
    assert column_value(bound.statement, "duration") == (3600).to_bytes(8, "big")


def test_one_persons_ltv_lines_make_one_unlogged_batch_routed_to_their_partition() -> None:
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    rows = [
        {"id": person, "id_type": "vid", "payment_id": str(uuid.uuid4()), "paid": "1.50"}
        for person in (alice, bob, alice, alice)
    ]
    bound, _ = bind_rows(SCHEMA["ltv"], prepared_insert("ltv"), rows)
    groups = by_partition(bound, lambda b: b.partition, lambda b: b.size, max_rows=50, max_bytes=32768)
    assert [len(g.items) for g in groups] == [3, 1]
    batch = statement_for(groups[0])
    assert isinstance(batch, BatchStatement) and batch.batch_type == BatchType.UNLOGGED
    assert len(batch) == 3 and batch.is_idempotent
    assert batch.routing_key == groups[0].items[0].statement.routing_key
    assert groups[0].items[0].statement.routing_key != groups[1].items[0].statement.routing_key
    single = statement_for(groups[1])
    assert isinstance(single, BoundStatement)  # a partition of one row goes without a batch


def test_events_never_share_a_batch_as_each_is_its_own_partition() -> None:
    bound, _ = bind_rows(EVENTS, prepared_insert(EVENTS), [event(i) for i in range(5)])
    groups = by_partition(bound, lambda b: b.partition, lambda b: b.size, max_rows=50, max_bytes=32768)
    assert [len(g.items) for g in groups] == [1] * 5
    assert all(b.size > 0 for b in bound)
