"""The Notify keys of a Cassandra / ScyllaDB sink: the Go tracker's names (Hosts, Context, Username, Password,
CACert, Cert, Key, Secure, Timeout, Connections, Retries) plus ours for consistency, data centre and replication."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tracker.config import FrozenMap, SinkConfig, key

# The driver's ConsistencyLevel names (cassandra.ConsistencyLevel.name_to_value), kept here so a config can be
# checked without importing the driver.
CONSISTENCY_LEVELS = (
    "ANY",
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "EACH_QUORUM",
    "LOCAL_ONE",
)
SERIAL_ONLY = ("SERIAL", "LOCAL_SERIAL")
DEFAULT_REPLICATION = FrozenMap({"class": "SimpleStrategy", "replication_factor": 1})


def split_host(host: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address → (name, port or None); ValueError if the port is bad."""
    name, port = host, ""
    if host.startswith("[") and "]" in host:
        name, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":")
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
    if not name or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(host)
    return name, int(port) if port else None


@dataclass(slots=True, frozen=True)
class CassandraSettings(SinkConfig):
    hosts: tuple[str, ...] = key("Hosts", ())  # host or host:port (9042), the contact points
    context: str = key("Context", "tracker")  # the keyspace
    username: str = key("Username", "")
    password: str = key("Password", "", secret=True)
    ca_cert: str | None = key("CACert", None)  # set: TLS, servers checked against this CA (as in Go)
    cert: str | None = key("Cert", None)  # with Key: a client certificate
    tls_key: str | None = key("Key", None, secret=True)
    secure: bool = key("Secure", False)  # TLS with host name verification (Go: EnableHostVerification)
    timeout_ms: int = key("Timeout", 5000)  # per request
    # Go's NumConns: the driver multiplexes requests over one connection per host on protocol v3+.
    connections: int = key("Connections", 2, unsupported=True)
    retries: int = key("Retries", 3)  # the driver retries a timed-out idempotent write this many times
    schema: Literal["auto", "manual"] = key("Schema", "auto")
    # Ours. Go used LOCAL_ONE for everything; a write is acknowledged to the shipper once this level has it.
    consistency: str = key("Consistency", "LOCAL_ONE")
    local_dc: str = key("LocalDC", "")  # the data centre that token-aware routing prefers; "" = the first seen
    replication: Mapping[str, Any] = key("Replication", DEFAULT_REPLICATION)  # for CREATE KEYSPACE (Schema auto)
    batch_rows: int = key("BatchRows", 50)  # rows of one partition per unlogged batch
    batch_bytes: int = key("BatchBytes", 32768)  # and bytes: below Cassandra's batch_size_fail_threshold (50 KiB)
    in_flight: int = key("InFlight", 64)  # requests awaiting an answer per sink
    # Go keys accepted for compatibility; not used by this sink.
    unencrypted: bool = key("Unencrypted", False, unsupported=True)
    realtime_service: str = key("ProxyRealtimeStorageServiceName", "", unsupported=True)
    realtime_tables: int = key("ProxyRealtimeStorageServiceTables", 0, unsupported=True)

    @property
    def tls(self) -> bool:
        return self.secure or bool(self.ca_cert)

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from SinkConfig.problems(self)
        if self.consistency.upper() not in CONSISTENCY_LEVELS:
            hint = " (a serial level is for lightweight transactions only)" if self.consistency in SERIAL_ONLY else ""
            yield "Consistency", f'"{self.consistency}" is not one of {", ".join(CONSISTENCY_LEVELS)}{hint}'
        if not self.context or not self.context.replace("_", "a").isalnum() or self.context[0].isdigit():
            yield "Context", f'"{self.context}" is not a keyspace name (letters, digits, _; not first a digit)'
        for host in self.hosts:
            try:
                split_host(host)
            except ValueError:
                yield "Hosts", f'"{host}" is not host or host:port'
        if bool(self.cert) != bool(self.tls_key):
            yield "Cert", "Cert and Key go together (a client certificate and its key)"
        if "class" not in self.replication:
            yield "Replication", 'needs a "class", e.g. {"class": "NetworkTopologyStrategy", "dc1": 3}'
        for name, value, least in (
            ("Timeout", self.timeout_ms, 1),
            ("Connections", self.connections, 1),
            ("Retries", self.retries, 0),
            ("BatchRows", self.batch_rows, 1),
            ("BatchBytes", self.batch_bytes, 1024),
            ("InFlight", self.in_flight, 1),
        ):
            if value < least:
                yield name, f"must be at least {least}, got {value}"
