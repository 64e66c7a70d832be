"""config.json → frozen, typed configuration, validated once at start-up.

Keys keep the Go tracker's PascalCase names (SPEC.md §5 and 'New config keys'). Loading is strict:
an unknown key, a wrong type or a bad value raises ConfigError naming the key path and what was expected.
Go keys we accept but do not implement are collected in `Config.unsupported` so start-up can log them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

KNOWN_SINKS = ("clickhouse", "cassandra", "duckdb", "nats", "memory", "facebook")
GIB = 1024**3
MIB = 1024**2


class ConfigError(Exception):
    """A config.json problem; str() is the one line printed before exiting with status 2."""

    def __init__(self, path: str, message: str, source: str = "config.json") -> None:
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")
        self.path = path


def key(name: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    """A dataclass field read from the JSON key `name`."""
    if isinstance(default, (list, dict, set)) and not isinstance(default, FrozenMap):
        raise TypeError("use tuples or FrozenMap for mutable defaults")
    return field(default=default, metadata={"key": name, **kw})


class FrozenMap(dict[str, Any]):
    """A JSON object in the frozen config: hashable, read-only, and picklable to the workers."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (dict(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the config is read-only")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _read_only


# ---- sections -----------------------------------------------------------------------------------


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


@dataclass(slots=True, frozen=True)
class SinkConfig:
    service: str = key("Service")
    hosts: tuple[str, ...] = key("Hosts", ())
    context: str = key("Context", "")
    username: str = key("Username", "")
    password: str = key("Password", "", secret=True)
    ca_cert: str | None = key("CACert", None)
    cert: str | None = key("Cert", None)
    tls_key: str | None = key("Key", None, secret=True)
    secure: bool = key("Secure", False)
    unencrypted: bool = key("Unencrypted", False, unsupported=True)
    critical: bool = key("Critical", False)
    skip: bool = key("Skip", False)
    timeout_ms: int = key("Timeout", 5000)
    connections: int = key("Connections", 2)
    retries: int = key("Retries", 3)
    max_batch_size: int = key("MaxBatchSize", 1000)
    batch_flush_interval_ms: int = key("BatchFlushInterval", 1000)
    path: str = key("Path", "./data/tracker.duckdb")
    schema: Literal["auto", "manual"] = key("Schema", "auto")
    name: str = key("Name", "")
    prune: tuple[PruneRule, ...] = key("Prune", ())
    note: str = key("Note", "")
    # Go keys accepted for compatibility; not used by our sinks yet.
    batching_enabled: bool = key("BatchingEnabled", True, unsupported=False)
    enable_compression: bool = key("EnableCompression", True, unsupported=False)
    attempt_all: bool = key("AttemptAll", False, unsupported=True)
    filter: tuple[Any, ...] = key("Filter", (), unsupported=True)
    format: str = key("Format", "json")
    message_limit: int = key("MessageLimit", 0, unsupported=True)
    byte_limit: int = key("ByteLimit", 0, unsupported=True)
    consumer: str = key("Consumer", "", unsupported=True)
    ephemeral: bool = key("Ephemeral", False, unsupported=True)
    realtime_service: str = key("ProxyRealtimeStorageServiceName", "", unsupported=True)
    realtime_tables: int = key("ProxyRealtimeStorageServiceTables", 0, unsupported=True)

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


@dataclass(slots=True, frozen=True)
class CookieConfig:
    domain: str = key("Domain", "")
    visitor_days: int = key("VisitorDays", 365)
    session_minutes: int = key("SessionMinutes", 30)
    secure: Literal["auto", "always", "never"] = key("Secure", "auto")
    same_site: Literal["Lax", "Strict", "None"] = key("SameSite", "Lax")
    require_consent: bool = key("RequireConsent", False)


@dataclass(slots=True, frozen=True)
class UpstreamConfig:
    targets: tuple[str, ...] = key("Targets")
    prefix: str = key("Prefix", "/")
    host: str = key("Host", "")
    strip_prefix: bool = key("StripPrefix", False)
    connect_timeout_seconds: float = key("ConnectTimeoutSeconds", 5.0)
    read_timeout_seconds: float = key("ReadTimeoutSeconds", 60.0)
    websocket: bool = key("WebSocket", True)
    track: bool = key("Track", False)


