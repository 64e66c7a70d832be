"""The DuckDB sink on real database files."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.sinks.rows import EXPIRED, event, stamp
from tracker.config import PruneField, PruneRule, from_mapping
from tracker.sinks.base import PermanentSinkError
from tracker.sinks.duckdb.sink import DuckDBSink


def make_sink(path: Path, **settings: object) -> DuckDBSink:
    config = from_mapping({"Notify": [{"Service": "duckdb", "Path": str(path), **settings}]})
    return DuckDBSink(config.notify[0], config)


async def test_schema_creation_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        sink = make_sink(tmp_path / "t.duckdb")
        await sink.open()
        await sink.close()
    with duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True) as db:
        tables = {r[0] for r in db.execute("show tables").fetchall()}
    assert {"events", "visitors", "sessions", "redirects", "accounts", "payments", "ltv", "agreements"} <= tables


async def test_ten_thousand_rows_read_back_by_another_connection(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    rows = [event(i) for i in range(10_000)]
    for start in range(0, 10_000, 1000):
        await sink.write("events", rows[start : start + 1000])
    await sink.write("events", rows[:1000])  # a replayed batch changes nothing
    await sink.close()
    with duckdb.connect(str(tmp_path / "t.duckdb"), read_only=True) as db:
        assert db.execute("select count(*) from events").fetchone() == (10_000,)
        eid, created, params, source, lat = db.execute(
            "select eid::varchar, created_at, params, source, lat from events where eid = ?", [rows[42]["eid"]]
        ).fetchone()
    assert eid == rows[42]["eid"] and str(created) == rows[42]["created_at"] + "000"
    assert params == '{"i":42,"label":"Mixed Case"}' and source == "" and lat == 1.5


async def test_unknown_table_is_a_permanent_error(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("nope", [{"a": 1}])
    assert len(caught.value.rows) == 1
    await sink.close()


async def test_a_bad_row_is_named_and_the_good_rows_are_stored(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    rows = [event(i) for i in range(9)] + [event(9, vid="not-a-uuid")]
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("events", rows)
    assert caught.value.rows == [rows[9]] and "UUID" in str(caught.value)
    assert (await sink.query("select count(*) as n from events"))[0]["n"] == 9
    await sink.close()


async def test_unknown_keys_are_dropped_not_fatal(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    await sink.write("events", [event(1, not_a_column="x")])
    assert (await sink.query("select count(*) as n from events"))[0]["n"] == 1
    await sink.close()


async def test_state_tables_upsert(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    await sink.write("redirects", [{"urlfrom": "a.com/x", "urlto": "https://b.com/1"}])
    await sink.write(
        "redirects",
        [{"urlfrom": "a.com/x", "urlto": "https://b.com/2"}, {"urlfrom": "a.com/x", "urlto": "https://b.com/3"}],
    )
    assert await sink.query("select urlto from redirects") == [{"urlto": "https://b.com/3"}]
    await sink.close()


async def test_a_keyed_table_keeps_its_first_rows_and_goes_on_storing_new_keys(tmp_path: Path) -> None:
    """hosts meets its stored keys at nearly every batch: after the first such batch the sink writes it with one
    INSERT OR IGNORE, which must store new keys and leave the stored ones as they were."""
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()

    def host(name: str, day: int) -> dict[str, object]:
        return {"hhash": f"h-{name}", "hostname": name, "created_at": f"2026-01-0{day} 00:00:00"}

    await sink.write("hosts", [host("a", 1)])
    await sink.write("hosts", [host("a", 2), host("b", 2)])  # the plain insert fails on a: the batch is retried
    await sink.write("hosts", [host("c", 3)])
    await sink.write("hosts", [host("a", 4), host("c", 4), host("d", 4)])
    stored = await sink.query("select hostname, day(created_at) as day from hosts order by hostname")
    assert stored == [
        {"hostname": "a", "day": 1},
        {"hostname": "b", "day": 2},
        {"hostname": "c", "day": 3},
        {"hostname": "d", "day": 4},
    ]
    await sink.close()


async def test_views_summarise_events(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    vid = str(uuid.uuid1())
    await sink.write("events", [event(i, vid=vid, sid=vid, url="//a.com/p") for i in range(3)])
    visitors = await sink.query("select events from visitors where vid = ?", [vid])
    hits = await sink.query("select total from hits where url = '//a.com/p'")
    assert visitors == [{"events": 3}] and hits == [{"total": 3}]
    await sink.close()


async def test_writes_and_reads_from_other_threads_do_not_interfere(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    errors: list[Exception] = []

    def reader() -> None:
        try:
            with duckdb.connect(":memory:") as other:
                other.execute("select 1")
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    for batch in range(5):
        await sink.write("events", [event(batch * 100 + i) for i in range(100)])
        await sink.query("select count(*) from events")
    thread.join()
    assert not errors and (await sink.query("select count(*) as n from events"))[0]["n"] == 500
    await sink.close()


async def test_prune_scrubs_expired_ip_into_a_hash_and_deletes_with_clear_all(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    old = [event(i, created_at=stamp(EXPIRED), cflags=0) for i in range(3)]
    kept = event(9, created_at=stamp(EXPIRED), cflags=4)
    fresh = event(10)
    await sink.write("events", [*old, kept, fresh])
    rule = PruneRule(ttl_seconds=86400, fields=(PruneField(id="ip", dest_param_hash="iphash"),), cflags_ignore=(4,))
    report = await sink.prune([rule], logs_only=False)
    assert report.rows_scrubbed == 3
    rows = await sink.query("select ip, params->>'iphash' as h, cflags from events order by created_at, cflags")
    assert [r["ip"] for r in rows] == ["", "", "", "203.0.113.9", "203.0.113.10"]
    assert all(r["h"] for r in rows[:3])
    deleted = await sink.prune([PruneRule(ttl_seconds=86400, clear_all=True)], logs_only=False)
    assert deleted.rows_deleted == 4
    await sink.close()
