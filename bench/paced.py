"""Open-loop load at a fixed rate, for latency below saturation: h2load over HTTP/1.1 keep-alive.

A closed loop (wrk at full load) measures queueing: its p99 is how long a request waits behind the others, not
what a proxy adds. Here requests leave at fixed times whatever the answers do: `connections` connections are
opened 1 ms apart, each sending at rate / connections req/s, so the sends are spread over every millisecond
(at R req/s, at most ceil(R / 1000) leave in the same millisecond). A connection sends its next request only
after its answer (HTTP/1.1), so a stall longer than its interval delays it: `achieved` says when that happened.
Latency is h2load's per-request log (request sent to answer read, in C, so the generator adds microseconds);
the first WARMUP_SECONDS are left out (connections and upstream pools being set up).

Several loads can run at once (`together`): a proxy and the upstream behind it measured in the same seconds share
the machine's noise, which on a shared 2-core machine moves a p99 by tens of milliseconds from one run to the next.

    python bench/paced.py URL RATE [seconds]
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

WARMUP_SECONDS = 0.5
STAGGER_MS = 1  # h2load's finest --rate-period


@dataclass(slots=True, frozen=True)
class Paced:
    name: str
    rate: float  # asked for
    achieved: float  # req/s that went out
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    failed: int  # not a 2xx, or no answer


def paced(name: str, url: str, rate: float, seconds: float = 5.0, connections: int = 16) -> Paced:
    return together([(name, url)], rate, seconds, connections)[0]


def together(loads: list[tuple[str, str]], rate: float, seconds: float = 5.0, connections: int = 16) -> list[Paced]:
    """One open-loop load per (name, URL), all at once (an h2load each): they share whatever else the machine does
    in those seconds, so their latencies can be compared on a busy machine."""
    if shutil.which("h2load") is None:
        raise SystemExit("h2load is not installed (Debian: nghttp2-client)")
    total = max(connections, round(rate * seconds))
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"{index}.log" for index in range(len(loads))]
        running = [
            subprocess.Popen(
                [
                    "h2load",
                    "--h1",
                    f"-n{total}",
                    f"-c{connections}",
                    "-r1",
                    f"--rate-period={STAGGER_MS}ms",
                    f"--rps={rate / connections:.6f}",
                    f"--log-file={log}",
                    url,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for (_, url), log in zip(loads, logs, strict=True)
        ]
        reports = [process.communicate(timeout=seconds * 3 + 30)[0] for process in running]
        for (name, _), process in zip(loads, running, strict=True):
            if process.returncode:
                raise SystemExit(f"h2load for {name} exited with {process.returncode}")
        return [
            summarise(name, rate, log.read_text(), report)
            for (name, _), log, report in zip(loads, logs, reports, strict=True)
        ]


def summarise(name: str, rate: float, log: str, report: str) -> Paced:
    """h2load's log: one line per request, `start µs since the epoch <TAB> status <TAB> duration µs`."""
    rows = [line.split("\t") for line in log.splitlines() if line.count("\t") == 2]
    if not rows:
        raise SystemExit(f"h2load logged no request for {name}:\n{report}")
    starts = [int(start) for start, _, _ in rows]
    first, last = min(starts), max(starts)
    kept = [
        (int(status), int(duration) / 1000)
        for start, status, duration in rows
        if int(start) - first >= WARMUP_SECONDS * 1e6
    ]
    latencies = sorted(ms for status, ms in kept if answered(status))
    failed = sum(1 for status, _ in kept if not answered(status)) + max(0, _started(report) - len(rows))
    span = max(1e-6, (last - first) / 1e6)
    return Paced(
        name,
        rate,
        len(rows) / span,
        percentile(latencies, 50),
        percentile(latencies, 90),
        percentile(latencies, 99),
        latencies[-1] if latencies else math.nan,
        failed,
    )


def answered(status: int) -> bool:
    """A 2xx, or 0: h2load's HTTP/1 parser reads the status only with a reason phrase, which h11 (Hypercorn, the
    app upstream) never sends; the full-load wrk runs of the same URLs check those statuses."""
    return status == 0 or 200 <= status < 300


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _started(report: str) -> int:
    """Requests h2load sent ("requests: N total, N started, N done, ..."): those it logged no answer for failed."""
    for line in report.splitlines():
        if line.startswith("requests:"):
            fields = {part.split()[1]: int(part.split()[0]) for part in line[len("requests:") :].split(",")}
            return fields.get("started", 0)
    return 0


if __name__ == "__main__":
    target, asked = sys.argv[1], float(sys.argv[2])
    result = paced(target, target, asked, float(sys.argv[3]) if len(sys.argv) > 3 else 5.0)
    print(result)
