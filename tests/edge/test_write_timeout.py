"""WriteTimeoutSeconds (tracker/edge/write_timeout.py) in a real tracker: a client that stops reading a big
static file or a proxied download has its response cut and its connection closed; one that reads is served."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.edge.test_proxy import Upstream, start_upstream
from tests.harness import TrackerProcess, start_tracker, wait_until

SIZE = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrackerProcess, Upstream]]:
    site = tmp_path_factory.mktemp("site")
    with (site / "big.bin").open("wb") as big:
        big.truncate(SIZE)
    upstream = start_upstream()
    tracker = start_tracker(
        tmp_path_factory.mktemp("t"),
        WriteTimeoutSeconds=1,
        Static=[{"Root": str(site), "Prefix": "/files/"}],
        Upstreams=[{"Prefix": "/app/", "Targets": [upstream.url]}],
    )
    yield tracker, upstream
    tracker.stop()
    upstream.process.terminate()
    upstream.process.wait(10)


def _received_after_stalling(port: int, target: str, stall_seconds: float) -> int:
    """Asks for `target`, reads nothing for `stall_seconds`, then reads to the end: the bytes received."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(stall_seconds)
        sock.settimeout(10)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            pass
        return received


@pytest.mark.parametrize("target", ["/files/big.bin", f"/app/download?size={SIZE}"])
def test_a_client_that_stops_reading_is_cut_off(setup: tuple[TrackerProcess, Upstream], target: str) -> None:
    tracker, _ = setup
    received = _received_after_stalling(tracker.port, target, stall_seconds=4)
    assert 0 < received < SIZE // 2  # the socket buffers' worth, then the connection closed
    wait_until(lambda: "client stopped reading" in tracker.log(), 10, what="the log line")
    assert "Traceback" not in tracker.log()
    assert httpx.get(tracker.url("/ping")).status_code == 200


def test_a_client_that_reads_gets_everything(setup: tuple[TrackerProcess, Upstream]) -> None:
    tracker, _ = setup
    with httpx.stream("GET", tracker.url("/files/big.bin")) as response:
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total < 4 * 1024 * 1024:
                time.sleep(0.01)  # slow at first, but never stopped for a whole second
    assert total == SIZE
