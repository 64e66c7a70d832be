"""A consumed message becomes a `logs` or `updates` row in the Go columns, or Malformed with the reason; the rows
fit the ClickHouse tables too (the DuckDB ones: test_consumer.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.services.clickhouse import ClickHouseServer
from tracker.config import from_mapping
from tracker.privacy.storage import IPPolicy
from tracker.sinks.clickhouse.sink import ClickHouseSink
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


async def test_consumed_rows_fit_the_clickhouse_tables(
    clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    """The rows the consumer spools, stored by the ClickHouse sink on Debian's 18.16 and read back."""
    config = from_mapping(
        {"Notify": [{"Service": "clickhouse", "Hosts": [clickhouse_server.host], "Context": clickhouse_database}]}
    )
    sink = ClickHouseSink(config.notify[0], config)  # type: ignore[arg-type]
    log = {"topic": "billing", "level": 4, "msg": "card declined", "ip": "203.0.113.9", "params": {"order": 17}}
    logs = [record("log", "tic.log.b", orjson.dumps({**log, "ltimenss": str(n)}), None, HASHED).row for n in range(3)]
    update = record("update", "tic.update.fx", b'{"msg": "v7", "updated": "1700000000000"}', None, HASHED).row
    await sink.open()
    try:
        await sink.write("logs", logs + logs[:1])  # a replayed row collapses on its id
        await sink.write("updates", [update])
    finally:
        await sink.close()
    query = "SELECT count(), uniqExact(id), sum(ltime), any(params), any(iphash) FROM logs FINAL FORMAT TSV"
    assert clickhouse_server.query(query, clickhouse_database).split("\t") == [
        "3",
        "3",
        "3",
        '{"order":17}',
        HASHED("203.0.113.9")[1] + "\n",
    ]
    stored = clickhouse_server.query(
        "SELECT id, msg, toUnixTimestamp(updated_at) FROM updates FORMAT TSV", clickhouse_database
    )
    assert stored.split() == ["tic.update.fx", "v7", "1700000000"]
