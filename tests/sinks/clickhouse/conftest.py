"""The ClickHouse sink on a fresh database of the real server, opened for a test and closed after it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.services.clickhouse import ClickHouseServer, sink_for
from tracker.sinks.clickhouse.sink import ClickHouseSink


@pytest.fixture
async def sink(clickhouse_server: ClickHouseServer, clickhouse_database: str) -> AsyncIterator[ClickHouseSink]:
    opened = sink_for(clickhouse_server, clickhouse_database)
    await opened.open()
    yield opened
    await opened.close()
