"""/tr/v1/ltv/ on a real tracker process: payments and ltv rows read back from DuckDB and from the real
ClickHouse server, exact decimal sums, 400s naming the field, and the Go test scripts' bodies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import TrackerProcess, snapshot_query, start_tracker
from tests.services.clickhouse import ClickHouseServer

ORG = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
# The bodies the Go project's own scripts send (tests/test_db_writes.sh, Makefile, README), ids as they have them.
GO_BODIES: list[dict[str, Any]] = [
    {
        "vid": "14fb0860-b4bf-11e9-8971-7b80435315ac",
        "uid": "b1c2d3e4-f5a6-7890-abcd-ef1234567890",
        "oid": ORG,
        "amt": 99.99,
        "currency": "USD",
        "orid": "c3d4e5f6-a7b8-9012-abcd-ef1234567890",
    },
    {
        "vid": "d4e5f6a7-b8c9-0123-abcd-ef1234567890",
        "uid": "e5f6a7b8-c9d0-1234-abcd-ef1234567890",
        "oid": ORG,
        "payments": [
            {"amt": 50.00, "currency": "USD", "orid": "f6a7b8c9-d0e1-2345-abcd-ef1234567890"},
            {"amt": 25.00, "currency": "USD", "orid": "a7b8c9d0-e1f2-3456-abcd-ef1234567890"},
        ],
    },
    {"vid": "14fb0860-b4bf-11e9-8971-7b80435315ac", "uid": "user-123", "oid": ORG, "amt": 99.99, "orid": "order-123"},
    {
        "vid": "627f7c80-0d7c-11eb-9767-93f1d9c02a9c",
        "uid": "627f7c80-0d7c-11eb-9767-93f1d9c02a9c",
        "sid": "627f7c80-0d7c-11eb-9767-93f1d9c02a9c",
        "orid": "627f7c80-0d7c-11eb-9767-93f1d9c02a9c",
        "amt": 35,
    },
]


def ids() -> tuple[str, str, str]:
    return str(uuid.uuid4()), str(uuid.uuid1()), str(uuid.uuid4())


def post(tracker: TrackerProcess, body: bytes | dict[str, Any], path: str = "/tr/v1/ltv/") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(tracker.url(path), content=content, headers={"content-type": "application/json"}, timeout=10)


def duck(tracker: TrackerProcess, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return snapshot_query(tracker.workdir / "tracker.duckdb", sql, params)


@pytest.fixture(scope="module")
def tracker(module_tracker: TrackerProcess) -> TrackerProcess:
    """Each test writes under its own ids (or the Go bodies' own, once), so one tracker serves them all."""
    return module_tracker


def test_spec_example_writes_two_payments_and_three_ltv_rows_of_75(tracker: TrackerProcess) -> None:
    uid, vid, invid = ids()
    body = {"uid": uid, "vid": vid, "invid": invid, "payments": [{"amt": 50}, {"revenue": "25"}]}
    answer = post(tracker, body)
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["access-control-allow-origin"] == "*"
    tracker.wait_shipped()
    lines = duck(tracker, "SELECT revenue, currency, invid::TEXT FROM payments WHERE uid = ? ORDER BY revenue", [uid])
    assert lines == [(Decimal("25"), "USD", invid), (Decimal("50"), "USD", invid)]
    ltv = duck(
        tracker, "SELECT id_type, id::TEXT, paid FROM ltv WHERE id IN (?, ?, ?) ORDER BY id_type", [uid, vid, invid]
    )
    assert ltv == [("orid", invid, Decimal("75")), ("uid", uid, Decimal("75")), ("vid", vid, Decimal("75"))]
    assert duck(tracker, "SELECT paid FROM ltvu WHERE uid = ?", [uid]) == [(Decimal("75"),)]
    assert duck(tracker, "SELECT paid FROM ltvv WHERE vid = ?", [vid]) == [(Decimal("75"),)]
    assert duck(tracker, "SELECT count(*) FROM events") == [(0,)]  # no event row, as in Go
    assert "set-cookie" not in answer.headers


def test_float_amounts_sum_exactly_across_requests_and_the_url_tuple(tracker: TrackerProcess) -> None:
    uid, _, _ = ids()
    assert post(tracker, f'{{"uid":"{uid}","payments":[{{"amt":0.1}},{{"amt":0.2}}]}}'.encode()).status_code == 200
    assert post(tracker, f'{{"uid":"{uid}","revenue":1234567890.0001}}'.encode()).status_code == 200
    assert httpx.get(tracker.url(f"/tr/v1/ltv/uid/{uid}/amt/0.0009")).status_code == 200
    tracker.wait_shipped()
    assert duck(tracker, "SELECT paid FROM ltvu WHERE uid = ?", [uid]) == [(Decimal("1234567890.301"),)]
    assert duck(tracker, "SELECT sum(revenue) FROM payments WHERE uid = ?", [uid]) == [(Decimal("1234567890.301"),)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"amt":"12,50"}', "amt"),
        (b'{"revenue":"0.00001"}', "revenue"),
        (b'{"payments":[{"amt":1},{"price":true}]}', "payments[1].price"),
        (b'{"amt":1,"currency":"euro"}', "currency"),
        (b'{"payments":[{"amt":1,"currency":""}]}', "payments[0].currency"),
        (b'{"amt":1e30}', "amt"),
        (b"not json", "body"),
    ],
)
def test_bad_amount_or_currency_is_a_400_naming_the_field(tracker: TrackerProcess, body: bytes, field: str) -> None:
    answer = post(tracker, body)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json" and answer.json()["field"] == field


