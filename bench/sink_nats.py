"""NATS sink alone: rows/s into a real nats-server for batches of 1,000 and 10,000 event rows, core NATS
(publish + one PING/PONG flush per batch) and JetStream (every publish acknowledged by a file-backed stream)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sink_duckdb import event  # noqa: E402
from bench.sink_rate import rows_per_second  # noqa: E402
from tests.services.nats import NatsServer, nats_binary  # noqa: E402
from tracker.config import from_mapping  # noqa: E402
from tracker.sinks.nats.sink import NatsSink  # noqa: E402

BATCHES = (1_000, 10_000)


async def measure(server: NatsServer, batch: int, jetstream: bool, seconds: float = 2.0) -> float:
    entry = {"Service": "nats", "Hosts": [server.url], "JetStream": jetstream, "Stream": f"B{batch}{int(jetstream)}"}
    config = from_mapping({"Notify": [{**entry, "Context": f"bench{batch}{int(jetstream)}", "Timeout": 10_000}]})
    sink = NatsSink(config.notify[0], config)  # type: ignore[arg-type]
    return await rows_per_second(sink, event, batch, seconds)


async def main() -> None:
    with tempfile.TemporaryDirectory() as store:
        server = NatsServer(nats_binary(), Path(store)).start()
        try:
            print("| batch | core NATS rows/s | JetStream rows/s (acknowledged) |")
            print("|---|---|---|")
            for batch in BATCHES:
                core = await measure(server, batch, jetstream=False)
                acknowledged = await measure(server, batch, jetstream=True)
                print(f"| {batch:,} | {core:,.0f} | {acknowledged:,.0f} |")
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
