"""SIGTERM on either engine (tests/server/engines.py runs this module on both): a request in flight still gets
its answer, its event is shipped and stored, and the process exits 0."""

from __future__ import annotations

import os
import signal
import socket
import uuid
from pathlib import Path

import httpx
import pytest

from tests.harness import snapshot_query, start_tracker, wait_until


def in_flight_gauge(url: str) -> float:
    for line in httpx.get(url, timeout=5).text.splitlines():
        if line.startswith("tracker_requests_in_flight "):
            return float(line.split()[1])
    raise AssertionError("no tracker_requests_in_flight in /metrics")


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_a_request_in_flight_then_exits_0(tmp_path: Path, workers: int) -> None:
    tracker = start_tracker(tmp_path / "t", Workers=workers, ReadTimeoutSeconds=10)
    assert tracker.process is not None
    eid = str(uuid.uuid1())
    body = f'{{"eid": "{eid}", "ename": "in_flight_at_sigterm"}}'.encode()
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=15) as in_flight:
        head = f"POST /tr/v1/tr/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        idle = in_flight_gauge(tracker.url("/metrics"))  # the /metrics request itself, if it counts itself
        in_flight.sendall(f"{head}\r\n\r\n".encode() + body[:8])
        wait_until(lambda: in_flight_gauge(tracker.url("/metrics")) > idle, 15, what="the POST in progress")
        os.killpg(tracker.process.pid, signal.SIGTERM)

        in_flight.sendall(body[8:])
        answer = in_flight.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer
    assert tracker.process.wait(30) == 0
    database = Path(tracker.config["Notify"][0]["Path"])
    rows = wait_until(lambda: snapshot_query(database, "SELECT ename FROM events WHERE eid = ?", [eid]), 10)
    assert rows == [("in_flight_at_sigterm",)]
