"""Erase on Cassandra (privacy/erase.py says what and why). CQL cannot select by a column outside the key, so each
listed table is paged through, as prune does, and the person's rows are deleted by their key (their
`events_by_link` twins with them) or anonymised; then the audit row in `logs`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tracker.privacy.erase import ERASED_TABLES, ZERO_UUID, ErasedTable, audit_row, parse_subject
from tracker.sinks.base import Row
from tracker.sinks.cassandra import reads, statements

if TYPE_CHECKING:
    from tracker.sinks.cassandra.sink import CassandraSink

PAGE = 5000


def erase_rows(sink: CassandraSink, erasure: Row) -> dict[str, int]:
    """Blocking: run it in a thread. Rows deleted or anonymised per table."""
    kind, subject = parse_subject(str(erasure.get("subject", "")), str(erasure.get("kind", "any")))
    person = uuid.UUID(subject)
    counts: dict[str, int] = {}
    for spec in ERASED_TABLES:
        if spec.table in sink.tables:
            counts[spec.table] = _erase_table(sink, spec, kind, person)
    return counts


def _erase_table(sink: CassandraSink, spec: ErasedTable, kind: str, person: uuid.UUID) -> int:
    schema = sink.tables[spec.table]
    matches = [
        (column, required)
        for column, required in spec.matches(kind)
        if column in schema.columns and (not required or spec.kind_column in schema.columns)
    ]
    if not matches:
        return 0
    anonymise = [c for c in spec.anonymise if c in schema.columns and c not in schema.primary_key]
    links = sink.tables.get(reads.LINK_TABLE) if spec.table == "events" else None
    wanted = {*schema.primary_key, *(c for c, _ in matches), *([spec.kind_column] if spec.kind_column else [])}
    if links is not None:
        wanted |= {c for c in ("link", "created_at") if c in schema.columns}
    change = sink.prepare_blocking(statements.update(schema, [], anonymise) if anonymise else statements.delete(schema))
    remove_link = sink.prepare_blocking(statements.delete(links)) if links is not None else None
    count = 0
    for row in sink.scan(spec.table, sorted(c for c in wanted if c in schema.columns), PAGE):
        if not any(_same(row.get(c), person) and (not r or row.get(spec.kind_column) == r) for c, r in matches):
            continue
        key = [row[c] for c in schema.primary_key]
        sink.execute_blocking(change, [*([uuid.UUID(ZERO_UUID)] * len(anonymise)), *key] if anonymise else key)
        if remove_link is not None and row.get("link") and row.get("created_at"):
            sink.execute_blocking(remove_link, [row["link"], row["created_at"], row["eid"]])
        count += 1
    return count


def audit(sink: CassandraSink, erasure: Row, counts: dict[str, int]) -> dict[str, Any] | None:
    """The audit row to write, when the keyspace has `logs`."""
    return audit_row(erasure, sink.name, counts) if "logs" in sink.tables else None


def _same(value: Any, person: uuid.UUID) -> bool:
    return value == person or (isinstance(value, str) and value.lower() == str(person))
