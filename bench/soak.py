"""`make soak`: a real tracker (the shipped config.json's sinks) under a steady load for a bounded time, on loopback.

Prints the resident memory (RSS) of every tracker process at the start, its peak and at the end, a sample every
minute, and checks that every acknowledged event reached the DuckDB file. With --burst-at, wrk also POSTs batches
of 100 events as fast as the tracker takes them for --burst-seconds from that second on (the steady load goes on),
and the supervisor's RSS is printed second by second from the burst's start to a minute after it. Usage:
    python bench/soak.py [--seconds 600] [--rate 500] [--batch 10] [--workers 1] [--server hypercorn|granian]
                         [--burst-at 60 --burst-seconds 5] [--duckdb '{"CheckpointRows": 100000}']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import start_tracker  # noqa: E402

MIB = 1024 * 1024
SAMPLE_SECONDS = 5.0
BURST_SOURCE = "soak-burst"
BURST_WATCH_SECONDS = 60.0  # after a burst, the supervisor's RSS every second for this long


def shipped_sinks(workdir: Path, memory_limit: str = "", duckdb_settings: str = "") -> list[dict[str, object]]:
    sinks: list[dict[str, object]] = json.loads((ROOT / "config.json").read_text())["Notify"]
    for sink in sinks:
        if sink.get("Service") == "duckdb":
            sink["Path"] = str(workdir / "tracker.duckdb")
            if memory_limit:
                sink["MemoryLimit"] = memory_limit
            sink.update(json.loads(duckdb_settings or "{}"))
    return sinks


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc (children of every thread)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def label(pid: int, root: int) -> str:
    if pid == root:
        return f"supervisor {pid}"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = ""
    return f"{'worker' if 'multiprocessing' in command else 'child'} {pid}"


@dataclass
class Memory:
    root: int
    start: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    timeline: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    minute_peaks: dict[str, list[int]] = field(default_factory=dict)  # the highest sample of each minute
    minute_lows: dict[str, list[int]] = field(default_factory=dict)  # the lowest: a floor that rises is growth
    burst_window: tuple[float, float] = (-1.0, -1.0)  # seconds into the run: sampled every second
    burst_samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds, supervisor RSS)

    def watching_burst(self, elapsed: float) -> bool:
        return self.burst_window[0] <= elapsed <= self.burst_window[1]

    def sample(self, elapsed: float) -> None:
        now: dict[str, int] = {}
        for pid in process_tree(self.root):
            rss = rss_bytes(pid)
            if rss is not None:
                now[label(pid, self.root)] = rss
        for name, rss in now.items():
            self.start.setdefault(name, rss)
            self.peak[name] = max(self.peak.get(name, 0), rss)
        self.last = now
        if self.watching_burst(elapsed) and (rss := now.get(label(self.root, self.root))) is not None:
            self.burst_samples.append((elapsed, rss))
        if not self.timeline or elapsed - self.timeline[-1][0] >= 60:
            self.timeline.append((elapsed, now))
        minute = int(elapsed // 60)
        for name, rss in now.items():
            highs = self.minute_peaks.setdefault(name, [])
            highs.extend([0] * (minute + 1 - len(highs)))
            highs[minute] = max(highs[minute], rss)
            lows = self.minute_lows.setdefault(name, [])
            lows.extend([rss] * (minute + 1 - len(lows)))
            lows[minute] = min(lows[minute], rss)


def cpu_by_process(root: int) -> dict[str, float]:
    from bench.engines import cpu_seconds  # engines imports this module

    return {label(pid, root): cpu_seconds([pid]) for pid in process_tree(root)}


def events(batch: int) -> list[dict[str, object]]:
    return [
        {
            "vid": str(uuid.uuid4()),
            "ename": "page_view",
            "etyp": "view",
            "url": f"https://shop.example/p/{i}",
            "source": "soak",
            "params": {"sku": f"A-{i}", "price": "9.99"},
        }
        for i in range(batch)
    ]


@dataclass
class Burst:
    at: float  # seconds into the run; negative: no burst
    seconds: float
    workdir: Path
    requests: int = 0
    failed: int = 0

    @property
    def acknowledged(self) -> int:
        return (self.requests - self.failed) * 100

    async def run(self, url: str) -> None:
        """wrk at full rate (2 threads, 64 connections, loopback) POSTing 100 events a request."""
        body = orjson.dumps([{**event, "source": BURST_SOURCE} for event in events(100)]).decode()
        script = self.workdir / "burst.lua"
        script.write_text(
            f'wrk.method = "POST"\nwrk.body = [==[{body}]==]\nwrk.headers["Content-Type"] = "application/json"\n'
        )
        wrk = await asyncio.create_subprocess_exec(
            *("wrk", "-t2", "-c64", f"-d{self.seconds:.0f}s", "-s", str(script), url),
            stdout=asyncio.subprocess.PIPE,
        )
        out = (await wrk.communicate())[0].decode()
        found = re.search(r"(\d+) requests in", out)
        errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        self.requests = int(found.group(1)) if found else 0
        self.failed = int(errors.group(1)) if errors else 0


async def drive(url: str, seconds: float, rate: int, batch: int, memory: Memory, burst: Burst) -> tuple[int, int]:
    """Steady load: rate/batch POSTs a second at even intervals; returns (events acknowledged, failed requests)."""
    acked = failed = 0
    interval = batch / rate
    started = time.monotonic()
    next_sample = started
    burst_task: asyncio.Task[None] | None = None
    if burst.at >= 0:
        memory.burst_window = (burst.at, burst.at + burst.seconds + BURST_WATCH_SECONDS)

    async def send(client: httpx.AsyncClient) -> None:
        nonlocal acked, failed
        try:
            response = await client.post(url, json=events(batch))
            if response.status_code == 200:
                acked += batch
            else:
                failed += 1
        except httpx.HTTPError:
            failed += 1

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client, asyncio.TaskGroup() as group:
        sent = 0
        while (elapsed := time.monotonic() - started) < seconds:
            if time.monotonic() >= next_sample:
                memory.sample(elapsed)
                next_sample += 1.0 if memory.watching_burst(elapsed + 1.0) else SAMPLE_SECONDS
            if burst_task is None and 0 <= burst.at <= elapsed:
                burst_task = group.create_task(burst.run(url))
            group.create_task(send(client))
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * interval - time.monotonic()))
    memory.sample(time.monotonic() - started)
    return acked, failed


def report(memory: Memory, seconds: float, rate: int, acked: int, failed: int, stored: int | None) -> None:
    shown = "?" if stored is None else f"{stored:,}"
    print(f"\n{seconds:.0f} s at {rate} events/s: {acked:,} acknowledged, {failed} failed requests, stored {shown}")
    if memory.burst_samples:
        start = memory.burst_window[0]
        print(
            "supervisor RSS from the burst's start (s: MiB):",
            " ".join(f"{elapsed - start:.0f}:{rss / MIB:.0f}" for elapsed, rss in memory.burst_samples),
        )
    print("\n| process | RSS start | RSS peak | RSS end |\n|---|---|---|---|")
    for name in memory.start:
        start, peak, end = memory.start[name], memory.peak[name], memory.last.get(name, 0)
        print(f"| {name} | {start / MIB:.0f} MiB | {peak / MIB:.0f} MiB | {end / MIB:.0f} MiB |")
    print(
        "\nper minute:",
        "; ".join(
            f"{elapsed / 60:.0f} min: " + ", ".join(f"{n.split()[0]} {rss / MIB:.0f}" for n, rss in sample.items())
            for elapsed, sample in memory.timeline
        ),
    )
    for name, highs in memory.minute_peaks.items():
        print(f"{name}, highest sample of each minute (MiB):", " ".join(f"{rss / MIB:.0f}" for rss in highs))
        lows = memory.minute_lows.get(name, [])
        print(f"{name}, lowest sample of each minute (MiB): ", " ".join(f"{rss / MIB:.0f}" for rss in lows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=int, default=500, help="events per second")
    parser.add_argument("--batch", type=int, default=10, help="events per request")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--memory-limit", default="", help='the DuckDB sink\'s MemoryLimit, e.g. "256MB"')
    parser.add_argument("--server", choices=("hypercorn", "granian"), default="hypercorn", help="the engine")
    parser.add_argument("--burst-at", type=float, default=-1.0, help="start a wrk burst this many seconds in")
    parser.add_argument("--burst-seconds", type=float, default=5.0)
    parser.add_argument("--duckdb", default="", help="more DuckDB sink settings (JSON): '{\"Threads\": 2}'")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "t"
        sinks = shipped_sinks(workdir, args.memory_limit, args.duckdb)
        tracker = start_tracker(workdir, Notify=sinks, Workers=args.workers, Server=args.server)
        assert tracker.process is not None
        memory = Memory(tracker.process.pid)
        burst = Burst(args.burst_at, args.burst_seconds, Path(tmp))
        url = tracker.url("/tr/v1/tr/")
        try:
            acked, failed = asyncio.run(drive(url, args.seconds, args.rate, args.batch, memory, burst))
            tracker.wait_shipped(300)
            cpu = cpu_by_process(memory.root)
        finally:
            tracker.stop(120)
        stored = burst_stored = None
        database = workdir / "tracker.duckdb"
        if database.exists():
            import duckdb

            with duckdb.connect(str(database), read_only=True) as db:
                counted = dict(db.execute("SELECT source, count(*) FROM events GROUP BY source").fetchall())
                stored, burst_stored = int(counted.get("soak", 0)), int(counted.get(BURST_SOURCE, 0))
        report(memory, args.seconds, args.rate, acked, failed, stored)
        per_event = 1e6 / max((stored or 0) + (burst_stored or 0), 1)
        shown_cpu = ", ".join(f"{name} {s:.1f} s ({s * per_event:.1f} µs an event)" for name, s in cpu.items())
        print("CPU over the run and the drain:", shown_cpu)
        burst_lost = False
        if burst.at >= 0:
            # wrk counts the answers it read; a request in flight when it stopped may be stored unseen, never less
            burst_lost = burst_stored is not None and burst_stored < burst.acknowledged
            print(
                f"burst: {burst.requests:,} requests in {burst.seconds:.0f} s ({burst.failed} failed), "
                f"{burst.acknowledged:,} events acknowledged, {burst_stored or 0:,} stored"
            )
        return 0 if stored in (None, acked) and failed == 0 and not burst_lost else 1


if __name__ == "__main__":
    sys.exit(main())
