"""A Record is one row bound for one table: what routes hand to the pipeline and the spool stores."""

from __future__ import annotations

from typing import Any, NamedTuple


class Record(NamedTuple):  # a tuple, not a frozen dataclass: made for every event, it must be cheap to make
    table: str
    row: dict[str, Any]
