"""Dead letters: rows a sink rejected permanently, kept as JSON lines (`<spool>/dead-letter/<sink>.jsonl`) for
inspection and replay (`tracker dead-letter list|replay SINK`).

The file is only ever appended to, except by `take_back`, which removes the entries a replay stored: both hold
an exclusive lock on `<sink>.lock`, so an append during a replay is never lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tracker.pipeline.private import append_private, open_private, private_directory, write_private

log = logging.getLogger("tracker.pipeline")
DEAD_LETTER_DIRECTORY = "dead-letter"  # under the spool directory


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
        with self._locked(sink):
            append_private(self.path(sink), lines)
        log.error("rows dead-lettered", extra={"sink": sink, "table": table, "rows": len(rows), "error": error[:500]})

    def read(self, sink: str) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self._lines(sink)]

    def take_back(self, sink: str, offered: int, refused: list[dict[str, Any]]) -> None:
        """Replace the first `offered` entries (those a replay read) by `refused`; later appends are kept."""
        with self._locked(sink):
            lines = self._lines(sink)
            kept = [orjson.dumps(entry, default=str) for entry in refused] + lines[offered:]
            write_private(self.path(sink), b"".join(line + b"\n" for line in kept))

    def sinks(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(p.stem for p in self.directory.glob("*.jsonl"))
        return []

    def _lines(self, sink: str) -> list[bytes]:
        try:
            return [line for line in self.path(sink).read_bytes().splitlines() if line.strip()]
        except FileNotFoundError:
            return []

    @contextlib.contextmanager
    def _locked(self, sink: str) -> Iterator[None]:
        private_directory(self.directory)
        fd = open_private(self.directory / f"{sink}.lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def without(pending: list[dict[str, Any]], rejected: list[Any]) -> list[dict[str, Any]]:
    """`pending` less the rejected rows (same objects, else equal ones); never the same list back."""
    rejected_ids = {id(r) for r in rejected}
    remaining = [r for r in pending if id(r) not in rejected_ids]
    if len(remaining) == len(pending):
        remaining = [r for r in pending if r not in rejected]
    return remaining if len(remaining) < len(pending) else []
