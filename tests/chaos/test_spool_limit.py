"""A small MaxSpoolBytes (2 MiB, far under the 64 MiB segment size) with a healthy sink: tracking keeps
answering 2xx for many times that volume, because the limit counts unshipped bytes and shipped segments go."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.chaos.load import Tally, post_events, report, stored_ids
from tests.harness import start_tracker

SHARE = 2 * 1024 * 1024
PAD = 2_000  # bytes of padding per event: 3,000 events are over 3x the share


def spool_files_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob("*.seg") if path.exists())


@pytest.mark.parametrize("events", [pytest.param(3_000, id="short"), pytest.param(60_000, marks=pytest.mark.slow)])
def test_a_small_spool_limit_with_a_healthy_sink_keeps_accepting(tmp_path: Path, events: int) -> None:
    tracker = start_tracker(tmp_path / "t", MaxSpoolBytes=SHARE)
    worker = Path(tracker.config["SpoolDirectory"]) / "worker-0"
    largest = 0

    def sample(tally: Tally) -> None:
        nonlocal largest
        if sum(tally.statuses.values()) % 500 == 0:
            largest = max(largest, spool_files_bytes(worker))

    try:
        tally = asyncio.run(post_events(tracker.base_url, events, pad=PAD, on_answer=sample))
        spool = tracker.status()["spool"]
        tracker.wait_shipped()
    finally:
        assert tracker.stop() == 0, tracker.log()[-3000:]
    stored = stored_ids(Path(tracker.config["Notify"][0]["Path"]))
    acknowledged, once, lost = report(f"MaxSpoolBytes 2 MiB, healthy sink ({events} events)", tally, stored)
    assert tally.statuses == {200: events}  # never refused: the sink kept up
    assert lost == 0 and once == acknowledged
    assert not spool["full"] and spool["max_bytes"] == SHARE
    passed_through = events * PAD
    assert passed_through > 1.5 * SHARE and largest <= SHARE + SHARE // 8, (passed_through, largest)
