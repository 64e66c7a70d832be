"""The frozen schema: defaults, read-only objects, and secrets masked in what is shown."""

from __future__ import annotations

import json

import pytest

from tracker import config as cfg


def test_body_limits_per_route_family_default_to_max_body_bytes_and_an_unlimited_proxy() -> None:
    limits = cfg.from_mapping({"Limits": {"MaxBodyBytes": 5000, "MaxBodyBytesPerRoute": {"admin": 100}}}).limits
    assert (limits.body_limit("tracking"), limits.body_limit("admin"), limits.body_limit("proxy")) == (5000, 100, 0)
    with pytest.raises(TypeError):
        limits.max_body_bytes_per_route["admin"] = 1  # type: ignore[index]


def test_secrets_are_redacted() -> None:
    config = cfg.from_mapping({"Notify": [{"Service": "clickhouse", "Password": "hunter2"}]})
    assert "hunter2" not in json.dumps(cfg.redacted(config))
    assert cfg.redacted(config)["Notify"][0]["Password"] == "***"


def test_secrets_of_a_disabled_entry_are_redacted_too() -> None:
    config = cfg.from_mapping({"Notify": [{"Service": "cassandra_", "Password": "hunter2", "Key": "k"}]})
    assert "hunter2" not in json.dumps(cfg.redacted(config)) and '"k"' not in json.dumps(cfg.redacted(config))


def test_duckdb_memory_settings_have_bounded_defaults() -> None:
    (duck,) = cfg.from_mapping({"Notify": [{"Service": "duckdb"}]}).notify
    shown = cfg.redacted(cfg.from_mapping({"Notify": [{"Service": "duckdb"}]}))["Notify"][0]
    assert (shown["MemoryLimit"], shown["Threads"], shown["CheckpointThreshold"]) == ("256MB", 1, "256MB")
    assert shown["CheckpointSeconds"] == 30.0 and duck.sink_name == "duckdb"
    assert shown["RowGroupSize"] == 16_384 and shown["CheckpointRows"] == 50_000


def test_a_row_group_smaller_than_a_vector_is_refused_naming_the_key() -> None:
    with pytest.raises(cfg.ConfigError, match="RowGroupSize.*at least 2048"):
        cfg.from_mapping({"Notify": [{"Service": "duckdb", "RowGroupSize": 1000}]})


def test_the_config_is_frozen() -> None:
    config = cfg.from_mapping({})
    with pytest.raises(AttributeError):
        config.workers = 3  # type: ignore[misc]
