"""The shipping process's memory under a burst, shipper included: the real Shipper and DuckDB sink in a process of
their own ship a burst already in two spool directories (as two workers leave one), and the process reports its
memory before, at the peak and after, by allocator. Unlike bench/sink_duckdb.py --burst, the rows come from the
spool: each a new dict of new strings in Python's heap (pymalloc), as in the supervisor.

    python bench/ship_burst.py --events 200000           # 200,000 events in each of two directories: a JSON line
    python bench/ship_burst.py --events 200000 --duckdb '{"CheckpointRows": 25000}'
    python bench/ship_burst.py --idle 20        # DuckDB's dirty pages while the sink is idle between checkpoints
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sink_duckdb import event, memory_mib, reset_peak  # noqa: E402
from tracker.config import from_mapping  # noqa: E402
from tracker.pipeline.shipper import build_shipper  # noqa: E402
from tracker.pipeline.spool import Spool  # noqa: E402
from tracker.records import Record  # noqa: E402
from tracker.server.heap import map_large_blocks, release_free_memory  # noqa: E402
from tracker.sinks.duckdb.sink import DuckDBSink  # noqa: E402

REQUEST_EVENTS = 100  # a POST of 100 events: one spool record
SHIPPED_CONFIG = {"Service": "duckdb", "MaxBatchSize": 10_000, "BatchFlushInterval": 500}  # config.json's
MIB = 1024 * 1024


def pymalloc_arenas() -> dict[str, int]:
    """Python's small-object heap: arenas (256 KiB … 1 MiB each, never given back while one object lives in one)."""
    read, write = os.pipe()
    saved = os.dup(2)
    os.dup2(write, 2)  # _debugmallocstats prints to the C stderr
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(write)
    with os.fdopen(read) as stats:
        text = stats.read()
    found = {}
    for line in text.splitlines():
        if line.startswith("# arenas highwater mark"):
            found["highwater"] = int(line.split("=")[1].replace(",", ""))
        elif line.startswith("# arenas allocated current"):
            found["current"] = int(line.split("=")[1].replace(",", ""))
    return found


def duckdb_allocator() -> dict[str, int]:
    """DuckDB's own jemalloc (linked into its module with its symbols exported): MiB in use and dirty, freed pages
    it keeps resident until it purges them."""
    import duckdb

    module = glob.glob(str(Path(duckdb.__file__).parent.parent / "_duckdb*.so"))
    control = getattr(ctypes.CDLL(module[0]), "duckdb_je_mallctl", None) if module else None
    if control is None:  # a build without jemalloc (macOS, Windows)
        return {"allocated": -1, "resident": -1, "dirty": -1}
    epoch = ctypes.c_uint64(1)
    control(b"epoch", None, None, ctypes.byref(epoch), ctypes.c_size_t(8))  # refresh the statistics

    def read(name: str) -> int:
        value, size = ctypes.c_size_t(), ctypes.c_size_t(ctypes.sizeof(ctypes.c_size_t))
        failed = control(name.encode(), ctypes.byref(value), ctypes.byref(size), None, ctypes.c_size_t(0))
        return -1 if failed else int(value.value)

    return {
        "allocated": read("stats.allocated") // MIB,
        "resident": read("stats.resident") // MIB,
        "dirty": read("stats.arenas.4096.pdirty") * os.sysconf("SC_PAGE_SIZE") // MIB,  # 4096: all arenas
    }


async def fill(directory: Path, events: int) -> None:
    """`events` fresh events in spool records of REQUEST_EVENTS, as a worker appends them."""
    template = event()
    spool = Spool(directory)
    spool.open()
    for _ in range(events // REQUEST_EVENTS):
        await spool.append([Record("events", {**template, "eid": str(uuid.uuid4())}) for _ in range(REQUEST_EVENTS)])
    await spool.close()


def snapshot() -> dict[str, Any]:
    return {"rss": memory_mib("VmRSS"), "pymalloc": pymalloc_arenas(), "jemalloc": duckdb_allocator()}


async def ship(root: Path, burst: Path, settings: dict[str, Any], shipped: int) -> dict[str, Any]:
    """Ship a warm-up, then the directories under `burst` (`shipped` events) moved into the spool root at once."""
    database = root.parent / "ship.duckdb"
    config = from_mapping(
        {"SpoolDirectory": str(root), "Notify": [{**SHIPPED_CONFIG, "Path": str(database), **settings}]}
    )
    map_large_blocks()  # as the supervisor does
    shipper = build_shipper(config)
    await shipper.start()
    try:
        if not await shipper.wait_idle(60):
            raise TimeoutError("the warm-up was not shipped")
        before = snapshot()
        reset_peak()
        started, cpu_started = time.perf_counter(), time.process_time()
        for directory in sorted(burst.iterdir()):
            directory.rename(root / directory.name)  # the shipper finds new worker directories as it goes
        shipper.notify()
        if not await shipper.wait_idle(600):
            raise TimeoutError("the burst was not shipped")
        spent, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        peak = memory_mib("VmHWM")
        release_free_memory()  # as the supervisor does every 30 s
        after = snapshot()
    finally:
        await shipper.stop()
    cost = {"us_per_event": spent / shipped * 1e6, "cpu_us_per_event": cpu / shipped * 1e6}
    return {"before": before, "peak": peak, "after": after, **cost}


def ship_in_process(events: int, settings: dict[str, Any]) -> dict[str, Any]:
    """`events` in each of two spool directories, shipped by a fresh Python process: its memory (see ship)."""
    with tempfile.TemporaryDirectory() as tmp:
        root, burst = Path(tmp) / "spool", Path(tmp) / "burst"
        asyncio.run(fill(root / "worker-9", 2_000))  # the warm-up: the library, the catalog, event_ids
        for worker in (0, 1):
            asyncio.run(fill(burst / f"worker-{worker}", events))
        command = [sys.executable, __file__, "--child", tmp, "--events", str(events), "--duckdb", json.dumps(settings)]
        done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ})
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def idle_after_writes(seconds: float) -> dict[str, int]:
    """Write 25,000 rows in 2,500-row batches (held until the next checkpoint, as between timed ones), then stay
    idle: the fewest MiB of dirty pages DuckDB's allocator kept in the next `seconds`, and when it had them."""
    with tempfile.TemporaryDirectory() as tmp:
        config = from_mapping({"Notify": [{"Service": "duckdb", "Path": f"{tmp}/idle.duckdb"}]})
        sink = DuckDBSink(config.notify[0], config)
        await sink.open()
        for _ in range(10):
            await sink.write("events", [{**event(), "eid": str(uuid.uuid4())} for _ in range(2_500)])
        written = duckdb_allocator()
        lowest = written["dirty"]
        deadline = time.monotonic() + seconds
        while lowest > 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            lowest = min(lowest, duckdb_allocator()["dirty"])
        await sink.close()
    return {"dirty_written": written["dirty"], "dirty_lowest": lowest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events in each of the two directories")
    parser.add_argument("--duckdb", default="{}", help="DuckDB sink settings (JSON)")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)  # the directory ship_in_process filled
    parser.add_argument("--idle", type=float, default=0, help="write, then this many seconds idle: dirty pages")
    args = parser.parse_args()
    if args.idle:
        print(json.dumps(asyncio.run(idle_after_writes(args.idle))))
        return
    if args.child:
        directory, settings = Path(args.child), json.loads(args.duckdb)
        found = asyncio.run(ship(directory / "spool", directory / "burst", settings, 2 * args.events))
        print(json.dumps(found))
        return
    print(json.dumps(ship_in_process(args.events, json.loads(args.duckdb))))


if __name__ == "__main__":
    main()
