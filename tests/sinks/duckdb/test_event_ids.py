"""Events have no key: a replayed or resent event is recognised by the newest ids kept in event_ids, whose size
stays bounded by DedupeEvents however many events are stored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.sinks.duckdb.test_sink import make_sink
from tests.sinks.rows import event
from tracker.sinks.base import PermanentSinkError


def counts(database: Path) -> tuple[int, int, int]:
    """(events, distinct eids, event_ids) in a closed database file."""
    with duckdb.connect(str(database), read_only=True) as db:
        found = db.execute(
            "SELECT (SELECT count(*) FROM events), (SELECT count(DISTINCT eid) FROM events), "
            "(SELECT count(*) FROM event_ids)"
        ).fetchall()
    return found[0]


async def test_events_table_has_no_key_and_a_replayed_batch_is_stored_once(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    rows = [event(i) for i in range(500)]
    await sink.write("events", rows[:300])
    await sink.write("events", rows[200:])  # a replay of 100 rows, then 200 new ones
    await sink.write("events", rows)  # all of it again
    assert "events" not in sink.keys  # no index that grows with the table
    await sink.close()
    assert counts(tmp_path / "t.duckdb") == (500, 500, 500)


async def test_a_replay_after_a_restart_is_still_recognised(tmp_path: Path) -> None:
    rows = [event(i) for i in range(200)]
    for _ in range(2):  # the second open must continue the window where the first left it
        sink = make_sink(tmp_path / "t.duckdb")
        await sink.open()
        await sink.write("events", rows)
        await sink.close()
    assert counts(tmp_path / "t.duckdb") == (200, 200, 200)


async def test_the_same_id_twice_in_one_batch_is_stored_once(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    first = event(1)
    await sink.write("events", [first, event(2), dict(first, ename="resent")])
    stored = await sink.query("SELECT ename FROM events WHERE eid = ?", [first["eid"]])
    await sink.close()
    assert stored == [{"ename": "view"}]
    assert counts(tmp_path / "t.duckdb") == (2, 2, 2)


async def test_event_ids_keep_only_the_newest_dedupe_events(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb", DedupeEvents=250, CheckpointSeconds=0.001)  # trims at every write
    await sink.open()
    batches = [[event(i) for i in range(100)] for _ in range(20)]
    for batch in batches:
        await sink.write("events", batch)
    kept = (await sink.query("SELECT count(*) AS n FROM event_ids"))[0]["n"]
    await sink.write("events", batches[-1])  # recent: recognised
    await sink.write("events", batches[0])  # 1,900 events ago, past the window: stored again (the stated limit)
    await sink.close()
    assert 250 <= kept <= 350
    events, distinct, _ = counts(tmp_path / "t.duckdb")
    assert (events, distinct) == (2_100, 2_000)


async def test_a_bad_row_among_replayed_ones_is_named_and_nothing_is_doubled(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    rows = [event(i) for i in range(9)]
    await sink.write("events", rows[:5])
    bad = event(9, vid="not-a-uuid")
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("events", [*rows, bad])  # five replayed, four new, one bad
    await sink.close()
    assert caught.value.rows == [bad] and caught.value.others_stored
    assert counts(tmp_path / "t.duckdb") == (9, 9, 9)  # the bad row's id was not kept either


async def test_an_event_without_an_id_is_refused_not_retried_forever(tmp_path: Path) -> None:
    sink = make_sink(tmp_path / "t.duckdb")
    await sink.open()
    row = event(1)
    del row["eid"]
    with pytest.raises(PermanentSinkError):
        await sink.write("events", [row])
    await sink.close()
    assert counts(tmp_path / "t.duckdb") == (0, 0, 0)
