"""Listening sockets on a real tracker: with several workers each worker accepts connections of its own
(tracker/server/listeners.py), and a port something already listens on stops start-up instead of being shared."""

from __future__ import annotations

import os
import socket
from collections import Counter
from pathlib import Path

from tests.harness import prepare_tracker, run_until_exit, start_tracker

CONNECTIONS = 24


def worker_pids(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(pid) for pid in children]


def connection_owners(port: int, pids: list[int]) -> Counter[int]:
    """How many established connections to `port` each process holds (its fds against /proc/net/tcp)."""
    owner_of: dict[str, int] = {}
    for pid in pids:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue  # closed while listed
            if target.startswith("socket:["):
                owner_of[target[len("socket:[") : -1]] = pid
    owners: Counter[int] = Counter()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        if local_port == port and state == "01" and inode in owner_of:  # 01: ESTABLISHED
            owners[owner_of[inode]] += 1
    return owners


def test_each_worker_accepts_connections_of_its_own(tmp_path: Path) -> None:
    """Workers sharing one socket let the busiest keep every connection (Granian's accept loop took all 64 of
    a benchmark's). With a socket per worker the kernel spreads them: 24 connections all hashed to one of two
    workers would happen once in 2^23 runs."""
    tracker = start_tracker(tmp_path / "t", Workers=2)
    assert tracker.process is not None
    held: list[socket.socket] = []
    try:
        for _ in range(CONNECTIONS):
            connection = socket.create_connection(("127.0.0.1", tracker.port), timeout=10)
            held.append(connection)
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")  # served: a worker holds it now
        owners = connection_owners(tracker.port, worker_pids(tracker.process.pid))
        assert sum(owners.values()) == CONNECTIONS
        assert len(owners) == 2, owners
    finally:
        for connection in held:
            connection.close()
        assert tracker.stop() == 0


def test_a_port_another_tracker_listens_on_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    """SO_REUSEPORT would let a second tracker of the same user bind the port and take part of the traffic
    unnoticed; it is refused as an address in use, as with one worker."""
    first = start_tracker(tmp_path / "first", Workers=2)
    second = prepare_tracker(tmp_path / "second", Workers=2, ProxyPort=f"127.0.0.1:{first.port}")
    try:
        refused = run_until_exit(second)
        assert refused.returncode == 2
        assert f"ProxyPort: 127.0.0.1:{first.port} is already in use by another process" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        assert first.stop() == 0
