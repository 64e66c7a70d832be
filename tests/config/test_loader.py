"""The strict loader: config.json → Config, each Notify entry read with its own sink's settings schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import config as cfg

ROOT = Path(__file__).resolve().parent.parent.parent

BAD = [
    (
        {"Notify": [{"Service": "clikhouse"}]},
        'Notify[0].Service: unknown sink "clikhouse" (known: cassandra, clickhouse, duckdb, memory, nats)',
    ),
    ({"ProxyPort": 8080}, "ProxyPort: expected a string, got 8080"),
    ({"Workrs": 2}, 'Workrs: unknown key (did you mean "Workers"?)'),
    ({"Durability": "disk"}, 'Durability: "disk" is not one of "write", "fsync", "memory"'),
    ({"Cookies": {"SameSite": "lax"}}, 'Cookies.SameSite: "lax" is not one of "Lax", "Strict", "None"'),
    ({"Upstreams": [{"Prefix": "/a"}]}, "Upstreams[0].Targets: required key is missing"),
    ({"Limits": {"MaxBodyBytes": "1MB"}}, 'Limits.MaxBodyBytes: expected an integer, got "1MB"'),
    ({"Limits": {"MaxBodyBytesPerRoute": []}}, "Limits.MaxBodyBytesPerRoute: expected an object, got []"),
    ({"UseRemoveIP": "yes"}, 'UseRemoveIP: expected true or false, got "yes"'),
    ([1, 2], "the top level must be a JSON object"),
    # each sink reads its own keys, with the same errors
    (
        {"Notify": [{"Service": "kafka"}]},
        'Notify[0].Service: unknown sink "kafka" (known: cassandra, clickhouse, duckdb, memory, nats)',
    ),
    ({"Notify": [{"Service": "duckdb", "Pth": "x"}]}, 'Notify[0].Pth: unknown key (did you mean "Path"?)'),
    ({"Notify": [{"Service": "clickhouse", "Hots": []}]}, 'Notify[0].Hots: unknown key (did you mean "Hosts"?)'),
    ({"Notify": [{"Service": "duckdb", "Hosts": ["h:1"]}]}, "Notify[0].Hosts: unknown key"),
    ({"Notify": [{"Service": "memory", "Path": "x"}]}, "Notify[0].Path: unknown key"),
    ({"Notify": [{"Service": "duckdb", "MemoryLimit": 5}]}, "Notify[0].MemoryLimit: expected a string, got 5"),
    ({"Notify": [{"Path": "x"}]}, "Notify[0].Service: required key is missing"),
    ({"Notify": [{"Service": 7}]}, "Notify[0].Service: expected a string, got 7"),
    ({"Notify": [{"Service": "facebook"}]}, 'Notify[0].Service: the "facebook" sink is not supported'),
]
CHECKED_BY_THE_COMMAND = [*BAD[:4], BAD[10]]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_bad_config_names_the_key_and_what_was_expected(raw: object, message: str) -> None:
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.from_mapping(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("raw", "message"), CHECKED_BY_THE_COMMAND)
def test_check_config_exits_2_with_one_line(tmp_path: Path, raw: object, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "--check-config", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"{path}: {message}"


def test_not_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{nope")
    with pytest.raises(cfg.ConfigError, match="not valid JSON"):
        cfg.load(path)


def test_default_config_json_is_valid_and_uses_duckdb() -> None:
    config = cfg.load(ROOT / "config.json")
    assert [s.kind for s in config.sinks] == ["duckdb"]
    assert config.proxy_port == "127.0.0.1:8080" and config.api_prefix == "/tr/v1"


def test_go_config_keys_load_and_unimplemented_ones_are_listed() -> None:
    raw = {
        "ProxyPort": ":8080",
        "UseGeoIP": True,
        "S3Bucket": "b",
        "MaximumConnections": 10,
        "Notify": [
            {
                "Service": "clickhouse",
                "Hosts": ["127.0.0.1:8123"],
                "BatchingEnabled": True,
                "MaxBatchSize": 1000,
                "BatchFlushInterval": 1000,
                "EnableCompression": True,
            },
            {"Service": "cassandra_", "Filter": [{"Id": "x"}]},
            {"Service": "facebook_"},
        ],
    }
    config = cfg.from_mapping(raw)
    assert [s.kind for s in config.sinks] == ["clickhouse"]
    assert {"UseGeoIP", "S3Bucket", "Notify[1].Filter"} <= set(config.unsupported)
    assert config.sinks[0].batch_flush_interval_ms == 1000


def test_each_entry_gets_its_sinks_settings_class_and_disabled_entries_take_every_go_key() -> None:
    from tracker.sinks.clickhouse import ClickHouseSettings
    from tracker.sinks.duckdb import DuckDBSettings

    raw = {
        "Notify": [
            {"Service": "duckdb", "Path": "/x/t.duckdb", "MemoryLimit": "64MB", "Threads": 1},
            {"Service": "clickhouse", "Hosts": ["h:8123"], "Password": "p"},
            {"Service": "memory"},
            {"Service": "duckdb_", "Hosts": ["h:1"], "Consumer": "c"},
            {"Service": "clickhouse", "Skip": True, "Path": "x"},
        ]
    }
    duck, click, memory, off, skipped = cfg.from_mapping(raw).notify
    assert isinstance(duck, DuckDBSettings) and (duck.path, duck.memory_limit, duck.threads) == (
        "/x/t.duckdb",
        "64MB",
        1,
    )
    assert isinstance(click, ClickHouseSettings) and click.hosts == ("h:8123",) and click.password == "p"
    assert type(memory) is cfg.SinkConfig
    assert isinstance(off, cfg.DisabledSinkConfig) and isinstance(skipped, cfg.DisabledSinkConfig)
    assert (
        not off.enabled
        and not skipped.enabled
        and [s.kind for s in cfg.from_mapping(raw).sinks]
        == [
            "duckdb",
            "clickhouse",
            "memory",
        ]
    )


def test_a_config_with_per_sink_settings_survives_pickling_to_a_worker() -> None:
    import pickle

    config = cfg.from_mapping({"Notify": [{"Service": "duckdb", "Path": "/x"}, {"Service": "clickhouse"}]})
    assert pickle.loads(pickle.dumps(config)) == config


def test_check_config_ok_and_version(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "tracker", "--check-config", str(ROOT / "config.json")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ok.returncode == 0, ok.stderr
    version = subprocess.run([sys.executable, "-m", "tracker", "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("tracker ")
