"""DuckDB sink alone: rows/s for realistic event rows at batch sizes 1,000 and 10,000 (into a table with a key)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sink_rate import rows_per_second  # noqa: E402
from tracker.config import from_mapping  # noqa: E402
from tracker.events import inputs, row  # noqa: E402
from tracker.privacy.storage import IPPolicy  # noqa: E402
from tracker.sinks.duckdb.sink import DuckDBSink  # noqa: E402

INFO = inputs.RequestInfo(
    host="shop.example",
    path="/tr/v1/tr/",
    client_ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
    referer="https://google.com/",
)


def event() -> dict:
    values = {
        "ename": "page_view",
        "etyp": "view",
        "source": "google",
        "campaign": "winter",
        "url": "https://shop.example/p/1",
        "params": {"sku": "A-1", "price": "9.99"},
    }
    return row.build(values, INFO, IPPolicy("hash"), is_server=False, injected_params={})[0]


async def measure(batch: int, seconds: float = 3.0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        config = from_mapping({"Notify": [{"Service": "duckdb", "Path": f"{tmp}/bench.duckdb"}]})
        sink = DuckDBSink(config.notify[0], config)
        return await rows_per_second(sink, event, batch, seconds)


async def main() -> None:
    print("| batch | rows/s |")
    print("|---|---|")
    for batch in (1_000, 10_000):
        print(f"| {batch:,} | {await measure(batch):,.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
