"""Connecting to the DuckDB file with the sink's bounds, and what the sink reads of its catalog: each table's
columns (name, type, default) and primary keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tracker.sinks.duckdb import files
from tracker.sinks.duckdb.batch import Column
from tracker.sinks.duckdb.settings import DuckDBSettings

DATABASE = "tracker"  # the name the sink's file is attached under; every connection and cursor uses it


def connect(path: Path, settings: DuckDBSettings) -> duckdb.DuckDBPyConnection:
    """A connection whose memory, threads and checkpoint threshold are bounded by `settings`; a file database is
    made private first, and spills to a private directory. The file is attached rather than opened, because only
    ATTACH takes a row group size: a checkpoint recompresses the last row group whole, so DuckDB's 122,880 rows
    made a ~110 MiB peak every few minutes (README, DuckDB sink)."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": settings.memory_limit,
        "threads": str(settings.threads),
        "checkpoint_threshold": settings.checkpoint_threshold,
        # DuckDB's jemalloc returns freed pages to the system only when the arena that freed them allocates again;
        # its background thread purges them after a second (the supervisor kept 7-15 MiB of them: README).
        "allocator_background_threads": True,
    }
    if settings.path != ":memory:":
        files.create_private(path)
        config["temp_directory"] = str(files.private_directory(files.temp_directory(path)))
    connection = duckdb.connect(":memory:", config=config)
    try:
        quoted = str(path).replace("'", "''")  # Path(":memory:") reads back as ":memory:"
        connection.execute(f"ATTACH '{quoted}' AS {DATABASE} (ROW_GROUP_SIZE {settings.row_group_size})")
        connection.execute(f"USE {DATABASE}")
    except BaseException:
        connection.close()
        raise
    return connection


def cursor(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor on the sink's database (a cursor starts on DuckDB's default database, not on the one USEd)."""
    made = connection.cursor()
    made.execute(f"USE {DATABASE}")
    return made


@dataclass(slots=True)
class Catalog:
    tables: dict[str, dict[str, Column]] = field(default_factory=dict)  # views left out
    keys: dict[str, list[str]] = field(default_factory=dict)  # primary key columns by table


def read_catalog(connection: duckdb.DuckDBPyConnection) -> Catalog:
    columns = connection.execute(
        "SELECT table_name, column_name, data_type, column_default FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal "
        "ORDER BY table_name, column_index"
    ).fetchall()
    views = {
        r[0]
        for r in connection.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database()"
        ).fetchall()
    }
    catalog = Catalog()
    for table, column, data_type, default in columns:
        if table not in views:
            catalog.tables.setdefault(table, {})[column] = Column(column, data_type, default)
    keys = connection.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND constraint_type = 'PRIMARY KEY'"
    ).fetchall()
    catalog.keys = {table: list(names) for table, names in keys}
    return catalog
