"""A real nats-server with JetStream on free loopback ports, its store in a temp dir, for the NATS sink tests.

`nats_server` is one server for the session; `start_nats()` gives a test its own, which it may stop and start
again on the same ports and store (an outage that JetStream must survive).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.harness import free_port, wait_until


@dataclass
class NatsServer:
    binary: str
    store: Path
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=1) as answer:
            return b'"ok"' in answer.read()

    def start(self) -> NatsServer:
        command = [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.monitor_port)]
        command += ["-js", "-sd", str(self.store)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(self.healthy, 20, what=f"nats-server on {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def nats_binary() -> str:
    binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        pytest.skip("nats-server is not installed (make test installs Debian's nats-server)")
    return binary


def start_nats(store: Path) -> NatsServer:
    return NatsServer(nats_binary(), store).start()


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    with tempfile.TemporaryDirectory(prefix="nats-") as store:
        server = start_nats(Path(store))
        try:
            yield server
        finally:
            server.stop()
