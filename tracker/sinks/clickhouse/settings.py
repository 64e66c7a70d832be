"""The Notify keys of a ClickHouse sink (the Go tracker's names): servers, database, credentials, TLS, batching."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tracker.config import SinkConfig, key


@dataclass(slots=True, frozen=True)
class ClickHouseSettings(SinkConfig):
    hosts: tuple[str, ...] = key("Hosts", ())  # host:port of the HTTP interface, tried in order
    context: str = key("Context", "")  # the database
    username: str = key("Username", "")
    password: str = key("Password", "", secret=True)
    ca_cert: str | None = key("CACert", None)
    cert: str | None = key("Cert", None)
    tls_key: str | None = key("Key", None, secret=True)
    secure: bool = key("Secure", False)
    timeout_ms: int = key("Timeout", 5000)
    connections: int = key("Connections", 2)
    schema: Literal["auto", "manual"] = key("Schema", "auto")
    cluster: str = key("Cluster", "")  # a remote_servers name: <table>_local on each node + Distributed <table>
    replicated: bool = key("Replicated", False)  # with Cluster: Replicated* engines (needs Keeper and macros)
    enable_compression: bool = key("EnableCompression", True, unsupported=False)
    # Go keys accepted for compatibility; not used by this sink yet.
    retries: int = key("Retries", 3)
    format: str = key("Format", "json")
    unencrypted: bool = key("Unencrypted", False, unsupported=True)
    realtime_service: str = key("ProxyRealtimeStorageServiceName", "", unsupported=True)
    realtime_tables: int = key("ProxyRealtimeStorageServiceTables", 0, unsupported=True)
