"""A consumed message becomes a `logs` or `updates` row in the Go columns, or Malformed with the reason."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tracker.privacy.storage import IPPolicy
from tracker.sinks.nats.messages import NIL, Malformed, record

HASHED = IPPolicy("hash").apply


def test_a_log_message_takes_the_go_columns_and_hashes_the_ip() -> None:
    body = {
        "id": "fallback-topic",
        "name": "billing",
        "host": "10.0.0.7",
        "hostname": "api-1",
        "level": 3,
        "msg": "card declined",
        "ltimenss": "1700000000123456789",
        "ldate": "2026-03-04",
        "oid": "8f14e45f-ceea-467f-a0e6-000000000001",
        "owner": "not-a-uuid",
        "ip": "203.0.113.9",
        "params": '{"order": 17}',
    }
    written = record("log", "tic.log.billing", orjson.dumps(body), None, HASHED)
    row = written.row
    assert written.table == "logs"
    assert uuid.UUID(row["id"]).version == 1
    assert row["topic"] == "fallback-topic"  # no topic: Go takes the id
    assert (row["name"], row["host"], row["hostname"], row["msg"]) == ("billing", "10.0.0.7", "api-1", "card declined")
    assert (row["level"], row["ltime"], row["ldate"]) == (3, 1700000000123456789, "2026-03-04")
    assert row["oid"] == body["oid"] and row["owner"] == NIL
    assert row["ip"] == "" and row["iphash"] == HASHED("203.0.113.9")[1] != ""
    assert row["params"] == {"order": 17}
    created = datetime.strptime(row["created_at"], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=1)


def test_a_message_id_header_keeps_one_row_id_however_often_it_arrives() -> None:
    data = orjson.dumps({"msg": "once"})
    first = record("log", "a.log", data, {"Nats-Msg-Id": "m-1"}, HASHED).row
    again = record("log", "a.log", data, {"Nats-Msg-Id": "m-1"}, HASHED).row
    assert first["id"] == again["id"] and first["topic"] == "a.log"


def test_an_update_takes_its_id_or_the_subject_and_updated_in_milliseconds() -> None:
    moment = datetime.now(UTC) - timedelta(days=3)
    millis = int(moment.timestamp() * 1000)
    written = record("update", "tic.update.prices", orjson.dumps({"msg": "v2", "updated": str(millis)}), None, HASHED)
    assert written.table == "updates"
    assert written.row["id"] == "tic.update.prices" and written.row["msg"] == "v2"
    assert written.row["updated_at"] == moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@pytest.mark.parametrize(
    ("alias", "data", "reason"),
    [
        ("log", b"{not json", "not JSON"),
        ("log", b"[1, 2]", "not a JSON object but list"),
        ("log", b'{"level": "loud"}', 'level: expected a number, got "loud"'),
        ("log", b'{"ltimenss": "yesterday"}', "ltimenss: expected an integer"),
        ("log", b'{"params": "a=b"}', "params: text that is not JSON"),
        ("log", b'{"params": [1]}', "params: expected an object, got list"),
        ("log", b'{"msg": {"nested": true}}', "msg: expected text, got dict"),
        ("log", b'{"ldate": "2026-13-40"}', "ldate: '2026-13-40' is not a date"),
        ("update", b'{"updated": "soon"}', "updated: expected an integer"),
    ],
)
def test_a_malformed_message_says_why(alias: str, data: bytes, reason: str) -> None:
    with pytest.raises(Malformed) as caught:
        record(alias, "a.b", data, None, HASHED)
    assert reason in str(caught.value)
