"""Event, visitor and session ids: UUIDv1 as the Go tracker makes them, and strict UUID parsing."""

from __future__ import annotations

import re
import secrets
import time
import uuid

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
_GREGORIAN_OFFSET = 0x01B21DD213814000  # 100 ns intervals from 1582-10-15 to 1970-01-01
# A random node with the multicast bit set (RFC 4122 §4.5) and a random clock sequence per process, so ids
# from several workers never collide; the timestamp only moves forward within a process.
_NODE = secrets.randbits(48) | 0x010000000000
_CLOCK = 0x8000 | secrets.randbits(14)
_last_stamp = 0
_SUFFIX = f"-{_CLOCK:04x}-{_NODE:012x}"
_HEX2 = [f"{byte:02x}" for byte in range(256)]
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_id() -> str:
    """A UUIDv1 (time-based, as the Go tracker makes them), without uuid.uuid1()'s per-call overhead."""
    global _last_stamp
    stamp = time.time_ns() // 100 + _GREGORIAN_OFFSET
    if stamp <= _last_stamp:
        stamp = _last_stamp + 1
    _last_stamp = stamp
    return _text(stamp)


def new_ids(count: int) -> list[str]:
    """`count` ids at once (a batch's eids): one clock read, consecutive timestamps, as `count` new_id() calls."""
    global _last_stamp
    first = max(time.time_ns() // 100 + _GREGORIAN_OFFSET, _last_stamp + 1)
    _last_stamp = first + count - 1
    low = first & 0xFFFFFFFF
    if low + count > 0x100000000:  # time_low wraps inside the batch (once every 7 minutes)
        return [_text(stamp) for stamp in range(first, first + count)]
    rest = _text(first)[8:]  # time_mid, time_high, clock and node are the same for the whole batch
    made: list[str] = []
    end = low + count
    while low < end:  # runs of 256 stamps share their first 6 hex digits: only the last two are looked up
        run_end = min(end, (low | 0xFF) + 1)
        top = f"{low >> 8:06x}"
        made += [top + _HEX2[last] + rest for last in range(low & 0xFF, (low & 0xFF) + run_end - low)]
        low = run_end
    return made


def _text(stamp: int) -> str:
    # 60-bit stamp as 16 hex digits "0HHHMMMMLLLLLLLL": time_low-time_mid-(version 1)time_high-clock-node
    digits = f"{stamp:016x}"
    return f"{digits[8:]}-{digits[4:8]}-1{digits[1:4]}{_SUFFIX}"


def parse_uuid(value: object) -> str | None:
    """The canonical text of a UUID, or None when `value` is not one."""
    if not isinstance(value, str) or not 32 <= len(value) <= 36:
        return None
    if _CANONICAL.fullmatch(value):
        return value  # already canonical: the common case, without building a UUID object
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class IdBlock:
    """New ids taken one at a time but made `size` at a time (one clock read per block). A hot loop may pop
    `fresh` itself (the oldest id is last) and call `more` only when it is empty."""

    __slots__ = ("_size", "fresh")

    def __init__(self, size: int) -> None:
        self.fresh: list[str] = []  # newest first; refilled in place, so a loop may keep a reference to it
        self._size = size

    def take(self) -> str:
        return self.fresh.pop() if self.fresh else self.more()

    def more(self) -> str:
        """The next id when `fresh` is empty (it is refilled, less the id returned)."""
        if self._size <= 1:
            return new_id()
        made = new_ids(self._size)
        made.reverse()
        self.fresh += made
        return self.fresh.pop()
