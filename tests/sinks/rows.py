"""Rows shared by the sink tests, dated relative to now so that no test depends on today's date."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


def stamp(age: timedelta) -> str:
    """A `created_at` text `age` before now, in the sinks' millisecond form."""
    return (datetime.now(UTC) - age).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


FRESH = timedelta(minutes=5)
EXPIRED = timedelta(days=400)  # well past every TTL the tests set


def event(i: int, **extra: object) -> dict[str, Any]:
    """An event row `FRESH` old from 203.0.113.`i`; `extra` overrides any field."""
    return {
        "eid": str(uuid.uuid1()),
        "created_at": stamp(FRESH),
        "vid": str(uuid.uuid1()),
        "ename": "view",
        "params": {"i": i, "label": "Mixed Case"},
        "lat": 1.5,
        "ip": f"203.0.113.{i}",
        "ua": "Firefox",
        **extra,
    }
