"""Files only their owner can read, whatever the process umask: spool segments hold events, the control spool
account hashes. Modes are set per file and directory (never by switching the process-wide umask) and existing
ones are fixed when they are opened.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger("tracker.pipeline")
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def private_directory(path: Path) -> Path:
    """Create `path` (and missing parents) as owner-only directories; tighten it if it exists."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.mkdir(directory, DIRECTORY_MODE)
        os.chmod(directory, DIRECTORY_MODE)
    if not missing:
        try:
            os.chmod(path, DIRECTORY_MODE)
        except PermissionError:  # someone else's directory we may write in: say so, do not refuse to start
            log.warning("cannot make a directory owner-only", extra={"directory": str(path)})
    return path


def open_private(path: Path, flags: int) -> int:
    """os.open with owner-only permissions, also for a file that existed with wider ones."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data` (a temporary file, then rename), owner-only."""
    temporary = path.with_name(path.name + ".tmp")
    fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(temporary, path)


def append_private(path: Path, data: bytes) -> None:
    fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
