"""The Cassandra sink's retention statements (the loop is sinks/retention.py), as the Go tracker pruned:
CQL cannot select by age, so the events table is paged through (PageSize rows a page) and each expired row
is deleted or scrubbed by its key. A row's age counts from the earlier of created_at and its eid's v1 time;
rows whose cflags share a bit with CFlagsIgnore stay, and so do rows created before PruneSkipToTimestamp; a row
already stamped `updated` is not scrubbed again. The rows' `events_by_link` twins are deleted or scrubbed with them.
Logs older than PruneLogsTTL are deleted by their id the same way, never the erase audit rows.
Cassandra cannot count or order by age, so its report has no census and no newest row: one scan per rule goes on
across the loop's pages, and a page ends once it has changed as many rows as the loop asked for (PageSize, or what
is left of PruneLimit); a run stopped there is picked up by the next one, which scans again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.config import PruneRule
from tracker.privacy.erase import AUDIT_TOPIC
from tracker.privacy.hashing import sha
from tracker.sinks.cassandra import reads, statements
from tracker.sinks.cassandra.types import to_cql
from tracker.sinks.retention import LOGS, Census, Page, Window

if TYPE_CHECKING:
    from tracker.sinks.cassandra.sink import CassandraSink

GREGORIAN_OFFSET = 0x01B21DD213814000  # 100 ns intervals from 1582-10-15 to 1970-01-01
SCAN_COLUMNS = ("eid", "created_at", "cflags", "link", "updated", "params")
LOG_COLUMNS = ("id", "created_at", "topic")


@dataclass(frozen=True, slots=True)
class Expiry:
    cutoff: datetime  # naive UTC: rows created before it have expired
    keep_mask: int
    page_size: int = 5000
    skip_to: datetime | None = None  # naive UTC: rows created before it are left as they are


@dataclass(slots=True)
class Cursor:
    """One rule's scan, carried from page to page: the expired rows still to look at, and how many a page changes."""

    expiry: Expiry
    size: int
    rows: Iterator[dict[str, Any]] | None = None  # started by the first page
    exhausted: bool = False


