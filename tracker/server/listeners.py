"""The addresses the server listens on, and one set of listening sockets per worker.

Workers that share one listening socket do not share its connections: whichever worker is busiest keeps
winning the accept (Granian's Rust accept loop took all 64 of a benchmark's connections, the other worker
stayed idle). So with several workers each gets sockets of its own on the same port (SO_REUSEPORT), and the
kernel spreads new connections across them. The supervisor keeps every worker's sockets open across that
worker's restart, so connections waiting in its backlog are served by the new process, not dropped.

SO_REUSEPORT would also let another process of the same user bind the port and take a share of the traffic
unnoticed (a second tracker started by mistake): each address is first bound without it, which fails as
"address in use" while anything listens there.
"""

from __future__ import annotations

import errno
import socket

from tracker.config import Config, ConfigError, split_bind
from tracker.edge.tls import tls_enabled


def binds(config: Config) -> list[tuple[str, bool]]:
    """(address, tls) of every listener: the TLS port first when TLS is on, then the plain ones."""
    plain = [p for p in (config.proxy_port, config.proxy_except_http) if p]
    if tls_enabled(config):
        return [(config.proxy_port_tls, True), *((p, False) for p in plain)]
    return [(p, False) for p in plain]


def shares_port(config: Config) -> bool:
    """Whether each worker binds its own sockets on the shared ports (SO_REUSEPORT)."""
    return config.workers > 1


def refuse_taken_ports(config: Config) -> None:
    """ConfigError naming the key of an address something already listens on."""
    keys = {config.proxy_port_tls: "ProxyPortTLS", config.proxy_except_http: "ProxyExceptHTTP"}
    for address, _ in binds(config):
        host, port = split_bind(address)
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed connection's TIME_WAIT is fine
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                key = keys.get(address, "ProxyPort")
                raise ConfigError(key, f"{address} is already in use by another process", config.source) from None
