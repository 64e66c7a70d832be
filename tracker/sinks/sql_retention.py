"""The retention statements DuckDB and ClickHouse share (the loop is retention.py): which rows a rule still has to
change, how many rows stay and why, and pages of them oldest first. Each SQL sink adds its dialect (time literals,
bit and count functions), what an emptied column looks like, and how it deletes and scrubs a page.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from tracker.config import PruneRule
from tracker.privacy.erase import AUDIT_TOPIC
from tracker.sinks.retention import LOGS, Census, Page, Window

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # params keys and columns are spliced into SQL and JSON text


class SqlRetention(ABC):
    """`position` is the sink's exact, orderable form of a created_at (an integer), so pages never overlap."""

    tables: dict[str, dict[str, str]]  # table → column → its emptied value as SQL

    @abstractmethod
    def at_seconds(self, seconds: int) -> str:
        """A created_at literal for Unix seconds."""

    @abstractmethod
    def at_position(self, position: int) -> str: ...

    @abstractmethod
    def position(self, expression: str) -> str:
        """SQL turning a created_at into its position."""

    @abstractmethod
    def seconds(self, position: int) -> int: ...

    @abstractmethod
    def bit_and(self, left: str, right: int) -> str: ...

    @abstractmethod
    def count_if(self, condition: str) -> str: ...

    def differs(self, column: str, empty: str) -> str:
        return f"{column} != {empty}"

    @abstractmethod
    def hashes_only(self, keys: list[str]) -> str:
        """True when params holds nothing but these keys with hash values (what ClearParams leaves)."""

    @abstractmethod
    async def rows(self, sql: str) -> list[dict[str, Any]]: ...

    def todo(self, rule: PruneRule, window: Window) -> str | None:
        columns = self.tables.get(rule.table)
        if columns is None or "created_at" not in columns:
            return None
        condition = self._past(rule, window) + f" AND created_at >= {self.at_seconds(window.skip_to)}"
        if rule.keep_mask:
            condition += f" AND {self.bit_and('cflags', rule.keep_mask)} = 0"
        if rule.clear_all:
            return condition
        dirty = self.dirty(rule, columns)
        return None if dirty is None else f"{condition} AND ({dirty})"

    def dirty(self, rule: PruneRule, columns: dict[str, str]) -> str | None:
        """Rows the scrub would still change: a listed field not yet empty, or params beyond the kept hashes."""
        fields = self.fields(rule, columns)
        checks = [self.differs(field, columns[field]) for field in fields]
        if rule.clear_params and "params" in columns:
            kept = [f.dest_param_hash for f in rule.fields if f.dest_param_hash and NAME.fullmatch(f.dest_param_hash)]
            checks.append(f"NOT ({self.hashes_only(kept)})")
        return " OR ".join(checks) or None

    def fields(self, rule: PruneRule, columns: dict[str, str]) -> list[str]:
        return [
            f.id for f in rule.fields if f.id in columns and f.id not in ("created_at", "eid") and NAME.fullmatch(f.id)
        ]

    async def census(self, rule: PruneRule, window: Window, todo: str) -> Census:
        skip = self.at_seconds(window.skip_to)
        kept = (
            self.count_if(f"created_at >= {skip} AND {self.bit_and('cflags', rule.keep_mask)} != 0")
            if rule.keep_mask
            else "0"
        )
        found = await self.rows(
            f"SELECT count(*) AS scanned, {self.count_if(f'created_at < {skip}')} AS skipped, {kept} AS kept, "
            f"{self.count_if(todo)} AS todo "
            f"FROM {rule.table} WHERE {self._past(rule, window)}"
        )
        row = found[0] if found else {}
        return Census(*(int(row.get(name) or 0) for name in ("scanned", "kept", "skipped", "todo")))

    async def next_page(self, table: str, todo: str, after: object, size: int) -> Page | None:
        condition = todo if after is None else f"{todo} AND created_at > {self.at_position(int(str(after)))}"
        found = await self.rows(
            f"SELECT count(*) AS n, {self.position('max(created_at)')} AS last FROM "
            f"(SELECT created_at FROM {table} WHERE {condition} ORDER BY created_at LIMIT {int(size)}) AS page"
        )
        if not found or not int(found[0]["n"] or 0):
            return None
        last = int(found[0]["last"])
        return Page(f"{condition} AND created_at <= {self.at_position(last)}", self.seconds(last), last)

    def _past(self, rule: PruneRule, window: Window) -> str:
        condition = f"created_at < {self.at_seconds(window.cutoff)}"
        if rule.table == LOGS:
            condition += f" AND topic != '{AUDIT_TOPIC}'"
        return condition
