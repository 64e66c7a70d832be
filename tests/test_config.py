from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tracker import config as cfg

ROOT = Path(__file__).resolve().parent.parent

BAD = [
    (
        {"Notify": [{"Service": "clikhouse"}]},
        'Notify[0].Service: unknown sink "clikhouse" (known: clickhouse, duckdb, memory)',
    ),
    ({"ProxyPort": 8080}, "ProxyPort: expected a string, got 8080"),
    ({"ProxyPort": "localhost"}, 'ProxyPort: "localhost" is not "host:port" or ":port"'),
    ({"Workrs": 2}, 'Workrs: unknown key (did you mean "Workers"?)'),
    ({"Workers": 0}, "Workers: must be at least 1, got 0"),
    ({"Durability": "disk"}, 'Durability: "disk" is not one of "write", "fsync", "memory"'),
    ({"Durability": "memory", "Workers": 2}, 'Durability: "memory" keeps events in one process; it needs Workers: 1'),
    ({"Cookies": {"SameSite": "lax"}}, 'Cookies.SameSite: "lax" is not one of "Lax", "Strict", "None"'),
    ({"Upstreams": [{"Prefix": "/a"}]}, "Upstreams[0].Targets: required key is missing"),
    ({"TrustedProxies": ["10.0.0.0/33"]}, 'TrustedProxies[0]: "10.0.0.0/33" is not an IP address or CIDR'),
    ({"Limits": {"MaxBodyBytes": "1MB"}}, 'Limits.MaxBodyBytes: expected an integer, got "1MB"'),
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
    ({"Limits": {"MaxBodyBytesPerRoute": []}}, "Limits.MaxBodyBytesPerRoute: expected an object, got []"),
    ({"MaximumConnections": -1}, "MaximumConnections: must be 0 (no limit) or more, got -1"),
    ({"UseRemoveIP": "yes"}, 'UseRemoveIP: expected true or false, got "yes"'),
    ([1, 2], "the top level must be a JSON object"),
]


@pytest.mark.parametrize(("raw", "message"), BAD)
def test_bad_config_names_the_key_and_what_was_expected(raw: object, message: str) -> None:
    with pytest.raises(cfg.ConfigError) as caught:
        cfg.from_mapping(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("raw", "message"), BAD[:4])
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


def test_body_limits_per_route_family_default_to_max_body_bytes_and_an_unlimited_proxy() -> None:
    limits = cfg.from_mapping({"Limits": {"MaxBodyBytes": 5000, "MaxBodyBytesPerRoute": {"admin": 100}}}).limits
    assert (limits.body_limit("tracking"), limits.body_limit("admin"), limits.body_limit("proxy")) == (5000, 100, 0)
    with pytest.raises(TypeError):
        limits.max_body_bytes_per_route["admin"] = 1  # type: ignore[index]


def test_secrets_are_redacted() -> None:
    config = cfg.from_mapping({"Notify": [{"Service": "clickhouse", "Password": "hunter2"}]})
    assert "hunter2" not in json.dumps(cfg.redacted(config))


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
