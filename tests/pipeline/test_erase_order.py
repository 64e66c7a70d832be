"""Erase requests in the spool (tracker/pipeline/batches.py): a sink gets a batch's erasures after its other rows,
so a person's rows acknowledged before the request (in the same batch too) are written before it is applied."""

from __future__ import annotations

from pathlib import Path

from tests.pipeline.test_shipper import Recorder
from tracker.pipeline.shipper import Shipper, SinkSettings
from tracker.pipeline.spool import Spool
from tracker.privacy.erase import ERASURES
from tracker.records import Record


async def test_a_batchs_erasures_are_written_after_its_other_rows(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "worker-0")
    spool.open()
    await spool.append([Record(ERASURES, {"id": "first", "subject": "z"})])
    await spool.append([Record("events", {"eid": "e1", "vid": "x"}), Record("agreements", {"vid": "x"})])
    await spool.append([Record(ERASURES, {"id": "second", "subject": "x"}), Record("events", {"eid": "e2"})])
    sink = Recorder("r")
    shipper = Shipper(tmp_path, [(sink, SinkSettings(max_batch_size=100, flush_interval=0.2))])
    await shipper.start()
    assert await shipper.wait_idle(10)
    await shipper.stop()
    await spool.close()
    assert sink.calls == [("events", 2), ("agreements", 1), (ERASURES, 2)]  # one batch: erasures last
