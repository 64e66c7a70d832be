"""The engine seam: what the supervisor needs of an HTTP server, so a second engine can be added without
touching routes, edge or pipeline. An engine checks a config before any worker starts, binds the listening
sockets in the supervisor (a set per worker: listeners.py), and serves an ASGI app on them until told to stop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.types import ASGIApp

from tracker.config import Config, ConfigError

GRACEFUL_SECONDS = 10.0  # requests in progress at SIGTERM get this long to finish


class Engine(Protocol):
    name: str

    def check(self, config: Config) -> None:
        """Raise ConfigError for what this engine cannot serve (certificate files that do not load, …)."""

    def bind(self, config: Config) -> Any:
        """One set of listening sockets, bound in the supervisor and handed to one worker (picklable); with
        several workers each set is bound with SO_REUSEPORT (listeners.shares_port)."""

    def describe(self, config: Config) -> list[str]:
        """The addresses served, for the start-up log line."""

    def close(self, sockets: Any) -> None: ...

    def limitations(self, config: Config) -> list[str]:
        """One line per feature this engine cannot do as configured (printed by `tracker --check-config`)."""

    async def serve(
        self, app: ASGIApp, config: Config, *, sockets: Any | None, shutdown: Callable[[], Awaitable[object]]
    ) -> None:
        """Serve until `shutdown` returns, then finish requests in progress (graceful) and return."""


def engine_for(config: Config) -> Engine:
    """The engine `Server` names (each imported only when chosen: Granian is an optional extra)."""
    if config.server == "granian":
        from tracker.server.granian_glue import available

        if not available():
            message = 'is "granian" but the granian package (2.8) is missing: pip install "tracker[granian]"'
            raise ConfigError("Server", message, config.source)
        from tracker.server.granian import GranianEngine

        return GranianEngine()
    from tracker.server.hypercorn import HypercornEngine

    return HypercornEngine()
