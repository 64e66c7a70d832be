"""The spool reader: bad bytes never hide the valid records after them; a write in progress is waited for."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.pipeline import reader as reader_module
from tracker.pipeline import segments
from tracker.pipeline.reader import Cursor, SpoolReader
from tracker.records import Record


def encoded(i: int, size: int = 20) -> bytes:
    return segments.encode([Record("events", {"eid": f"e{i}", "pad": "[x" * size})])


START = Cursor(0, 0)


def eids(directory: Path, cursor: Cursor = START) -> tuple[list[str], SpoolReader]:
    reader = SpoolReader(directory)
    rows, _ = reader.read(cursor, 10**6)
    return [row["eid"] for _, row in rows], reader


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    garbage=st.binary(min_size=1, max_size=200),
    where=st.integers(min_value=0, max_value=20),
    final=st.booleans(),
)
def test_garbage_between_records_never_hides_a_valid_record(
    tmp_path: Path, garbage: bytes, where: int, final: bool
) -> None:
    directory = tmp_path / f"g{abs(hash((garbage, where, final)))}"
    directory.mkdir()
    records = [encoded(i) for i in range(20)]
    segments.segment_path(directory, 0).write_bytes(b"".join(records[:where]) + garbage + b"".join(records[where:]))
    if final:
        segments.segment_path(directory, 1).write_bytes(encoded(20))
    found, _ = eids(directory)
    assert found == [f"e{i}" for i in range(21 if final else 20)]


def test_a_bad_stretch_across_read_chunks_is_resynced_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader_module, "READ_CHUNK", 64)  # records are ~60 bytes: every read cuts one
    data = b"".join(encoded(i) for i in range(10)) + b"\xff" * 300 + b"".join(encoded(i) for i in range(10, 30))
    segments.segment_path(tmp_path, 0).write_bytes(data)
    found, reader = eids(tmp_path)
    assert found == [f"e{i}" for i in range(30)] and reader.corrupt_records == 1


def test_a_partial_tail_of_the_newest_segment_is_waited_for_then_read(tmp_path: Path) -> None:
    path = segments.segment_path(tmp_path, 0)
    whole = encoded(2)
    path.write_bytes(encoded(0) + encoded(1) + whole[:25])
    reader = SpoolReader(tmp_path)
    rows, cursor = reader.read(Cursor(0, 0), 100)
    assert [r["eid"] for _, r in rows] == ["e0", "e1"] and cursor == Cursor(0, 2 * len(whole))
    with open(path, "ab") as handle:  # the writer finishes its write
        handle.write(whole[25:])
    rows, cursor = reader.read(cursor, 100)
    assert [r["eid"] for _, r in rows] == ["e2"] and reader.corrupt_records == 0


def test_a_partial_tail_of_a_finished_segment_is_skipped_to_the_next(tmp_path: Path) -> None:
    segments.segment_path(tmp_path, 0).write_bytes(encoded(0) + encoded(1)[:25])
    segments.segment_path(tmp_path, 1).write_bytes(encoded(2))
    found, reader = eids(tmp_path)
    assert found == ["e0", "e2"] and reader.corrupt_records == 1


def test_a_valid_crc_whose_payload_is_not_rows_is_skipped(tmp_path: Path) -> None:
    import struct
    import zlib

    junk = b"[1,2"
    bad = struct.pack("<II", len(junk), zlib.crc32(junk)) + junk
    segments.segment_path(tmp_path, 0).write_bytes(encoded(0) + bad + encoded(1))
    found, reader = eids(tmp_path)
    assert found == ["e0", "e1"] and reader.corrupt_records == 1


def test_a_cursor_past_the_end_of_the_newest_segment_waits_for_the_next_one(tmp_path: Path) -> None:
    segments.segment_path(tmp_path, 0).write_bytes(encoded(0))
    past = Cursor(0, 10_000)
    found, _ = eids(tmp_path, past)
    assert found == []
    segments.segment_path(tmp_path, 1).write_bytes(encoded(1) + encoded(2))  # the writer restarted
    found, _ = eids(tmp_path, past)
    assert found == ["e1", "e2"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
REQUESTS = st.lists(  # a request's records: one spool record each
    st.lists(
        st.tuples(
            st.sampled_from(["events", "hosts", "userhosts", "ltv"]),
            st.dictionaries(st.text(min_size=1, max_size=6), JSON_VALUES, max_size=5),
        ),
        min_size=1,
        max_size=4,
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests=REQUESTS, wanted=st.integers(min_value=1, max_value=20), chunk=st.sampled_from([48, 200, 1 << 20]))
def test_reading_in_any_steps_gives_every_record_as_segments_decode_reads_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    requests: list[list[tuple[str, dict[str, object]]]],
    wanted: int,
    chunk: int,
) -> None:
    """The reader checks and decodes records inline: the rows, in order, are those of segments.parse + decode."""
    monkeypatch.setattr(reader_module, "READ_CHUNK", chunk)
    directory = tmp_path / f"r{abs(hash((repr(requests), wanted, chunk)))}"
    directory.mkdir()
    data = b"".join(segments.encode([Record(table, row) for table, row in request]) for request in requests)
    segments.segment_path(directory, 0).write_bytes(data)
    expected = [pair for parsed in segments.parse(data) for pair in segments.decode(parsed.payload)]
    reader, cursor, found = SpoolReader(directory), START, []
    while True:
        rows, cursor = reader.read(cursor, wanted)
        if not rows:
            break
        found += rows
    assert found == expected and cursor == Cursor(0, len(data)) and reader.corrupt_records == 0
