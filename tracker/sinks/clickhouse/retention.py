"""The ClickHouse sink's retention statements (the loop is sinks/retention.py): mutations that delete or scrub.

One mutation per rule (`ALTER TABLE … DELETE/UPDATE`), so every assignment sees the row as it was: a field's
DestParamHash is computed from the value the same mutation empties. Each statement waits for its mutations to finish
(up to MUTATION_WAIT seconds) and reports the rows that matched when they were issued.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING

from tracker.config import PruneRule
from tracker.sinks.clickhouse.cluster import local_name

if TYPE_CHECKING:
    from tracker.sinks.clickhouse.sink import ClickHouseSink

log = logging.getLogger("tracker.sinks.clickhouse")
KEY_COLUMNS = frozenset(("created_at", "eid"))
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # params keys and columns are spliced into SQL and JSON text
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MUTATION_WAIT = 600.0


class ClickHouseRetention:
    """Counts the expired rows first (a mutation does not say how many it changed), then one mutation per rule,
    and waits for it to finish."""

    def __init__(self, sink: ClickHouseSink) -> None:
        self.sink = sink

    def expired(self, rule: PruneRule) -> str:
        expired = f"created_at < now() - {int(rule.ttl_seconds)}"
        if rule.keep_mask:
            expired += f" AND bitAnd(cflags, {rule.keep_mask}) = 0"
        return expired

    async def delete(self, table: str, expired: str) -> int:
        count = await self._count(table, expired)
        if count:
            await self.sink.command(f"ALTER TABLE {table} DELETE WHERE {expired}")
            await _wait_for_mutations(self.sink, table)
        return count

    async def scrub(self, rule: PruneRule, expired: str) -> int | None:
        count = await self._count(rule.table, expired)
        if count == 0:
            return 0
        assignments = scrub_assignments(rule, self.sink.columns.get(rule.table, {}))
        if not assignments:
            return None
        await self.sink.command(f"ALTER TABLE {rule.table} UPDATE {', '.join(assignments)} WHERE {expired}")
        await _wait_for_mutations(self.sink, rule.table)
        return count

    async def _count(self, table: str, expired: str) -> int:
        matched = await self.sink.query(f"SELECT count() AS n FROM {table} WHERE {expired}")
        return int(matched[0]["n"]) if matched else 0


def scrub_assignments(rule: PruneRule, columns: dict[str, str]) -> list[str]:
    """`column = value` for every field the rule empties, and params with the fields' hashes added."""
    fields = [f for f in rule.fields if f.id in columns and f.id not in KEY_COLUMNS and NAME.fullmatch(f.id)]
    for field in rule.fields:
        if field not in fields:
            log.warning("prune field skipped: not a column ClickHouse can update", extra={"field": field.id})
    hashed = [(f.id, f.dest_param_hash) for f in fields if f.dest_param_hash and NAME.fullmatch(f.dest_param_hash)]
    assignments = [f"{f.id} = {_empty(columns[f.id])}" for f in fields]
    if rule.clear_params:
        # only the hashes survive: the new ones, else any the row already had
        members = [
            f"if({column} != '', concat('\"{key}\":\"', {sha_sql(column)}, '\"'), "
            f"if(visitParamHas(params, '{key}'), concat('\"{key}\":', visitParamExtractRaw(params, '{key}')), ''))"
            for column, key in hashed
        ]
        kept = f"arrayStringConcat(arrayFilter(x -> x != '', [{', '.join(members)}]), ',')" if members else "''"
        assignments.append(f"params = concat('{{', {kept}, '}}')")
    elif hashed:
        members = [  # appended to the JSON text; a key the row already has is left as it is
            f"if({column} != '' AND NOT visitParamHas(params, '{key}'), "
            f"concat('\"{key}\":\"', {sha_sql(column)}, '\"'), '')"
            for column, key in hashed
        ]
        added = f"arrayStringConcat(arrayFilter(x -> x != '', [{', '.join(members)}]), ',')"
        opened = "if(params IN ('', '{}'), '{', concat(substring(params, 1, length(params) - 1), ','))"
        assignments.append(f"params = if({added} = '', params, concat({opened}, {added}, '}}'))")
    return assignments


def sha_sql(column: str) -> str:
    """tracker.privacy.hashing.sha() in SQL that 18.16 runs (it has no base64Encode): SHA-1 in URL-safe base64
    with padding, 3 bytes → 4 characters at a time."""
    digest = f"SHA1(toString({column}))"

    def byte(i: int) -> str:
        return f"reinterpretAsUInt8(substring({digest}, {i + 1}, 1))"

    characters = []
    for group in range(7):  # 20 bytes: six whole groups of three, then two bytes and one '='
        first = 3 * group
        parts = [f"{byte(first)} * 65536", f"{byte(first + 1)} * 256"]
        if group < 6:
            parts.append(byte(first + 2))
        number = " + ".join(parts)
        for position in range(4 if group < 6 else 3):
            shift = 6 * (3 - position)
            characters.append(f"substring('{BASE64URL}', bitAnd(bitShiftRight({number}, {shift}), 63) + 1, 1)")
    return f"concat({', '.join(characters)}, '=')"


async def _wait_for_mutations(sink: ClickHouseSink, table: str) -> None:
    """Mutations run in the background: wait so a prune run ends with its rows really scrubbed."""
    deadline = time.monotonic() + MUTATION_WAIT
    table = local_name(table) if sink.cluster and local_name(table) in sink.columns else table  # where it ran
    while time.monotonic() < deadline:
        pending = await sink.query(
            "SELECT count() AS n FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0",
            [sink.database, table],
        )
        if not pending or int(pending[0]["n"]) == 0:
            return
        await asyncio.sleep(0.2)
    log.warning("ClickHouse mutations still running after the prune", extra={"table": table})


def _empty(column_type: str) -> str:
    if column_type.startswith("Nullable"):
        return "NULL"
    if column_type == "UUID":
        return "toUUID('00000000-0000-0000-0000-000000000000')"
    if column_type.startswith(("Int", "UInt", "Float", "Decimal")):
        return "0"
    return "''"
