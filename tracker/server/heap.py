"""The supervisor's C heap (glibc): freed pages handed back to the system. Its threads (DuckDB writes, spool reads)
allocate and free in many glibc arenas; freed pages inside an arena stay resident until trimmed, so RSS creeps up
under a steady load although nothing is held. No-ops where libc has no malloc_trim or mallopt (musl, macOS)."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
LARGE_BLOCK = 1024 * 1024


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def map_large_blocks() -> bool:
    """Serve blocks of LARGE_BLOCK or more (the shipper's 4 MiB spool reads) from their own mappings, unmapped when
    freed. glibc's default threshold rises to the largest block freed, and with it the free memory an arena keeps
    at its top (twice that): a burst left several MiB more in the arenas of the threads that read (README, DuckDB
    sink)."""
    libc = _libc()
    return bool(libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK)) if libc is not None else False


def release_free_memory() -> bool:
    """Trim every arena; True when libc did (and returned memory)."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
