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
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def new_id() -> str:
    """A UUIDv1 (time-based, as the Go tracker makes them), without uuid.uuid1()'s per-call overhead."""
    global _last_stamp
    stamp = time.time_ns() // 100 + _GREGORIAN_OFFSET
    if stamp <= _last_stamp:
        stamp = _last_stamp + 1
    _last_stamp = stamp
    high = ((stamp >> 48) & 0x0FFF) | 0x1000
    return f"{stamp & 0xFFFFFFFF:08x}-{(stamp >> 32) & 0xFFFF:04x}-{high:04x}-{_CLOCK:04x}-{_NODE:012x}"


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
