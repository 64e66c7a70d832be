"""The shipper against real spool files, with test sinks that record, fail and reject."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.harness import eventually, wait_until
from tracker.config import from_mapping
from tracker.metrics import Metrics
from tracker.pipeline import segments
from tracker.pipeline.reader import Cursor, CursorFile
from tracker.pipeline.shipper import Shipper, SinkSettings
from tracker.pipeline.spool import MemorySpool, Spool, SpoolFull
from tracker.records import Record
from tracker.sinks.base import PruneReport, TransientSinkError
from tracker.sinks.memory import MemorySink


class Recorder:
    """A sink that records every write call; `broken` makes every write fail."""

    can_read = False

    def __init__(self, name: str, broken: bool = False) -> None:
        self.name = name
        self.broken = broken
        self.calls: list[tuple[str, int]] = []
        self.rows: list[dict[str, Any]] = []
        self.closed = False

    async def open(self) -> None: ...

    async def close(self) -> None:
        self.closed = True

    async def write(self, table: str, rows: Sequence[Any]) -> None:
        if self.broken:
            raise TransientSinkError("down")
        self.calls.append((table, len(rows)))
        self.rows.extend(rows)

    async def prune(self, rules: Any, logs_only: bool) -> PruneReport:
        return PruneReport(self.name)


def memory_sink(name: str = "memory") -> MemorySink:
    config = from_mapping({"Notify": [{"Service": "memory", "Name": name}]})
    return MemorySink(config.notify[0], config)


async def spool_with(tmp_path: Path, count: int, table: str = "events", **kw: Any) -> Spool:
    spool = Spool(tmp_path / "worker-0", **kw)
    spool.open()
    for i in range(count):
        await spool.append([Record(table, {"eid": f"e{i}", "ename": "ok"})])
    return spool


def eids(rows: list[dict[str, Any]]) -> list[str]:
    return sorted((r["eid"] for r in rows), key=lambda e: int(e[1:]))


async def test_batches_by_size_and_ships_everything(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 250)
    sink = Recorder("r")
    shipper = Shipper(tmp_path, [(sink, SinkSettings(max_batch_size=100, flush_interval=5))])
    await shipper.start()
    assert await shipper.wait_idle(10)
    await shipper.stop()
    await spool.close()
    assert [n for _, n in sink.calls][:2] == [100, 100]
    assert eids(sink.rows) == [f"e{i}" for i in range(250)]


async def test_a_small_batch_waits_for_the_flush_interval_but_ltv_goes_at_once(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 3)
    sink = Recorder("r")
    shipper = Shipper(tmp_path, [(sink, SinkSettings(max_batch_size=1000, flush_interval=600))])
    await shipper.start()
    await asyncio.sleep(0.2)  # a chance to ship, which it must not take (a negative check: slowness cannot fail it)
    assert sink.calls == []  # still collecting: 3 rows wait for a fuller batch or the flush interval
    await spool.append([Record("ltv", {"id": "x"})])
    # well before the 600 s interval: a payment goes at once, and takes the waiting rows with it
    await eventually(lambda: ("ltv", 1) in sink.calls, 30, what="the ltv row")
    assert sorted(sink.calls) == [("events", 3), ("ltv", 1)]
    await shipper.stop()
    await spool.close()


async def test_transient_failures_are_retried_until_every_row_arrives(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 50)
    sink = memory_sink()
    sink.fail_next = 3
    shipper = Shipper(tmp_path, [(sink, SinkSettings(max_batch_size=20, flush_interval=0.01))])
    await shipper.start()
    assert await shipper.wait_idle(15)
    status = shipper.status()["sinks"]["memory"]
    await shipper.stop()
    await spool.close()
    assert eids(sink.rows("events")) == [f"e{i}" for i in range(50)]
    assert status["state"] == "ok" and status["written"]["events"] == 50 and status["failed_batches"] == 3


async def test_permanently_rejected_rows_are_dead_lettered_and_the_rest_arrive(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "worker-0")
    spool.open()
    for i in range(10):
        await spool.append([Record("events", {"eid": f"e{i}", "ename": "poison" if i in (3, 7) else "ok"})])
    sink = memory_sink()
    sink.reject_marker = "poison"
    shipper = Shipper(tmp_path, [(sink, SinkSettings(max_batch_size=100, flush_interval=0.01))])
    await shipper.start()
    assert await shipper.wait_idle(10)
    await shipper.stop()
    await spool.close()
    assert len(sink.rows("events")) == 8
    dead = shipper.dead_letters.read("memory")
    assert sorted(d["row"]["eid"] for d in dead) == ["e3", "e7"] and dead[0]["error"] == "injected rejection"
    assert shipper.status()["sinks"]["memory"]["dead_lettered"] == {"events": 2}


async def test_a_sink_that_is_down_never_holds_up_another(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 100)
    healthy, broken = Recorder("healthy"), Recorder("broken", broken=True)
    shipper = Shipper(tmp_path, [(broken, SinkSettings(10, 0.01)), (healthy, SinkSettings(10, 0.01))])
    await shipper.start()
    await eventually(lambda: len(healthy.rows) == 100, interval=0.02, what="every row at the healthy sink")
    status = shipper.status()["sinks"]
    assert status["broken"]["state"] in ("retrying", "open") and status["broken"]["lag_bytes"] > 0
    assert status["healthy"]["lag_bytes"] == 0
    # the broken sink has not passed the first segment: nothing may be deleted yet
    assert segments.list_segments(tmp_path / "worker-0") == [0]
    await shipper.stop(timeout=0.5)
    await spool.close()


async def test_restart_resumes_from_the_saved_cursor(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 30)
    first = Recorder("r")
    shipper = Shipper(tmp_path, [(first, SinkSettings(100, 0.01))])
    await shipper.start()
    assert await shipper.wait_idle(5)
    await shipper.stop()
    for i in range(30, 45):
        await spool.append([Record("events", {"eid": f"e{i}"})])
    await spool.close()
    second = Recorder("r")
    again = Shipper(tmp_path, [(second, SinkSettings(100, 0.01))])
    await again.start()
    assert await again.wait_idle(5)
    await again.stop()
    assert eids(second.rows) == [f"e{i}" for i in range(30, 45)]


async def test_stop_ships_what_is_already_spooled(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 40)
    sink = Recorder("r")
    shipper = Shipper(tmp_path, [(sink, SinkSettings(1000, 60))])  # would wait a minute for a fuller batch
    await shipper.start()
    await asyncio.sleep(0.05)
    await shipper.stop()
    await spool.close()
    assert len(sink.rows) == 40 and sink.closed


async def test_shipped_segments_are_deleted_but_never_the_newest(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 200, segment_bytes=500)
    assert len(segments.list_segments(tmp_path / "worker-0")) > 3
    shipper = Shipper(tmp_path, [(Recorder("a"), SinkSettings(50, 0.01)), (Recorder("b"), SinkSettings(70, 0.01))])
    await shipper.start()
    assert await shipper.wait_idle(10)
    await shipper.stop()
    await spool.close()
    assert len(segments.list_segments(tmp_path / "worker-0")) == 1


async def test_memory_durability_ships_from_the_in_process_spool(tmp_path: Path) -> None:
    spool = MemorySpool()
    sink = Recorder("r")
    shipper = Shipper(tmp_path, [(sink, SinkSettings(100, 0.01))], memory_spool=spool)
    await shipper.start()
    for i in range(20):
        await spool.append([Record("events", {"eid": f"e{i}"})])
    assert await shipper.wait_idle(5)
    await shipper.stop()
    assert len(sink.rows) == 20 and spool.bytes_on_disk == 0


async def test_status_is_written_for_other_processes(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 5)
    shipper = Shipper(tmp_path, [(Recorder("r"), SinkSettings(100, 0.01))], status_interval=0.05)
    await shipper.start()
    assert await shipper.wait_idle(5)
    import orjson

    def shipped_status() -> dict[str, Any]:  # a status written after the shipper went idle
        sink = orjson.loads((tmp_path / "shipper-status.json").read_bytes())["sinks"]["r"]
        return sink if sink["written"] == {"events": 5} and sink["lag_bytes"] == 0 else {}

    status = await asyncio.to_thread(wait_until, shipped_status, 10, what="a status saying all 5 events were written")
    await shipper.stop()
    await spool.close()
    assert status["written"] == {"events": 5} and status["lag_bytes"] == 0


def sink_state(shipper: Shipper, name: str) -> dict[str, Any]:
    return shipper.status()["sinks"][name]  # type: ignore[no-any-return]


async def test_a_cursor_save_that_fails_is_logged_shown_and_retried_and_the_task_survives(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 30)
    blocker = tmp_path / "worker-0" / "cursors" / "r.json.tmp"
    blocker.mkdir(parents=True)  # the cursor's temporary file cannot be written: every save fails
    sink = Recorder("r")
    shipper = Shipper(tmp_path, [(sink, SinkSettings(100, 0.01))])
    metrics = Metrics(lambda: {**shipper.status(), "spool": spool.status()})
    await shipper.start()
    await asyncio.to_thread(wait_until, lambda: sink_state(shipper, "r")["consecutive_failures"] >= 2)
    state = sink_state(shipper, "r")
    assert len(sink.rows) == 30 and state["state"] == "retrying" and not state["shipping"]
    assert "ship: IsADirectoryError" in state["last_error"]
    assert 'tracker_sink_up{sink="r"} 0.0' in metrics.exposition().decode()
    blocker.rmdir()
    await asyncio.to_thread(wait_until, lambda: sink_state(shipper, "r")["state"] == "ok")
    for i in range(30, 40):
        await spool.append([Record("events", {"eid": f"e{i}"})])
    assert await shipper.wait_idle(10)
    assert await shipper.stop() == {}
    await spool.close()
    assert eids(sink.rows) == [f"e{i}" for i in range(40)]  # each once: the saved cursor had moved on in memory
    again = Recorder("r")
    restarted = Shipper(tmp_path, [(again, SinkSettings(100, 0.01))])
    await restarted.start()
    assert await restarted.wait_idle(5)
    await restarted.stop()
    assert again.rows == []  # the cursor was saved once the path was writable again


async def test_a_dead_letter_that_cannot_be_written_is_retried_not_dropped(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "worker-0")
    spool.open()
    for i in range(10):
        await spool.append([Record("events", {"eid": f"e{i}", "ename": "poison" if i in (3, 7) else "ok"})])
    (tmp_path / "dead-letter").write_text("a file where the directory should be")
    sink = memory_sink()
    sink.reject_marker = "poison"
    shipper = Shipper(tmp_path, [(sink, SinkSettings(100, 0.01))])
    await shipper.start()
    await asyncio.to_thread(wait_until, lambda: sink_state(shipper, "memory")["consecutive_failures"] >= 2)
    assert "ship: NotADirectoryError" in sink_state(shipper, "memory")["last_error"]
    (tmp_path / "dead-letter").unlink()
    assert await shipper.wait_idle(10)
    await shipper.stop()
    await spool.close()
    dead = shipper.dead_letters.read("memory")
    assert sorted(d["row"]["eid"] for d in dead) == ["e3", "e7"] and len(sink.rows("events")) == 8


async def test_stop_says_what_it_could_not_ship(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = await spool_with(tmp_path, 20)
    shipper = Shipper(
        tmp_path, [(Recorder("down", broken=True), SinkSettings(10, 0.01)), (Recorder("up"), SinkSettings())]
    )
    await shipper.start()
    await asyncio.to_thread(wait_until, lambda: sink_state(shipper, "down")["consecutive_failures"] >= 1)
    unshipped = await shipper.stop(timeout=0.3)
    await spool.close()
    assert set(unshipped) == {"down"} and unshipped["down"] == spool.bytes_on_disk
    assert any("stopped with events not shipped" in r.getMessage() for r in caplog.records)


async def test_cursors_of_sinks_no_longer_configured_are_dropped(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 5)
    CursorFile(tmp_path / "worker-0", "gone").save(Cursor(0, 0))
    shipper = Shipper(tmp_path, [(Recorder("r"), SinkSettings(100, 0.01))])
    await shipper.start()
    assert await shipper.wait_idle(5)
    await shipper.stop()
    await spool.close()
    assert sorted(p.name for p in (tmp_path / "worker-0" / "cursors").iterdir()) == ["r.json"]


class NeverOpens(Recorder):
    async def open(self) -> None:
        raise TransientSinkError("cannot connect")


async def test_a_sink_down_since_start_still_holds_the_spool_limit(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "worker-0", max_bytes=64 * 1024)
    spool.open()
    await spool.append([Record("events", {"eid": "e0"})])
    healthy = Recorder("healthy")
    shipper = Shipper(
        tmp_path, [(healthy, SinkSettings(100, 0.01)), (NeverOpens("down"), SinkSettings())], status_interval=0.05
    )
    await shipper.start()
    await asyncio.to_thread(wait_until, lambda: len(healthy.rows) == 1)
    await asyncio.to_thread(wait_until, lambda: CursorFile(tmp_path / "worker-0", "down").load() == Cursor(0, 0))
    appended = 1
    with pytest.raises(SpoolFull):
        for i in range(1, 2000):
            await spool.append([Record("events", {"eid": f"e{i}", "pad": "x" * 100})])
            appended += 1
    await asyncio.to_thread(wait_until, lambda: len(healthy.rows) == appended)
    with pytest.raises(SpoolFull):  # the healthy sink has shipped everything, but the down one's bytes count
        await spool.append([Record("events", {"eid": "late", "pad": "x" * 100})])
    assert spool.unshipped_bytes <= 64 * 1024
    await shipper.stop(timeout=0.2)
    await spool.close()
