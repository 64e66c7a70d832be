"""SQL text for the ClickHouse sink: schema files split into statements, `?` parameters bound for aiochclient.

ClickHouse's HTTP interface takes one statement per request, and 18.16 has no server-side parameters, so
values are escaped client-side by aiochclient (its `{name}` placeholders filled through str.format).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

SQL_STATEMENT_END = re.compile(r";\s*(?:\n|$)")
# A `?` placeholder or a brace outside a string literal (a `?` inside one is text).
BIND_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|\?|[{}]")


def bind(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`?` placeholders as aiochclient's `{p0}`, `{p1}`…, other braces doubled for its str.format."""
    if not params:
        return sql, {}
    values = list(params)
    named: dict[str, Any] = {}

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if token == "?":
            if len(named) == len(values):
                raise ValueError(f"more placeholders than the {len(values)} parameters: {sql[:80]!r}")
            name = f"p{len(named)}"
            named[name] = values[len(named)]
            return "{" + name + "}"
        return token.replace("{", "{{").replace("}", "}}")

    prepared = BIND_TOKEN.sub(replace, sql)
    if len(named) != len(values):
        raise ValueError(f"{len(values)} parameters for {len(named)} placeholders: {sql[:80]!r}")
    return prepared, named


def statements(sql: str) -> list[str]:
    """The statements of a schema file (ClickHouse's HTTP interface takes one per request)."""
    found = []
    for part in SQL_STATEMENT_END.split(sql):
        body = "\n".join(line for line in part.splitlines() if not line.strip().startswith("--")).strip()
        if body:
            found.append(body)
    return found
