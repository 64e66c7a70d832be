"""Both engines at 1 and 2 workers in one run: the bare Starlette app on the same engine, then the tracker's
routes, each as a ratio to the bare app on the same engine and to nginx (same worker count) answering the
same kind of request; CPU per 10k tracking GETs (every process, counted until the supervisor has shipped them),
the supervisor's CPU per shipped event and the RSS of every process. Prints Markdown for the README.

python bench/engines.py [seconds] [--engine E ...] [--workers N ...] [--case TEXT ...]
    (wrk -t1 -c64 per case, loopback; nginx and wrk from install.sh bench). --engine and --workers pick a subset;
    --case keeps only the cases whose label contains TEXT (the bare app and nginx always run, for the ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Result, wrk  # noqa: E402
from bench.proxy_vs_nginx import UPSTREAM_APP  # noqa: E402
from bench.run import TRACK_URL, shipped_sinks  # noqa: E402
from bench.soak import process_tree, rss_bytes  # noqa: E402
from bench.static_vs_nginx import write_site  # noqa: E402
from bench.stream import BATCH, batch_json, stream  # noqa: E402
from tests.harness import TrackerProcess, free_port, prepare_tracker, wait_until  # noqa: E402
from tests.routes.conftest import BROWSER_UA, add_account  # noqa: E402

ENGINES = ("hypercorn", "granian")
WORKERS = (1, 2)
CONNECTIONS = 64
NGINX_CONF = """
worker_processes {workers};
user root;
error_log {dir}/error.log warn;
pid {dir}/nginx-{workers}.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000;
    upstream app {{ server 127.0.0.1:{app}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location = /x {{ return 204; }}
        location /static/ {{ alias {root}/; }}
        location /app/ {{ proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }}
    }}
}}
"""
# case: (label, path, wrk headers, the nginx case it is compared with, events per request)
CASES: tuple[tuple[str, str, dict[str, str], str, int], ...] = (
    ("tracking GET", TRACK_URL, {"User-Agent": BROWSER_UA}, "/x", 1),
    ("pixel /img/", "/tr/v1/img/ename/email_open/campaign/bench/x.gif", {"User-Agent": BROWSER_UA}, "/x", 1),
    ("redirect 302", "/spring?utm_source=bench", {"Host": "go.example", "User-Agent": BROWSER_UA}, "/x", 0),
    ("static 4 KiB", "/static/small.txt", {}, "/static/small.txt", 0),
    ("proxy to an app upstream", "/app/who", {}, "/app/who", 0),
)


@dataclass(slots=True)
class Row:
    label: str
    rps: float
    p99_ms: float
    bare: float  # the bare app's req/s on the same engine and workers
    nginx: float  # nginx's req/s on the matching case, same worker count
    unit: str = "req/s"

    def markdown(self, engine: str, workers: int) -> str:
        bare = f"{self.rps / self.bare:.0%}" if self.unit == "req/s" else "–"
        nginx = f"{self.rps / self.nginx:.1%}" if self.unit == "req/s" else "–"
        cells = [engine, str(workers), self.label, f"{self.rps:,.0f} {self.unit}", f"{self.p99_ms:.2f}", bare, nginx]
        return "| " + " | ".join(cells) + " |"


def process_kind(pid: int) -> str:
    command = Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}/cmdline").exists() else b""
    return "resource tracker" if b"resource_tracker" in command else "worker"


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def start(command: list[str], url: str, what: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    wait_until(lambda: httpx.get(url, timeout=1).status_code < 400, 60, what=what)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(15)


def nginx(work: Path, workers: int, app_port: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = work / f"nginx-{workers}.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, dir=work, port=port, root=work / "www", app=app_port))
    url = f"http://127.0.0.1:{port}"
    return start(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"], url + "/x", "nginx"), url


def tracker(work: Path, engine: str, workers: int, app_port: int) -> TrackerProcess:
    process = prepare_tracker(
        work / f"t-{engine}-{workers}",
        Server=engine,
        Workers=workers,
        Notify=shipped_sinks(work / f"t-{engine}-{workers}"),
        Static=[{"Root": str(work / "www"), "Prefix": "/static/"}],
        Upstreams=[{"Prefix": "/app/", "Targets": [f"http://127.0.0.1:{app_port}"]}],
    )
    token = add_account(process.config_path, "bench", "bench-password")["token"]
    process.start(timeout=90)
    link = {"host": "go.example", "slugfrom": "spring", "urlto": "https://example.com/x"}
    httpx.post(
        process.url("/tr/v1/rpi/links"), headers={"authorization": f"Bearer {token}"}, json=link
    ).raise_for_status()
    return process


def post_events(url: str, seconds: int, work: Path) -> Result:
    script = work / "post.lua"
    body = batch_json().decode().replace("\\", "\\\\").replace('"', '\\"')
    script.write_text(f'wrk.method = "POST"\nwrk.body = "{body}"\nwrk.headers["Content-Type"] = "application/json"\n')
    return wrk("POST 100 events", url, seconds=seconds, connections=CONNECTIONS, script=str(script))


def wanted(label: str, cases: list[str] | None) -> bool:
    return cases is None or any(text in label for text in cases)


def measure(
    work: Path, engine: str, workers: int, seconds: int, nginx_rps: dict[str, float], app: int, cases: list[str] | None
) -> list[str]:
    bare_port = free_port()
    bare_cmd = [sys.executable, "bench/bare_app.py", "--port", str(bare_port), "--server", engine]
    bare = start([*bare_cmd, "--workers", str(workers)], f"http://127.0.0.1:{bare_port}/x", "bare app")
    try:
        bare_result = wrk("bare", f"http://127.0.0.1:{bare_port}/x", seconds=seconds, connections=CONNECTIONS)
        bare_rss = [rss_bytes(pid) or 0 for pid in process_tree(bare.pid)]
    finally:
        stop(bare)
    rows = [Row("bare Starlette 204", bare_result.rps, bare_result.p99_ms, bare_result.rps, nginx_rps["/x"])]
    served = tracker(work, engine, workers, app)
    try:
        assert served.process is not None
        pids = process_tree(served.process.pid)
        for label, path, headers, nginx_case, events in CASES:
            if not wanted(label, cases):
                continue
            used, shipping = cpu_seconds(process_tree(served.process.pid)), cpu_seconds([served.process.pid])
            result = wrk(label, served.url(path), seconds=seconds, connections=CONNECTIONS, headers=headers)
            if events:  # the supervisor ships behind the load: its CPU counts until the spool is drained
                served.wait_shipped(120)
            cpu = cpu_seconds(process_tree(served.process.pid)) - used
            shipping = cpu_seconds([served.process.pid]) - shipping
            if result.non_2xx and nginx_case != "/x":
                raise SystemExit(f"{engine} {label}: {result.non_2xx} non-2xx answers")
            rows.append(Row(label, result.rps, result.p99_ms, bare_result.rps, nginx_rps[nginx_case]))
            if events:
                hits = result.rps * seconds
                per_event = f"supervisor {shipping / hits * 1e6:.1f} µs per event"
                rows[-1].label += f" (CPU {cpu / hits * 10_000:.2f} s per 10k, {per_event})"
        if wanted("POST 100 events", cases):
            shipping = cpu_seconds([served.process.pid])
            post = post_events(served.url("/tr/v1/tr/"), seconds, work)
            served.wait_shipped(300)
            shipping = (cpu_seconds([served.process.pid]) - shipping) / (post.rps * BATCH * seconds) * 1e6
            label = f"POST 100 events (supervisor {shipping:.1f} µs per event)"
            rows.append(Row(label, post.rps * BATCH, post.p99_ms, bare_result.rps, 0, "events/s"))
        if wanted("WebSocket LZ4 batches of 100", cases):
            ws, _ = asyncio.run(stream(served.ws_url(), CONNECTIONS, seconds))
            rows.append(Row("WebSocket LZ4 batches of 100", ws, float("nan"), bare_result.rps, 0, "events/s"))
        rss = {pid: rss_bytes(pid) or 0 for pid in process_tree(served.process.pid)}
        names = {pid: process_kind(pid) for pid in rss}
    finally:
        served.stop(60)
    lines = [row.markdown(engine, workers) for row in rows]
    root = pids[0]
    parts = [f"supervisor {rss.get(root, 0) / 2**20:.0f}"]
    parts += [f"{names[pid]} {rss[pid] / 2**20:.0f}" for pid in rss if pid != root]
    bare_parts = ", ".join(f"{b / 2**20:.0f}" for b in bare_rss)
    lines.append(
        f"| {engine} | {workers} | RSS MiB after the run: {', '.join(parts)} (bare app: {bare_parts}) | | | | |"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("seconds", type=int, nargs="?", default=5)
    parser.add_argument("--engine", action="append", choices=ENGINES)
    parser.add_argument("--workers", action="append", type=int)
    parser.add_argument("--case", action="append", help="only the cases whose label contains this (repeatable)")
    arguments = parser.parse_args()
    seconds = arguments.seconds
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Engines run {started}, {os.cpu_count()} cores, loopback, wrk -t1 -c{CONNECTIONS} for {seconds} s per case.",
        "",
        "| engine | workers | case | rate | p99 ms | / bare app (same engine) | / nginx |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_site(work / "www")
        app_port = free_port()
        upstream_cmd = [sys.executable, str(UPSTREAM_APP), "--port", str(app_port), "--ws-port", str(free_port())]
        upstream = start(upstream_cmd, f"http://127.0.0.1:{app_port}/app/who", "upstream app")
        try:
            for workers in arguments.workers or WORKERS:
                server, url = nginx(work, workers, app_port)
                try:
                    nginx_rps = {
                        case: wrk(f"nginx {case}", url + case, seconds=seconds, connections=CONNECTIONS).rps
                        for case in ("/x", "/static/small.txt", "/app/who")
                    }
                finally:
                    stop(server)
                lines.append(
                    f"| nginx | {workers} | return 204 / static 4 KiB / proxy_pass to the app | "
                    f"{nginx_rps['/x']:,.0f} / {nginx_rps['/static/small.txt']:,.0f} / {nginx_rps['/app/who']:,.0f}"
                    " req/s | | | |"
                )
                for engine in arguments.engine or ENGINES:
                    lines += measure(work, engine, workers, seconds, nginx_rps, app_port, arguments.case)
        finally:
            stop(upstream)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
