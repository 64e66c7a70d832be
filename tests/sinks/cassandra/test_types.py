"""Row values become what the driver binds for each CQL type; what cannot fit is refused, naming the column."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tracker.sinks.cassandra.types import BadValue, from_cql, to_cql


def test_uuids_from_text_and_empty_text_is_unset() -> None:
    eid = uuid.uuid1()
    assert to_cql(str(eid), "uuid") == eid
    assert to_cql(str(eid).upper(), "timeuuid") == eid
    assert to_cql(eid, "uuid") is eid
    assert to_cql("", "uuid") is None
    with pytest.raises(BadValue, match="column vid \\(uuid\\)"):
        to_cql("not-a-uuid", "uuid", "vid")
    with pytest.raises(BadValue, match="a UUID is text"):
        to_cql(12, "uuid", "vid")


def test_timestamps_in_every_form_the_rows_carry_become_utc() -> None:
    expected = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
    assert to_cql("2026-03-04 05:06:07.123", "timestamp") == expected  # the sinks' text form (naive = UTC)
    assert to_cql("2026-03-04T05:06:07.123Z", "timestamp") == expected
    assert to_cql("2026-03-04T07:06:07.123+02:00", "timestamp") == expected
    assert to_cql(datetime(2026, 3, 4, 5, 6, 7, 123000), "timestamp") == expected
    assert to_cql(int(expected.timestamp() * 1000), "timestamp") == expected  # CQL's milliseconds
    local = datetime(2026, 3, 4, 0, 6, 7, 123000, tzinfo=timezone(timedelta(hours=-5)))
    assert to_cql(local, "timestamp") == expected
    with pytest.raises(BadValue, match="created_at"):
        to_cql("yesterday", "timestamp", "created_at")
    with pytest.raises(BadValue):
        to_cql(True, "timestamp")


def test_maps_keep_text_and_store_other_json_values_as_their_json() -> None:
    params = {"label": "Mixed Case", "i": 3, "ok": True, "nested": {"a": [1, 2]}, "none": None}
    assert to_cql(params, "map<text, text>") == {
        "label": "Mixed Case",
        "i": "3",
        "ok": "true",
        "nested": '{"a":[1,2]}',
        "none": "null",
    }
    assert to_cql('{"a": 1}', "map<text, text>") == {"a": "1"}  # JSON text of an object
    assert to_cql("", "map<text, text>") == {}
    assert to_cql({"x": "2.5"}, "frozen<map<text, double>>") == {"x": 2.5}
    with pytest.raises(BadValue, match="params"):
        to_cql([1, 2], "map<text, text>", "params")
    with pytest.raises(BadValue):
        to_cql({"x": "abc"}, "map<text, double>")


def test_lists_and_sets() -> None:
    assert to_cql(("a", "b"), "list<text>") == ["a", "b"]
    assert to_cql('["a", 1]', "list<text>") == ["a", "1"]
    assert to_cql(["1", 2], "set<int>") == {1, 2}
    with pytest.raises(BadValue):
        to_cql({"a": 1}, "list<text>")


def test_decimals_are_exact_and_refuse_what_is_not_an_amount() -> None:
    assert to_cql("19.99", "decimal") == Decimal("19.99")
    assert to_cql(19.99, "decimal") == Decimal("19.99")  # through its text: no binary float digits
    assert to_cql(5, "decimal") == Decimal(5)
    for bad in ("lots", "NaN", "Infinity", True, [1]):
        with pytest.raises(BadValue, match="revenue"):
            to_cql(bad, "decimal", "revenue")


def test_numbers_and_booleans() -> None:
    assert to_cql("42", "bigint") == 42 and to_cql(42.0, "int") == 42 and to_cql(True, "int") == 1
    assert to_cql("1.5", "double") == 1.5 and to_cql(2, "float") == 2.0
    assert to_cql("true", "boolean") is True and to_cql(0, "boolean") is False
    with pytest.raises(BadValue, match="not a whole number"):
        to_cql(1.5, "bigint", "duration")
    with pytest.raises(BadValue):
        to_cql("maybe", "boolean")
    with pytest.raises(BadValue):
        to_cql("x", "double")


def test_text_takes_json_for_objects_and_unknown_types_pass_through() -> None:
    assert to_cql({"a": 1}, "text") == '{"a":1}'
    assert to_cql(7, "varchar") == "7"
    assert to_cql(b"\x00", "blob") == b"\x00"
    assert to_cql(None, "uuid") is None


def test_read_values_come_back_as_the_other_sinks_give_them() -> None:
    eid = uuid.uuid4()
    row = {
        "eid": eid,
        "at": datetime(2026, 3, 4, 5, 6, 7, 123456),
        "aware": datetime(2026, 3, 4, 7, 6, 7, tzinfo=timezone(timedelta(hours=2))),
        "tags": ["a"],
        "targets": {"ios": "https://x"},
        "ids": {eid},
        "n": 3,
    }
    assert {k: from_cql(v) for k, v in row.items()} == {
        "eid": str(eid),
        "at": "2026-03-04 05:06:07.123",
        "aware": "2026-03-04 05:06:07.000",
        "tags": ["a"],
        "targets": {"ios": "https://x"},
        "ids": [str(eid)],
        "n": 3,
    }
