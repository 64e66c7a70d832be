"""Proxy and static files, tracker vs Debian nginx, in the same run and on the same 2 cores.

Proxy: wrk → (tracker | nginx proxy_pass) → an nginx upstream answering a small body (fast, so the proxies are
what is measured). Full load, then half of the tracker's full-load rate paced with wrk's delay() hook, where
the added p99 is each proxy's p99 minus the upstream's own p99 at the same pace. Static: the same 4 KiB file
from a tracker Static site and from nginx. One worker process each.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Result, wrk  # noqa: E402
from tests.harness import free_port, start_tracker, wait_until  # noqa: E402

NGINX_CONF = """
worker_processes 1;
user root;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000;
    upstream backend {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{ listen 127.0.0.1:{upstream}; location / {{ return 200 "hello from upstream\\n"; }} }}
    server {{
        listen 127.0.0.1:{proxy};
        location / {{ proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}
    server {{ listen 127.0.0.1:{static}; root {root}; }}
}}
"""
PACED = """
local delay_ms = {delay}
function delay() return delay_ms end
"""


def main(seconds: int = 5) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("nginx is not installed: run .setup/services/install.sh bench")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "www"
        root.mkdir()
        (root / "file.txt").write_bytes(b"s" * 4096)
        upstream, nginx_proxy, nginx_static = free_port(), free_port(), free_port()
        conf = work / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(dir=work, upstream=upstream, proxy=nginx_proxy, static=nginx_static, root=root)
        )
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"])
        tracker = start_tracker(
            work / "t",
            Upstreams=[{"Prefix": "/", "Targets": [f"http://127.0.0.1:{upstream}"]}],
            Static=[{"Root": str(root), "Prefix": "/static/"}],
        )
        try:
            wait_until(lambda: httpx.get(f"http://127.0.0.1:{nginx_proxy}/x", timeout=1).status_code == 200, 20)
            proxy_rows, static_rows = run(seconds, work, tracker.url, upstream, nginx_proxy, nginx_static)
        finally:
            tracker.stop()
            nginx.terminate()
            nginx.wait(10)
    print("\n".join(proxy_rows + [""] + static_rows))


def run(seconds: int, work: Path, tracker_url, upstream: int, nginx_proxy: int, nginx_static: int):  # type: ignore[no-untyped-def]
    direct = f"http://127.0.0.1:{upstream}/x"
    full = {
        "tracker": best(lambda: wrk("tracker proxy", tracker_url("/x"), seconds=seconds)),
        "nginx": best(lambda: wrk("nginx proxy_pass", f"http://127.0.0.1:{nginx_proxy}/x", seconds=seconds)),
    }
    half_rate = full["tracker"].rps / 2
    connections = 16
    script = work / "paced.lua"
    script.write_text(PACED.format(delay=max(1, round(connections * 1000 / half_rate))))

    def paced(name: str, url: str) -> Result:
        return wrk(name, url, seconds=seconds, connections=connections, script=str(script))

    half = {
        "direct": paced("upstream direct", direct),
        "tracker": paced("tracker proxy", tracker_url("/x")),
        "nginx": paced("nginx proxy_pass", f"http://127.0.0.1:{nginx_proxy}/x"),
    }
    static = {
        "tracker": best(lambda: wrk("tracker static 4 KiB", tracker_url("/static/file.txt"), seconds=seconds)),
        "nginx": best(lambda: wrk("nginx static 4 KiB", f"http://127.0.0.1:{nginx_static}/file.txt", seconds=seconds)),
    }
    added = {k: half[k].p99_ms - half["direct"].p99_ms for k in ("tracker", "nginx")}
    proxy_rows = [
        "| proxy, full load (wrk -c32) | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
        full["nginx"].row(),
        full["tracker"].row(),
        "",
        f"**tracker / nginx = {full['tracker'].rps / full['nginx'].rps:.0%}** (target ≥ 50%)",
        "",
        f"| half load: {half_rate:,.0f} req/s over {connections} connections | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
        half["direct"].row(),
        half["nginx"].row(),
        half["tracker"].row(),
        "",
        f"**added p99 at half load: tracker {added['tracker']:.2f} ms, nginx {added['nginx']:.2f} ms** (target < 2 ms)",
    ]
    static_rows = [
        "| static file | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
        static["nginx"].row(),
        static["tracker"].row(),
        "",
        f"**tracker / nginx = {static['tracker'].rps / static['nginx'].rps:.0%}**",
    ]
    return proxy_rows, static_rows


def best(measure) -> Result:  # type: ignore[no-untyped-def]
    results = []
    for _ in range(2):
        results.append(measure())
        time.sleep(0.5)
    return max(results, key=lambda r: r.rps)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
