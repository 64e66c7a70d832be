"""Exactly-once for events without a key on events: the ids of the newest events, in a small keyed table.

An event arrives twice when the spool replays a batch (a crash after the write, before the cursor was saved) or a
client resends what it saw no answer for. A key on events would catch both, but its index holds every id ever
stored, in memory. event_ids holds only the newest `window` ids (a seq numbers them in the order they were
stored; older ones are deleted at each checkpoint), so its index stays bounded, about 100 bytes an id. An event is
stored only if its id could be added to event_ids, in the same transaction as the rows: both or neither.
A duplicate older than the window (more than `window` events later) is stored again; DedupeEvents sets it.
"""

from __future__ import annotations

import contextlib
import uuid

import duckdb

from tracker.sinks.duckdb.batch import Column, Row, register_batch

EVENTS, TABLE, KEY = "events", "event_ids", "eid"
# The sink's own bookkeeping, not a table of the data schema (.setup/): made whatever the Schema setting.
CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} ({KEY} UUID PRIMARY KEY, seq BIGINT NOT NULL)"


class EventIdWindow:
    def __init__(self, window: int) -> None:
        self.window = window
        self.next_seq = 1

    def load(self, connection: duckdb.DuckDBPyConnection) -> None:
        connection.execute(CREATE)
        # fetchall, not fetchone: a result left unfinished blocks the next statement on this connection
        ((highest,),) = connection.execute(f"SELECT coalesce(max(seq), 0) FROM {TABLE}").fetchall()
        self.next_seq = int(highest) + 1

    def store(
        self, cursor: duckdb.DuckDBPyConnection, columns: dict[str, Column], present: list[str], rows: list[Row]
    ) -> None:
        """Insert the events whose id is new, and their ids, in one transaction on `cursor`."""
        try:  # a plain insert of the ids is much cheaper than OR IGNORE ... RETURNING; replays are the rare case
            self._store(cursor, columns, present, rows, replay=False)
        except duckdb.ConstraintException as error:
            if "duplicate key" not in str(error).lower():
                raise
            self._store(cursor, columns, present, rows, replay=True)

    def _store(
        self,
        cursor: duckdb.DuckDBPyConnection,
        columns: dict[str, Column],
        present: list[str],
        rows: list[Row],
        *,
        replay: bool,
    ) -> None:
        names = ", ".join(f'"{n}"' for n in present)
        # One seq a batch, its last row's number: trim() keeps a batch while any of its rows is among the newest
        # `window`. Gaps after a rollback are harmless: seq only orders.
        self.next_seq += len(rows)
        seq = self.next_seq - 1
        cursor.execute("BEGIN TRANSACTION")
        try:
            select = register_batch(cursor, columns, present, rows)
            ids = f'INTO {TABLE} SELECT CAST("{KEY}" AS UUID), {seq}::BIGINT FROM incoming_batch'
            if replay:
                fresh = {found for (found,) in cursor.execute(f"INSERT OR IGNORE {ids} RETURNING {KEY}").fetchall()}
                if len(fresh) < len(rows):
                    kept = [row for row in rows if _as_uuid(row.get(KEY)) in fresh]
                    select = register_batch(cursor, columns, present, kept) if kept else ""
            else:
                cursor.execute("INSERT " + ids)
            if select:
                cursor.execute(f'INSERT INTO "{EVENTS}" ({names}) {select}')
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # the error that got us here is the one to tell
                cursor.execute("ROLLBACK")
            raise

    def trim(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Forget all but the newest `window` ids (called before a checkpoint)."""
        connection.execute(f"DELETE FROM {TABLE} WHERE seq < ?", [self.next_seq - self.window]).fetchall()


def unique_ids(rows: list[Row]) -> list[Row]:
    """One row per id within a batch (the first one: a later copy is the duplicate)."""
    seen: set[object] = set()
    kept: list[Row] = []
    for row in rows:
        key = row.get(KEY)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept if len(kept) < len(rows) else rows


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None
