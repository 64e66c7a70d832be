"""The DuckDB file, its WAL and its spill directory, readable by this user only, whatever the process umask.

DuckDB creates its files with mode 0666 minus the umask, and takes no mode option; the umask is process-wide,
so it is not switched. Instead: a new database file is made in a private (0700) directory, set to 0600 and
moved into place, so it is never readable by others, even for a moment; the WAL is created empty with 0600 before
every write that may need one (DuckDB appends to a WAL it finds, and deletes it at each checkpoint), all on the
sink's one database thread; spill files go to a 0700 directory of their own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

import duckdb

log = logging.getLogger("tracker.sinks.duckdb")
PRIVATE_FILE, PRIVATE_DIRECTORY = 0o600, 0o700


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def temp_directory(database: Path) -> Path:
    return database.with_name(database.name + ".tmp")


def create_private(database: Path) -> None:
    """Create an empty DuckDB database at `database` (0600) unless one is there; its parent is made if missing."""
    if database.exists():
        restrict(database)
        return
    if not database.parent.exists():
        private_directory(database.parent)
    with tempfile.TemporaryDirectory(dir=database.parent, prefix=f".{database.name}.") as private:
        os.chmod(private, PRIVATE_DIRECTORY)  # mkdtemp asks 0700, but what it gets depends on the umask
        made = Path(private) / database.name
        duckdb.connect(str(made)).close()
        os.chmod(made, PRIVATE_FILE)
        try:
            os.link(made, database)  # unlike rename, never replaces an existing file
        except FileExistsError:
            pass  # another process won the race: keep its file
        except OSError:  # a filesystem without hard links
            if not database.exists():
                os.rename(made, database)
    restrict(database)


def private_directory(directory: Path) -> Path:
    """Make `directory` (and missing parents) 0700 if it is new; an existing one only loses access by others."""
    try:
        directory.mkdir(mode=PRIVATE_DIRECTORY, parents=True)
    except FileExistsError:
        restrict(directory, PRIVATE_DIRECTORY)
    else:  # mkdir's mode is cut by the umask, which another thread may have narrowed for a moment
        os.chmod(directory, PRIVATE_DIRECTORY)
    return directory


def prepare_wal(database: Path) -> None:
    """Before a write: make sure the WAL DuckDB will append to exists and is private."""
    wal = wal_path(database)
    try:
        descriptor = os.open(wal, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        restrict(wal)
        return
    os.fchmod(descriptor, PRIVATE_FILE)  # O_CREAT's mode is still cut by the umask; 0600 needs nothing cut
    os.close(descriptor)


def restrict(path: Path, mode: int = PRIVATE_FILE) -> None:
    """Take away any access by group and others (a file made before this fix, or by an older version)."""
    with contextlib.suppress(FileNotFoundError):
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & 0o077:
            try:
                os.chmod(path, current & mode)
            except PermissionError:  # another user's file: usable, but not ours to change
                log.warning("cannot make private: not the owner", extra={"path": str(path), "mode": oct(current)})
