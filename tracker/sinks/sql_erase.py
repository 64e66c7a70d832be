"""What an erase runs on a SQL sink (DuckDB, ClickHouse): one step per listed table the sink has, each a condition
on the person's id columns and either a delete or the columns to anonymise (privacy/erase.py names them)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.privacy.erase import ERASED_TABLES, BadErasure, parse_subject
from tracker.sinks.base import PermanentSinkError, PrimaryStore, Row


@dataclass(frozen=True, slots=True)
class EraseStep:
    table: str
    condition: str
    anonymise: tuple[str, ...] = ()  # empty: delete the rows


def erase_steps(
    erasure: Mapping[str, Any], tables: Mapping[str, Iterable[str]], uuid_literal: Callable[[str], str]
) -> list[EraseStep]:
    """The steps for one `erasures` row; raises BadErasure when it names no person."""
    kind, subject = parse_subject(str(erasure.get("subject", "")), str(erasure.get("kind", "any")))
    steps = []
    for spec in ERASED_TABLES:
        columns = set(tables.get(spec.table, ()))
        matches = [
            f"{column} = {uuid_literal(subject)}" + (f" AND {spec.kind_column} = '{required}'" if required else "")
            for column, required in spec.matches(kind)
            if column in columns and (not required or spec.kind_column in columns)
        ]
        if matches:
            anonymise = tuple(column for column in spec.anonymise if column in columns)
            steps.append(EraseStep(spec.table, " OR ".join(f"({m})" for m in matches), anonymise))
    return steps


async def erase_each(store: PrimaryStore, rows: Sequence[Row]) -> None:
    """A sink's write() of `erasures` rows: erase each in order; a request naming no person is dead-lettered."""
    for row in rows:
        try:
            await store.erase(row)
        except BadErasure as error:
            raise PermanentSinkError(f"erase request refused: {error}", rows=[row]) from None
