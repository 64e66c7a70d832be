"""The one text form of a moment that every table stores: UTC "YYYY-MM-DD HH:MM:SS.mmm", which sorts as text in
time order and which DuckDB, ClickHouse and Cassandra all parse."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_second = -1
_second_text = ""


def text(moment: datetime) -> str:
    """`moment` as stored; a naive datetime is taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def now_text() -> str:
    """UTC now, as `text` gives it; the date part is formatted once per second (this runs for every event)."""
    global _second, _second_text
    now = time.time()
    second = int(now)
    if second != _second:
        _second = second
        _second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{_second_text}.{int((now - second) * 1000):03d}"
