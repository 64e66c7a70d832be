"""POST /tr/v1/rpi/erase against a real tracker process: bearer-authenticated like the other admin routes, queued in
the spool behind everything acknowledged before it, so a person's events, consent, payments and LTV sent just before
the erase are gone once shipped, another visitor's stay, and the audit row names who asked."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import TrackerProcess, prepare_tracker, snapshot_query
from tests.routes.conftest import add_account
from tracker.privacy.erase import AUDIT_TOPIC

ID_QUERIES = {
    "events": "SELECT count(*) FROM events WHERE vid = ?::UUID OR uid = ?::UUID",
    "agreements": "SELECT count(*) FROM agreements WHERE vid = ?::UUID OR uid = ?::UUID",
    "agreed": "SELECT count(*) FROM agreed WHERE vid = ?::UUID OR uid = ?::UUID",
    "payments": "SELECT count(*) FROM payments WHERE vid = ?::UUID OR uid = ?::UUID",
    "ltv": "SELECT count(*) FROM ltv WHERE id = ?::UUID OR id = ?::UUID",
}


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrackerProcess, str]]:
    process = prepare_tracker(tmp_path_factory.mktemp("erase"))
    token = add_account(process.config_path, "alice", "alice-password-1")["token"]
    process.start()
    try:
        yield process, token
    finally:
        process.stop()


def visit(tracker: TrackerProcess, vid: str, uid: str) -> None:
    """A person's traffic through the public routes: events, consent, a payment (payments and ltv rows)."""
    for ename in ("view", "signin"):
        answer = httpx.post(tracker.url("/tr/v1/tr/"), json={"vid": vid, "uid": uid, "ename": ename}, timeout=10)
        assert answer.status_code == 200, answer.text
    assert httpx.post(tracker.url("/tr/v1/ppi/agree"), json={"vid": vid, "cflags": 1024}, timeout=10).status_code == 200
    assert (
        httpx.post(tracker.url("/tr/v1/ltv/"), json={"vid": vid, "uid": uid, "amt": 10}, timeout=10).status_code == 200
    )


def remaining(database: Path, vid: str, uid: str) -> dict[str, int]:
    return {table: snapshot_query(database, sql, [vid, uid])[0][0] for table, sql in ID_QUERIES.items()}


def test_an_erase_queued_behind_a_persons_traffic_leaves_nothing_of_them(tracker: tuple[TrackerProcess, str]) -> None:
    process, token = tracker
    database = process.workdir / "tracker.duckdb"
    vid, uid, other_vid, other_uid = (str(uuid.uuid1()) for _ in range(4))
    visit(process, other_vid, other_uid)
    visit(process, vid, uid)  # acknowledged, and still in the spool when the erase arrives
    bearer = {"authorization": f"Bearer {token}"}
    answers = [
        httpx.post(process.url("/tr/v1/rpi/erase"), json=body, headers=bearer, timeout=10)
        for body in ({"vid": vid}, {"uid": uid})
    ]
    assert [a.status_code for a in answers] == [202, 202], answers[0].text
    assert [a.json()["kind"] for a in answers] == ["vid", "uid"] and answers[0].json()["status"] == "queued"
    process.wait_shipped()
    assert remaining(database, vid, uid) == dict.fromkeys(ID_QUERIES, 0)
    assert remaining(database, other_vid, other_uid) == {
        "events": 2,
        "agreements": 1,
        "agreed": 1,
        "payments": 1,
        "ltv": 2,
    }
    audits = snapshot_query(
        database, "SELECT id::TEXT, name, params::TEXT FROM logs WHERE topic = ? ORDER BY name DESC", [AUDIT_TOPIC]
    )
    assert [(row[0], row[1]) for row in audits] == [(answers[0].json()["id"], "vid"), (answers[1].json()["id"], "uid")]
    params = [json.loads(row[2]) for row in audits]
    assert all(p["requested_by"] == "admin:alice" for p in params) and params[0]["counts"]["events"] == 2
    assert vid not in str(audits) and uid not in str(audits)


@pytest.mark.parametrize(
    ("headers", "body", "status", "field"),
    [
        ({}, {"vid": str(uuid.uuid4())}, 401, None),
        ({"authorization": "Bearer wrong"}, {"vid": str(uuid.uuid4())}, 401, None),
        (None, {"vid": "nope"}, 400, "vid"),
        (None, {"vid": str(uuid.uuid4()), "uid": str(uuid.uuid4())}, 400, "body"),
        (None, {"id": 5}, 400, "body"),
    ],
)
def test_bad_credentials_or_ids_are_refused_in_json(
    tracker: tuple[TrackerProcess, str],
    headers: dict[str, str] | None,
    body: dict[str, object],
    status: int,
    field: str | None,
) -> None:
    process, token = tracker
    sent = {"authorization": f"Bearer {token}"} if headers is None else headers
    answer = httpx.post(process.url("/tr/v1/rpi/erase"), json=body, headers=sent, timeout=10)
    assert answer.status_code == status and answer.headers["content-type"] == "application/json"
    assert answer.json().get("field") == field and answer.json()["error"]
