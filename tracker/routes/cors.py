"""Moved to tracker.http.cors; kept while branches that import it here are merged."""

from tracker.http.cors import PREFLIGHT_HEADERS, allow_origin, preflight

__all__ = ["PREFLIGHT_HEADERS", "allow_origin", "preflight"]
