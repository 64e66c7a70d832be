"""PruneUpdateConfig's write-back (tracker/privacy/prune_config.py) on real files: only the one value changes,
the rest of the text stays as it was, and the file is replaced whole, with its permissions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from tracker.privacy.prune_config import write_skip_to

PRETTY = '{\n    "ApiVersion": 1,\n    "Notify": [{"Service": "duckdb"}],\n    "PruneSkipToTimestamp": 0\n}\n'


def test_an_existing_value_is_replaced_in_place(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(PRETTY)
    path.chmod(0o640)
    write_skip_to(path, 1700000000)
    assert path.read_text() == PRETTY.replace('"PruneSkipToTimestamp": 0', '"PruneSkipToTimestamp": 1700000000')
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temporary file left


def test_a_missing_key_is_added_first_with_the_files_indentation(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = '{\n\t"ApiVersion": 1,\n\t"Debug": true\n}'
    path.write_text(text)
    write_skip_to(path, 42)
    assert path.read_text() == '{\n\t"PruneSkipToTimestamp": 42,\n\t"ApiVersion": 1,\n\t"Debug": true\n}'
    compact = tmp_path / "compact.json"
    compact.write_text('{"ApiVersion":1}')
    write_skip_to(compact, 42)
    assert compact.read_text() == '{"PruneSkipToTimestamp": 42, "ApiVersion":1}'


def test_a_nested_key_of_the_same_name_is_not_mistaken_for_the_top_level_one(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    raw = {
        "Notify": [{"Service": "duckdb", "Note": "x", "Prune": [{"Table": "events"}]}],
        "X": {"PruneSkipToTimestamp": 5},
    }
    path.write_text(json.dumps(raw))
    write_skip_to(path, 77)
    assert orjson.loads(path.read_text()) == {**raw, "PruneSkipToTimestamp": 77}


def test_a_write_that_fails_before_the_rename_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.json"
    path.write_text(PRETTY)

    def disk_full(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_skip_to(path, 99)
    assert path.read_text() == PRETTY and [p.name for p in tmp_path.iterdir()] == ["config.json"]
