"""Erase on every SQL store (real DuckDB files, the real ClickHouse server): a person with events (a short link's
hits among them), sessions, agreements, consent history, payments and LTV rows leaves no identifying row behind,
another visitor keeps every row, each request leaves one audit row without the erased ids, and a replayed request
(the spool delivers at least once) changes nothing more."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import orjson
import pytest

from tests.sinks.rows import event, stamp
from tests.sinks.stores import read, sql_store
from tracker.privacy.erase import AUDIT_TOPIC, ERASURES, ZERO_UUID, request
from tracker.sinks.base import PermanentSinkError, PrimaryStore, Sink

__all__ = ["sql_store"]
ID_COLUMNS = {
    "events": ("vid", "uid"),
    "agreements": ("vid", "uid", "avid"),
    "agreed": ("vid", "uid", "avid"),
    "ltv": ("id",),
    "payments": ("vid", "uid", "sid"),
    **{table: ("vid",) for table in ("usernames", "emails", "cells")},
    **{table: ("vid", "uid") for table in ("userhosts", "visitor_interests", "mstore", "mtriage")},
}
GO_TABLES = ("usernames", "emails", "cells", "userhosts", "visitor_interests", "mstore", "mtriage")


def person_rows(vid: str, uid: str, sid: str) -> dict[str, list[dict[str, Any]]]:
    """One person's rows in every table that holds people; `uid` is theirs once they signed in."""
    now, payment = stamp(timedelta(minutes=5)), str(uuid.uuid4())
    return {
        "events": [
            event(1, vid=vid, sid=sid),
            event(2, vid=vid, sid=sid, uid=uid, ename="signin"),
            event(3, vid=vid, sid=sid, ename="short_rdr", link="go.example/a"),  # a short link's hit
            event(4, vid=str(uuid.uuid4()), uid=uid, ename="other_device"),  # signed in elsewhere
        ],
        "agreements": [{"vid": vid, "uid": uid, "cflags": 1024, "created_at": now, "updated_at": now}],
        "agreed": [
            {"id": str(uuid.uuid4()), "vid": vid, "cflags": c, "created_at": now, "updated_at": now} for c in (1, 1024)
        ],
        "payments": [
            {"id": payment, "vid": vid, "uid": uid, "sid": sid, "total": "12.5", "created_at": now, "updated_at": now}
        ],
        "ltv": [
            {"payment_id": payment, "id": i, "id_type": t, "paid": "12.5", "created_at": now, "updated_at": now}
            for i, t in ((vid, "vid"), (uid, "uid"))
        ],
        **go_rows(vid, uid, sid, now),
    }


def go_rows(vid: str, uid: str, sid: str, now: str) -> dict[str, list[dict[str, Any]]]:
    """The person in the Go tables: hashes of their name, email and phone, their hosts, interests, messages."""
    seen = {"vid": vid, "sid": sid, "created_at": now}
    message = {"tid": str(uuid.uuid4()), "vid": vid, "uid": uid, "subject": "hi", "created_at": now}
    return {
        "usernames": [{"hhash": "h", "uhash": f"u-{vid}", **seen}],
        "emails": [{"hhash": "h", "ehash": f"e-{vid}", **seen}],
        "cells": [{"hhash": "h", "chash": f"c-{vid}", **seen}],
        "userhosts": [{"hhash": "h", "uid": uid, **seen}],
        "visitor_interests": [{"vid": vid, "uid": uid, "eid": str(uuid.uuid4()), "created_at": now}],
        "mstore": [{**message, "mid": str(uuid.uuid4())}],
        "mtriage": [{**message, "mid": str(uuid.uuid4())}],
    }


async def everything(store: Sink) -> dict[str, list[dict[str, Any]]]:
    orders = {"events": "eid", "agreements": "vid", "agreed": "id", "ltv": "payment_id, id", "payments": "id"}
    orders |= {"usernames": "uhash", "emails": "ehash", "cells": "chash", "userhosts": "vid"}
    orders |= {"visitor_interests": "eid", "mstore": "mid", "mtriage": "mid"}
    return {table: await read(store, table, order) for table, order in orders.items()}


async def write_all(store: Sink, rows: dict[str, list[dict[str, Any]]]) -> None:
    for table, table_rows in rows.items():
        await store.write(table, table_rows)


def holding(tables: dict[str, list[dict[str, Any]]], ids: set[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(t, r) for t, rows in tables.items() for r in rows if ids & {str(r.get(c)) for c in ID_COLUMNS[t]}]


async def test_a_person_leaves_no_identifying_row_and_another_visitor_keeps_every_row(sql_store: Sink) -> None:
    assert isinstance(sql_store, PrimaryStore)
    vid, uid, sid = (str(uuid.uuid4()) for _ in range(3))
    other_vid, other_uid = str(uuid.uuid4()), str(uuid.uuid4())
    await write_all(sql_store, person_rows(vid, uid, sid))
    await write_all(sql_store, person_rows(other_vid, other_uid, str(uuid.uuid4())))
    before = await everything(sql_store)
    others = holding(before, {other_vid, other_uid})
    by_visitor = request("vid", vid, "admin:alice")
    by_user = request("uid", uid, "cli:root")
    first = await sql_store.erase(by_visitor)
    go_tables = dict.fromkeys(GO_TABLES, 1)
    assert first.tables == {"events": 3, "agreements": 1, "agreed": 2, "ltv": 1, "payments": 1, **go_tables}
    await sql_store.write(ERASURES, [by_user])  # the shipper's way: the request as a row
    after = await everything(sql_store)
    assert holding(after, {vid, uid, sid}) == []
    assert holding(after, {other_vid, other_uid}) == others  # untouched, row for row
    (payment,) = [row for row in after["payments"] if row["total"] == "12.5" and row["vid"] == ZERO_UUID]
    assert (payment["uid"], payment["sid"]) == (ZERO_UUID, ZERO_UUID)  # the amount stays for the books
    assert await sql_store.query(f"SELECT count(*) AS n FROM sessions WHERE sid = '{sid}'") == [{"n": 0}]  # type: ignore[attr-defined]

    audits = await read(sql_store, "logs", "name DESC", "id, topic, name, msg, params")
    assert [(row["id"], row["topic"], row["name"]) for row in audits] == [
        (by_visitor["id"], AUDIT_TOPIC, "vid"),
        (by_user["id"], AUDIT_TOPIC, "uid"),
    ]
    assert audits[0]["params"]["requested_by"] == "admin:alice" and audits[0]["params"]["counts"] == first.tables
    with_uid = {table: 0 for table in GO_TABLES if "uid" in ID_COLUMNS[table]}  # a uid is not in the hash tables
    by_user_counts = {"events": 1, "agreements": 0, "agreed": 0, "ltv": 1, "payments": 0, **with_uid}
    assert audits[1]["params"]["counts"] == by_user_counts
    assert not {vid, uid, sid} & set(orjson.dumps(audits).decode().replace('"', " ").split())

    replay = await sql_store.erase(by_visitor)  # delivered again: nothing left, and still one audit row each
    assert set(replay.tables.values()) == {0}
    assert len(await read(sql_store, "logs", "id", "id")) == 2 and await everything(sql_store) == after


async def test_a_request_that_names_no_person_is_refused_for_the_dead_letter_file(sql_store: Sink) -> None:
    bad = {**request("vid", str(uuid.uuid4()), "admin:alice"), "subject": "not-a-uuid"}
    with pytest.raises(PermanentSinkError) as refused:
        await sql_store.write(ERASURES, [bad])
    assert refused.value.rows == [bad] and "not a UUID" in str(refused.value)
