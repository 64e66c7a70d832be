"""A real Redis server on a free loopback port, no persistence, for the shared rate-limit tests.

`redis_server` is one server for the session; `start_redis()` gives a test its own, which it may pause
(SIGSTOP: connections accepted, nothing answered, like a hung Redis) and resume.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.harness import free_port, wait_until


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def uri(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()  # a stopped process would not act on SIGTERM until continued
        self.process.terminate()
        self.process.wait(10)


def start_redis() -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (make test installs Debian's redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = RedisServer(port, process)
    try:
        wait_until(server.ping, 20, what=f"redis-server on {port}")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()
