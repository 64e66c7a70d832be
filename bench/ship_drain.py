"""The supervisor's CPU per shipped event: a fixed spool backlog drained into DuckDB by the shipper, each run in a
fresh process, builds (source trees) alternated in one run.

The backlog is written once by the real app in process (as a worker writes it: `Durability: "write"`): tracking
GETs (one event a request, `bench/engines.py`'s URL), POSTs of 10 events (`bench/soak.py`'s steady load: each
event its own vid) or of 100 (its burst). Each drain copies it, opens a fresh DuckDB file with the shipped
config's batching (MaxBatchSize 10,000, BatchFlushInterval 500 ms) and ships until the lag is 0: the process's CPU
time (user + system) per event and the wall time, the sink's open excluded.

    python bench/ship_drain.py [--case get|post10|post100 ...] [--events N] [--pairs 3] [--tree NAME=PATH ...]
                               [--settings NAME='{"CheckpointRows": 100000}' ...]   # sink settings of a tree
    python bench/ship_drain.py --profile DIR ...   # one drain of this tree, for py-spy: prints its pid first
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("SHIP_DRAIN_TREE", str(ROOT)))

CASES = ("get", "post10", "post100")
TRACK = "/tr/v1/tr/vid/14fb0860-b4bf-11e9-8971-7b80435315ac/ename/bench/etyp/view"
BROWSER_UA = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36"
HEADERS = [(b"host", b"localhost"), (b"user-agent", BROWSER_UA), (b"origin", b"https://site.example")]


def soak_events(batch: int) -> bytes:
    """`bench/soak.py`'s events, as one POST body."""
    import orjson

    from bench.soak import events

    return orjson.dumps(events(batch))


async def fill(workdir: Path, case: str, events: int) -> None:
    """`events` events of `case` written into `workdir/spool/worker-0` by the app, no shipper in the process."""
    from bench.inprocess import drive, running
    from tests.harness import base_config, free_port
    from tracker.app import create_app
    from tracker.config import from_mapping

    raw = base_config(workdir, free_port(), Durability="write", MaxSpoolBytes=1 << 34)
    app = create_app(from_mapping(raw), run_shipper=False)
    async with running(app):
        if case == "get":
            await drive(app, TRACK, b"utm_source=bench&page=2", events, headers=HEADERS)
        else:
            per_request = int(case.removeprefix("post"))
            for _ in range(events // per_request):  # a fresh body each time: every event its own vid
                await drive(app, "/tr/v1/tr/", b"", 1, body=soak_events(per_request), headers=HEADERS)


async def drain(spool: Path, database: Path) -> dict[str, float]:
    """Ship `spool` into a fresh DuckDB file; CPU and wall seconds from the sink's open to a zero lag."""
    from tracker.config import from_mapping
    from tracker.pipeline.shipper import Shipper, sink_settings
    from tracker.sinks.duckdb.sink import DuckDBSink

    shipped = json.loads((ROOT / "config.json").read_text())["Notify"][0]
    overrides = json.loads(os.environ.get("SHIP_DRAIN_SINK") or "{}")
    entry = {**shipped, "Path": str(database), **overrides}
    config = from_mapping({"SpoolDirectory": str(spool), "Notify": [entry]})
    sink = DuckDBSink(config.notify[0], config)
    await sink.open()  # the schema: not what is measured
    shipper = Shipper(spool, [(sink, sink_settings(config.notify[0]))], status_interval=3600)
    cpu, wall = time.process_time(), time.perf_counter()
    await shipper.start()
    idle = await shipper.wait_idle(600)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    stored = (await sink.query("SELECT count(*) AS n FROM events"))[0]["n"]
    await shipper.stop()
    assert idle, "not drained in 600 s"
    return {"cpu": cpu, "wall": wall, "stored": stored}


def drain_in_process(tree: Path, backlog: Path, work: Path, settings: str) -> dict[str, float]:
    spool = work / "spool"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(backlog / "spool", spool)
    env = {**os.environ, "SHIP_DRAIN_TREE": str(tree), "PYTHONPATH": str(tree), "SHIP_DRAIN_SINK": settings}
    command = [sys.executable, __file__, "--child", str(spool)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)
    return result


def compare(trees: dict[str, Path], settings: dict[str, str], cases: list[str], events: int, pairs: int) -> None:
    print(f"Drain of {events:,} events per case, {pairs} alternated runs per tree; CPU µs per event (all runs)")
    print("| case | tree | CPU µs/event | wall s | events/s (wall) |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            backlog = Path(tmp) / f"backlog-{case}"
            asyncio.run(fill(backlog, case, events))
            results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            for _ in range(pairs):
                for name, tree in trees.items():
                    result = drain_in_process(tree, backlog, Path(tmp) / "drain", settings.get(name, ""))
                    results[name].append(result)
                    print(case, name, json.dumps(result), file=sys.stderr, flush=True)
            for name, runs in results.items():
                stored = {run["stored"] for run in runs}
                assert len(stored) == 1, f"{name} stored {stored}"
                micros = " ".join(f"{run['cpu'] / run['stored'] * 1e6:.2f}" for run in runs)
                wall = statistics.median(run["wall"] for run in runs)
                print(f"| {case} | {name} | {micros} | {wall:.2f} | {runs[0]['stored'] / wall:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", action="append", choices=CASES)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="NAME=PATH of a source tree (repeatable)")
    parser.add_argument("--settings", action="append", default=[], help="NAME=JSON: DuckDB settings of a tree")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="", help="fill DIR with the first case and drain it here")
    args = parser.parse_args()
    if args.child:
        spool = Path(args.child)
        print(json.dumps(asyncio.run(drain(spool, spool.parent / "tracker.duckdb"))))
        return
    cases = args.case or list(CASES)
    if args.profile:
        work = Path(args.profile)
        asyncio.run(fill(work, cases[0], args.events))
        print(os.getpid(), flush=True)
        time.sleep(2)  # time to attach a profiler
        print(json.dumps(asyncio.run(drain(work / "spool", work / "tracker.duckdb"))))
        return
    trees = dict(tree.split("=", 1) for tree in args.tree) or {"this": str(ROOT)}
    settings = dict(item.split("=", 1) for item in args.settings)
    compare({name: Path(path) for name, path in trees.items()}, settings, cases, args.events, args.pairs)


if __name__ == "__main__":
    main()
