"""Shared fixtures. Service fixtures (ClickHouse, Redis, NATS, pebble, Chromium) live in tests/services/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import TrackerProcess, start_tracker

pytest_plugins = [
    "tests.services.certs",
    "tests.services.clickhouse",
    "tests.services.redis",
    "tests.services.pebble",
    "tests.services.nats",
    "tests.services.geoip",
    "tests.server.engines",
]


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[TrackerProcess]:
    """A real tracker process with the DuckDB sink on a free loopback port."""
    process = start_tracker(tmp_path / "tracker")
    try:
        yield process
    finally:
        process.kill9()


@pytest.fixture(scope="module")
def module_tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    """The same tracker for every test of a module whose tests need no fresh state (each uses its own ids)."""
    process = start_tracker(tmp_path_factory.mktemp("tracker"))
    try:
        yield process
    finally:
        process.kill9()
