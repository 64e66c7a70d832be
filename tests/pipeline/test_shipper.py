"""The shipper against real spool files, with test sinks that record, fail and reject."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracker.config import from_mapping
from tracker.pipeline import segments
from tracker.pipeline.shipper import Shipper, SinkSettings
from tracker.pipeline.spool import MemorySpool, Spool
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
    shipper = Shipper(tmp_path, [(sink, SinkSettings(max_batch_size=1000, flush_interval=0.3))])
    await shipper.start()
    await asyncio.sleep(0.1)
    assert sink.calls == []  # still collecting
    assert await shipper.wait_idle(5)
    assert sink.calls == [("events", 3)]
    await spool.append([Record("ltv", {"id": "x"})])
    await asyncio.sleep(0.15)
    assert ("ltv", 1) in sink.calls  # immediate: no 0.3 s wait
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
    for _ in range(200):
        if len(healthy.rows) == 100:
            break
        await asyncio.sleep(0.02)
    status = shipper.status()["sinks"]
    assert len(healthy.rows) == 100
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
    await asyncio.sleep(0.2)
    await shipper.stop()
    await spool.close()
    import orjson

    status = orjson.loads((tmp_path / "shipper-status.json").read_bytes())
    assert status["sinks"]["r"]["written"] == {"events": 5} and status["sinks"]["r"]["lag_bytes"] == 0
