"""Events/s into the spool (Durability "write", the shipped DuckDB sink shipping alongside) over /tr/v1/ws with LZ4
batches of 100 events, acknowledged, over 1 and 64 sockets; against POST /tr/v1/tr/ with the same 100-event JSON
arrays (wrk, 1 and 64 connections). One tracker, one run, ratios printed as Markdown, with the serving processes'
CPU per 10k events: on a busy machine the rate moves with the neighbours, the CPU per event much less.

python bench/stream.py [seconds] [--workers N] [--server hypercorn|granian]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import wrk  # noqa: E402
from bench.run import shipped_sinks  # noqa: E402
from bench.soak import process_tree  # noqa: E402
from tests.harness import TrackerProcess, base_config, start_tracker  # noqa: E402
from tracker.client import ACK_SUBPROTOCOL  # noqa: E402
from tracker.config.loader import from_mapping  # noqa: E402
from tracker.events import frames, inputs  # noqa: E402
from tracker.events.frames import encode_block  # noqa: E402
from tracker.pipeline.spool import Spool  # noqa: E402
from tracker.runtime import Runtime  # noqa: E402

BATCH = 100
IN_FLIGHT = 8  # unacknowledged messages per socket


def batch_json() -> bytes:
    """100 events like a browser's: the server gives each its own eid."""
    return orjson.dumps(
        [
            {
                "ename": "view",
                "etyp": "page",
                "url": f"https://shop.example/p/{i}?utm_source=bench",
                "vid": "14fb0860-b4bf-11e9-8971-7b80435315ac",
                "params": {"i": i, "plan": "pro"},
            }
            for i in range(BATCH)
        ]
    )


async def stream(url: str, sockets: int, seconds: float) -> tuple[float, int]:
    """(acknowledged events per second, all events acknowledged) over `sockets` sockets, each keeping IN_FLIGHT
    messages in flight; what is still in flight at the deadline is drained: not in the rate, but in the count."""
    message = encode_block(batch_json())
    acked = drained = 0
    loop = asyncio.get_running_loop()

    async def one() -> None:
        nonlocal acked, drained
        async with connect(url, subprotocols=[Subprotocol(ACK_SUBPROTOCOL)], compression=None) as socket:
            for _ in range(IN_FLIGHT):
                await socket.send(message)
            while loop.time() < deadline:
                answer = orjson.loads(await socket.recv())
                acked += answer["accepted"]
                await socket.send(message)
            for _ in range(IN_FLIGHT):
                drained += orjson.loads(await socket.recv())["accepted"]

    deadline = loop.time() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(sockets)))
    return acked / (time.perf_counter() - started), acked + drained


def post(tracker: TrackerProcess, connections: int, seconds: int, workdir: Path) -> tuple[float, int]:
    """(events per second, events answered) of wrk POSTing BATCH-event arrays (requests cut off at the end of
    the run are not counted, so the CPU per event comes out a little high)."""
    script = workdir / "post.lua"
    body = batch_json().decode().replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
    result = wrk("POST", tracker.url("/tr/v1/tr/"), seconds=seconds, connections=connections, script=str(script))
    assert result.non_2xx == 0, f"{result.non_2xx} POSTs refused"
    return result.rps * BATCH, round(result.rps * seconds) * BATCH


