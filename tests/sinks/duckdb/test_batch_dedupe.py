"""dedupe (tracker/sinks/duckdb/batch.py) keys rows in C loops when every row has the key columns: the same rows,
in the same order, as keying each row with .get (missing columns as None) for any rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tracker.sinks.duckdb.batch import Row, dedupe

COLUMNS = ("hhash", "hostname", "uid", "vid")
ROWS = st.lists(
    st.dictionaries(
        st.sampled_from(COLUMNS + ("created_at",)), st.none() | st.sampled_from(["a", "b", "c"]) | st.integers(0, 2)
    ),
    max_size=30,
)
KEYS = st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=3, unique=True)


def by_get(rows: list[Row], key: Sequence[str]) -> list[Row]:
    """What dedupe did before: the last row of each key, in the order keys were first seen."""
    unique: dict[Any, Row] = {tuple(row.get(k) for k in key): row for row in rows}
    return list(unique.values()) if len(unique) < len(rows) else rows


@given(rows=ROWS, key=KEYS)
def test_dedupe_keeps_the_last_row_of_each_key_as_keying_by_get_does(rows: list[Row], key: list[str]) -> None:
    assert dedupe(rows, key) == by_get(rows, key)


@given(rows=ROWS, key=KEYS)
def test_rows_with_every_key_column_are_deduped_the_same(rows: list[Row], key: list[str]) -> None:
    full = [{**dict.fromkeys(key, "x"), **row} for row in rows]  # the fast path: no row lacks a key column
    kept = dedupe(full, key)
    assert kept == by_get(full, key)
    assert len({tuple(row[k] for k in key) for row in kept}) == len(kept)


def test_no_key_or_no_duplicate_gives_the_same_list_back() -> None:
    rows: list[Row] = [{"hhash": "a"}, {"hhash": "b"}]
    assert dedupe(rows, None) is rows and dedupe(rows, []) is rows and dedupe(rows, ["hhash"]) is rows
