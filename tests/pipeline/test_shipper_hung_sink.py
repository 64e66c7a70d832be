"""A sink that hangs (a write or a close that never returns): its rows wait in the spool, /status says so, the
other sinks ship on, and stopping the shipper is still bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.harness import wait_until
from tests.pipeline.test_shipper import Recorder, eids, sink_state, spool_with
from tracker.pipeline import shipper as shipper_module
from tracker.pipeline.shipper import Shipper, SinkSettings


class Hangs(Recorder):
    """Every write (and close) waits until `release` is set; `hanging` counts the writes waiting now."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.release = asyncio.Event()
        self.hanging = 0

    async def write(self, table: str, rows: Sequence[Any]) -> None:
        self.hanging += 1
        try:
            await self.release.wait()
        finally:
            self.hanging -= 1
        await super().write(table, rows)

    async def close(self) -> None:
        await self.release.wait()
        await super().close()


async def test_a_write_past_write_timeout_is_a_failure_retried_until_the_sink_answers(tmp_path: Path) -> None:
    spool = await spool_with(tmp_path, 60)
    hung, healthy = Hangs("hung"), Recorder("healthy")
    settings = SinkSettings(max_batch_size=20, flush_interval=0.01, write_timeout=0.1)
    shipper = Shipper(tmp_path, [(hung, settings), (healthy, settings)])
    await shipper.start()
    status = await asyncio.to_thread(
        wait_until, lambda: (s := sink_state(shipper, "hung"))["consecutive_failures"] >= 2 and s
    )
    assert "write into events did not return within 0.1 s (WriteTimeout)" in status["last_error"]
    assert status["lag_bytes"] > 0 and hung.rows == [] and hung.hanging == 0  # abandoned writes are cancelled
    assert eids(healthy.rows) == [f"e{i}" for i in range(60)]  # never held up by the hung sink
    hung.release.set()
    assert await shipper.wait_idle(15)
    assert eids(hung.rows) == [f"e{i}" for i in range(60)]
    assert sink_state(shipper, "hung")["state"] == "ok"
    await shipper.stop()
    await spool.close()


async def test_stopping_with_a_sink_that_hangs_in_write_and_close_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shipper_module, "CLOSE_SECONDS", 0.2)
    spool = await spool_with(tmp_path, 10)
    hung = Hangs("hung")
    shipper = Shipper(tmp_path, [(hung, SinkSettings(10, 0.01, write_timeout=3600))])
    await shipper.start()
    await asyncio.to_thread(wait_until, lambda: hung.hanging == 1)
    unshipped = await asyncio.wait_for(shipper.stop(timeout=0.2), 10)
    await spool.close()
    assert unshipped == {"hung": spool.bytes_on_disk} and not hung.closed
    messages = [r.getMessage() for r in caplog.records]
    assert "sink did not close in time; left open" in messages
    assert any("stopped with events not shipped" in m for m in messages)