def created(row: Mapping[str, Any]) -> datetime | None:
    """When the row was made: the earlier of created_at and its eid's time, when that is a v1 UUID (Go)."""
    moments = []
    if isinstance(row.get("created_at"), datetime):
        moments.append(_naive(row["created_at"]))
    eid = row.get("eid")
    if isinstance(eid, uuid.UUID) and eid.version == 1:
        moments.append(datetime(1970, 1, 1) + timedelta(microseconds=(eid.time - GREGORIAN_OFFSET) // 10))
    return min(moments) if moments else None


def is_expired(row: Mapping[str, Any], expiry: Expiry) -> bool:
    """Erase audit rows (a log's topic) never expire."""
    if row.get("topic") == AUDIT_TOPIC:
        return False
    moment = created(row)
    if moment is None or moment >= expiry.cutoff or (expiry.skip_to is not None and moment < expiry.skip_to):
        return False
    return not (int(row.get("cflags") or 0) & expiry.keep_mask)


def scrubbed_params(row: Mapping[str, Any], rule: PruneRule, fields: list[str]) -> dict[str, str] | None:
    """The row's params after the scrub: each emptied field's hash under its DestParamHash, and with ClearParams
    only those hashes (and any the row already had). None when params stay as they are."""
    old: dict[str, str] = dict(row.get("params") or {})
    hashes = {
        f.dest_param_hash: sha(str(row[f.id]))
        for f in rule.fields
        if f.dest_param_hash and f.id in fields and row.get(f.id) not in (None, "")
    }
    if rule.clear_params:
        kept = {f.dest_param_hash: old[f.dest_param_hash] for f in rule.fields if f.dest_param_hash in old}
        return {**kept, **hashes}
    return {**old, **hashes} if hashes else None


class CassandraRetention:
    def __init__(self, sink: CassandraSink) -> None:
        self.sink = sink
        self._expiries: dict[str, Expiry] = {}

    def todo(self, rule: PruneRule, window: Window) -> str | None:
        """A description of the condition (CQL cannot filter on it); the rows are tested here, as the scan goes."""
        schema = self.sink.tables.get(rule.table)
        if rule.table not in ("events", LOGS) or schema is None:
            return None
        if not rule.clear_all and not rule.clear_params and not self._fields(rule):
            return None
        cutoff = datetime(1970, 1, 1) + timedelta(seconds=window.cutoff)
        skip_to = datetime(1970, 1, 1) + timedelta(seconds=window.skip_to) if window.skip_to else None
        text = f"{rule.table}: created_at < '{cutoff:%Y-%m-%d %H:%M:%S}'"
        if skip_to is not None:
            text += f" AND created_at >= '{skip_to:%Y-%m-%d %H:%M:%S}'"
        if rule.keep_mask:
            text += f" AND cflags & {rule.keep_mask} = 0"
        if rule.table == LOGS:
            text += f" AND topic != '{AUDIT_TOPIC}'"
        self._expiries[text] = Expiry(cutoff, rule.keep_mask, max(rule.page_size, 1), skip_to)
        return text

    async def census(self, rule: PruneRule, window: Window, todo: str) -> Census:
        return Census()

    async def next_page(self, table: str, todo: str, after: object, size: int) -> Page | None:
        cursor = after if isinstance(after, Cursor) else Cursor(self._expiries[todo], size)
        if cursor.exhausted:
            return None
        cursor.size = size
        return Page(todo, 0, cursor)

    async def delete(self, table: str, page: Page) -> int:
        assert isinstance(page.after, Cursor)
        return await asyncio.to_thread(self._delete, table, page.after)

    async def scrub(self, rule: PruneRule, page: Page) -> int:
        assert isinstance(page.after, Cursor)
        return await asyncio.to_thread(self._scrub, rule, self._fields(rule), page.after)

    def _fields(self, rule: PruneRule) -> list[str]:
        schema = self.sink.tables[rule.table]
        return [f.id for f in rule.fields if f.id in schema.columns and f.id not in schema.primary_key]

    def _delete(self, table: str, cursor: Cursor) -> int:
        schema = self.sink.tables[table]
        links = self.sink.tables.get(reads.LINK_TABLE) if table == "events" else None
        remove = self.sink.prepare_blocking(statements.delete(schema))
        remove_link = self.sink.prepare_blocking(statements.delete(links)) if links else None
        count = 0
        scanned = [c for c in (LOG_COLUMNS if table == LOGS else SCAN_COLUMNS) if c in schema.columns]
        for row in self._expired(table, scanned, cursor, lambda row: True):
            self.sink.execute_blocking(remove, [row[c] for c in schema.primary_key])
            if remove_link is not None and row.get("link") and row.get("created_at"):
                self.sink.execute_blocking(remove_link, [row["link"], row["created_at"], row["eid"]])
            count += 1
            if count >= cursor.size:
                break
        return count

    def _scrub(self, rule: PruneRule, fields: list[str], cursor: Cursor) -> int:
        schema = self.sink.tables[rule.table]
        links = self.sink.tables.get(reads.LINK_TABLE)
        link_fields = [f for f in fields if links and f in links.columns and f not in links.primary_key]
        stamp = "updated" if "updated" in schema.columns else None
        count = 0
        scanned = [*(c for c in SCAN_COLUMNS if c in schema.columns), *(f for f in fields if f not in SCAN_COLUMNS)]
        for row in self._expired(rule.table, scanned, cursor, lambda row: row.get("updated") is None):
            params = scrubbed_params(row, rule, fields) if "params" in schema.columns else None
            assigned = (["params"] if params is not None else []) + ([stamp] if stamp else [])
            values: list[Any] = ([params] if params is not None else []) + ([datetime.now(UTC)] if stamp else [])
            if not fields and not assigned:
                continue
            cql = statements.update(schema, fields, assigned)
            self.sink.execute_blocking(
                self.sink.prepare_blocking(cql), [*values, *(row[c] for c in schema.primary_key)]
            )
            if links and link_fields and row.get("link") and row.get("created_at"):
                link_cql = statements.update(links, link_fields, [])
                key = [to_cql(row["link"], "text"), row["created_at"], row["eid"]]
                self.sink.execute_blocking(self.sink.prepare_blocking(link_cql), key)
            count += 1
            if count >= cursor.size:
                break
        return count

    def _expired(
        self, table: str, columns: list[str], cursor: Cursor, wanted: Callable[[dict[str, Any]], bool]
    ) -> Iterator[dict[str, Any]]:
        """The expired rows that are `wanted`, from where the cursor's last page stopped; at the end it is exhausted."""
        if cursor.rows is None:
            cursor.rows = self.sink.scan(table, columns, cursor.expiry.page_size)
        for row in cursor.rows:
            if is_expired(row, cursor.expiry) and wanted(row):
                yield row
        cursor.exhausted = True


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
