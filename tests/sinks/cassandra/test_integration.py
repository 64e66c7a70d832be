"""Against a real Cassandra or ScyllaDB: set CASSANDRA_HOSTS (e.g. "127.0.0.1:9042,10.0.0.2") to run these.
No server can be installed on the CI machines (SERVICES.md), so there they are skipped with that reason; every
part that needs no server is tested in the other files of this folder. Each test works in a keyspace of its own,
dropped afterwards."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import start_tracker
from tests.sinks.rows import EXPIRED, event, stamp
from tests.sinks.test_primary_store import BOT, link, visit
from tracker.config import from_mapping
from tracker.privacy.hashing import sha
from tracker.redirects.accounts import Account, token_digest
from tracker.redirects.model import Redirect
from tracker.sinks.base import PermanentSinkError
from tracker.sinks.cassandra.sink import CassandraSink
from tracker.sinks.registry import build_sinks

HOSTS = [host.strip() for host in os.environ.get("CASSANDRA_HOSTS", "").split(",") if host.strip()]
pytestmark = pytest.mark.skipif(
    not HOSTS, reason="CASSANDRA_HOSTS is not set: no Cassandra/ScyllaDB server here (SERVICES.md)"
)


def entry(keyspace: str, **keys: Any) -> dict[str, Any]:
    return {"Service": "cassandra", "Hosts": HOSTS, "Context": keyspace, "Consistency": "ONE", **keys}


@pytest.fixture
async def sink() -> AsyncIterator[CassandraSink]:
    keyspace = f"tracker_test_{uuid.uuid4().hex[:12]}"
    (made,) = build_sinks(from_mapping({"Notify": [entry(keyspace)]}))
    assert isinstance(made, CassandraSink)
    await made.open()
    try:
        yield made
    finally:
        await made.query(f"DROP KEYSPACE IF EXISTS {keyspace}")
        await made.close()


async def count(sink: CassandraSink, table: str) -> int:
    return len(await sink.query(f"SELECT * FROM {table}"))


async def test_schema_is_created_and_a_replayed_batch_stores_each_event_once(sink: CassandraSink) -> None:
    assert {"events", "events_by_link", "redirects", "accounts", "payments", "ltv", "agreements"} <= set(sink.tables)
    rows = [event(i) for i in range(120)]
    await sink.write("events", rows)
    await sink.write("events", rows[:60])  # the spool replays after a crash
    assert await count(sink, "events") == 120
    (stored,) = await sink.query("SELECT * FROM events WHERE eid = ?", [uuid.UUID(rows[7]["eid"])])
    assert stored["vid"] == rows[7]["vid"] and stored["params"] == {"i": "7", "label": "Mixed Case"}
    assert stored["created_at"] == rows[7]["created_at"] and stored["country"] is None  # unset, not written


async def test_bad_rows_are_dead_lettered_and_the_good_ones_stored(sink: CassandraSink) -> None:
    good, bad = event(1), event(2, vid="not-a-uuid")
    with pytest.raises(PermanentSinkError) as raised:
        await sink.write("events", [good, bad])
    assert raised.value.rows == [bad] and raised.value.others_stored
    assert await count(sink, "events") == 1


async def test_links_accounts_and_link_stats_answer_the_reading_contract(sink: CassandraSink) -> None:
    await sink.write("redirects", [link("go.example/a", "https://a.example/1"), link("go.example/b", "https://b")])
    newer = {**link("go.example/a", "https://a.example/2"), "updated_at": stamp(timedelta(seconds=-5))}
    await sink.write("redirects", [newer])
    await sink.write("redirects", [link("go.example/a", "https://a.example/old")])  # an older replay loses
    now = stamp(timedelta())
    await sink.write("accounts", [Account("alice", "scrypt$x", (token_digest("t"),), now, now).row()])
    links = {row["urlfrom"]: Redirect.from_row(row) for row in await sink.load_links()}
    assert sorted(links) == ["go.example/a", "go.example/b"] and links["go.example/a"].urlto == "https://a.example/2"
    (account,) = await sink.load_accounts()
    assert Account.from_row(account).tokens == (token_digest("t"),)
    me = str(uuid.uuid4())
    await sink.write(
        "events",
        [
            visit("go.example/a", vid=me, referer="https://news.example/", country="DE"),
            visit("go.example/a", vid=me, referer="https://news.example/", country="DE"),
            visit("go.example/a", referer="https://mail.example/", country="FR"),
            visit("go.example/a", ua=BOT, country="US"),
            visit("go.example/a", age=timedelta(days=40), country="DE"),
        ],
    )
    stats = await sink.link_stats("go.example/a", days=30)
    assert (stats.visits, stats.uniques, stats.bots) == (4, 3, 1)
    assert sum(day["visits"] for day in stats.by_day) == 3
    assert stats.countries == [{"country": "DE", "visits": 3}, {"country": "FR", "visits": 1}]
    assert await sink.visit_count("go.example/a") == 5 and await sink.visit_count("go.example/none") == 0


async def test_prune_deletes_and_scrubs_expired_events(sink: CassandraSink) -> None:
    old = event(1, created_at=stamp(EXPIRED), ename="short_rdr", link="go.example/a")
    kept = event(2, created_at=stamp(EXPIRED), cflags=1024)
    fresh = event(3)
    await sink.write("events", [old, kept, fresh])
    rules = (
        from_mapping(
            {
                "Notify": [
                    entry(
                        sink.keyspace,
                        Prune=[
                            {"TTL": 86400, "CFlagsIgnore": [1024], "Fields": [{"Id": "ip", "DestParamHash": "iphash"}]}
                        ],
                    )
                ]
            }
        )
        .notify[0]
        .prune
    )
    report = await sink.prune(rules, logs_only=False)
    assert report.rows_scrubbed == 1
    (scrubbed,) = await sink.query("SELECT * FROM events WHERE eid = ?", [uuid.UUID(old["eid"])])
    assert scrubbed["ip"] is None and scrubbed["params"]["iphash"] == sha(old["ip"]) and scrubbed["updated"]
    assert (await sink.prune(rules, logs_only=False)).rows_scrubbed == 0  # stamped: not scrubbed again
    clear = [type(rules[0])(ttl_seconds=86400, clear_all=True, cflags_ignore=(1024,))]
    assert (await sink.prune(clear, logs_only=False)).rows_deleted == 1
    assert await count(sink, "events") == 2 and await sink.visit_count("go.example/a") == 0


def test_a_tracker_process_ships_its_events_to_cassandra(tmp_path: Path) -> None:
    keyspace = f"tracker_test_{uuid.uuid4().hex[:12]}"
    tracker = start_tracker(tmp_path / "t", Notify=[entry(keyspace, BatchFlushInterval=100)])
    try:
        sent = [{"ename": "cassandra_e2e", "eid": str(uuid.uuid4())} for _ in range(50)]
        assert httpx.post(tracker.url("/tr/v1/tr/"), json=sent).status_code == 200
        tracker.wait_shipped()
    finally:
        tracker.stop()
    (reader,) = build_sinks(from_mapping({"Notify": [entry(keyspace, Schema="manual")]}))
    assert isinstance(reader, CassandraSink)

    async def stored() -> set[str]:
        await reader.open()
        try:
            return {row["eid"] for row in await reader.query("SELECT eid FROM events")}
        finally:
            await reader.query(f"DROP KEYSPACE IF EXISTS {keyspace}")
            await reader.close()

    assert asyncio.run(stored()) == {row["eid"] for row in sent}