def test_a_refused_request_writes_nothing(tracker: TrackerProcess) -> None:
    uid, _, _ = ids()
    body = {"uid": uid, "payments": [{"amt": 5}, {"amt": "five"}]}
    assert post(tracker, body).status_code == 400
    assert post(tracker, {"uid": uid, "amt": 1}).status_code == 200  # a later good one, to know shipping ran
    tracker.wait_shipped()
    assert duck(tracker, "SELECT count(*), sum(revenue) FROM payments WHERE uid = ?", [uid]) == [(1, Decimal(1))]


def test_preflight_and_non_writing_methods(tracker: TrackerProcess) -> None:
    options = httpx.options(tracker.url("/tr/v1/ltv/"))
    assert options.status_code == 200 and options.headers["access-control-max-age"] == "1728000"
    assert httpx.delete(tracker.url("/tr/v1/ltv/")).status_code == 200


def test_go_scripts_bodies_are_accepted(tracker: TrackerProcess) -> None:
    for body in GO_BODIES:
        answer = post(tracker, body)
        assert answer.status_code == 200, answer.text
    tracker.wait_shipped()
    lines = duck(tracker, "SELECT vid::TEXT, orid::TEXT, revenue FROM payments WHERE oid = ? ORDER BY revenue", [ORG])
    assert [line[2] for line in lines] == [Decimal(25), Decimal(50), Decimal("99.99"), Decimal("99.99")]
    batch = {line[1] for line in lines if line[0] == GO_BODIES[1]["vid"]}
    assert batch == {p["orid"] for p in GO_BODIES[1]["payments"]}  # each line keeps its own order id
    ltv = duck(tracker, "SELECT id::TEXT, id_type, paid FROM ltv WHERE id::TEXT = ?", [GO_BODIES[3]["uid"]])
    assert sorted(ltv) == [(GO_BODIES[3]["uid"], "uid", Decimal(35)), (GO_BODIES[3]["vid"], "vid", Decimal(35))]
    # "user-123" is no UUID: the payment is stored with the zero uid, and no ltv row is made for it
    assert duck(tracker, "SELECT count(*) FROM ltv WHERE id_type = 'uid' AND paid = 99.99") == [(1,)]


@pytest.fixture
def tracker_on_clickhouse(
    tmp_path: Path, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> Iterator[TrackerProcess]:
    process = start_tracker(tmp_path / "t", Notify=[clickhouse_server.notify_entry(clickhouse_database)])
    try:
        yield process
    finally:
        process.kill9()


def test_clickhouse_takes_payments_with_exact_sums_and_go_columns(
    tracker_on_clickhouse: TrackerProcess, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    tracker, db = tracker_on_clickhouse, clickhouse_database
    uid, vid, invid = ids()
    body = f'{{"uid":"{uid}","vid":"{vid}","invid":"{invid}","payments":[{{"amt":0.1}},{{"revenue":"0.2"}}]}}'
    assert post(tracker, body.encode()).status_code == 200
    go_columns = {"uid": uid, "amt": 19.99, "duration": 3600, "campaign_id": "", "currency": "eur"}
    assert post(tracker, go_columns).status_code == 200
    for go_body in GO_BODIES:
        assert post(tracker, go_body).status_code == 200
    tracker.wait_shipped()

    def query(sql: str) -> list[list[Any]]:
        return json.loads(clickhouse_server.query(sql + " FORMAT JSONCompact", db))["data"]  # type: ignore[no-any-return]

    rows = query(f"SELECT toString(sum(revenue)), count() FROM payments FINAL WHERE uid = '{uid}'")
    assert [(Decimal(total), n) for total, n in rows] == [(Decimal("20.29"), "3")]  # 0.1 + 0.2 + 19.99, exact
    in_ids = f"id IN ('{uid}', '{vid}', '{invid}')"
    ltv = query(f"SELECT id_type, toString(sum(paid)) FROM ltv FINAL WHERE {in_ids} GROUP BY id_type ORDER BY id_type")
    assert [(kind, Decimal(paid)) for kind, paid in ltv] == [
        ("orid", Decimal("0.3")),
        ("uid", Decimal("20.29")),
        ("vid", Decimal("0.3")),
    ]
    assert [Decimal(p) for (p,) in query(f"SELECT toString(paid) FROM ltvu WHERE uid = '{uid}'")] == [Decimal("20.29")]
    go = query(f"SELECT duration, campaign_id, currency FROM payments FINAL WHERE uid = '{uid}' AND duration != 0")
    assert go == [["3600", "", "EUR"]]
    types = dict(query(f"SELECT name, type FROM system.columns WHERE database = '{db}' AND table = 'payments'"))
    assert types["duration"] == "Int64" and types["campaign_id"] == "String"
    assert clickhouse_server.scalar(f"SELECT count() FROM payments FINAL WHERE oid = '{ORG}'", db) == 4
