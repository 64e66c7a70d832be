"""A small real disk for the spool: a tmpfs mounted for one test, and ballast that fills it on demand."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "2m") -> Iterator[Path]:
    """`mount -t tmpfs -o size=...` at `path` (skips the test with the reason when mounting is refused)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill(path: Path, leave: int = 0) -> Path:
    """Write a ballast file under `path` until at most `leave` bytes are free; returns the ballast's path."""
    ballast = path / "ballast"
    block = b"\0" * 4096
    with open(ballast, "ab") as handle:
        try:
            while free_bytes(path) > leave:
                handle.write(block)
                handle.flush()
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return ballast
