"""What the sink knows of a table: its columns with their CQL types and its key, read from the cluster's
metadata at open, or from the `.setup/cassandra/*.cql` files (the same shape, for checks without a server)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.sinks.schema import schema_dir

STATEMENT_END = re.compile(r";\s*(?:\n|$)")
CREATE_TABLE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s*\(", re.IGNORECASE)
PRIMARY_KEY = re.compile(r"PRIMARY\s+KEY\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: Mapping[str, str]  # name → CQL type, e.g. "uuid", "map<text, text>"
    partition_key: tuple[str, ...]
    clustering_key: tuple[str, ...] = ()

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.partition_key + self.clustering_key


def statements(cql: str) -> list[str]:
    """The statements of a .cql file, comments dropped first (the driver runs one statement per request)."""
    text = "\n".join(line.split("--", 1)[0].rstrip() for line in cql.splitlines())
    found = []
    for part in STATEMENT_END.split(text):
        body = "\n".join(line for line in part.splitlines() if line.strip()).strip()
        if body:
            found.append(body)
    return found


def schema_files() -> list[Path]:
    return sorted(schema_dir("cassandra").glob("*.cql"))


def schema_statements() -> list[str]:
    return [statement for file in schema_files() for statement in statements(file.read_text())]


def parse_create_table(statement: str) -> Table | None:
    """A CREATE TABLE statement of our schema files as a Table; None for any other statement."""
    match = CREATE_TABLE.match(statement.strip())
    if match is None:
        return None
    name = match.group(1)
    body = _parenthesised(statement.strip(), match.end() - 1)
    columns: dict[str, str] = {}
    partition: tuple[str, ...] = ()
    clustering: tuple[str, ...] = ()
    for part in _split_top_level(body):
        key = PRIMARY_KEY.match(part)
        if key:
            partition, clustering = _primary_key(key.group(1))
            continue
        column, _, cql_type = part.partition(" ")
        columns[column] = cql_type.strip()
    if not partition:
        raise ValueError(f"table {name} has no PRIMARY KEY clause")
    return Table(name, columns, partition, clustering)


def from_files() -> dict[str, Table]:
    tables = (parse_create_table(statement) for statement in schema_statements())
    return {table.name: table for table in tables if table is not None}


def from_metadata(tables: Mapping[str, Any]) -> dict[str, Table]:
    """From the driver's `cluster.metadata.keyspaces[ks].tables` (TableMetadata objects)."""
    return {
        name: Table(
            name,
            {column.name: column.cql_type for column in meta.columns.values()},
            tuple(column.name for column in meta.partition_key),
            tuple(column.name for column in meta.clustering_key),
        )
        for name, meta in tables.items()
    }


def _primary_key(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    text = text.strip()
    if text.startswith("("):
        inner, _, rest = text[1:].partition(")")
        return _names(inner.split(",")), _names(rest.split(","))
    names = _names(text.split(","))
    return names[:1], names[1:]


def _names(parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(part.strip() for part in parts if part.strip())


def _parenthesised(text: str, start: int) -> str:
    """The text inside the parenthesis opened at `start` (the column list, before any WITH clause)."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index]
    raise ValueError(f"unbalanced parentheses in {text[:60]!r}")


def _split_top_level(body: str) -> list[str]:
    """Split on commas outside <> and () (map<text, text>, PRIMARY KEY ((a, b), c))."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in body:
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [" ".join(part.split()) for part in parts if part]
