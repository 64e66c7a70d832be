"""tracker: an edge server that records what visitors do, with a durable spool in front of pluggable sinks."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
