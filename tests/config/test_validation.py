"""Checks across keys, and of values the types allow but the server cannot use: one line naming the key path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import config as cfg

ROOT = Path(__file__).resolve().parent.parent.parent

BAD = [
    ({"ProxyPort": "localhost"}, 'ProxyPort: "localhost" is not "host:port" or ":port"'),
    ({"Workers": 0}, "Workers: must be at least 1, got 0"),
    ({"Durability": "memory", "Workers": 2}, 'Durability: "memory" keeps events in one process; it needs Workers: 1'),
    ({"TrustedProxies": ["10.0.0.0/33"]}, 'TrustedProxies[0]: "10.0.0.0/33" is not an IP address or CIDR'),
    ({"Notify": [{"Service": "duckdb", "MaxBatchSize": 0}]}, "Notify[0].MaxBatchSize: must be at least 1"),
    ({"Notify": [{"Service": "duckdb"}, {"Service": "duckdb"}]}, 'Notify: two enabled sinks are named "duckdb"'),
    (
        {"Limits": {"MaxBodyBytesPerRoute": {"trackin": 10}}},
        "Limits.MaxBodyBytesPerRoute.trackin: is not a route family; expected one of tracking, admin, proxy",
    ),
    (
        {"Limits": {"MaxBodyBytesPerRoute": {"admin": 0}}},
        "Limits.MaxBodyBytesPerRoute.admin: must be at least 1 (only the proxy streams without a limit), got 0",
    ),
    ({"MaximumConnections": -1}, "MaximumConnections: must be 0 (no limit) or more, got -1"),
    # a sink's own checks, from its settings schema
    ({"Notify": [{"Service": "duckdb", "MemoryLimit": "lots"}]}, 'Notify[0].MemoryLimit: "lots" is not a size'),
    ({"Notify": [{"Service": "duckdb", "Threads": 0}]}, "Notify[0].Threads: must be at least 1, got 0"),
    ({"Notify": [{"Service": "duckdb", "CheckpointSeconds": 0}]}, "Notify[0].CheckpointSeconds: must be more than 0"),
    ({"Notify": [{"Service": "clickhouse", "BatchFlushInterval": -1}]}, "Notify[0].BatchFlushInterval: must be 0"),
    ({"Notify": [{"Service": "duckdb", "WriteTimeout": 0}]}, "Notify[0].WriteTimeout: must be at least 1"),
]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_bad_values_name_the_key_and_the_rule(raw: object, message: str) -> None:
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.from_mapping(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_check_config_reports_a_bad_value_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"ProxyPort": "localhost"}))
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "--check-config", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f'{path}: ProxyPort: "localhost" is not "host:port" or ":port"'


def test_overrides_are_validated_too() -> None:
    config = cfg.from_mapping({})
    with pytest.raises(cfg.ConfigError, match="Workers: must be at least 1"):
        cfg.validate(cfg.replace(config, workers=0))
