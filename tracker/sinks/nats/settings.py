"""The keys of a NATS entry, in `Notify[]` (the sink) and in `Consume[]` (the consumer): the Go tracker's names,
plus JetStream, the subject template and the short-link subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from tracker.config import SinkConfig, key

CONSUMED_ALIASES = ("log", "update")  # Go also had "count" and "event"; tracker has no counters table for them
SUBJECT_CHARACTERS = frozenset(" \t\r\n")


@dataclass(slots=True, frozen=True)
class NatsFilter:
    """One subscription of a Consume entry: the subject `Id` (wildcards allowed), written as `Alias` rows."""

    id: str = key("Id")
    alias: str = key("Alias", "log")
    type: str = key("Type", "chan")
    queries: tuple[Any, ...] = key("Queries", (), unsupported=True)


@dataclass(slots=True, frozen=True)
class NatsSettings(SinkConfig):
    hosts: tuple[str, ...] = key("Hosts", ())  # nats://host:port or tls://host:port; nats-py tries each
    context: str = key("Context", "tracker")  # the subject prefix: rows of table T go to "<Context>.T"
    subject: str = key("Subject", "")  # a template with {table} (and {context}) to override "<Context>.{table}"
    username: str = key("Username", "")
    password: str = key("Password", "", secret=True)
    token: str = key("Token", "", secret=True)
    ca_cert: str | None = key("CACert", None)
    cert: str | None = key("Cert", None)
    tls_key: str | None = key("Key", None, secret=True)
    secure: bool = key("Secure", False)
    timeout_ms: int = key("Timeout", 5000)
    # JetStream: publishes are acknowledged by the stream before the shipper advances, and deduplicated on eid.
    jetstream: bool = key("JetStream", False)
    stream: str = key("Stream", "TRACKER")
    schema: Literal["auto", "manual"] = key("Schema", "auto")  # auto: create the stream over "<Context>.>"
    duplicate_window_seconds: float = key("DuplicateWindowSeconds", 120.0)
    # Short-link changes between tracker instances ("" = "<Context>.control.redirects"; "-" = off).
    links_subject: str = key("LinksSubject", "")
    # Consume[] only: what to subscribe to, and the queue group that shares messages between instances.
    filter: tuple[NatsFilter, ...] = key("Filter", ())
    consumer: str = key("Consumer", "tracker")
    # Go keys accepted for compatibility; not used.
    retries: int = key("Retries", 3)
    format: str = key("Format", "json")
    connections: int = key("Connections", 1)
    unencrypted: bool = key("Unencrypted", False, unsupported=True)
    message_limit: int = key("MessageLimit", 0, unsupported=True)
    byte_limit: int = key("ByteLimit", 0, unsupported=True)
    ephemeral: bool = key("Ephemeral", False, unsupported=True)

    def subject_for(self, table: str) -> str:
        template = self.subject or "{context}.{table}"
        return template.format(context=self.context, table=table)

    @property
    def servers(self) -> list[str]:
        return [host if "://" in host else f"{'tls' if self.secure else 'nats'}://{host}" for host in self.hosts] or [
            "nats://127.0.0.1:4222"
        ]

    @property
    def links(self) -> str | None:
        """The subject short-link changes travel on, or None when switched off."""
        if self.links_subject == "-":
            return None
        return self.links_subject or f"{self.context}.control.redirects"

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from SinkConfig.problems(self)
        if not self.context or SUBJECT_CHARACTERS & set(self.context) or self.context.strip(".") != self.context:
            yield "Context", f'"{self.context}" is not a NATS subject prefix (no spaces, no leading or trailing ".")'
        if self.subject:
            try:
                example = self.subject_for("events")
            except (KeyError, IndexError, ValueError) as error:
                yield "Subject", f'"{self.subject}" is not a template with {{table}} and {{context}}: {error}'
            else:
                if "{table}" not in self.subject:
                    yield "Subject", f'"{self.subject}" must contain {{table}}, or every table lands on one subject'
                elif SUBJECT_CHARACTERS & set(example):
                    yield "Subject", f'"{self.subject}" makes subjects with spaces'
        if self.timeout_ms < 1:
            yield "Timeout", f"must be at least 1 (milliseconds), got {self.timeout_ms}"
        if self.jetstream and not self.stream.replace("_", "").replace("-", "").isalnum():
            yield "Stream", f'"{self.stream}" is not a JetStream stream name (letters, digits, "-" and "_")'
        if self.duplicate_window_seconds <= 0:
            yield "DuplicateWindowSeconds", f"must be more than 0, got {self.duplicate_window_seconds}"
        for index, host in enumerate(self.hosts):
            scheme = host.partition("://")[0] if "://" in host else "nats"
            if scheme not in ("nats", "tls", "ws", "wss") or not host.rpartition(":")[2].isdigit():
                yield f"Hosts[{index}]", f'"{host}" is not nats://host:port or tls://host:port'
        for index, subscription in enumerate(self.filter):
            if subscription.alias not in CONSUMED_ALIASES:
                allowed = ", ".join(f'"{a}"' for a in CONSUMED_ALIASES)
                yield f"Filter[{index}].Alias", f'"{subscription.alias}" is not consumed here (one of {allowed})'
            if not subscription.id or SUBJECT_CHARACTERS & set(subscription.id):
                yield f"Filter[{index}].Id", f'"{subscription.id}" is not a NATS subject'
