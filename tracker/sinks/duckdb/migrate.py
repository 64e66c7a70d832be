"""Migrations of a DuckDB file made by an older tracker, run at open before the schema files, each idempotent.

The events table lost its PRIMARY KEY (eid): its index grew with the table and stayed in memory. DuckDB cannot
drop a key in place, so the table is rebuilt: a copy with the same columns and no key, the old one dropped, the
copy renamed, in one transaction (a crash leaves the old table as it was, and the next open tries again). The ids
of the newest events seed event_ids, so a replay of what the old version stored just before is still recognised.
"""

from __future__ import annotations

import logging
import time

import duckdb

from tracker.sinks.duckdb import event_ids

log = logging.getLogger("tracker.sinks.duckdb")
UNKEYED_TABLE = event_ids.EVENTS
STAGING_TABLE = "events__without_key"


def events_keyed(connection: duckdb.DuckDBPyConnection) -> bool:
    ((found,),) = connection.execute(  # fetchall: an unfinished result blocks the connection's next statement
        "SELECT count(*) FROM duckdb_constraints() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [UNKEYED_TABLE],
    ).fetchall()
    return bool(found)


def drop_events_key(connection: duckdb.DuckDBPyConnection, seed_ids: int) -> bool:
    """Rebuild `events` without its key if it has one; True when it did. `seed_ids`: how many of the newest
    events' ids go into event_ids."""
    if not events_keyed(connection):
        return False
    started = time.monotonic()
    columns = connection.execute(
        "SELECT column_name, data_type, column_default, is_nullable FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [UNKEYED_TABLE],
    ).fetchall()
    definitions = ", ".join(
        f'"{name}" {data_type}' + ("" if default is None else f" DEFAULT {default}") + ("" if nullable else " NOT NULL")
        for name, data_type, default, nullable in columns
    )
    connection.execute("BEGIN TRANSACTION")
    try:
        connection.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
        connection.execute(f"CREATE TABLE {STAGING_TABLE} ({definitions})")
        connection.execute(f"INSERT INTO {STAGING_TABLE} SELECT * FROM {UNKEYED_TABLE}")
        connection.execute(f"DROP TABLE {UNKEYED_TABLE}")
        connection.execute(f"ALTER TABLE {STAGING_TABLE} RENAME TO {UNKEYED_TABLE}")
        connection.execute(event_ids.CREATE)
        connection.execute(
            f"INSERT OR IGNORE INTO {event_ids.TABLE} SELECT eid, row_number() OVER (ORDER BY created_at, eid) "
            f"FROM (SELECT eid, created_at FROM {UNKEYED_TABLE} ORDER BY created_at DESC LIMIT ?)",
            [seed_ids],
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    ((count,),) = connection.execute(f"SELECT count(*) FROM {UNKEYED_TABLE}").fetchall()
    log.info(
        "events table rebuilt without its key", extra={"rows": count, "seconds": round(time.monotonic() - started, 3)}
    )
    return True
