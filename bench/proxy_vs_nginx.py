"""Reverse proxy, the tracker on each engine vs Debian nginx `proxy_pass`, to the same upstreams in one run.

Two upstreams: a fast one (an nginx server answering 20 bytes, so the proxies themselves are what is
measured) and an app (a Starlette app on Hypercorn, one process: what users put behind the tracker). For each:

- full load: wrk -c32, best of two alternated runs, with each proxy's CPU per request (its whole process tree);
- added latency, below saturation (at full closed-loop load p99 is queueing, not what a proxy adds): open-loop
  load at fixed rates (bench/paced.py: h2load, requests leaving at fixed times whatever the answers do), at
  1,000 req/s for every proxy and at half of each tracker engine's own full-load rate for that engine and
  nginx. While a proxy is paced, a second h2load sends the same rate to the upstream directly: added p99 = the
  proxy's p99 minus the upstream's own p99 in those same seconds, so both share the machine's noise (on this
  shared machine a p99 alone moves by tens of ms from one run to the next); the upstream serves both loads.
  Rounds are repeated (--repeats, alternated) and the median of the rounds' added p99 is the figure.

nginx runs as many workers as the tracker. Prints Markdown tables with the ratios and the targets (≥ 50% of
nginx, added p99 < 2 ms).

    python bench/proxy_vs_nginx.py [seconds] [--workers N] [--engines hypercorn,granian] [--repeats 3]
                                   [--baseline DIR] [--cases fast,app]

--baseline DIR: a second checkout (say `git worktree add /tmp/before <commit>`) whose tracker is measured in the
same run beside this one's, rows labelled "before", so a change to the proxy is compared on the same load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Result, wrk  # noqa: E402
from bench.paced import Paced, together  # noqa: E402
from tests import harness  # noqa: E402
from tests.harness import TrackerProcess, free_port, wait_until  # noqa: E402

UPSTREAM_APP = ROOT / "tests" / "edge" / "upstream_app.py"
NGINX_CONF = """
worker_processes {workers};
user root;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000;
    upstream fast {{ server 127.0.0.1:{fast}; keepalive 64; }}
    upstream app {{ server 127.0.0.1:{app}; keepalive 64; }}
    server {{ listen 127.0.0.1:{fast}; location / {{ return 200 "hello from upstream\\n"; }} }}
    server {{
        listen 127.0.0.1:{proxy};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        location /app/ {{ proxy_pass http://app; }}
        location / {{ proxy_pass http://fast; }}
    }}
}}
"""
FIXED_RATE = 1000.0  # req/s, for every proxy


@dataclass(slots=True)
class Case:
    key: str  # for --cases
    label: str
    path: str
    direct: str  # the upstream itself


@dataclass(slots=True)
class Proxy:
    name: str  # "nginx", "granian", "hypercorn before", ...
    base_url: str
    pids: Callable[[], list[int]]  # the processes whose CPU a request costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", nargs="?", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--engines", default="hypercorn,granian")
    parser.add_argument("--repeats", type=int, default=3, help="alternated rounds of the paced loads")
    parser.add_argument("--cases", default="fast,app")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured in the same run as 'before'")
    args = parser.parse_args()
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("nginx is not installed: run .setup/services/install.sh bench")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fast, app, app_ws, nginx_port = free_port(), free_port(), free_port(), free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, fast=fast, app=app, proxy=nginx_port, workers=args.workers))
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"])
        upstream = subprocess.Popen(
            [sys.executable, str(UPSTREAM_APP), "--port", str(app), "--ws-port", str(app_ws)],
            stderr=subprocess.DEVNULL,
        )
        trackers: list[tuple[str, TrackerProcess]] = []
        try:
            routes = [
                {"Prefix": "/app/", "Targets": [f"http://127.0.0.1:{app}"]},
                {"Prefix": "/", "Targets": [f"http://127.0.0.1:{fast}"]},
            ]
            trees = [("", ROOT)] + ([(" before", args.baseline.resolve())] if args.baseline else [])
            for engine in args.engines.split(","):
                for suffix, tree in trees:
                    workdir = work / f"t-{engine}{suffix.strip()}"
                    launched = _start(workdir, tree, engine, Workers=args.workers, Upstreams=routes)
                    trackers.append((engine + suffix, launched))
            nginx_url = f"http://127.0.0.1:{nginx_port}"
            proxies = [Proxy("nginx", nginx_url, _tree(nginx))]
            proxies += [Proxy(name, tracker.base_url, _tree(tracker.process)) for name, tracker in trackers]
            for proxy in proxies:
                for url in (proxy.base_url + "/x", proxy.base_url + "/app/who"):
                    wait_until(lambda url=url: httpx.get(url, timeout=1).status_code == 200, 20, what=url)
            cases = [
                Case("fast", "fast upstream (nginx, 20 B)", "/x", f"http://127.0.0.1:{fast}/x"),
                Case("app", "app upstream (Starlette on Hypercorn)", "/app/who", f"http://127.0.0.1:{app}/app/who"),
            ]
            wanted = args.cases.split(",")
            rows: list[str] = []
            for case in cases:
                if case.key in wanted:
                    rows += measure(case, proxies, args.seconds, args.repeats)
        finally:
            for _, tracker in trackers:
                tracker.stop()
            for process in (upstream, nginx):
                process.terminate()
                process.wait(10)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"Run {started}, {args.workers} worker(s) per server, {os.cpu_count()} cores, loopback.\n")
    print("\n".join(rows))


def _tree(process: subprocess.Popen[bytes] | None) -> Callable[[], list[int]]:
    from bench.soak import process_tree

    assert process is not None
    return lambda: process_tree(process.pid)


def _start(workdir: Path, tree: Path, engine: str, **overrides: object) -> TrackerProcess:
    """A tracker from `tree` (this checkout or the baseline): its processes import that tree's package."""
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(tree)
    try:
        return harness.prepare_tracker(workdir, Server=engine, **overrides).start(timeout=90)
    finally:
        if previous is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = previous


def measure(case: Case, proxies: list[Proxy], seconds: int, repeats: int) -> list[str]:
    full = full_load(case, proxies, seconds)
    nginx_rps = full["nginx"][0].rps
    lines = [
        f"**{case.label}**, full load: wrk -c32, best of two alternated runs",
        "",
        "| proxy | req/s | / nginx | CPU µs per request (all processes) | p99 ms (queueing) |",
        "|---|---|---|---|---|",
    ]
    for name, (result, micros) in full.items():
        lines.append(
            f"| {name} | {result.rps:,.0f} | {result.rps / nginx_rps:.0%} | {micros:.0f} | {result.p99_ms:.2f} |"
        )
    lines += ["", *added_latency(case, proxies, full, seconds, repeats), ""]
    return lines


def full_load(case: Case, proxies: list[Proxy], seconds: int) -> dict[str, tuple[Result, float]]:
    """Each proxy's best wrk run of two (alternated) and its CPU µs per request in that run."""
    from bench.engines import cpu_seconds

    runs: dict[str, list[tuple[Result, float]]] = {p.name: [] for p in proxies}
    for _ in range(2):  # alternated, so machine noise falls on every proxy
        for proxy in proxies:
            used = cpu_seconds(proxy.pids())
            result = wrk(proxy.name, proxy.base_url + case.path, seconds=seconds)
            micros = 1e6 * (cpu_seconds(proxy.pids()) - used) / max(1.0, result.rps * seconds)
            if result.non_2xx:
                raise SystemExit(f"{proxy.name} {case.path}: {result.non_2xx} non-2xx answers")
            runs[proxy.name].append((result, micros))
            time.sleep(0.5)
    return {name: max(results, key=lambda r: r[0].rps) for name, results in runs.items()}


def paced_rates(proxies: list[Proxy], full: dict[str, tuple[Result, float]]) -> dict[float, list[Proxy]]:
    """Which proxies are paced at which rate: every one at FIXED_RATE; each tracker engine (with its "before"
    twin) and nginx at half that engine's full-load rate."""
    rates: dict[float, list[Proxy]] = {FIXED_RATE: list(proxies)}
    for proxy in proxies:
        if proxy.name == "nginx" or proxy.name.endswith(" before"):
            continue
        half = float(round(full[proxy.name][0].rps / 2))
        twins = [p for p in proxies if p.name in ("nginx", proxy.name, proxy.name + " before")]
        rates.setdefault(half, []).extend(p for p in twins if p not in rates.get(half, []))
    return rates


def added_latency(
    case: Case, proxies: list[Proxy], full: dict[str, tuple[Result, float]], seconds: int, repeats: int
) -> list[str]:
    lines = [
        f"**{case.label}**, added latency: open-loop h2load at a fixed rate (16 connections) through the proxy and, "
        f"in the same {seconds} s, at the same rate to the upstream alone; {repeats} alternated rounds; added p99 = "
        "the proxy's p99 − the upstream's own p99 in those seconds",
        "",
        "| proxy | rate req/s | p50 ms | p99 ms, rounds | upstream alone p99 ms, rounds | added p99 ms, rounds "
        "| **added p99 ms, median** |",
        "|---|---|---|---|---|---|---|",
    ]
    for rate, paced_proxies in sorted(paced_rates(proxies, full).items()):
        rounds: dict[str, list[tuple[Paced, Paced]]] = {p.name: [] for p in paced_proxies}
        for _ in range(repeats):
            for proxy in paced_proxies:  # each with the upstream alone, at once: the same noise on both
                through, direct = together(
                    [(proxy.name, proxy.base_url + case.path), ("upstream", case.direct)], rate, seconds
                )
                rounds[proxy.name].append((_checked(through), _checked(direct)))
        for name, measured in rounds.items():
            added = [through.p99_ms - direct.p99_ms for through, direct in measured]
            lines.append(
                f"| {name} | {rate:,.0f} | {statistics.median(t.p50_ms for t, _ in measured):.2f} "
                f"| {_list(t.p99_ms for t, _ in measured)} | {_list(d.p99_ms for _, d in measured)} "
                f"| {_list(added)} | **{statistics.median(added):.2f}** |"
            )
    return lines


def _checked(result: Paced) -> Paced:
    if result.failed:
        raise SystemExit(f"{result.name} at {result.rate:,.0f} req/s: {result.failed} requests failed")
    if result.achieved < 0.95 * result.rate:
        print(f"note: {result.name} reached {result.achieved:,.0f} of {result.rate:,.0f} req/s", file=sys.stderr)
    return result


def _list(values: Iterable[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
