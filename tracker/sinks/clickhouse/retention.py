"""The ClickHouse sink's retention statements (the loop is sinks/retention.py, the shared SQL sql_retention.py):
one mutation per page (`ALTER TABLE … DELETE/UPDATE`), so every assignment sees the row as it was: a field's
DestParamHash is computed from the value the same mutation empties. A mutation does not say how many rows it
changed, so the page's rows are counted first; each mutation is waited for (up to MUTATION_WAIT seconds), so a
stopped run leaves whole pages behind it. Pages are bounded by whole seconds (DateTime).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from tracker.config import PruneRule
from tracker.sinks.clickhouse.cluster import local_name
from tracker.sinks.retention import Page
from tracker.sinks.sql_retention import NAME, SqlRetention

if TYPE_CHECKING:
    from tracker.sinks.clickhouse.sink import ClickHouseSink

log = logging.getLogger("tracker.sinks.clickhouse")
KEY_COLUMNS = frozenset(("created_at", "eid"))
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MUTATION_WAIT = 600.0


class ClickHouseRetention(SqlRetention):
    def __init__(self, sink: ClickHouseSink) -> None:
        self.sink = sink
        self.tables = {
            table: {name: _empty(kind) for name, kind in columns.items()} for table, columns in sink.columns.items()
        }

    def at_seconds(self, seconds: int) -> str:
        return f"toDateTime({max(int(seconds), 0)})"

    def at_position(self, position: int) -> str:
        return self.at_seconds(position)

    def position(self, expression: str) -> str:
        return f"toUnixTimestamp({expression})"

    def seconds(self, position: int) -> int:
        return position

    def bit_and(self, left: str, right: int) -> str:
        return f"bitAnd({left}, {int(right)})"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def hashes_only(self, keys: list[str]) -> str:
        members = f'"({"|".join(keys)})":"[A-Za-z0-9_=-]*",?' if keys else ""
        return f"(params IN ('', '{{}}') OR match(params, '^\\\\{{({members})*\\\\}}$'))"

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        return await self.sink.query(sql)

    async def delete(self, table: str, page: Page) -> int:
        count = await self._count(table, page.condition)
        if count:
            await self.sink.command(f"ALTER TABLE {table} DELETE WHERE {page.condition}")
            await wait_for_mutations(self.sink, table)
        return count

    async def scrub(self, rule: PruneRule, page: Page) -> int:
        assignments = scrub_assignments(rule, self.sink.columns.get(rule.table, {}))
        count = await self._count(rule.table, page.condition) if assignments else 0
        if count:
            await self.sink.command(f"ALTER TABLE {rule.table} UPDATE {', '.join(assignments)} WHERE {page.condition}")
            await wait_for_mutations(self.sink, rule.table)
        return count

    async def _count(self, table: str, condition: str) -> int:
        matched = await self.sink.query(f"SELECT count() AS n FROM {table} WHERE {condition}")
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


async def wait_for_mutations(sink: ClickHouseSink, table: str) -> None:
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
