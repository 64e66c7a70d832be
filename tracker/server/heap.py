"""Give the C heap's free pages back to the system. The supervisor's threads (DuckDB writes, spool reads) allocate
and free in many glibc arenas; freed pages inside an arena stay resident until trimmed, so RSS creeps up under a
steady load although nothing is held. A no-op where libc has no malloc_trim (musl, macOS)."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> bool:
    """Trim every arena; True when libc did (and returned memory)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
