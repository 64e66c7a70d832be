"""One NATS connection from a NATS entry's settings: servers, credentials, TLS, and reconnection forever.

nats-py reconnects in the background; callers look at `is_connected` and treat a closed or reconnecting
connection as "not now" (TransientSinkError for the sink). Connection trouble is logged once per episode, one
JSON line, never with credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl

from nats.aio.client import Client

from tracker.sinks.client_tls import client_tls, short_error
from tracker.sinks.nats.settings import NatsSettings

log = logging.getLogger("tracker.sinks.nats")
RECONNECT_SECONDS = 1  # nats-py waits this long between attempts at one server


class ConnectionLog:
    """nats-py's callbacks, logged as one line when the connection goes and one when it comes back."""

    def __init__(self, name: str, client: Client) -> None:
        self.name = name
        self.client = client
        self.down = False

    async def error(self, error: Exception) -> None:
        if not self.down:
            log.warning("NATS connection trouble", extra={"client": self.name, "error": short_error(error)})
        self.down = True

    async def disconnected(self) -> None:
        if self.client.is_closed:  # our own close(), not an outage
            return
        if not self.down:
            log.warning("NATS disconnected; reconnecting", extra={"client": self.name})
        self.down = True

    async def reconnected(self) -> None:
        self.down = False
        log.info("NATS reconnected", extra={"client": self.name})


async def connect(settings: NatsSettings, name: str) -> Client:
    """Connected, or raises TimeoutError when no server answers within the entry's Timeout. Once connected,
    the client reconnects by itself forever (nats-py would also retry a first connect forever: hence the bound)."""
    timeout = max(settings.timeout_ms / 1000, 0.1)
    client = Client()
    events = ConnectionLog(name, client)
    connecting = client.connect(
        servers=settings.servers,
        name=name,
        connect_timeout=math.ceil(timeout),  # nats-py takes whole seconds; wait_for bounds the total
        allow_reconnect=True,
        max_reconnect_attempts=-1,  # forever: the spool keeps the rows meanwhile
        reconnect_time_wait=RECONNECT_SECONDS,
        user=settings.username or None,
        password=settings.password or None,
        token=settings.token or None,
        tls=_tls(settings),
        error_cb=events.error,
        disconnected_cb=events.disconnected,
        reconnected_cb=events.reconnected,
    )
    try:
        await asyncio.wait_for(connecting, timeout)
    except BaseException:
        with contextlib.suppress(Exception):
            await client.close()
        raise
    return client


def _tls(settings: NatsSettings) -> ssl.SSLContext | None:
    wants_tls = (
        settings.secure or settings.ca_cert or settings.cert or any(s.startswith("tls:") for s in settings.hosts)
    )
    if not wants_tls:
        return None
    return client_tls(settings.ca_cert, settings.cert, settings.tls_key)
