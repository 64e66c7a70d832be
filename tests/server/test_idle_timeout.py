"""IdleTimeoutSeconds on both engines (tracker/server/hypercorn.py, granian.py), seen from a client of a real
tracker: idle keep-alive connections and half-sent heads (slowloris) are closed after it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.harness import TrackerProcess, start_tracker


def _ping(sock: socket.socket) -> bytes:
    """One GET /ping on a kept-alive connection; the whole answer, which may come in several reads."""
    sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"pong"):
        chunk = sock.recv(4096)
        assert chunk, f"connection closed after {answer!r}"
        answer += chunk
    return answer


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(4096) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    """Each test opens connections of its own: one tracker serves both."""
    process = start_tracker(tmp_path_factory.mktemp("idle"), IdleTimeoutSeconds=1, ReadTimeoutSeconds=30)
    yield process
    process.kill9()


def test_idle_and_half_sent_connections_are_closed_after_the_idle_timeout(tracker: TrackerProcess) -> None:
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as idle:
        for _ in range(2):  # kept alive between requests
            assert _ping(idle).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        assert _closed_within(idle, 10)
        assert time.monotonic() - started >= 0.5  # closed by the timeout, not at once
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as slow:
        slow.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        assert _closed_within(slow, 10)


def test_a_connection_in_use_is_not_cut_by_the_idle_timeout(tracker: TrackerProcess) -> None:
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as busy:
        for _ in range(6):  # 3 s of requests 0.5 s apart: never idle for a whole second
            assert _ping(busy).startswith(b"HTTP/1.1 200")
            time.sleep(0.5)
