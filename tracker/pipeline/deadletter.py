"""Dead letters: rows a sink rejected permanently, kept as JSON lines for inspection and replay by hand."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import orjson

from tracker.pipeline.private import append_private, private_directory

log = logging.getLogger("tracker.pipeline")


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, sink: str) -> Path:
        return self.directory / f"{sink}.jsonl"

    def add(self, sink: str, table: str, rows: list[Any], error: str) -> None:
        private_directory(self.directory)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines = b"".join(
            orjson.dumps({"table": table, "row": row, "error": error, "at": now}, default=str) + b"\n" for row in rows
        )
        append_private(self.path(sink), lines)
        log.error("rows dead-lettered", extra={"sink": sink, "table": table, "rows": len(rows), "error": error[:500]})

    def read(self, sink: str) -> list[dict[str, Any]]:
        try:
            return [orjson.loads(line) for line in self.path(sink).read_bytes().splitlines() if line]
        except FileNotFoundError:
            return []
