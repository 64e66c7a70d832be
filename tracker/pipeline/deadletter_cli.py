"""`tracker dead-letter list|replay SINK [CONFIG]`: show a sink's dead-lettered rows, or offer them to it again
once the cause is fixed (a schema change, a type that now fits).

Replay writes each table's rows to that one sink (writes are idempotent on the row key), prints what was stored
and what was refused again, and rewrites the dead-letter file: stored rows leave it, refused ones stay with the
new error. DuckDB takes one writing process per file: stop the tracker before replaying into DuckDB.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tracker.config import Config, ConfigError, load
from tracker.pipeline.deadletter import DEAD_LETTER_DIRECTORY, DeadLetters, without
from tracker.sinks.base import PermanentSinkError, Sink


@dataclass(slots=True)
class Replay:
    offered: int = 0
    stored: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    failure: str = ""  # the sink failed outright (down, locked): nothing after it was tried


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="tracker dead-letter", description="List or replay a sink's dead letters.")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("sink", help="the sink's name (its Name, else its Service)")
    p.add_argument("config", nargs="?", default="./config.json")
    args = p.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    letters = DeadLetters(Path(config.spool_directory) / DEAD_LETTER_DIRECTORY)
    if args.action == "list":
        return _list(letters, args.sink)
    return asyncio.run(_replay_command(config, letters, args.sink))


def _list(letters: DeadLetters, sink: str) -> int:
    entries = letters.read(sink)
    tables: dict[str, int] = {}
    for entry in entries:
        tables[entry["table"]] = tables.get(entry["table"], 0) + 1
        row = orjson.dumps(entry["row"]).decode()
        print(f"{entry.get('at', '?')}  {entry['table']}  {entry.get('error', '')[:120]}  {row[:400]}")
    summary = ", ".join(f"{table}: {count}" for table, count in sorted(tables.items()))
    others = [name for name in letters.sinks() if name != sink]
    hint = f" (dead letters also for: {', '.join(others)})" if others else ""
    print(f"{sink}: {len(entries)} dead-lettered rows{f' ({summary})' if summary else ''}{hint}", file=sys.stderr)
    return 0


async def _replay_command(config: Config, letters: DeadLetters, name: str) -> int:
    from tracker.sinks.registry import build_sinks

    sinks = {sink.name: sink for sink in build_sinks(config)}
    if name not in sinks:
        print(f'no enabled sink named "{name}" (enabled: {", ".join(sinks) or "none"})', file=sys.stderr)
        return 2
    entries = letters.read(name)
    result = await replay(sinks[name], entries)
    letters.take_back(name, result.offered, result.refused)
    print(f"{name}: offered {result.offered}, stored {result.stored}, refused again {len(result.refused)}")
    if result.failure:
        print(f"{name}: stopped early, the rest stays dead-lettered: {result.failure}", file=sys.stderr)
        return 1
    return 0


async def replay(sink: Sink, entries: list[dict[str, Any]]) -> Replay:
    """Offer `entries` (dead-letter lines) to `sink`, table by table; refused and untried ones come back."""
    result = Replay(offered=len(entries))
    try:
        await sink.open()
    except Exception as error:  # noqa: BLE001 - any failure to open: report it, keep every row
        result.failure = f"{type(error).__name__}: {error}"
        result.refused = entries
        return result
    try:
        by_table: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_table.setdefault(entry["table"], []).append(entry)
        for table, table_entries in by_table.items():
            if result.failure:
                result.refused.extend(table_entries)
                continue
            await _offer(sink, table, table_entries, result)
    finally:
        await sink.close()
    return result


async def _offer(sink: Sink, table: str, entries: list[dict[str, Any]], result: Replay) -> None:
    rows = [entry["row"] for entry in entries]
    entry_of = {id(row): entry for row, entry in zip(rows, entries, strict=True)}
    pending = rows
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    while pending:
        try:
            await sink.write(table, pending)
            result.stored += len(pending)
            return
        except PermanentSinkError as error:
            rejected = error.rows or pending
            for row in rejected:
                entry = entry_of.get(id(row)) or {"table": table, "row": row}
                result.refused.append({**entry, "error": str(error), "at": now})
            remaining = [] if error.others_stored else without(pending, rejected)
            if error.others_stored:
                result.stored += len(pending) - len(rejected)
            pending = remaining
        except Exception as error:  # noqa: BLE001 - transient or unknown: keep what is left, say why
            result.failure = f"{type(error).__name__}: {error}"
            result.refused.extend(entry_of[id(row)] for row in pending)
            return
