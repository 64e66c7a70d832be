"""A Record is one row bound for one table: what routes hand to the pipeline and the spool stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class Record:
    table: str
    row: dict[str, Any]