def worker_cpu_seconds(root: int) -> float:
    """CPU time (user + system) of the processes serving requests: every process under the supervisor."""
    total = 0
    for pid in process_tree(root):
        if pid == root:
            continue  # the supervisor ships the spool to the sinks: not the path into the spool
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def breakdown(workdir: Path, messages: int = 300) -> dict[str, float]:
    """CPU microseconds per event of each step the socket's handler takes, in this process."""
    from tracker.events.batch import build_batch  # here, so --rates-only also runs against a build without it

    runtime = Runtime(from_mapping(base_config(workdir, 1)), run_shipper=False)
    spool = Spool(workdir / "breakdown", durability="write", max_bytes=1 << 34)
    spool.open()
    message = encode_block(batch_json())
    limits = frames.FrameLimits(4 << 20, 1000)
    info = inputs.RequestInfo(host="127.0.0.1", path="/tr/v1/ws", client_ip="127.0.0.1", user_agent="bench")
    rows = runtime.event_rows(info, is_server=False, injected_params={})
    base = inputs.seed(info)
    spent = {"LZ4 + JSON decode": 0.0, "event rows (build_batch)": 0.0, "spool append": 0.0}
    steps = list(spent)
    for _ in range(messages):
        started = time.process_time()
        items = frames.events(message, limits)
        decoded = time.process_time()
        records = build_batch(items, base, rows, item_field="message").records
        built = time.process_time()
        await spool.append(records)
        spent[steps[0]] += decoded - started
        spent[steps[1]] += built - decoded
        spent[steps[2]] += time.process_time() - built
    await spool.close()
    return {step: seconds / (messages * BATCH) * 1e6 for step, seconds in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=int, nargs="?", default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server", default="hypercorn", choices=("hypercorn", "granian"))
    parser.add_argument("--rates-only", action="store_true", help="skip the in-process breakdown")
    arguments = parser.parse_args()
    seconds, workers = arguments.seconds, arguments.workers
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        tracker = start_tracker(
            workdir / "t",
            Notify=shipped_sinks(workdir / "t"),
            Durability="write",
            Workers=workers,
            Server=arguments.server,
        )
        assert tracker.process is not None
        root = tracker.process.pid
        try:
            asyncio.run(stream(tracker.ws_url(), 1, 1.0))  # warm up
            rates: dict[str, float] = {}
            cpu: dict[str, float] = {}  # worker CPU seconds per event, of the best run
            for _ in range(2):  # alternate, and keep each one's best, to spread the machine's noise over all
                runs = {
                    "ws 1 socket": lambda: asyncio.run(stream(tracker.ws_url(), 1, seconds)),
                    "ws 64 sockets": lambda: asyncio.run(stream(tracker.ws_url(), 64, seconds)),
                    "POST 1 connection": lambda: post(tracker, 1, seconds, workdir),
                    "POST 64 connections": lambda: post(tracker, 64, seconds, workdir),
                }
                for name, run in runs.items():
                    tracker.wait_shipped(120)  # the shipper idle: each run starts from the same state
                    before = worker_cpu_seconds(root)
                    rate, events = run()
                    if rate > rates.get(name, 0.0):
                        rates[name], cpu[name] = rate, (worker_cpu_seconds(root) - before) / events
        finally:
            tracker.stop(120)
        costs = {} if arguments.rates_only else asyncio.run(breakdown(workdir))
    print(f"LZ4 batches of {BATCH} events, {IN_FLIGHT} messages in flight per socket, acked after the spool append;")
    print(f"POST /tr/v1/tr/ of the same {BATCH}-event JSON array (wrk -t1). Best of 2 runs of {seconds} s,")
    print(f"{workers} {arguments.server} worker(s); worker CPU = user + system time of the serving processes (not the")
    print("shipper).")
    print()
    print("| transport | events/s | vs POST, same connections | worker CPU per 10k events | events per CPU-second |")
    print("|---|---|---|---|---|")
    for name, rate in rates.items():
        same = "POST 1 connection" if " 1 " in name else "POST 64 connections"
        per_event = cpu[name]
        print(
            f"| {name} | {rate:,.0f} | {rate / rates[same]:.2f}x | {per_event * 1e7:.0f} ms"
            f" | {1 / per_event if per_event else 0:,.0f} |"
        )
    print()
    best = max(rates["ws 1 socket"], rates["ws 64 sockets"], rates["POST 64 connections"])
    print(f"**best rate {best:,.0f} events/s** (target 200,000)")
    if not costs:
        return
    print()
    print("The handler's own work per event, measured in this process (CPU time, one core):")
    print()
    print("| step | µs per event |")
    print("|---|---|")
    for step, micros in costs.items():
        print(f"| {step} | {micros:.2f} |")
    ceiling = 1e6 / sum(costs.values())
    print(f"| **all three: ceiling per core** | **{ceiling:,.0f} events/s** |")


if __name__ == "__main__":
    main()
