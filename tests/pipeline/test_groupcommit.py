"""The group commit (tracker/pipeline/groupcommit.py) against a segment roll: the window's fsync runs in a thread
while the event loop goes on appending, and an append that rolls the segment closes the descriptor that fsync
was given. The fsync must still cover the old segment (not fail with EBADF, nor fsync whatever file reused the
descriptor's number). The roll is made to happen while the fsync is held in its thread, so nothing is timing."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from tracker.pipeline.spool import Spool
from tracker.records import Record


def test_a_roll_during_the_window_s_fsync_does_not_fail_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync
    entered, release = threading.Event(), threading.Event()
    synced: list[int] = []  # inodes the commit thread fsynced

    def held_fsync(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread() and not entered.is_set():
            entered.set()  # the first window's fsync, in its thread: wait for the roll
            assert release.wait(10)
        real_fsync(fd)
        if threading.current_thread() is not threading.main_thread():
            synced.append(os.fstat(fd).st_ino)

    async def run() -> None:
        spool = Spool(tmp_path, durability="fsync", segment_bytes=1)  # every append after the first rolls
        spool.open()
        monkeypatch.setattr(os, "fsync", held_fsync)
        first_inode = os.fstat(spool._fd).st_ino
        first = spool.write([Record("events", {"eid": "first"})])
        assert first is not None
        while not entered.is_set():  # the first window closed: its fsync is waiting in the thread
            await asyncio.sleep(0.001)
        second = spool.write([Record("events", {"eid": "second"})])  # rolls: the first segment is closed
        assert second is not None
        release.set()
        await first  # raised SpoolUnavailable ("Bad file descriptor") when the fsync was given the closed fd
        await second
        assert synced[0] == first_inode
        await spool.close()

    asyncio.run(run())
