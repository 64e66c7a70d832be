"""A real ClickHouse server (Debian 18.16) on free loopback ports with a temp data dir, restartable in place."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness import ROOT, free_port, wait_until
from tracker.config import from_mapping
from tracker.sinks.clickhouse.sink import ClickHouseSink

SERVER = "/usr/sbin/clickhouse-server"


@dataclass
class ClickHouseServer:
    directory: Path
    http_port: int
    tcp_port: int
    timezone: str = "UTC"
    https_port: int | None = None
    certs: Path | None = None  # with https_port: serve https with localhost.pem, require clients signed by ca.pem
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    def notify_entry(self, database: str) -> dict[str, object]:
        """A `Notify[]` entry for a tracker that writes to `database` on this server, flushing quickly."""
        return {
            "Service": "clickhouse",
            "Hosts": [self.host],
            "Context": database,
            "MaxBatchSize": 2000,
            "BatchFlushInterval": 100,
            "Timeout": 2000,
        }

    def start(self) -> None:
        script = ROOT / ".setup" / "services" / "clickhouse.sh"
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "stdout.log").open("ab")
        env = dict(os.environ)
        if self.https_port is not None and self.certs is not None:
            env["CLICKHOUSE_HTTPS_PORT"] = str(self.https_port)
            env["CLICKHOUSE_CERT"] = str(self.certs / "localhost.pem")
            env["CLICKHOUSE_KEY"] = str(self.certs / "localhost.key")
            env["CLICKHOUSE_CA"] = str(self.certs / "ca.pem")
        self.process = subprocess.Popen(
            [str(script), str(self.directory), str(self.http_port), str(self.tcp_port), self.timezone],
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
        )
        wait_until(self._ready, 60, interval=0.1, what=f"ClickHouse on {self.url}")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"clickhouse-server exited: {(self.directory / 'error.log').read_text()[-2000:]}")
        return httpx.get(self.url + "/ping", timeout=1).text.strip() == "Ok."

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def query(self, sql: str, database: str = "default") -> str:
        response = httpx.post(self.url, params={"database": database}, content=sql.encode(), timeout=30)
        if response.status_code != 200:
            raise RuntimeError(response.text)
        return response.text

    def scalar(self, sql: str, database: str = "default") -> int:
        return int(self.query(sql, database).strip() or 0)


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    if shutil.which(SERVER) is None and not Path(SERVER).exists():
        pytest.skip(f"{SERVER} is not installed (make test installs Debian's clickhouse-server)")
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse"), free_port(), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def fresh_database(server: ClickHouseServer, prefix: str, node: str) -> Iterator[str]:
    """A database created empty for `node` (a test or a module) and dropped afterwards."""
    name = prefix + "".join(c if c.isalnum() else "_" for c in node)[:60]
    server.query(f"DROP DATABASE IF EXISTS {name}")
    server.query(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        server.query(f"DROP DATABASE IF EXISTS {name}")


@pytest.fixture
def clickhouse_database(clickhouse_server: ClickHouseServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database per test, dropped afterwards."""
    with fresh_database(clickhouse_server, "t_", request.node.name) as name:
        yield name


@pytest.fixture(scope="module")
def clickhouse_module_database(clickhouse_server: ClickHouseServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """One fresh database for a module whose tests share a tracker (each test uses its own ids)."""
    with fresh_database(clickhouse_server, "m_", request.module.__name__) as name:
        yield name


def sink_for(server: ClickHouseServer, database: str, **extra: object) -> ClickHouseSink:
    """A ClickHouse sink (not yet open) on `database` of `server`, with extra Notify keys."""
    config = from_mapping({"Notify": [{"Service": "clickhouse", "Hosts": [server.host], "Context": database, **extra}]})
    return ClickHouseSink(config.notify[0], config)
