"""Event, visitor and session ids: UUIDv1 as the Go tracker makes them, and strict UUID parsing."""

from __future__ import annotations

import uuid

ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def new_id() -> str:
    return str(uuid.uuid1())


def parse_uuid(value: object) -> str | None:
    """The canonical text of a UUID, or None when `value` is not one."""
    if not isinstance(value, str) or not 32 <= len(value) <= 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
