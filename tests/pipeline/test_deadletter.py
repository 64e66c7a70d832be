"""The dead-letter file: append-only but for a replay's take-back, which never loses a concurrent append."""

from __future__ import annotations

import stat
from pathlib import Path

from tracker.pipeline.deadletter import DeadLetters


def test_take_back_removes_only_what_the_replay_read_and_keeps_later_appends(tmp_path: Path) -> None:
    letters = DeadLetters(tmp_path / "dead-letter")
    letters.add("s", "events", [{"eid": "a"}, {"eid": "b"}, {"eid": "c"}], "bad")
    offered = letters.read("s")
    letters.add("s", "events", [{"eid": "d"}], "bad")  # the shipper appends while the replay writes
    letters.take_back("s", len(offered), [{**offered[1], "error": "still bad"}])
    left = letters.read("s")
    assert [(e["row"]["eid"], e["error"]) for e in left] == [("b", "still bad"), ("d", "bad")]
    assert stat.S_IMODE(letters.path("s").stat().st_mode) == 0o600
    assert stat.S_IMODE(letters.directory.stat().st_mode) == 0o700
