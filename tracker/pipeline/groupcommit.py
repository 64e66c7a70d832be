"""Group commit for Durability "fsync": every append in a ~2 ms window waits for one shared fsync, so the
answer leaves only once the bytes survive power loss. An fsync that fails refuses those appends (503)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Generator

from tracker.pipeline.errors import SpoolUnavailable

log = logging.getLogger("tracker.pipeline")
GROUP_COMMIT_SECONDS = 0.002


class Durable:
    """A commit with nothing left to wait for ("write", "memory"): awaiting it returns at once, never suspends."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield


DURABLE = Durable()


class GroupCommit:
    def __init__(self, current_fd: Callable[[], int]) -> None:
        self.current_fd = current_fd  # the segment being appended to when the window closes
        self.fsyncs = 0
        self._waiter: asyncio.Future[None] | None = None

    def join(self) -> asyncio.Future[None]:
        """Done once an fsync that started after this call (so after the bytes already written) has finished.

        Joined when the bytes are written, awaited later: the caller drops what it wrote before waiting. Each
        caller gets its own shield, so a cancelled request does not cancel the window's other waiters."""
        if self._waiter is None:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            loop.call_later(GROUP_COMMIT_SECONDS, self._start)
        return asyncio.shield(self._waiter)

    def _start(self) -> None:
        # Appends after this point join the next window: their bytes may not be covered by this fsync.
        waiter, self._waiter = self._waiter, None
        assert waiter is not None
        self.fsyncs += 1
        try:
            # Its own descriptor: an append that rolls the segment closes the spool's while the fsync runs (and
            # the number, reused, could name another file).
            fd = os.dup(self.current_fd())
        except OSError as error:
            _refuse(waiter, error)
            return
        task = asyncio.ensure_future(asyncio.to_thread(_fsync_and_close, fd))

        def done(finished: asyncio.Future[None]) -> None:
            error = finished.exception()
            if error is None:
                waiter.set_result(None)
            else:
                _refuse(waiter, error)

        task.add_done_callback(done)


def _fsync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse(waiter: asyncio.Future[None], error: BaseException) -> None:
    log.error("spool fsync failed", extra={"error": str(error)})
    refused = SpoolUnavailable(f"spool cannot fsync: {error}")
    refused.__cause__ = error
    waiter.set_exception(refused)
