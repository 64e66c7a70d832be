"""Why the spool refuses an append. The routes map SpoolFull (and so every subclass) to 503 + Retry-After,
a pixel still gets its GIF and a redirect still redirects."""

from __future__ import annotations


class SpoolFull(Exception):
    """The spool cannot take more now: sinks are behind. Answer 503 and let clients retry."""


class SpoolUnavailable(SpoolFull):
    """The disk refused the append (full, quota, I/O error); nothing of it was kept. 503, retry later."""
