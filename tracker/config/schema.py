"""The frozen, typed configuration: one dataclass per config.json section, and `Config`, the whole file.

Keys keep the Go tracker's PascalCase names (SPEC.md §5 and 'New config keys'). Go keys we accept but do not
implement are marked `unsupported` and collected by the loader in `Config.unsupported` for start-up to log.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tracker.config.fields import GIB, MIB, UNSUPPORTED, FrozenMap, key
from tracker.config.sinks import SinkConfig


@dataclass(slots=True, frozen=True)
class CookieConfig:
    domain: str = key("Domain", "")
    visitor_days: int = key("VisitorDays", 365)
    session_minutes: int = key("SessionMinutes", 30)
    secure: Literal["auto", "always", "never"] = key("Secure", "auto")
    same_site: Literal["Lax", "Strict", "None"] = key("SameSite", "Lax")
    require_consent: bool = key("RequireConsent", False)


@dataclass(slots=True, frozen=True)
class GeoIPConfig:
    database: str = key("Database", "")  # a MaxMind-format .mmdb (GeoIP2/GeoLite2 City or Country)


@dataclass(slots=True, frozen=True)
class ConsentConfig:
    mode: Literal["off", "given", "required"] = key("Mode", "off")
    honor_gpc: bool = key("HonorGPC", True)
    honor_dnt: bool = key("HonorDNT", False)


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
    websocket_idle_seconds: float = key("WebSocketIdleSeconds", 600.0)
    websocket_ping_seconds: float = key("WebSocketPingSeconds", 25.0)
    max_body_bytes_per_route: Mapping[str, int] = key("MaxBodyBytesPerRoute", FrozenMap())

    def body_limit(self, family: str) -> int:
        """The largest request body `family` accepts; 0 for no limit (the proxy's default: it streams)."""
        return self.max_body_bytes_per_route.get(family, 0 if family == "proxy" else self.max_body_bytes)


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
    server: Literal["hypercorn", "granian"] = key("Server", "hypercorn")
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
    account_hash_mixer: str = key("AccountHashMixer", "", secret=True)
    cflags_marketing: int = key("CFlagsMarketing", 4096)
    cflags_ignore: bool = key("CFlagsIgnore", False)
    cookies: CookieConfig = key("Cookies", CookieConfig())
    consent: ConsentConfig = key("Consent", ConsentConfig())
    geoip: GeoIPConfig = key("GeoIP", GeoIPConfig())
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
    proxy_daily_limit_checker: str = key("ProxyDailyLimitChecker", "", **UNSUPPORTED)
    ops_allow: tuple[str, ...] = key("OpsAllow", ())
    # prune (tracker --prune; README "Privacy")
    prune_logs_ttl: int = key("PruneLogsTTL", 2592000)  # logs older than this many seconds are deleted
    prune_logs_only: bool = key("PruneLogsOnly", False)
    prune_logs_skip: bool = key("PruneLogsSkip", False)  # leave the logs alone
    prune_logs_page_size: int = key("PruneLogsPageSize", 10000)
    prune_update_config: bool = key("PruneUpdateConfig", False)  # write PruneSkipToTimestamp back after a run
    prune_limit: int = key("PruneLimit", 0)  # stop once this many rows changed (0: no limit)
    prune_skip_to_timestamp: int = key("PruneSkipToTimestamp", 0)  # Unix seconds: older rows are left as they are
    # accepted for compatibility with Go configs, not implemented yet (logged at start-up)
    debug: bool = key("Debug", False)
    use_geoip: bool = key("UseGeoIP", False, **UNSUPPORTED)
    geoip_database: str = key("GeoIPDatabase", "")  # README-only in Go; read as GeoIP.Database
    geoip_version: int = key("GeoIPVersion", 0, **UNSUPPORTED)
    ipv4_geoip_zip: str = key("IPv4GeoIPZip", "", **UNSUPPORTED)
    ipv6_geoip_zip: str = key("IPv6GeoIPZip", "", **UNSUPPORTED)
    ipv4_geoip_csv_dest: str = key("IPv4GeoIPCSVDest", "", **UNSUPPORTED)
    ipv6_geoip_csv_dest: str = key("IPv6GeoIPCSVDest", "", **UNSUPPORTED)
    use_region_descriptions: bool = key("UseRegionDescriptions", True)
    schema_version: int = key("SchemaVersion", 0, unsupported=True)
    consume: tuple[SinkConfig, ...] = key("Consume", ())  # NATS subscriptions feeding logs/updates
    s3_bucket: str = key("S3Bucket", "", **UNSUPPORTED)
    s3_prefix: str = key("S3Prefix", "", **UNSUPPORTED)
    s3_region: str = key("S3Region", "", **UNSUPPORTED)
    s3_access_key_id: str = key("S3AccessKeyID", "", secret=True, **UNSUPPORTED)
    s3_secret_access_key: str = key("S3SecretAccessKey", "", secret=True, **UNSUPPORTED)
    health_check_interval: int = key("HealthCheckInterval", 0, **UNSUPPORTED)
    inactivity_timeout_seconds: int = key("InactivityTimeoutSeconds", 0, **UNSUPPORTED)
    max_shard_size_bytes: int = key("MaxShardSizeBytes", 0, **UNSUPPORTED)
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
    def geoip_path(self) -> str:
        return self.geoip.database or self.geoip_database

    @property
    def stored_ip(self) -> str:
        """What is stored of the client IP: IPStorage wins, else Go's UseRemoveIP."""
        if self.ip_storage:
            return self.ip_storage
        return "hash" if self.use_remove_ip else "raw"


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
