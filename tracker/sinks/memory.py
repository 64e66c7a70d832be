"""An in-process sink for tests: rows kept per table, idempotent on the row id, with fault injection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracker.config import Config, PruneRule, SinkConfig
from tracker.sinks.base import PermanentSinkError, PruneOptions, PruneReport, Row, SinkPlugin, TransientSinkError

ID_COLUMNS = {"events": "eid", "redirects": "urlfrom", "accounts": "uid", "agreements": "vid"}


class MemorySink:
    """A write-only sink: it declares no PrimaryStore, so it never answers the server's reads."""

    def __init__(self, settings: SinkConfig, config: Config) -> None:
        self.name = settings.sink_name
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {}
        self.fail_next = 0  # transient failures to inject
        self.reject_marker: str | None = None  # rows whose ename equals this are rejected permanently
        self.writes = 0

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def write(self, table: str, rows: Sequence[Row]) -> None:
        self.writes += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            raise TransientSinkError("injected failure")
        if self.reject_marker is not None:
            bad = [r for r in rows if r.get("ename") == self.reject_marker]
            if bad:
                raise PermanentSinkError("injected rejection", rows=bad)
        stored = self.tables.setdefault(table, {})
        key = ID_COLUMNS.get(table, "id")
        for row in rows:
            stored[row.get(key, id(row))] = dict(row)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables.get(table, {}).values())

    async def prune(
        self, rules: Sequence[PruneRule], logs_only: bool, options: PruneOptions | None = None
    ) -> PruneReport:
        return PruneReport(self.name)


PLUGIN = SinkPlugin("memory", SinkConfig, MemorySink)
