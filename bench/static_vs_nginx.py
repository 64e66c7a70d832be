"""Static files, tracker vs Debian nginx serving the same directory, same wrk load, in the same run.

Three files: 4 KiB (the tracker's one-read path), 1 MiB (streamed in 64 KiB chunks), and a 4 KiB file fetched
with `Accept-Encoding: gzip` so both serve its precompressed `.gz` sibling (nginx `gzip_static on`). One worker
process each, wrk -t1 -c32, runs alternated and the best of two kept. Prints a Markdown table with ratios.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
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
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        location /static/ {{ alias {root}/; gzip_static on; etag on; add_header Cache-Control "public, max-age=3600"; }}
    }}
}}
"""
CASES: tuple[tuple[str, str, dict[str, str]], ...] = (  # label, path, request headers
    ("4 KiB", "/static/small.txt", {}),
    ("1 MiB", "/static/big.bin", {}),
    ("4 KiB .gz sibling", "/static/app.js", {"Accept-Encoding": "gzip"}),
)


def write_site(root: Path) -> None:
    root.mkdir()
    (root / "small.txt").write_bytes(b"s" * 4096)
    (root / "big.bin").write_bytes(os.urandom(1024 * 1024))
    script = b"console.log('static benchmark');\n" * 124  # ~4 KiB
    (root / "app.js").write_bytes(script)
    (root / "app.js.gz").write_bytes(gzip.compress(script))


def main(seconds: int = 5) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("nginx is not installed: run .setup/services/install.sh bench")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        root = work / "www"
        write_site(root)
        port = free_port()
        conf = work / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=work, port=port, root=root))
        nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(work), "-g", "daemon off;"])
        tracker = start_tracker(work / "t", Static=[{"Root": str(root), "Prefix": "/static/"}])
        nginx_url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: httpx.get(nginx_url + "/static/small.txt", timeout=1).status_code == 200, 20)
            check_same_bytes(nginx_url, tracker.base_url)
            rows = [
                measure(label, path, headers, nginx_url, tracker.base_url, seconds) for label, path, headers in CASES
            ]
        finally:
            tracker.stop()
            nginx.terminate()
            nginx.wait(10)
    print("| file | nginx req/s | tracker req/s | tracker / nginx | nginx p99 ms | tracker p99 ms |")
    print("|---|---|---|---|---|---|")
    for label, ours, theirs in ((label, t, n) for label, n, t in rows):
        ratio = f"**{ours.rps / theirs.rps:.1%}**"
        print(f"| {label} | {theirs.rps:,.0f} | {ours.rps:,.0f} | {ratio} | {theirs.p99_ms:.2f} | {ours.p99_ms:.2f} |")
    print(f"\nOne worker process each, wrk -t1 -c32 for {seconds} s, best of two alternated runs, no non-2xx answers.")


def check_same_bytes(nginx_url: str, tracker_url: str) -> None:
    """Both servers answer each case with the same status and body bytes, so the comparison is like for like."""
    for _, path, headers in CASES:
        answers = []
        for base in (nginx_url, tracker_url):
            with httpx.stream("GET", base + path, headers={"Accept-Encoding": "identity", **headers}) as response:
                raw = b"".join(response.iter_raw())
                answers.append((response.status_code, response.headers.get("content-encoding"), raw))
        if answers[0] != answers[1]:
            raise SystemExit(f"nginx and the tracker differ on {path}: {[a[:2] for a in answers]}")


def measure(
    label: str, path: str, headers: dict[str, str], nginx_url: str, tracker_url: str, seconds: int
) -> tuple[str, Result, Result]:
    def run(name: str, base: str) -> Callable[[], Result]:
        return lambda: wrk(f"{name} {label}", base + path, seconds=seconds, headers=headers)

    results: dict[str, list[Result]] = {"nginx": [], "tracker": []}
    for _ in range(2):  # alternate, so machine noise falls on both
        results["nginx"].append(run("nginx", nginx_url)())
        results["tracker"].append(run("tracker", tracker_url)())
    for result in (*results["nginx"], *results["tracker"]):
        if result.non_2xx:
            raise SystemExit(f"{result.name}: {result.non_2xx} non-2xx answers")
    return label, max(results["nginx"], key=lambda r: r.rps), max(results["tracker"], key=lambda r: r.rps)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