@dataclass(slots=True, frozen=True)
class StaticConfig:
    root: str = key("Root")
    prefix: str = key("Prefix", "/")
    host: str = key("Host", "")
    cache_control: str = key("CacheControl", "public, max-age=3600")
    index: str = key("Index", "index.html")
    listing: bool = key("Listing", False)


@dataclass(slots=True, frozen=True)
class RateLimitConfig:
    limit: str = key("Limit")
    routes: tuple[str, ...] = key("Routes", ("all",))
    by: Literal["ip"] = key("By", "ip")


@dataclass(slots=True, frozen=True)
class AcmeConfig:
    directory: str = key("Directory", "https://acme-v02.api.letsencrypt.org/directory")
    email: str = key("Email", "")
    domains: tuple[str, ...] = key("Domains", ())
    cache_directory: str = key("CacheDirectory", "./data/acme")
    renew_days: int = key("RenewDays", 30)
    ca_bundle: str = key("CABundle", "")


@dataclass(slots=True, frozen=True)
class RedirectConfig:
    status: Literal[301, 302, 303, 307, 308] = key("Status", 302)
    pass_query: bool = key("PassQuery", True)
    allowed_hosts: tuple[str, ...] = key("AllowedHosts", ())
    refresh_seconds: int = key("RefreshSeconds", 30)


@dataclass(slots=True, frozen=True)
class LimitsConfig:
    max_body_bytes: int = key("MaxBodyBytes", MIB)
    max_events_per_batch: int = key("MaxEventsPerBatch", 1000)
    max_websocket_message_bytes: int = key("MaxWebSocketMessageBytes", MIB)
    max_decompressed_bytes: int = key("MaxDecompressedBytes", 4 * MIB)
    max_body_bytes_per_route: Mapping[str, int] = key("MaxBodyBytesPerRoute", FrozenMap())

    def body_limit(self, family: str) -> int:
        """The largest request body `family` accepts; 0 for no limit (the proxy's default: it streams)."""
        return self.max_body_bytes_per_route.get(family, 0 if family == "proxy" else self.max_body_bytes)


# ---- the whole file ------------------------------------------------------------------------------

_UNSUPPORTED = {"unsupported": True}


