"""The cluster variant of the ClickHouse schema, made from the single-server files (`Cluster` in the Notify entry):
each table becomes `<name>_local` on every node plus a `Distributed` table `<name>` over them, as the Go tracker
ships; the views, inserts and reads keep using `<name>`, so nothing else changes between the two layouts.

Rows are sharded by a hash of the table's sort key, so a replayed row lands on the shard that holds its first copy
and collapses there under FINAL (Go shards by rand(), which lets replays survive on two shards). With `Replicated`
the engines are the Replicated* ones (ClickHouse Keeper or ZooKeeper, and the `{shard}` and `{replica}` macros in
each server's config); without it they stay plain MergeTree engines, one copy per shard.
"""

from __future__ import annotations

import re

CREATE_TABLE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<name>\w+) (?P<columns>\(.*\))\s*ENGINE = (?P<engine>\w+)\((?P<args>[^)]*)\)"
    r"(?P<rest>.*)$",
    re.S,
)
ORDER_BY = re.compile(r"ORDER BY (\([^)]*\)|\w+)")


def local_name(table: str) -> str:
    return f"{table}_local"


def cluster_statements(statement: str, cluster: str, database: str, replicated: bool) -> list[str]:
    """A statement of the single-server schema as the cluster runs it: a CREATE TABLE becomes the local table
    and the Distributed table over it; anything else (views) is unchanged."""
    match = CREATE_TABLE.match(statement.strip())
    if match is None:
        return [statement]
    name, engine, args = match["name"], match["engine"], match["args"].strip()
    local = local_name(name)
    if replicated:
        path = f"'/clickhouse/tables/{{shard}}/{database}/{local}', '{{replica}}'"
        engine, args = f"Replicated{engine}", f"{path}, {args}" if args else path
    order = ORDER_BY.search(match["rest"])
    key = order.group(1).strip("()") if order else "rand()"
    shard = f"cityHash64({key})" if order else key
    return [
        f"CREATE TABLE IF NOT EXISTS {local} {match['columns']} ENGINE = {engine}({args}){match['rest']}",
        f"CREATE TABLE IF NOT EXISTS {name} AS {local} ENGINE = Distributed({cluster}, {database}, {local}, {shard})",
    ]
