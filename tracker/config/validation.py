"""Checks across keys and of values the types allow but the server cannot use; each raises ConfigError naming
the key path. Run by the loader, and again after command-line overrides."""

from __future__ import annotations

import dataclasses
import ipaddress

from tracker.config.fields import MIB, ConfigError, show
from tracker.config.schema import Config

BODY_LIMIT_FAMILIES = ("tracking", "admin", "proxy")  # the routes that read a request body
RATE_LIMIT_FAMILIES = ("tracking", "redirects", "proxy", "static", "admin", "privacy", "ops", "other", "all")


def validate(config: Config) -> None:
    source = config.source
    _validate_rate_limits(config)
    for i, sink in enumerate(config.notify):
        for name, message in sink.problems():
            raise ConfigError(f"Notify[{i}].{name}", message, source)
    for i, entry in enumerate(config.consume):
        if entry.enabled and entry.kind != "nats":
            raise ConfigError(f"Consume[{i}].Service", f'"{entry.service}" cannot consume; only "nats" can', source)
        if entry.enabled and not entry.filter:
            raise ConfigError(f"Consume[{i}].Filter", "needs at least one subject to subscribe to", source)
        for name, message in entry.problems() if entry.enabled else ():
            raise ConfigError(f"Consume[{i}].{name}", message, source)
    names = [s.sink_name for s in config.sinks]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError("Notify", f'two enabled sinks are named "{name}"; give one a "Name"', source)
    if config.workers < 1:
        raise ConfigError("Workers", f"must be at least 1, got {config.workers}", source)
    if config.maximum_connections < 0:
        raise ConfigError(
            "MaximumConnections", f"must be 0 (no limit) or more, got {config.maximum_connections}", source
        )
    if config.durability == "memory" and config.workers > 1:
        raise ConfigError("Durability", '"memory" keeps events in one process; it needs Workers: 1', source)
    if config.max_spool_bytes < MIB:
        raise ConfigError("MaxSpoolBytes", "must be at least 1048576 (1 MiB)", source)
    for name in ("proxy_port", "proxy_port_tls", "proxy_except_http", "proxy_port_redirect"):
        _check_bind(config, name)
    for i, cidr in enumerate(config.trusted_proxies):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(f"TrustedProxies[{i}]", f"{show(cidr)} is not an IP address or CIDR", source) from None
    if config.proxy_port_tls and config.use_local_tls and not (config.tls_cert and config.tls_key):
        raise ConfigError("TLSCert", "UseLocalTLS with ProxyPortTLS needs TLSCert and TLSKey", source)
    _validate_limits(config)


def split_bind(value: str) -> tuple[str, int]:
    """':8080' → ('0.0.0.0', 8080); '127.0.0.1:8080' → ('127.0.0.1', 8080)."""
    host, _, port = value.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def _check_bind(config: Config, attribute: str) -> None:
    value = getattr(config, attribute)
    if not value:
        return
    json_key = next(f.metadata["key"] for f in dataclasses.fields(Config) if f.name == attribute)
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(json_key, f'{show(value)} is not "host:port" or ":port"', config.source)


def _validate_limits(config: Config) -> None:
    source, limits = config.source, config.limits
    for name, value in (
        ("MaxBodyBytes", limits.max_body_bytes),
        ("MaxEventsPerBatch", limits.max_events_per_batch),
        ("MaxWebSocketMessageBytes", limits.max_websocket_message_bytes),
        ("MaxDecompressedBytes", limits.max_decompressed_bytes),
    ):
        if value < 1:
            raise ConfigError(f"Limits.{name}", "must be at least 1", source)
    for name, seconds in (
        ("WebSocketIdleSeconds", limits.websocket_idle_seconds),
        ("WebSocketPingSeconds", limits.websocket_ping_seconds),
    ):
        if seconds < 0:
            raise ConfigError(f"Limits.{name}", "must be 0 (off) or more seconds", source)
    for family, value in limits.max_body_bytes_per_route.items():
        here = f"Limits.MaxBodyBytesPerRoute.{family}"
        if family not in BODY_LIMIT_FAMILIES:
            raise ConfigError(here, f"is not a route family; expected one of {', '.join(BODY_LIMIT_FAMILIES)}", source)
        if value < (0 if family == "proxy" else 1):
            least = "0 (no limit)" if family == "proxy" else "1 (only the proxy streams without a limit)"
            raise ConfigError(here, f"must be at least {least}, got {value}", source)


def _validate_rate_limits(config: Config) -> None:
    from limits import parse

    for i, rule in enumerate(config.rate_limits):
        try:
            parse(rule.limit)
        except ValueError:
            raise ConfigError(
                f"RateLimits[{i}].Limit", f'{show(rule.limit)} is not a rate like "100/minute"', config.source
            ) from None
        for j, family in enumerate(rule.routes):
            if family not in RATE_LIMIT_FAMILIES:
                known = ", ".join(RATE_LIMIT_FAMILIES)
                raise ConfigError(
                    f"RateLimits[{i}].Routes[{j}]",
                    f"unknown route family {show(family)} (known: {known})",
                    config.source,
                )
    storage = config.rate_limit_storage
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://", "async+")):
        raise ConfigError(
            "RateLimitStorage", f'{show(storage)} is not "memory://" or "redis://host:port"', config.source
        )
