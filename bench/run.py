"""`make bench`: every comparison measured in one run, as ratios, printed as Markdown for the README.

Each section starts its servers on free loopback ports, drives them with the same bounded load and stops them.
"""

from __future__ import annotations

import json
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

TRACK_URL = "/tr/v1/tr/vid/14fb0860-b4bf-11e9-8971-7b80435315ac/ename/bench/etyp/view?utm_source=bench&page=2"


def shipped_sinks(workdir: Path) -> list[dict[str, object]]:
    """The sinks of the shipped config.json (its batching settings), writing under `workdir`."""
    sinks = json.loads((ROOT / "config.json").read_text())["Notify"]
    for sink in sinks:
        if sink.get("Service") == "duckdb":
            sink["Path"] = str(workdir / "tracker.duckdb")
    return sinks


def start_bare() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "bare_app.py"), "--port", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(url + "/x", timeout=1).status_code == 204, 20, what="bare app")
    return process, url


def tracking_vs_bare(seconds: int) -> list[str]:
    results: dict[str, list[Result]] = {"bare": [], "tracker": []}
    with tempfile.TemporaryDirectory() as tmp:
        tracker = start_tracker(Path(tmp) / "t", Notify=shipped_sinks(Path(tmp) / "t"))
        bare, bare_url = start_bare()
        try:
            for _ in range(2):  # alternate to spread machine noise over both
                results["bare"].append(wrk("bare Starlette 204", bare_url + TRACK_URL, seconds=seconds))
                results["tracker"].append(
                    wrk("tracker GET /tr/ (spool write + DuckDB)", tracker.url(TRACK_URL), seconds=seconds)
                )
        finally:
            bare.terminate()
            bare.wait(10)
            tracker.stop(60)
    best = {k: max(v, key=lambda r: r.rps) for k, v in results.items()}
    ratio = best["tracker"].rps / best["bare"].rps
    return [
        "### Tracking GET vs a bare Starlette app (same Hypercorn settings, 1 worker, wrk -t1 -c32)",
        "",
        "| server | req/s | p50 ms | p99 ms | non-2xx |",
        "|---|---|---|---|---|",
        best["bare"].row(),
        best["tracker"].row(),
        "",
        f"**tracker / bare = {ratio:.0%}** (target ≥ 70%)",
        "",
    ]


def script_section(title: str, script: str) -> list[str]:
    path = ROOT / "bench" / script
    if not path.exists():
        return []
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    if out.returncode != 0:
        return [f"### {title}", "", f"failed: {out.stderr.strip()[-500:]}", ""]
    return [f"### {title}", "", out.stdout.strip(), ""]


def main() -> None:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"Benchmarks run {started} on this machine (2 cores, loopback).", ""]
    lines += tracking_vs_bare(seconds)
    lines += script_section("Spool append", "spool_append.py")
    lines += script_section("DuckDB sink alone", "sink_duckdb.py")
    lines += script_section("ClickHouse sink", "sink_clickhouse.py")
    lines += script_section("NATS sink (core and JetStream)", "sink_nats.py")
    lines += script_section("ClickHouse insert formats (10,000 events)", "clickhouse_formats.py")
    lines += script_section("Redirect lookup vs tracking GET", "redirects.py")
    lines += script_section("Event stream /tr/v1/ws vs POST (LZ4 batches of 100)", "stream.py")
    lines += script_section("Reverse proxy vs nginx (app and fast upstreams)", "proxy_vs_nginx.py")
    lines += script_section("Static files vs nginx (4 KiB, 1 MiB, precompressed)", "static_vs_nginx.py")
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.md").write_text(report + "\n")
    (out / "latest.json").write_text(json.dumps({"run": started}, indent=2))


if __name__ == "__main__":
    main()
