"""The spool on a 2 MiB tmpfs that fills up under load: 503 + Retry-After (the pixel still its GIF) while the
disk refuses, automatic recovery when space returns, and every acknowledged event stored exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.chaos.disk import fill, small_tmpfs
from tests.chaos.load import Tally, post_events, report, stored_ids
from tests.harness import TrackerProcess, prepare_tracker


def tracker_on(disk: Path, workdir: Path, **overrides: object) -> TrackerProcess:
    return prepare_tracker(workdir, SpoolDirectory=str(disk / "spool"), **overrides)


def tracebacks(tracker: TrackerProcess) -> list[str]:
    """Log lines of the tracker's own loggers that carry a traceback (Hypercorn's shutdown noise is not ours)."""
    return [line for line in tracker.log().splitlines() if '"logger":"tracker' in line and "Traceback" in line]


def finish(tracker: TrackerProcess) -> None:
    """Restart on the same spool, ship everything, stop: what is in DuckDB now is all there will ever be."""
    tracker.start()
    tracker.wait_shipped()
    assert tracker.stop() == 0, tracker.log()[-3000:]


def test_a_full_disk_refuses_with_503_and_recovers_by_itself(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        tracker = tracker_on(disk, tmp_path / "t").start()
        try:
            ballast = fill(disk)  # not a byte left
            refused = [httpx.post(tracker.url("/tr/v1/str/"), json={"ename": "refused"}) for _ in range(20)]
            assert {r.status_code for r in refused} == {503}
            assert all(r.headers["retry-after"] and r.json()["error"] for r in refused)
            pixel = httpx.get(tracker.url("/tr/v1/img/ename/opened/x.gif"))
            assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
            spool = tracker.status()["spool"]
            assert spool["full"] and spool["reason"]
            ballast.unlink()
            answer = httpx.post(tracker.url("/tr/v1/str/"), json={"ename": "accepted"})
            assert answer.status_code == 200  # no restart, no operator
            assert not tracker.status()["spool"]["full"]
            tracker.wait_shipped()
        finally:
            assert tracker.stop() == 0, tracker.log()[-3000:]
        tally = Tally(acknowledged=[answer.json()])
        tally.statuses.update({503: len(refused), 200: 1})
        stored = stored_ids(Path(tracker.config["Notify"][0]["Path"]))
        acknowledged, once, lost = report("0 bytes free on the spool's disk, then freed", tally, stored)
        assert lost == 0 and once == acknowledged == 1 and len(stored) == 1
        log = tracker.log()
        assert log.count("spool cannot write") == 1 and log.count("spool writing again") == 1
        assert not tracebacks(tracker)


@pytest.mark.parametrize("events", [pytest.param(3_000, id="short"), pytest.param(30_000, marks=pytest.mark.slow)])
def test_disk_filled_under_load_then_freed_then_restarted_loses_nothing(tmp_path: Path, events: int) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        tracker = tracker_on(disk, tmp_path / "t", Workers=2).start()
        tally = Tally()
        try:
            ballast = fill(disk, leave=256 * 1024)
            tally.add(asyncio.run(post_events(tracker.base_url, events)))
            assert tally.refused > 0, "the disk never filled up"
            ballast.unlink()
            after = asyncio.run(post_events(tracker.base_url, 1_000))
            assert after.statuses == {200: 1_000}  # space is back: everything is taken again
            tally.add(after)
            tracker.wait_shipped()
        finally:
            assert tracker.stop() == 0, tracker.log()[-3000:]
        finish(tracker)
    assert tally.refused_without_retry_after == 0 and tally.connection_errors == 0
    assert not tracebacks(tracker)
    stored = stored_ids(Path(tracker.config["Notify"][0]["Path"]))
    acknowledged, once, lost = report(f"disk full under load ({events} events, 2 workers)", tally, stored)
    assert lost == 0 and once == acknowledged


def test_kill_9_during_a_disk_full_episode_loses_no_acknowledged_event(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk") as disk:
        tracker = tracker_on(disk, tmp_path / "t", Workers=2).start()
        ballast = fill(disk, leave=128 * 1024)
        killed = False

        def kill_when_refusing(tally: Tally) -> None:
            nonlocal killed
            if not killed and tally.refused >= 50 and len(tally.acknowledged) >= 200:
                killed = True
                tracker.kill9()

        tally = asyncio.run(post_events(tracker.base_url, 5_000, on_answer=kill_when_refusing))
        assert killed, f"never refused enough before the load ended: {tally.statuses}"
        ballast.unlink()
        finish(tracker)
    stored = stored_ids(Path(tracker.config["Notify"][0]["Path"]))
    acknowledged, once, lost = report("kill -9 during a disk-full episode (2 workers)", tally, stored)
    assert lost == 0 and once == acknowledged
    assert not tracebacks(tracker)
