"""The supervisor on a real tracker process: a first start is quiet (no warning a new user has to wonder about)."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson

from tests.harness import start_tracker


def test_a_first_start_logs_no_warning(tmp_path: Path) -> None:
    """Short links load once the primary store is open: before, every first start warned that the DuckDB sink
    was not open (the control plane raced the shipper's open)."""
    tracker = start_tracker(tmp_path / "t")
    try:
        assert httpx.get(tracker.url("/tr/v1/tr/ename/first_start")).status_code == 200
        tracker.wait_shipped()
    finally:
        assert tracker.stop() == 0
    lines = [orjson.loads(line) for line in tracker.log().splitlines() if line.startswith("{")]
    assert lines, "the tracker logged nothing"
    loud = [line for line in lines if line["level"] not in ("debug", "info")]
    assert loud == []
