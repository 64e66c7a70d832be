"""Servers shared by the route tests: an in-process server with the memory sink, and a tracker process with
admin accounts for the short-link routes."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
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
HOP = "https://yourdomain.com/tr/v1/rdr/?url="
LEGACY_LINKS = [  # (key, target, valid_until) as stored before targets were checked at creation
    ("go.example/legacy-js", HOP + "javascript:alert(1)", None),
    ("go.example/legacy-data", HOP + "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E", None),
    ("go.example/legacy-evil", HOP + "//evil.com/", None),
    ("go.example/legacy-euro", "https://example.com/€ page?q=ü", None),
    ("go.example/legacy-far", "https://example.com/far", "2999-01-01 00:00:00"),
]


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
    return account_command(config_path, "add", uid, password)


def account_command(config_path: Path, action: str, uid: str, password: str | None = None) -> dict[str, str]:
    """`tracker accounts ACTION UID CONFIG`: its printed `key: value` lines (raises when it exits non-zero)."""
    command = [sys.executable, "-m", "tracker", "accounts", action, uid, str(config_path)]
    if password is not None:
        command.append("--password-stdin")
    out = subprocess.run(command, input=(password or "") + "\n", capture_output=True, text=True, timeout=60, check=True)
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.stdout.strip().splitlines())}


def worker_connections(tracker: TrackerProcess, attempts: int = 80) -> dict[int, http.client.HTTPConnection]:
    """One open keep-alive connection to each worker process, keyed by the worker's pid (read from /proc: the
    worker holding the server side of the connection). Each comes from its own loopback address, so failures
    sent on them are not throttled together."""
    assert tracker.process is not None
    supervisor = tracker.process.pid
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    workers = {int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}
    found: dict[int, http.client.HTTPConnection] = {}
    for n in range(attempts):
        connection = http.client.HTTPConnection(
            "127.0.0.1", tracker.port, timeout=10, source_address=(f"127.0.{n // 200 + 1}.{n % 200 + 20}", 0)
        )
        connection.request("GET", "/health")
        connection.getresponse().read()
        owner = _socket_owner(workers, tracker.port, connection.sock.getsockname())
        if owner in found:
            connection.close()
        else:
            found[owner] = connection
        if set(found) == workers:
            return found
    raise AssertionError(f"{attempts} connections reached only workers {sorted(found)} of {sorted(workers)}")


def _socket_owner(pids: set[int], server_port: int, client: tuple[str, int]) -> int:
    peer = f"{socket.inet_aton(client[0])[::-1].hex().upper()}:{client[1]:04X}"  # /proc/net/tcp's notation
    inode = ""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == server_port and fields[2] == peer and fields[9] != "0":
            inode = fields[9]
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
    raise AssertionError(f"no worker holds the connection from {client}")


def bearer_status(connection: http.client.HTTPConnection, token: str, path: str = "/tr/v1/rpi/me") -> int:
    connection.request("GET", path, headers={"authorization": f"Bearer {token}"})
    response = connection.getresponse()
    response.read()
    return response.status


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    """Two workers (so cache refresh across processes is exercised). Before start-up: `alice` is added with the
    CLI (written straight to DuckDB), `gopher` as a Go tracker database holds it (SHA-1 password hash), and the
    LEGACY_LINKS as a database written before targets were checked holds them."""
    process = prepare_tracker(tmp_path_factory.mktemp("redirects"), Workers=2)
    creds = add_account(process.config_path, "alice", "alice-password-1")
    with duckdb.connect(str(process.workdir / "tracker.duckdb")) as db:
        db.execute("INSERT INTO accounts (uid, pwd) VALUES ('gopher', ?)", [go_sha(LEGACY_PASSWORD)])
        for key, target, until in LEGACY_LINKS:
            sql = "INSERT INTO redirects (urlfrom, urlto, slug, valid_until) VALUES (?, ?, ?, ?)"
            db.execute(sql, [key, target, key.split("/", 1)[1], until])
    process.start()
    try:
        yield Admin(process, "alice", "alice-password-1", creds["token"])
    finally:
        process.kill9()


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