@dataclass(slots=True, frozen=True)
class Config:
    # listeners and server
    proxy_port: str = key("ProxyPort", "127.0.0.1:8080")
    proxy_port_tls: str = key("ProxyPortTLS", "")
    proxy_port_redirect: str = key("ProxyPortRedirect", "")
    proxy_except_http: str = key("ProxyExceptHTTP", "")
    use_local_tls: bool = key("UseLocalTLS", False)
    tls_cert: str = key("TLSCert", "")
    tls_key: str = key("TLSKey", "")
    domains: tuple[str, ...] = key("Domains", ())
    ignore_insecure_tls: bool = key("IgnoreInsecureTLS", False)
    workers: int = key("Workers", 1)
    server: Literal["hypercorn"] = key("Server", "hypercorn")
    read_timeout_seconds: int = key("ReadTimeoutSeconds", 20)
    read_header_timeout_seconds: int = key("ReadHeaderTimeoutSeconds", 0, unsupported=True)  # see IdleTimeoutSeconds
    write_timeout_seconds: int = key("WriteTimeoutSeconds", 60)  # nginx send_timeout
    idle_timeout_seconds: int = key("IdleTimeoutSeconds", 20)
    max_header_bytes: int = key("MaxHeaderBytes", 65536)
    maximum_connections: int = key("MaximumConnections", 0)
    trusted_proxies: tuple[str, ...] = key("TrustedProxies", ())
    hsts: str = key("HSTS", "")
    # routing and parsing
    api_version: int = key("ApiVersion", 0)
    allow_origin: str = key("AllowOrigin", "*")
    default_redirect: str = key("DefaultRedirect", "")
    static_directory: str = key("StaticDirectory", "")
    temp_directory: str = key("TempDirectory", "./tmp/", unsupported=True)
    ignore_query_params_key: str = key("IgnoreQueryParamsKey", "igqp")
    url_filter: str = key("UrlFilter", "")
    url_filter_match_group: int = key("UrlFilterMatchGroup", 0)
    # pipeline
    spool_directory: str = key("SpoolDirectory", "./data/spool")
    durability: Literal["write", "fsync", "memory"] = key("Durability", "write")
    max_spool_bytes: int = key("MaxSpoolBytes", GIB)
    notify: tuple[SinkConfig, ...] = key("Notify", ())
    # privacy
    use_remove_ip: bool = key("UseRemoveIP", True)
    ip_storage: Literal["hash", "truncate", "raw", "drop", ""] = key("IPStorage", "")
    prefix_private_hash: str = key("PrefixPrivateHash", "", secret=True)
    account_hash_mixer: str = key("AccountHashMixer", "", secret=True, unsupported=True)
    cflags_marketing: int = key("CFlagsMarketing", 4096, unsupported=True)
    cflags_ignore: bool = key("CFlagsIgnore", False)
    cookies: CookieConfig = key("Cookies", CookieConfig())
    # edge
    upstreams: tuple[UpstreamConfig, ...] = key("Upstreams", ())
    static: tuple[StaticConfig, ...] = key("Static", ())
    rate_limits: tuple[RateLimitConfig, ...] = key("RateLimits", ())
    rate_limit_storage: str = key("RateLimitStorage", "memory://")
    acme: AcmeConfig = key("Acme", AcmeConfig())
    redirects: RedirectConfig = key("Redirects", RedirectConfig())
    limits: LimitsConfig = key("Limits", LimitsConfig())
    proxy_url: str = key("ProxyUrl", "")
    proxy_url_filter: str = key("ProxyUrlFilter", "")
    ignore_proxy_options: bool = key("IgnoreProxyOptions", False)
    proxy_force_json: bool = key("ProxyForceJson", False)
    proxy_daily_limit: int = key("ProxyDailyLimit", 0)
    proxy_daily_limit_checker: str = key("ProxyDailyLimitChecker", "", **_UNSUPPORTED)
    ops_allow: tuple[str, ...] = key("OpsAllow", ())
    # prune
    prune_logs_ttl: int = key("PruneLogsTTL", 2592000, unsupported=True)
    prune_logs_only: bool = key("PruneLogsOnly", False)
    prune_logs_skip: bool = key("PruneLogsSkip", False, unsupported=True)
    prune_logs_page_size: int = key("PruneLogsPageSize", 10000)
    prune_update_config: bool = key("PruneUpdateConfig", False, unsupported=True)
    prune_limit: int = key("PruneLimit", 0)
    prune_skip_to_timestamp: int = key("PruneSkipToTimestamp", 0, unsupported=True)
    # accepted for compatibility with Go configs, not implemented yet (logged at start-up)
    debug: bool = key("Debug", False)
    use_geoip: bool = key("UseGeoIP", False, **_UNSUPPORTED)
    geoip_database: str = key("GeoIPDatabase", "", **_UNSUPPORTED)
    geoip_version: int = key("GeoIPVersion", 0, **_UNSUPPORTED)
    ipv4_geoip_zip: str = key("IPv4GeoIPZip", "", **_UNSUPPORTED)
    ipv6_geoip_zip: str = key("IPv6GeoIPZip", "", **_UNSUPPORTED)
    ipv4_geoip_csv_dest: str = key("IPv4GeoIPCSVDest", "", **_UNSUPPORTED)
    ipv6_geoip_csv_dest: str = key("IPv6GeoIPCSVDest", "", **_UNSUPPORTED)
    use_region_descriptions: bool = key("UseRegionDescriptions", True, unsupported=True)
    schema_version: int = key("SchemaVersion", 0, unsupported=True)
    consume: tuple[Any, ...] = key("Consume", (), **_UNSUPPORTED)
    s3_bucket: str = key("S3Bucket", "", **_UNSUPPORTED)
    s3_prefix: str = key("S3Prefix", "", **_UNSUPPORTED)
    s3_region: str = key("S3Region", "", **_UNSUPPORTED)
    s3_access_key_id: str = key("S3AccessKeyID", "", secret=True, **_UNSUPPORTED)
    s3_secret_access_key: str = key("S3SecretAccessKey", "", secret=True, **_UNSUPPORTED)
    health_check_interval: int = key("HealthCheckInterval", 0, **_UNSUPPORTED)
    inactivity_timeout_seconds: int = key("InactivityTimeoutSeconds", 0, **_UNSUPPORTED)
    max_shard_size_bytes: int = key("MaxShardSizeBytes", 0, **_UNSUPPORTED)
    # filled by the loader
    source: str = field(default="config.json", metadata={"internal": True})
    unsupported: tuple[str, ...] = field(default=(), metadata={"internal": True})

    @property
    def api_prefix(self) -> str:
        return f"/tr/v{self.api_version}"

    @property
    def sinks(self) -> tuple[SinkConfig, ...]:
        return tuple(s for s in self.notify if s.enabled)

    @property
    def stored_ip(self) -> str:
        """What is stored of the client IP: IPStorage wins, else Go's UseRemoveIP."""
        if self.ip_storage:
            return self.ip_storage
        return "hash" if self.use_remove_ip else "raw"


