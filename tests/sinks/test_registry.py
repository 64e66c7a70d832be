"""The registry is the one list of sinks: built-ins plus the `tracker.sinks` entry points, used alike by the
config loader, `--check-config` and start-up; capabilities are declared by the sink and found once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.harness import ROOT, start_tracker, wait_until
from tracker.config import ConfigError, from_mapping
from tracker.sinks import registry
from tracker.sinks.base import PrimaryStore, SchemaOwner

THIRD_PARTY = '''
"""A sink from another distribution: appends every row as a JSON line to the file named by its Endpoint."""
from dataclasses import dataclass
import json

from tracker.config import SinkConfig, key
from tracker.sinks.base import PruneReport, SinkPlugin


@dataclass(slots=True, frozen=True, kw_only=True)  # kw_only: a required key after the defaults
class JsonLinesSettings(SinkConfig):
    endpoint: str = key("Endpoint")


class JsonLinesSink:
    def __init__(self, settings, config):
        self.name, self.path = settings.sink_name, settings.endpoint

    async def open(self): pass
    async def close(self): pass

    async def write(self, table, rows):
        with open(self.path, "a") as out:
            out.writelines(json.dumps({"table": table, **row}) + "\\n" for row in rows)

    async def prune(self, rules, logs_only):
        return PruneReport(self.name)


PLUGIN = SinkPlugin("jsonlines", JsonLinesSettings, JsonLinesSink)
NOT_A_PLUGIN = object()
'''


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed distribution (a module and its dist-info) on PYTHONPATH, as pip would leave it."""
    site = tmp_path / "site"
    (site / "jsonlines_sink.py").parent.mkdir(parents=True)
    (site / "jsonlines_sink.py").write_text(textwrap.dedent(THIRD_PARTY))
    info = site / "jsonlines_sink-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jsonlines-sink\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[tracker.sinks]\njsonlines = jsonlines_sink:PLUGIN\nbroken = jsonlines_sink:NOT_A_PLUGIN\n"
        "missing = no_such_module:PLUGIN\n"
    )
    monkeypatch.setenv("PYTHONPATH", f"{site}:{ROOT}")
    return site


def check_config(tmp_path: Path, notify: list[dict[str, object]]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"Notify": notify}))
    command = [sys.executable, "-m", "tracker", "--check-config", str(path)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_builtin_names_are_the_only_ones_without_entry_points() -> None:
    assert registry.names() == ["cassandra", "clickhouse", "duckdb", "memory", "nats"]


def test_an_unknown_sink_fails_the_check_with_one_line_naming_it(tmp_path: Path) -> None:
    result = check_config(tmp_path, [{"Service": "duckdb"}, {"Service": "kafka", "Hosts": ["127.0.0.1:9092"]}])
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'{tmp_path / "config.json"}: Notify[1].Service: unknown sink "kafka" '
        "(known: cassandra, clickhouse, duckdb, memory, nats)"
    )


def test_a_third_party_sink_is_checked_with_its_own_settings(tmp_path: Path, third_party: Path) -> None:
    good = check_config(tmp_path, [{"Service": "jsonlines", "Endpoint": str(tmp_path / "rows.jsonl")}])
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().endswith(": ok")
    typo = check_config(tmp_path, [{"Service": "jsonlines", "Endpont": "x"}])
    assert typo.returncode == 2
    assert typo.stderr.strip().endswith('Notify[0].Endpont: unknown key (did you mean "Endpoint"?)')
    unknown = check_config(tmp_path, [{"Service": "kafka"}])
    assert "(known: broken, cassandra, clickhouse, duckdb, jsonlines, memory, missing, nats)" in unknown.stderr


@pytest.mark.parametrize(
    ("name", "reason"),
    [("broken", 'its entry point is not a SinkPlugin "broken"'), ("missing", "No module named 'no_such_module'")],
)
def test_an_unavailable_third_party_sink_fails_the_check_with_one_line(
    tmp_path: Path, third_party: Path, name: str, reason: str
) -> None:
    result = check_config(tmp_path, [{"Service": name}])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f'Notify[0].Service: sink "{name}" is not available here: ' in lines[0]
    assert reason in lines[0]


def test_a_tracker_ships_events_to_a_third_party_sink(tmp_path: Path, third_party: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    notify = [{"Service": "jsonlines", "Endpoint": str(rows), "BatchFlushInterval": 50}]
    tracker = start_tracker(tmp_path / "t", Notify=notify, Workers=2)
    try:
        import httpx

        answer = httpx.post(tracker.url("/tr/v1/tr/"), json=[{"ename": "third_party", "xid": "1"}])
        assert answer.status_code == 200
        stored = wait_until(lambda: rows.exists() and rows.read_text(), 30, what="the third-party sink's file")
    finally:
        tracker.stop()
    events = [json.loads(line) for line in stored.splitlines() if '"events"' in line]
    assert [e["ename"] for e in events] == ["third_party"]


def test_the_primary_store_is_the_first_sink_that_declares_it(tmp_path: Path) -> None:
    config = from_mapping(
        {"Notify": [{"Service": "memory"}, {"Service": "duckdb", "Path": str(tmp_path / "t.duckdb")}]}
    )
    memory, duck = registry.build_sinks(config)
    assert registry.primary_store([memory]) is None
    assert registry.primary_store([memory, duck]) is duck
    assert isinstance(duck, PrimaryStore) and isinstance(duck, SchemaOwner)
    assert registry.schema_owner(memory) is None and registry.schema_owner(duck) is duck


def test_building_a_sink_the_loader_never_saw_names_the_entry() -> None:
    config = from_mapping({"Notify": [{"Service": "memory"}]})
    from dataclasses import replace

    odd = replace(config, notify=(replace(config.notify[0], service="kafka"),))
    with pytest.raises(ConfigError, match=r'Notify\[0\].Service: unknown sink "kafka"'):
        registry.build_sinks(odd)
