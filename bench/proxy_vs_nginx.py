"""Reverse proxy, tracker vs Debian nginx `proxy_pass`, to the same upstreams in the same run on the same cores.

Two upstreams: a fast one (an nginx server answering 20 bytes, so the proxies themselves are what is
measured) and an app (a Starlette app on Hypercorn, one process: what users put behind the tracker). For
each: full load (wrk -c32, best of two), then half of the tracker's full-load rate paced with wrk's delay()
hook, where the added p99 is each proxy's p99 minus the upstream's own p99 at the same pace. One worker
process per server. Prints Markdown tables with the ratios and the targets (≥ 50% of nginx, added p99 < 2 ms).
"""

from __future__ import annotations

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
from tests.harness import free_port, start_tracker, wait_until  # noqa: E402

UPSTREAM_APP = ROOT / "tests" / "edge" / "upstream_app.py"
NGINX_CONF = """
worker_processes 1;
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
    direct: str  # the upstream itself
    tracker: str
    nginx: str


def main(seconds: int = 5) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("nginx is not installed: run .setup/services/install.sh bench")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fast, app, app_ws, nginx_port = free_port(), free_port(), free_port(), free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, fast=fast, app=app, proxy=nginx_port))
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"])
        upstream = subprocess.Popen(
            [sys.executable, str(UPSTREAM_APP), "--port", str(app), "--ws-port", str(app_ws)],
            stderr=subprocess.DEVNULL,
        )
        tracker = None
        try:
            tracker = start_tracker(
                work / "t",
                Upstreams=[
                    {"Prefix": "/app/", "Targets": [f"http://127.0.0.1:{app}"]},
                    {"Prefix": "/", "Targets": [f"http://127.0.0.1:{fast}"]},
                ],
            )
            nginx_url = f"http://127.0.0.1:{nginx_port}"
            for url in (nginx_url + "/x", nginx_url + "/app/who", tracker.url("/app/who")):
                wait_until(lambda url=url: httpx.get(url, timeout=1).status_code == 200, 20, what=url)
            cases = [
                Case("fast upstream (nginx, 20 B)", f"http://127.0.0.1:{fast}/x", tracker.url("/x"), nginx_url + "/x"),
                Case(
                    "app upstream (Starlette on Hypercorn)",
                    f"http://127.0.0.1:{app}/app/who",
                    tracker.url("/app/who"),
                    nginx_url + "/app/who",
                ),
            ]
            rows: list[str] = []
            for case in cases:
                rows += measure(case, seconds, work)
        finally:
            if tracker is not None:
                tracker.stop()
            for process in (upstream, nginx):
                process.terminate()
                process.wait(10)
    print("\n".join(rows))


def measure(case: Case, seconds: int, work: Path) -> list[str]:
    full = {
        "nginx": best(lambda: wrk("nginx proxy_pass", case.nginx, seconds=seconds)),
        "tracker": best(lambda: wrk("tracker proxy", case.tracker, seconds=seconds)),
    }
    half_rate = full["tracker"].rps / 2
    script = work / "paced.lua"
    script.write_text(PACED.format(delay=max(1, round(CONNECTIONS_PACED * 1000 / half_rate))))

    def paced(name: str, url: str) -> Result:
        return wrk(name, url, seconds=seconds, connections=CONNECTIONS_PACED, script=str(script))

    half = {
        "direct": paced("upstream direct", case.direct),
        "nginx": paced("nginx proxy_pass", case.nginx),
        "tracker": paced("tracker proxy", case.tracker),
    }
    added = {k: half[k].p99_ms - half["direct"].p99_ms for k in ("tracker", "nginx")}
    ratio = full["tracker"].rps / full["nginx"].rps
    return [
        f"**{case.label}**",
        "",
        "| full load (wrk -c32) | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
        full["nginx"].row(),
        full["tracker"].row(),
        "",
        f"| half load: {half_rate:,.0f} req/s paced over {CONNECTIONS_PACED} connections | req/s | p50 ms | p99 ms "
        "| non-2xx |",
        "|---|---|---|---|---|",
        half["direct"].row(),
        half["nginx"].row(),
        half["tracker"].row(),
        "",
        f"tracker / nginx throughput = **{ratio:.0%}** (target ≥ 50%: {'met' if ratio >= 0.5 else 'not met'}); "
        f"added p99 at half load: tracker **{added['tracker']:.2f} ms**, nginx {added['nginx']:.2f} ms "
        f"(target < 2 ms: {'met' if added['tracker'] < 2 else 'not met'})",
        "",
    ]


def best(measure: Callable[[], Result]) -> Result:
    results = []
    for _ in range(2):
        results.append(measure())
        time.sleep(0.5)
    return max(results, key=lambda r: r.rps)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
