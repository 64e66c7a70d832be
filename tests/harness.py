"""Real tracker processes for end-to-end tests: a temp config, a free loopback port, start/stop/kill -9."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("hypercorn", "granian")
engine = "hypercorn"  # the Server of trackers started from here; tests/server/engines.py sets it per module


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_config(workdir: Path, port: int, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ApiVersion": 1,
        "ProxyPort": f"127.0.0.1:{port}",
        "AllowOrigin": "*",
        "Domains": ["localhost", "127.0.0.1", "yourdomain.com"],
        "DefaultRedirect": "https://example.com/default",
        "SpoolDirectory": str(workdir / "spool"),
        "Notify": [
            {
                "Service": "duckdb",
                "Path": str(workdir / "tracker.duckdb"),
                "MaxBatchSize": 5000,
                "BatchFlushInterval": 100,
            }
        ],
    }
    if engine != "hypercorn":
        config["Server"] = engine
    config.update(overrides)
    return config


def wait_until(check: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - polling: keep the last error for the message
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


async def eventually(check: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    """wait_until inside a running loop: `check` may be a plain function or a coroutine function, and the
    loop keeps running (the servers and clients under test live on it) between tries."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - polling: keep the last error for the message
            last_error = error
        await asyncio.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


@dataclass
class TrackerProcess:
    workdir: Path
    config: dict[str, Any]
    port: int
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "tracker.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def ws_url(self, path: str = "/tr/v1/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "config.json"

    def start(self, timeout: float = 30.0) -> TrackerProcess:
        self.config_path.write_text(json.dumps(self.config, indent=2))
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tracker", str(self.config_path)],
            cwd=self.workdir,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
        )
        wait_until(self._healthy, timeout, what=f"tracker on {self.base_url} (log: {self.log_path})")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"tracker exited with {self.process.returncode}: {self.log()[-2000:]}")
        tls = self.config.get("ProxyPortTLS")
        if tls:  # the plain port only redirects: ask the TLS listener (whatever certificate it has yet)
            return (
                httpx.get(f"https://127.0.0.1:{tls.rsplit(':', 1)[1]}/health", timeout=1.0, verify=False).status_code
                == 200
            )
        return httpx.get(self.url("/health"), timeout=1.0).status_code == 200

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the graceful path (drains requests, ships the spool)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        os.killpg(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout)

    def kill9(self) -> None:
        """SIGKILL the whole process group: supervisor and every worker."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def status(self) -> dict[str, Any]:
        return httpx.get(self.url("/status"), timeout=5.0).json()  # type: ignore[no-any-return]

    def wait_shipped(self, timeout: float = 60.0) -> None:
        """Every sink has shipped everything in the spool (cursor lag 0), in a status written after this call."""
        asked = time.time()

        def idle() -> bool:
            status = self.status()
            sinks = status.get("sinks", {})
            fresh = status.get("updated_unix", 0) > asked
            return fresh and bool(sinks) and all(s.get("lag_bytes", 1) == 0 for s in sinks.values())

        wait_until(idle, timeout, interval=0.1, what="the shipper to drain the spool")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def prepare_tracker(workdir: Path, **overrides: Any) -> TrackerProcess:
    """A tracker with its config written but not started (for set-up that needs the config first)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = TrackerProcess(workdir, base_config(workdir, port, **overrides), port)
    process.config_path.write_text(json.dumps(process.config, indent=2))
    return process


def start_tracker(workdir: Path, **overrides: Any) -> TrackerProcess:
    return prepare_tracker(workdir, **overrides).start()


def run_until_exit(tracker: TrackerProcess, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """A prepared tracker run in the foreground until it exits: for a start-up that must be refused."""
    command = [sys.executable, "-m", "tracker", str(tracker.config_path)]
    return subprocess.run(command, cwd=tracker.workdir, capture_output=True, text=True, timeout=timeout)


def snapshot_query(database: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Query a DuckDB file a running tracker holds open, through a copy of the file and its WAL."""
    import shutil
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "snapshot.duckdb"
        shutil.copy(database, copy)
        wal = database.with_name(database.name + ".wal")
        if wal.exists():
            shutil.copy(wal, copy.with_name(copy.name + ".wal"))
        with duckdb.connect(str(copy), read_only=True) as db:
            return db.execute(sql, params or []).fetchall()
