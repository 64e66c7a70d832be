"""GDPR prune on a real ClickHouse server (Debian 18.16): expired events deleted or scrubbed by mutations, the
scrubbed values' hashes kept in params exactly as the tracker computes them (and on current ClickHouse)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.services.clickhouse import ClickHouseServer
from tests.sinks.rows import EXPIRED, event, stamp
from tracker.config import PruneField, PruneRule, from_mapping
from tracker.privacy.hashing import sha
from tracker.sinks.clickhouse.retention import sha_sql
from tracker.sinks.clickhouse.sink import ClickHouseSink

TEXTS = ["203.0.113.1", "2001:db8::1", "", "a?>?", "ünïcode ✓", "x" * 200]


@pytest.fixture
async def sink(clickhouse_server: ClickHouseServer, clickhouse_database: str) -> AsyncIterator[ClickHouseSink]:
    config = from_mapping(
        {"Notify": [{"Service": "clickhouse", "Hosts": [clickhouse_server.host], "Context": clickhouse_database}]}
    )
    opened = ClickHouseSink(config.notify[0], config)
    await opened.open()
    yield opened
    await opened.close()


async def rows(sink: ClickHouseSink) -> list[dict[str, Any]]:
    return await sink.query("SELECT ip, ua, params, cflags FROM events ORDER BY created_at, cflags, ip")


async def test_the_sql_hash_is_the_trackers_hash(sink: ClickHouseSink) -> None:
    for text in TEXTS:
        got = await sink.query(f"SELECT {sha_sql('x')} AS h FROM (SELECT ? AS x)", [text])
        assert got == [{"h": sha(text)}], text


def test_the_sql_hash_is_the_trackers_hash_on_current_clickhouse(tmp_path: Path) -> None:
    chdb_session = pytest.importorskip("chdb.session")
    db = chdb_session.Session(str(tmp_path / "chdb"))
    try:
        for text in TEXTS:
            literal = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
            got = str(db.query(f"SELECT {sha_sql('x')} FROM (SELECT {literal} AS x)", "TSVRaw")).strip()
            assert got == sha(text), text
    finally:
        db.close()


async def test_prune_scrubs_expired_ip_into_a_hash_and_deletes_with_clear_all(sink: ClickHouseSink) -> None:
    old = [event(i, created_at=stamp(EXPIRED), cflags=0) for i in range(1, 4)]
    kept = event(9, created_at=stamp(EXPIRED), cflags=4)
    fresh = event(10)
    await sink.write("events", [*old, kept, fresh])
    rule = PruneRule(ttl_seconds=86400, fields=(PruneField(id="ip", dest_param_hash="iphash"),), cflags_ignore=(4,))
    report = await sink.prune([rule], logs_only=False)
    assert report.rows_scrubbed == 3 and report.tables == {"events": 3}
    stored = await rows(sink)  # the mutation has finished: prune waits for it
    assert [r["ip"] for r in stored] == ["", "", "", "203.0.113.9", "203.0.113.10"]
    for row, original in zip(stored[:3], old, strict=True):
        assert orjson.loads(row["params"]) == {**original["params"], "iphash": sha(original["ip"])}
    assert orjson.loads(stored[3]["params"]) == kept["params"]
    again = await sink.prune([rule], logs_only=False)  # a second run changes nothing
    assert await rows(sink) == stored and again.rows_scrubbed == 0  # nothing left to scrub
    deleted = await sink.prune([PruneRule(ttl_seconds=86400, clear_all=True)], logs_only=False)
    assert deleted.rows_deleted == 4
    assert [r["ip"] for r in await rows(sink)] == ["203.0.113.10"]


async def test_clear_params_keeps_only_the_hashes(sink: ClickHouseSink) -> None:
    await sink.write(
        "events", [event(1, created_at=stamp(EXPIRED)), event(2, created_at=stamp(EXPIRED), params={}, ip="")]
    )
    rule = PruneRule(
        ttl_seconds=86400,
        clear_params=True,
        fields=(PruneField(id="ip", dest_param_hash="iphash"), PruneField(id="ua")),
    )
    report = await sink.prune([rule], logs_only=False)
    assert report.rows_scrubbed == 2
    stored = await sink.query("SELECT ip, ua, params FROM events ORDER BY length(params)")
    assert stored == [
        {"ip": "", "ua": "", "params": "{}"},
        {"ip": "", "ua": "", "params": orjson.dumps({"iphash": sha("203.0.113.1")}).decode()},
    ]


async def test_logs_only_and_unprunable_tables_touch_nothing(sink: ClickHouseSink) -> None:
    await sink.write("events", [event(1, created_at=stamp(EXPIRED))])
    clear = PruneRule(ttl_seconds=1, clear_all=True)
    assert (await sink.prune([clear], logs_only=True)).rows_deleted == 0
    assert (await sink.prune([PruneRule(table="visitors", clear_all=True)], logs_only=False)).rows_deleted == 0
    assert len(await rows(sink)) == 1
