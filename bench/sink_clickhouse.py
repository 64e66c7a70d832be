"""ClickHouse sink alone: rows/s into a real ClickHouse server for batches of 1, 100, 1,000 and 10,000 events,
with gzip-compressed and plain JSONEachRow bodies (the Go tracker published 32.9 ev/s unbatched, 277.8 batched)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sink_duckdb import event  # noqa: E402
from bench.sink_rate import rows_per_second  # noqa: E402
from tests.harness import free_port  # noqa: E402
from tests.services.clickhouse import ClickHouseServer  # noqa: E402
from tracker.config import from_mapping  # noqa: E402
from tracker.sinks.clickhouse.sink import ClickHouseSink  # noqa: E402

BATCHES = (1, 100, 1_000, 10_000)


async def measure(server: ClickHouseServer, batch: int, compress: bool, seconds: float = 2.0) -> float:
    config = from_mapping(
        {
            "Notify": [
                {"Service": "clickhouse", "Hosts": [server.host], "Context": "bench", "EnableCompression": compress}
            ]
        }
    )
    sink = ClickHouseSink(config.notify[0], config)
    return await rows_per_second(sink, event, batch, seconds)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ClickHouseServer(Path(tmp), free_port(), free_port())
        server.start()
        try:
            print("| batch | rows/s, gzip body | rows/s, plain body |\n|---|---|---|")
            for batch in BATCHES:
                gzip_rate = await measure(server, batch, compress=True)
                plain_rate = await measure(server, batch, compress=False)
                print(f"| {batch:,} | {gzip_rate:,.0f} | {plain_rate:,.0f} |")
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
