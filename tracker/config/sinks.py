"""The schema of a `Notify[]` entry: the keys every sink takes, retention rules, and the Go-compatible entry.

Each sink package extends `SinkConfig` with its own keys (sinks/duckdb/settings.py, ...); the loader picks the
class by `Service` through the sink registry. A disabled entry (`Service` ending in `_`, or `Skip: true`) is read
with `DisabledSinkConfig`, which takes every key the Go tracker knew, so Go configs load unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from tracker.config.fields import key


@dataclass(slots=True, frozen=True)
class PruneField:
    id: str = key("Id")
    type: str = key("Type", "")
    dest_param_hash: str = key("DestParamHash", "")


@dataclass(slots=True, frozen=True)
class PruneRule:
    table: str = key("Table", "events")
    ttl_seconds: int = key("TTL", 2592000)
    page_size: int = key("PageSize", 5000)
    clear_all: bool = key("ClearAll", False)
    clear_params: bool = key("ClearParams", False)
    clear_numeric_params: bool = key("ClearNumericParams", False, unsupported=True)
    cflags_ignore: tuple[int, ...] = key("CFlagsIgnore", ())
    fields: tuple[PruneField, ...] = key("Fields", ())

    @property
    def keep_mask(self) -> int:
        """Rows whose cflags share a bit with this mask are kept whatever their age."""
        mask = 0
        for flag in self.cflags_ignore:
            mask |= flag
        return mask


@dataclass(slots=True, frozen=True)
class SinkConfig:
    """The keys of every Notify entry, whatever its sink."""

    service: str = key("Service")
    name: str = key("Name", "")
    note: str = key("Note", "")
    skip: bool = key("Skip", False)
    critical: bool = key("Critical", False)
    max_batch_size: int = key("MaxBatchSize", 1000)
    batch_flush_interval_ms: int = key("BatchFlushInterval", 1000)
    # A write that has not returned by then counts as failed and is retried (the sink may hang: a wedged server,
    # a half-open connection, a plugin without timeouts). Long enough for a DuckDB checkpoint of a large file.
    write_timeout_ms: int = key("WriteTimeout", 60000)
    prune: tuple[PruneRule, ...] = key("Prune", ())
    # Go keys accepted for compatibility; not used by our sinks yet.
    batching_enabled: bool = key("BatchingEnabled", True, unsupported=False)
    attempt_all: bool = key("AttemptAll", False, unsupported=True)
    filter: tuple[Any, ...] = key("Filter", (), unsupported=True)

    @property
    def enabled(self) -> bool:
        """Go semantics: a trailing `_` in Service, or Skip: true, disables the entry."""
        return not self.skip and not self.service.endswith("_")

    @property
    def kind(self) -> str:
        return self.service.rstrip("_")

    @property
    def sink_name(self) -> str:
        return self.name or self.kind

    def problems(self) -> Iterator[tuple[str, str]]:
        """(key, message) for each value the schema's types allow but the sink cannot use."""
        if self.max_batch_size < 1:
            yield "MaxBatchSize", "must be at least 1"
        if self.batch_flush_interval_ms < 0:
            yield "BatchFlushInterval", "must be 0 or more (milliseconds)"
        if self.write_timeout_ms < 1:
            yield "WriteTimeout", "must be at least 1 (milliseconds)"


@dataclass(slots=True, frozen=True)
class DisabledSinkConfig(SinkConfig):
    """A switched-off entry: every other Notify key of the Go tracker, read and type-checked, never used."""

    hosts: tuple[str, ...] = key("Hosts", ())
    context: str = key("Context", "")
    username: str = key("Username", "")
    password: str = key("Password", "", secret=True)
    ca_cert: str | None = key("CACert", None)
    cert: str | None = key("Cert", None)
    tls_key: str | None = key("Key", None, secret=True)
    secure: bool = key("Secure", False)
    unencrypted: bool = key("Unencrypted", False, unsupported=True)
    timeout_ms: int = key("Timeout", 5000)
    connections: int = key("Connections", 2)
    retries: int = key("Retries", 3)
    path: str = key("Path", "")
    schema: Literal["auto", "manual"] = key("Schema", "auto")
    enable_compression: bool = key("EnableCompression", True, unsupported=False)
    format: str = key("Format", "json")
    message_limit: int = key("MessageLimit", 0, unsupported=True)
    byte_limit: int = key("ByteLimit", 0, unsupported=True)
    consumer: str = key("Consumer", "", unsupported=True)
    ephemeral: bool = key("Ephemeral", False, unsupported=True)
    realtime_service: str = key("ProxyRealtimeStorageServiceName", "", unsupported=True)
    realtime_tables: int = key("ProxyRealtimeStorageServiceTables", 0, unsupported=True)
