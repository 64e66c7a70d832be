"""Reverse proxy, the tracker on each engine vs Debian nginx `proxy_pass`, to the same upstreams in one run.

Two upstreams: a fast one (an nginx server answering 20 bytes, so the proxies themselves are what is
measured) and an app (a Starlette app on Hypercorn, one process: what users put behind the tracker). For
each: full load (wrk -c32, best of two alternated runs) with the tracker's CPU per request (its whole process
tree), then one paced load, half of the slowest tracker's full-load rate over 16 connections (wrk's delay()
hook), where the added p99 is each proxy's p99 minus the upstream's own p99 at that pace. nginx runs as many
workers as the tracker. Prints Markdown tables with the ratios and the targets (≥ 50% of nginx, added p99 < 2 ms).

    python bench/proxy_vs_nginx.py [seconds] [--workers N] [--engines hypercorn,granian] [--baseline DIR]

--baseline DIR: a second checkout (say `git worktree add /tmp/before <commit>`) whose tracker is measured in the
same run beside this one's, rows labelled "before", so a change to the proxy is compared on the same load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Result, wrk  # noqa: E402
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
PACED = """
local delay_ms = {delay}
function delay() return delay_ms end
"""
CONNECTIONS_PACED = 16


@dataclass(slots=True)
class Case:
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
                Case("fast upstream (nginx, 20 B)", "/x", f"http://127.0.0.1:{fast}/x"),
                Case("app upstream (Starlette on Hypercorn)", "/app/who", f"http://127.0.0.1:{app}/app/who"),
            ]
            rows: list[str] = []
            for case in cases:
                rows += measure(case, proxies, args.seconds, work)
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


def measure(case: Case, proxies: list[Proxy], seconds: int, work: Path) -> list[str]:
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
    full = {name: max(results, key=lambda r: r[0].rps) for name, results in runs.items()}
    slowest = min(result.rps for name, (result, _) in full.items() if name != "nginx")
    half_rate = slowest / 2
    script = work / "paced.lua"
    script.write_text(PACED.format(delay=max(1, round(CONNECTIONS_PACED * 1000 / half_rate))))

    def paced(name: str, url: str) -> Result:
        return wrk(name, url, seconds=seconds, connections=CONNECTIONS_PACED, script=str(script))

    direct = paced("upstream direct", case.direct)
    half = {proxy.name: paced(proxy.name, proxy.base_url + case.path) for proxy in proxies}
    nginx_rps = full["nginx"][0].rps
    lines = [
        f"**{case.label}**: full load wrk -c32 (best of two), then {half_rate:,.0f} req/s paced over "
        f"{CONNECTIONS_PACED} connections, where the upstream alone has p99 {direct.p99_ms:.2f} ms",
        "",
        "| proxy | req/s | / nginx | CPU µs per request (all processes) | p99 ms | paced p99 ms | added p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (result, micros) in full.items():
        added = half[name].p99_ms - direct.p99_ms
        lines.append(
            f"| {name} | {result.rps:,.0f} | {result.rps / nginx_rps:.0%} | {micros:.0f} | {result.p99_ms:.2f} "
            f"| {half[name].p99_ms:.2f} | {added:.2f} |"
        )
    lines.append("")
    return lines


if __name__ == "__main__":
    main()