# ---- the strict loader ---------------------------------------------------------------------------


def load(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError("", f"cannot read: {error.strerror}", source) from None
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ConfigError("", f"not valid JSON: {error}", source) from None
    return from_mapping(raw, source)


def from_mapping(raw: Any, source: str = "config.json") -> Config:
    if not isinstance(raw, Mapping):
        raise ConfigError("", "the top level must be a JSON object", source)
    unsupported: list[str] = []
    values = _build(Config, raw, "", source, unsupported)
    config = Config(**values, source=source, unsupported=tuple(unsupported))
    validate(config)
    return config


def _build(cls: type, raw: Mapping[str, Any], path: str, source: str, unsupported: list[str]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    by_key = {f.metadata["key"]: f for f in dataclasses.fields(cls) if "key" in f.metadata}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        here = f"{path}.{name}" if path else name
        if name not in by_key:
            close = _closest(name, by_key)
            hint = f' (did you mean "{close}"?)' if close else ""
            raise ConfigError(here, f"unknown key{hint}", source)
        f = by_key[name]
        if f.metadata.get("unsupported") and value not in (None, "", 0, False, [], {}):
            unsupported.append(here)
        if value is None and f.default is not dataclasses.MISSING:
            continue  # Go configs write null for "not set"
        values[f.name] = _convert(value, hints[f.name], here, source, unsupported)
    for name, f in by_key.items():
        if f.name not in values and f.default is dataclasses.MISSING:
            where = f"{path}.{name}" if path else name
            raise ConfigError(where, "required key is missing", source)
    return values


def _convert(value: Any, hint: Any, path: str, source: str, unsupported: list[str]) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                return _convert(value, option, path, source, unsupported)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed or type(value) is not type(allowed[0]):
            shown = ", ".join(orjson.dumps(a).decode() for a in allowed)
            raise ConfigError(path, f"{_show(value)} is not one of {shown}", source)
        return value
    if origin is Mapping:
        value_hint = typing.get_args(hint)[1]
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected an object, got {_show(value)}", source)
        return FrozenMap({k: _convert(v, value_hint, f"{path}.{k}", source, unsupported) for k, v in value.items()})
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {_show(value)}", source)
        return tuple(_convert(item, item_hint, f"{path}[{i}]", source, unsupported) for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected an object, got {_show(value)}", source)
        return hint(**_build(hint, value, path, source, unsupported))  # type: ignore[operator,arg-type]
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {_show(value)}", source)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {_show(value)}", source)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"expected a number, got {_show(value)}", source)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {_show(value)}", source)
        return value
    raise TypeError(f"config loader cannot handle {hint!r} at {path}")


BODY_LIMIT_FAMILIES = ("tracking", "admin", "proxy")  # the routes that read a request body
RATE_LIMIT_FAMILIES = ("tracking", "redirects", "proxy", "static", "admin", "privacy", "ops", "other", "all")


def validate(config: Config) -> None:
    source = config.source
    _validate_rate_limits(config)
    for i, sink in enumerate(config.notify):
        here = f"Notify[{i}].Service"
        if sink.kind not in KNOWN_SINKS and sink.enabled:
            known = ", ".join(sorted(set(KNOWN_SINKS) - {"facebook"}))
            raise ConfigError(here, f'unknown sink "{sink.service}" (known: {known})', source)
        if sink.enabled and sink.kind == "facebook":
            raise ConfigError(here, 'the "facebook" sink is not supported; disable it with "facebook_"', source)
        if sink.max_batch_size < 1:
            raise ConfigError(f"Notify[{i}].MaxBatchSize", "must be at least 1", source)
        if sink.batch_flush_interval_ms < 0:
            raise ConfigError(f"Notify[{i}].BatchFlushInterval", "must be 0 or more (milliseconds)", source)
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
            raise ConfigError(f"TrustedProxies[{i}]", f"{_show(cidr)} is not an IP address or CIDR", source) from None
    if config.proxy_port_tls and config.use_local_tls and not (config.tls_cert and config.tls_key):
        raise ConfigError("TLSCert", "UseLocalTLS with ProxyPortTLS needs TLSCert and TLSKey", source)
    limits = config.limits
    for name, value in (
        ("MaxBodyBytes", limits.max_body_bytes),
        ("MaxEventsPerBatch", limits.max_events_per_batch),
        ("MaxWebSocketMessageBytes", limits.max_websocket_message_bytes),
        ("MaxDecompressedBytes", limits.max_decompressed_bytes),
    ):
        if value < 1:
            raise ConfigError(f"Limits.{name}", "must be at least 1", source)
    for family, value in limits.max_body_bytes_per_route.items():
        here = f"Limits.MaxBodyBytesPerRoute.{family}"
        if family not in BODY_LIMIT_FAMILIES:
            raise ConfigError(here, f"is not a route family; expected one of {', '.join(BODY_LIMIT_FAMILIES)}", source)
        if value < (0 if family == "proxy" else 1):
            least = "0 (no limit)" if family == "proxy" else "1 (only the proxy streams without a limit)"
            raise ConfigError(here, f"must be at least {least}, got {value}", source)


def _check_bind(config: Config, attribute: str) -> None:
    value = getattr(config, attribute)
    if not value:
        return
    json_key = next(f.metadata["key"] for f in dataclasses.fields(Config) if f.name == attribute)
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(json_key, f'{_show(value)} is not "host:port" or ":port"', config.source)


def split_bind(value: str) -> tuple[str, int]:
    """':8080' → ('0.0.0.0', 8080); '127.0.0.1:8080' → ('127.0.0.1', 8080)."""
    host, _, port = value.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def redacted(config: Config) -> dict[str, Any]:
    """The config as a dict with secrets masked, for logs and /status."""

    def walk(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            out = {}
            for f in dataclasses.fields(obj):
                if "key" not in f.metadata:
                    continue
                value = getattr(obj, f.name)
                secret = f.metadata.get("secret") and value
                out[f.metadata["key"]] = "***" if secret else walk(value)
            return out
        if isinstance(obj, tuple):
            return [walk(v) for v in obj]
        if isinstance(obj, Mapping):
            return {k: walk(v) for k, v in obj.items()}
        return obj

    return typing.cast(dict[str, Any], walk(config))


def replace(config: Config, **changes: Any) -> Config:
    return dataclasses.replace(config, **changes)


def _show(value: Any) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(name: str, candidates: Mapping[str, Any]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return match[0] if match else None


def _validate_rate_limits(config: Config) -> None:
    from limits import parse

    for i, rule in enumerate(config.rate_limits):
        try:
            parse(rule.limit)
        except ValueError:
            raise ConfigError(
                f"RateLimits[{i}].Limit", f'{_show(rule.limit)} is not a rate like "100/minute"', config.source
            ) from None
        for j, family in enumerate(rule.routes):
            if family not in RATE_LIMIT_FAMILIES:
                known = ", ".join(RATE_LIMIT_FAMILIES)
                raise ConfigError(
                    f"RateLimits[{i}].Routes[{j}]",
                    f"unknown route family {_show(family)} (known: {known})",
                    config.source,
                )
    storage = config.rate_limit_storage
    if not storage.startswith(("memory://", "redis://", "rediss://", "redis+unix://", "async+")):
        raise ConfigError(
            "RateLimitStorage", f'{_show(storage)} is not "memory://" or "redis://host:port"', config.source
        )
