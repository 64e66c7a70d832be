"""The Go tracker's own test scripts' events (tests/test_db_writes.sh, test_comprehensive_fields.sh) sent to a real
tracker, and the tables Go fills from them read back from a real DuckDB file and a real ClickHouse server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import TrackerProcess, prepare_tracker, snapshot_query, wait_until
from tests.routes.conftest import BROWSER_UA
from tests.services.clickhouse import ClickHouseServer
from tracker.privacy.hashing import private_hash, short_hash

ORG = "00000000-0000-0000-0000-000000000001"
OID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
VID = "14fb0860-b4bf-11e9-8971-7b80435315ac"
UID = "b1c2d3e4-f5a6-7890-abcd-ef1234567890"
CONVERSION = {  # test_db_writes.sh, "Test 1: Conversion event"
    "eid": "test-conversion",
    "ename": "conversion",
    "etyp": "conversion",
    "tid": "11111111-2222-3333-4444-555555555555",
    "url": "http://test.com/success",
    "oid": ORG,
    "provider": "website",
    "medium": "page",
    "alias": "http://test.com/success",
    "subject": "Test Conversion",
    "msg": "User completed purchase",
    "urgency": 5,
}
PREMIUM = {  # "Test 2: High value action"
    **CONVERSION,
    "eid": "test-high-value",
    "ename": "premium_signup",
    "etyp": "high_value_action",
    "tid": "22222222-3333-4444-5555-666666666666",
    "subject": "Premium Signup",
    "urgency": 8,
}
COMPREHENSIVE = {  # test_comprehensive_fields.sh, a part of its body (its "uuids" are not UUIDs: Go drops them)
    "tid": "33333333-2222-3333-4444-555555555555",
    "oid": OID,
    "vid": VID,
    "uid": UID,
    "alias": "comprehensive-test-alias",
    "mtempl": {"template": "advanced", "version": 2},
    "cats": ["category1", "category2"],
    "admins": ["admin-1111-2222-3333-4444-555555555555", VID],
    "opens": True,
    "provider_cost": 1250.75,
    "planned_impressions": 1000000,
    "ename": "full_field_test",
    "campaign": "Q1-2025-Growth",
}
IDENTITY = {  # a signed-in visitor's browser event: the identity tables and interests
    "vid": VID,
    "uid": UID,
    "oid": OID,
    "email": " Alice@Example.com",
    "cell": "+1 555 0100",
    "uname": "alice",
    "outcome": "signup",
    "audience": ["ceo"],
    "content_tags": "sports, tech",
}

Fetch = Callable[[str], list[list[str]]]


def send_go_script_events(tracker: TrackerProcess) -> None:
    with httpx.Client(base_url=tracker.base_url, headers={"user-agent": BROWSER_UA, "host": "shop.example"}) as client:
        for body in (CONVERSION, PREMIUM, COMPREHENSIVE, IDENTITY):
            assert client.post("/tr/v1/tr/", json=body).status_code == 200
        # a server-side event (IsServer in Go) writes no identity rows, whatever it carries
        server = {"vid": VID, "email": "server@example.com", "ename": "server_event", "oid": OID}
        assert client.post("/tr/v1/str/", json=server).status_code == 200
    tracker.wait_shipped()


def check_go_tables(fetch: Fetch) -> None:
    threads = sorted(fetch("SELECT tid, alias, provider, ename, oid FROM mthreads"))
    assert threads == [
        ["11111111-2222-3333-4444-555555555555", "http://test.com/success", "website", "conversion", ORG],
        ["22222222-3333-4444-5555-666666666666", "http://test.com/success", "website", "premium_signup", ORG],
        ["33333333-2222-3333-4444-555555555555", "comprehensive-test-alias", "", "full_field_test", OID],
    ]
    (full,) = fetch(
        "SELECT cats, admins, opens, provider_cost, planned_impressions, mtempl, vid, uid, campaign FROM mthreads "
        "WHERE alias = 'comprehensive-test-alias'"
    )
    assert full[:5] == [["category1", "category2"], [VID], "1", "1250.75", "1000000"]
    assert json.loads(full[5]) == {"template": "advanced", "version": 2}
    assert full[6:] == [VID, UID, "q1-2025-growth"]
    assert sorted(fetch("SELECT subject, urgency FROM mstore WHERE subject != ''")) == [
        ["Premium Signup", "8"],
        ["Test Conversion", "5"],
    ]
    assert sorted(fetch("SELECT subject, urgency, keep FROM mtriage")) == [
        ["", "8", "1"],  # Go's triage defaults for an event without them
        ["Premium Signup", "8", "1"],
        ["Test Conversion", "5", "1"],
    ]
    assert fetch("SELECT tid, total_impressions, conversions FROM impression_daily") == [
        ["11111111-2222-3333-4444-555555555555", "1", "1"]
    ]
    visit = [short_hash("shop.example"), VID]
    ehash = private_hash("", "alice@example.com")
    assert fetch("SELECT hhash, vid, uid FROM userhosts") == [[*visit, UID]]
    assert fetch("SELECT hhash, vid, ehash FROM emails") == [[*visit, ehash]]
    assert fetch("SELECT hhash, vid, chash FROM cells") == [[*visit, private_hash("", "+1 555 0100")]]
    assert fetch("SELECT hhash, vid, uhash FROM usernames") == [[*visit, private_hash("", "alice")]]
    assert fetch("SELECT outcome, total FROM outcomes") == [["signup", "1"]]
    assert fetch("SELECT hostname FROM hosts") == [["shop.example"]]
    interests = fetch("SELECT vid, oid, audience_tags, content_tags, interests FROM visitor_interests")
    assert [VID, OID, ["ceo"], ["sports", "tech"], ["ceo", "sports", "tech"]] in interests
    # the comprehensive event's utm campaign has no tags; the server event has none either
    assert len(interests) == 1


def text(value: Any) -> Any:
    """DuckDB's and ClickHouse's answers in one form: scalars as text, booleans as 0/1, lists item by item."""
    if isinstance(value, list):
        return [text(item) for item in value]
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (uuid.UUID, date, int, float, str)):
        return str(value)
    return value


def test_go_script_events_fill_the_go_tables_in_duckdb(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path / "t").start()
    try:
        send_go_script_events(tracker)
        database = tracker.workdir / "tracker.duckdb"
        check_go_tables(lambda sql: [[text(v) for v in row] for row in snapshot_query(database, sql)])
    finally:
        tracker.stop()


@pytest.fixture(params=["one server", "cluster"])
def tracker_on_clickhouse(
    request: pytest.FixtureRequest, tmp_path: Path, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> Iterator[TrackerProcess]:
    sink = clickhouse_server.notify_entry(clickhouse_database)
    if request.param == "cluster":  # .setup/services/clickhouse.sh: a cluster of this one server
        sink["Cluster"] = "tracker_one_node"
    tracker = prepare_tracker(tmp_path / "t", Notify=[sink]).start()
    try:
        yield tracker
    finally:
        tracker.stop()


def test_go_script_events_fill_the_go_tables_in_clickhouse(
    tracker_on_clickhouse: TrackerProcess, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    send_go_script_events(tracker_on_clickhouse)

    def fetch(sql: str) -> list[list[Any]]:
        answer = clickhouse_server.query(_final(sql) + " FORMAT JSONCompact", clickhouse_database)
        return [[text(v) for v in row] for row in json.loads(answer)["data"]]

    # through Distributed tables, shipped rows reach the nodes' local tables in the background
    arrived = "SELECT count() FROM (SELECT 1 FROM {} FINAL)"
    tables = ("mthreads", "mstore", "mtriage", "emails", "visitor_interests", "hosts")
    wanted = {"mthreads": 3, "mstore": 3, "mtriage": 3, "emails": 1, "visitor_interests": 1, "hosts": 1}
    wait_until(
        lambda: {t: clickhouse_server.scalar(arrived.format(t), clickhouse_database) for t in tables} == wanted,
        30,
        what="the Go tables' rows in ClickHouse",
    )
    check_go_tables(fetch)


def _final(sql: str) -> str:
    """ClickHouse reads the newest version of each key with FINAL, as Go's own test scripts do."""
    table = sql.split(" FROM ", 1)[1].split()[0]
    return sql.replace(f" FROM {table}", f" FROM {table} FINAL", 1)
