"""DuckDB sink alone: rows/s for realistic event rows at batch sizes 1,000 and 10,000, and its memory under a burst.

    python bench/sink_duckdb.py                    # rows/s at 1,000 and 10,000-row batches
    python bench/sink_duckdb.py --burst 1000000    # a burst in 10,000-row batches, each build in its own process,
                                                   # alternated: µs and CPU µs per row, peak and after-burst RSS
    python bench/sink_duckdb.py --burst 500000 --build 'default={}' --build 'one thread={"Threads": 1}'
    python bench/sink_duckdb.py --burst 300000 --child '{"CheckpointRows": 50000}'   # one process: a JSON line

A burst's row count is written as fast as the sink takes it, then one more small batch after CheckpointSeconds
(the timed checkpoint that follows a burst); the time per row includes the checkpoints that store the rows.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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
BURST_BATCH = 10_000  # the shipper's MaxBatchSize for DuckDB in the shipped config
BUILDS: dict[str, dict[str, Any]] = {  # --burst compares these
    "no row trigger": {"CheckpointRows": 10**12},  # the timed checkpoint (and DuckDB's WAL threshold) only
    "default": {},
}


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


def memory_mib(field: str) -> int:
    """VmRSS or VmHWM (the peak since the last reset_peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise LookupError(field)


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from VmRSS (Linux)


async def burst(rows: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Write `rows` fresh events in BURST_BATCH batches through a real sink in this process; its memory and cost."""
    template = [event() for _ in range(BURST_BATCH)]

    def batch(size: int = BURST_BATCH) -> list[dict[str, Any]]:
        return [{**r, "eid": str(uuid.uuid4())} for r in template[:size]]

    with tempfile.TemporaryDirectory() as tmp:
        config = from_mapping({"Notify": [{"Service": "duckdb", "Path": f"{tmp}/b.duckdb", **settings}]})
        sink = DuckDBSink(config.notify[0], config)
        await sink.open()
        for _ in range(20):  # a steady load before: the library, the catalog and event_ids warmed up
            await sink.write("events", batch(250))
        before = memory_mib("VmRSS")
        reset_peak()
        spent, cpu_started = 0.0, time.process_time()
        for _ in range(rows // BURST_BATCH):
            rows_now = batch()
            started = time.perf_counter()
            await sink.write("events", rows_now)
            spent += time.perf_counter() - started
        peak, after = memory_mib("VmHWM"), memory_mib("VmRSS")
        sink.settings = dataclasses.replace(sink.settings, checkpoint_seconds=1e-9)
        started = time.perf_counter()
        await sink.write("events", batch(250))  # the next write after a burst: its timed checkpoint
        spent += time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        after_checkpoint = memory_mib("VmRSS")
        await sink.close()
    return {
        "before": before,
        "peak": peak,
        "after_burst": after,
        "after_checkpoint": after_checkpoint,
        "us_per_row": spent / rows * 1e6,
        "cpu_us_per_row": cpu / rows * 1e6,
    }


def burst_in_process(rows: int, settings: dict[str, Any]) -> dict[str, Any]:
    """`burst` in a fresh Python process, so that its RSS is this burst's alone."""
    command = [sys.executable, __file__, "--burst", str(rows), "--child", json.dumps(settings)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ})
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def compare_bursts(rows: int, pairs: int, builds: dict[str, dict[str, Any]]) -> None:
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in builds}
    for _ in range(pairs):
        for name, settings in builds.items():  # alternated: the machine's load shifts between runs
            results[name].append(burst_in_process(rows, settings))
            print(name, json.dumps(results[name][-1]), file=sys.stderr, flush=True)
    print(f"{rows:,} rows in {BURST_BATCH:,}-row batches, {pairs} alternated runs each, medians (MiB; µs per row)")
    print("| build | RSS before | peak | after the burst | after its checkpoint | µs per row | CPU µs per row |")
    print("|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        cells = [
            statistics.median(r[k] for r in runs)
            for k in ("before", "peak", "after_burst", "after_checkpoint", "us_per_row", "cpu_us_per_row")
        ]
        print(f"| {name} | " + " | ".join(f"{c:.0f}" for c in cells[:4]) + f" | {cells[4]:.2f} | {cells[5]:.2f} |")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=0, help="rows in a burst (10,000-row batches)")
    parser.add_argument("--pairs", type=int, default=3, help="alternated runs of each build")
    parser.add_argument("--child", default="", help="run one burst here with these sink settings (JSON)")
    parser.add_argument("--build", action="append", default=[], help="compare builds: NAME=JSON settings")
    args = parser.parse_args()
    if args.burst and args.child:
        print(json.dumps(await burst(args.burst, json.loads(args.child))))
        return
    if args.burst:
        chosen = dict(build.split("=", 1) for build in args.build)
        builds = {name: json.loads(settings) for name, settings in chosen.items()} if chosen else BUILDS
        compare_bursts(args.burst, args.pairs, builds)
        return
    print("| batch | rows/s |")
    print("|---|---|")
    for batch in (1_000, 10_000):
        print(f"| {batch:,} | {await measure(batch):,.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
