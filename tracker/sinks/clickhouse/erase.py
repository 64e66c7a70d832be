"""Erase on ClickHouse (privacy/erase.py says what and why): per table, the person's rows are counted, then one
mutation deletes or anonymises them and is waited for; then the audit row, once per request (a replayed request
erases again and finds its audit row already there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tracker.privacy.erase import ZERO_UUID, audit_row
from tracker.sinks.base import Row
from tracker.sinks.clickhouse.retention import wait_for_mutations
from tracker.sinks.sql_erase import erase_steps

if TYPE_CHECKING:
    from tracker.sinks.clickhouse.sink import ClickHouseSink


async def erase_rows(sink: ClickHouseSink, erasure: Row) -> dict[str, int]:
    steps = erase_steps(erasure, sink.columns, lambda subject: f"toUUID('{subject}')")
    counts: dict[str, int] = {}
    for step in steps:
        found = await sink.query(f"SELECT count() AS n FROM {step.table} WHERE {step.condition}")
        count = int(found[0]["n"]) if found else 0
        counts[step.table] = counts.get(step.table, 0) + count
        if not count:
            continue
        if step.anonymise:
            zeroed = ", ".join(f"{column} = toUUID('{ZERO_UUID}')" for column in step.anonymise)
            await sink.command(f"ALTER TABLE {step.table} UPDATE {zeroed} WHERE {step.condition}")
        else:
            await sink.command(f"ALTER TABLE {step.table} DELETE WHERE {step.condition}")
        await wait_for_mutations(sink, step.table)
    if "logs" in sink.columns:
        done = await sink.query("SELECT count() AS n FROM logs WHERE id = toUUID(?)", [str(erasure["id"])])
        if not done or not int(done[0]["n"]):
            await sink.write("logs", [audit_row(erasure, sink.name, counts)])
    return counts
