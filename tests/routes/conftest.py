"""Servers shared by the route tests: an in-process server with the memory sink, and a tracker process with
admin accounts for the short-link routes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.harness import TrackerProcess, prepare_tracker
from tests.inprocess import InProcessServer
from tracker.redirects.accounts import go_sha

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36"
LEGACY_PASSWORD = "go-era-password"


@dataclass
class Admin:
    tracker: TrackerProcess
    uid: str
    password: str
    token: str

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    @property
    def database(self) -> Path:
        return self.tracker.workdir / "tracker.duckdb"


def add_account(config_path: Path, uid: str, password: str | None = None) -> dict[str, str]:
    command = [sys.executable, "-m", "tracker", "accounts", "add", uid, str(config_path)]
    if password is not None:
        command.append("--password-stdin")
    out = subprocess.run(command, input=(password or "") + "\n", capture_output=True, text=True, timeout=60, check=True)
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.stdout.strip().splitlines())}


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    """Two workers (so cache refresh across processes is exercised). Before start-up: `alice` is added with the
    CLI (written straight to DuckDB), and `gopher` as a Go tracker database holds it (SHA-1 password hash)."""
    process = prepare_tracker(tmp_path_factory.mktemp("redirects"), Workers=2)
    creds = add_account(process.config_path, "alice", "alice-password-1")
    with duckdb.connect(str(process.workdir / "tracker.duckdb")) as db:
        db.execute("INSERT INTO accounts (uid, pwd) VALUES ('gopher', ?)", [go_sha(LEGACY_PASSWORD)])
    process.start()
    try:
        yield Admin(process, "alice", "alice-password-1", creds["token"])
    finally:
        process.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    srv = InProcessServer(
        tmp_path_factory.mktemp("track"), UseRemoveIP=False, Limits={"MaxBodyBytes": 65536, "MaxEventsPerBatch": 50}
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: InProcessServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10) as c:
        yield c
