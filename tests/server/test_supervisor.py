"""The supervisor on a real tracker process: a first start is quiet (no warning a new user has to wonder about)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import orjson

from tests.harness import start_tracker


def test_a_first_start_logs_no_warning(tmp_path: Path) -> None:
    """Short links load once the primary store is open: before, every first start warned that the DuckDB sink
    was not open (the control plane raced the shipper's open)."""
    tracker = start_tracker(tmp_path / "t")
    try:
        assert httpx.get(tracker.url("/tr/v1/tr/ename/first_start")).status_code == 200
        tracker.wait_shipped()
    finally:
        assert tracker.stop() == 0
    lines = [orjson.loads(line) for line in tracker.log().splitlines() if line.startswith("{")]
    assert lines, "the tracker logged nothing"
    loud = [line for line in lines if line["level"] not in ("debug", "info")]
    assert loud == []


def test_the_shipping_process_keeps_libraries_it_does_not_use_out(tmp_path: Path) -> None:
    """The supervisor ships into DuckDB without Arrow, pandas (which Arrow imported when installed: ~49 MiB) or
    ACME's crypto libraries, and without the app it never serves: its RSS stays under 150 MiB (README, Soak)."""
    tracker = start_tracker(tmp_path / "t")
    try:
        assert httpx.get(tracker.url("/tr/v1/tr/ename/small_supervisor")).status_code == 200
        tracker.wait_shipped()
        mapped = Path(f"/proc/{tracker.process.pid}/maps").read_text()
    finally:
        assert tracker.stop() == 0
    assert "_duckdb" in mapped  # the right process: it holds the sink
    for library in ("pyarrow", "pandas", "cryptography"):
        assert f"/{library}/" not in mapped, library


def test_the_control_socket_is_private_without_a_process_umask_switch(tmp_path: Path) -> None:
    """Workers call the control plane over a Unix socket: only this user may, whatever the umask it started with
    (the socket was made 0600 by switching the whole process's umask, which raced other threads' files)."""
    previous = os.umask(0)  # the tracker inherits the most permissive umask
    try:
        tracker = start_tracker(tmp_path / "t", Workers=2)
    finally:
        os.umask(previous)
    try:
        socket_path = tracker.workdir / "spool" / "control.sock"
        assert stat.S_ISSOCK(socket_path.stat().st_mode)
        assert stat.S_IMODE(socket_path.stat().st_mode) & 0o077 == 0
        assert stat.S_IMODE(socket_path.parent.stat().st_mode) & 0o077 == 0
        assert httpx.get(tracker.url("/tr/v1/tr/ename/private_socket")).status_code == 200
    finally:
        assert tracker.stop() == 0
