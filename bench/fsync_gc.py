"""Durability "fsync" under load, two source trees alternated in one run (e.g. main and a branch): POST of 100
events over 64 connections (wrk) and the WebSocket stream over 64 sockets (LZ4 batches of 100, acked), on each
engine. Per run: events/s, the workers' CPU per event (user + system from /proc, not the shipping supervisor) and
the workers' time in the garbage collector (a gc.callbacks probe loaded into every process through
sitecustomize: CPU time of the collecting thread, and the number of full collections).

python bench/fsync_gc.py [seconds] --tree NAME=PATH --tree NAME=PATH [--pairs N] [--engine E ...] [--workers N]
    (each tree must hold a `tracker` package; the order of the trees alternates from one pair to the next)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import wrk  # noqa: E402
from bench.run import shipped_sinks  # noqa: E402
from bench.soak import process_tree  # noqa: E402
from bench.stream import BATCH, batch_json, stream, worker_cpu_seconds  # noqa: E402
from tests.harness import TrackerProcess, start_tracker  # noqa: E402

PROBE = """
import gc, json, os, threading, time

_dir = os.environ.get("GC_PROBE_DIR")
if _dir:
    _stats = {"seconds": [0.0, 0.0, 0.0], "count": [0, 0, 0]}
    _began = [0.0]

    def _collected(phase, info):
        if phase == "start":
            _began[0] = time.thread_time()
            return
        generation = info["generation"]
        _stats["seconds"][generation] += time.thread_time() - _began[0]
        _stats["count"][generation] += 1

    def _dump():
        while True:
            time.sleep(0.1)
            path = os.path.join(_dir, f"{os.getpid()}.json")
            with open(path + ".tmp", "w") as out:
                json.dump(_stats, out)
            os.replace(path + ".tmp", path)

    def _start():
        for key in ("seconds", "count"):
            _stats[key] = [0 * v for v in _stats[key]]
        threading.Thread(target=_dump, daemon=True).start()

    gc.callbacks.append(_collected)
    os.register_at_fork(after_in_child=_start)
    _start()
"""


@dataclass(slots=True)
class Run:
    tree: str
    engine: str
    case: str
    rate: float  # events/s
    cpu_us: float  # worker CPU per event
    gc_us: float  # worker GC CPU per event
    gc_share: float  # of the workers' CPU
    full: int  # full collections in the run


def post(tracker: TrackerProcess, connections: int, seconds: int, workdir: Path) -> tuple[float, int]:
    """(events per second, events answered) of wrk POSTing BATCH-event arrays; refusals are reported, not fatal."""
    script = workdir / "post.lua"
    body = batch_json().decode().replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
    result = wrk("POST", tracker.url("/tr/v1/tr/"), seconds=seconds, connections=connections, script=str(script))
    if result.non_2xx:
        print(f"  ({result.non_2xx} POSTs answered non-2xx)", flush=True)
    return result.rps * BATCH, round(result.rps * seconds) * BATCH


def gc_totals(root: int, probe: Path) -> tuple[float, int]:
    """(GC CPU seconds, full collections) so far of every process under the supervisor."""
    seconds, full = 0.0, 0
    for pid in process_tree(root):
        if pid == root:
            continue
        try:
            stats = json.loads((probe / f"{pid}.json").read_text())
        except (OSError, ValueError):
            continue
        seconds += sum(stats["seconds"])
        full += stats["count"][2]
    return seconds, full


def measure(tree: str, path: Path, engine: str, workers: int, seconds: int, workdir: Path) -> list[Run]:
    probe = workdir / "probe"
    probe.mkdir(parents=True)
    os.environ["GC_PROBE_DIR"] = str(probe)
    os.environ["PYTHONPATH"] = f"{workdir / 'site'}:{path}"
    (workdir / "site").mkdir()
    (workdir / "site" / "sitecustomize.py").write_text(PROBE)
    tracker = start_tracker(
        workdir / "t", Notify=shipped_sinks(workdir / "t"), Durability="fsync", Workers=workers, Server=engine
    )
    assert tracker.process is not None
    root = tracker.process.pid
    runs = []
    try:
        asyncio.run(stream(tracker.ws_url(), 4, 1.0))  # warm up
        cases = {
            "POST 100 x 64 connections": lambda: post(tracker, 64, seconds, workdir),
            "WebSocket 64 sockets": lambda: asyncio.run(stream(tracker.ws_url(), 64, seconds)),
        }
        for case, run in cases.items():
            tracker.wait_shipped(120)
            time.sleep(0.3)  # the probe's files are rewritten every 0.1 s
            cpu, (gc_seconds, full) = worker_cpu_seconds(root), gc_totals(root, probe)
            rate, events = run()
            time.sleep(0.3)
            cpu = worker_cpu_seconds(root) - cpu
            gc_after, full_after = gc_totals(root, probe)
            spent = gc_after - gc_seconds
            runs.append(
                Run(tree, engine, case, rate, cpu / events * 1e6, spent / events * 1e6, spent / cpu, full_after - full)
            )
    finally:
        tracker.stop(120)
        complaints = [line for line in tracker.log().splitlines() if '"level":"warning"' in line or '"error"' in line]
        for line in complaints[:3]:
            print("  log:", line[:300], flush=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=int, nargs="?", default=5)
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a source tree")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--engine", action="append", choices=("hypercorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    arguments = parser.parse_args()
    trees = [(name, Path(path).resolve()) for name, _, path in (t.partition("=") for t in arguments.tree)]
    engines = arguments.engine or ["granian", "hypercorn"]
    runs: list[Run] = []
    for pair in range(arguments.pairs):
        order = trees if pair % 2 == 0 else trees[::-1]
        for engine in engines:
            for name, path in order:
                with tempfile.TemporaryDirectory() as tmp:
                    found = measure(name, path, engine, arguments.workers, arguments.seconds, Path(tmp))
                for run in found:
                    print(
                        f"pair {pair + 1} {engine} {name} {run.case}: {run.rate:,.0f} events/s, "
                        f"{run.cpu_us:.2f} µs CPU/event, GC {run.gc_us:.2f} µs/event ({run.gc_share:.0%}), "
                        f"{run.full} full collections",
                        flush=True,
                    )
                runs += found
    print()
    print(f"{arguments.workers} worker(s), Durability fsync, {arguments.seconds} s per run, batches of {BATCH} events;")
    print("ranges over the pairs (min-max):")
    print()
    print("| engine | case | tree | events/s | worker µs CPU/event | worker GC µs/event (share) | full collections |")
    print("|---|---|---|---|---|---|---|")
    for engine in engines:
        for case in sorted({r.case for r in runs}):
            for name, _ in trees:
                mine = [r for r in runs if (r.engine, r.case, r.tree) == (engine, case, name)]

                def span(values: list[float], form: str) -> str:
                    return f"{format(min(values), form)}-{format(max(values), form)}"

                rates = span([r.rate / 1000 for r in mine], ".1f") + "k"
                cpu = span([r.cpu_us for r in mine], ".2f")
                gc_part = span([r.gc_us for r in mine], ".2f") + f" ({span([r.gc_share * 100 for r in mine], '.0f')}%)"
                full = span([float(r.full) for r in mine], ".0f")
                print(f"| {engine} | {case} | {name} | {rates} | {cpu} | {gc_part} | {full} |")


if __name__ == "__main__":
    main()
