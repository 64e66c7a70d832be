"""Serving: the supervisor and its workers (supervisor.py) on an engine (engine.py; Hypercorn by default)."""

from tracker.server.supervisor import serve

__all__ = ["serve"]
