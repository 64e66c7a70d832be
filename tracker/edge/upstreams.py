"""Upstreams of the reverse proxy: which one a request goes to, and which of its targets is healthy.

An upstream is chosen by Host (when it names one) and the longest matching path prefix. Its targets take
turns (round robin); a target that refused a connection or timed out connecting is skipped for
PASSIVE_HEALTH_SECONDS, unless every target is failing, in which case they are all tried again. The Go
tracker's `ProxyUrl` is one upstream on `/api/` that also keeps the Go route's extras (GoApi).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from tracker.config import Config, ConfigError, UpstreamConfig
from tracker.http.request_target import OriginForm

PASSIVE_HEALTH_SECONDS = 10.0
GO_HSTS = b"max-age=15768000 ; includeSubDomains"  # the value the Go /api/ route sets


@dataclass(slots=True, frozen=True)
class GoApi:
    """What the Go tracker's /api/ route adds around proxying (SPEC.md, `/api/` proxy)."""

    allow_origin: str  # AllowOrigin, on every answer
    answer_preflight: bool  # OPTIONS answered here unless IgnoreProxyOptions
    force_json: bool  # ProxyForceJson: the request's content-type becomes application/json
    origin_host: str  # sent as X-Origin-Host
    hsts: bytes  # on https answers: the configured HSTS, else the Go route's value


@dataclass(slots=True)
class Target:
    """Where requests go: only these parts of the configured URL, so no request can name another authority."""

    scheme: str  # http | https
    host: str  # as in a URL: IPv6 literals in brackets
    port: int | None  # None: the scheme's default
    failed_until: float = 0.0
    base: str = field(init=False)  # scheme://host[:port], for logs and tests

    def __post_init__(self) -> None:
        self.base = f"{self.scheme}://{self.host}" + (f":{self.port}" if self.port is not None else "")

    def url(self, target: OriginForm) -> URL:
        return URL.build(
            scheme=self.scheme,
            host=self.host,
            port=self.port,
            path=target.path,
            query_string=target.query,
            encoded=True,
        )

    def websocket_url(self, target: OriginForm) -> str:
        """A string for `websockets.connect`: the path starts with "/", so the authority ends where ours does."""
        scheme = "wss" if self.scheme == "https" else "ws"
        port = f":{self.port}" if self.port is not None else ""
        return f"{scheme}://{self.host}{port}{target.path}" + (f"?{target.query}" if target.query else "")


@dataclass(slots=True)
class Upstream:
    config: UpstreamConfig
    targets: list[Target]
    prefix: str
    host: str
    go_api: GoApi | None = None
    untracked: re.Pattern[str] | None = None  # paths never tracked even when config.track (ProxyUrlFilter)
    _turn: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]
    timeout: aiohttp.ClientTimeout = field(init=False)  # built once: aiohttp takes it per request

    def __post_init__(self) -> None:
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.config.connect_timeout_seconds, sock_read=self.config.read_timeout_seconds
        )

    def candidates(self) -> list[Target]:
        """Targets in the order to try: healthy ones from this request's turn on, then the failing ones."""
        targets = self.targets
        if len(targets) == 1:
            return targets
        start = next(self._turn) % len(targets)
        ordered = targets[start:] + targets[:start]
        now = time.monotonic()
        healthy = [t for t in ordered if t.failed_until <= now]
        return healthy + [t for t in ordered if t.failed_until > now]

    def path_for(self, target: OriginForm) -> OriginForm:
        if self.config.strip_prefix and self.prefix != "/" and target.path.startswith(self.prefix):
            stripped = target.path[len(self.prefix) :]
            return OriginForm("/" + stripped.lstrip("/"), target.query)
        return target

    def tracks(self, path: str) -> bool:
        return self.config.track and (self.untracked is None or self.untracked.search(path) is None)


def build_upstreams(configs: Sequence[UpstreamConfig], go: Config | None = None) -> list[Upstream]:
    upstreams = [
        Upstream(
            c,
            [target(t, "Upstreams[].Targets") for t in c.targets],
            c.prefix if c.prefix.startswith("/") else "/" + c.prefix,
            c.host.lower(),
        )
        for c in configs
        if c.targets
    ]
    if go is not None and go.proxy_url:
        upstreams.append(go_api_upstream(go))
    return sorted(upstreams, key=lambda u: (not u.host, -len(u.prefix)))


def go_api_upstream(config: Config) -> Upstream:
    """`ProxyUrl` as the Go tracker routes it: /api/… unchanged to the target, tracked when ProxyUrlFilter is
    set and the path does not match it."""
    try:
        untracked = re.compile(config.proxy_url_filter) if config.proxy_url_filter else None
    except re.error as error:
        raise ConfigError("ProxyUrlFilter", f"not a regular expression: {error}", config.source) from error
    proxied = target(config.proxy_url, "ProxyUrl")
    go_api = GoApi(
        allow_origin=config.allow_origin,
        answer_preflight=not config.ignore_proxy_options,
        force_json=config.proxy_force_json,
        origin_host=proxied.base.partition("://")[2],
        hsts=config.hsts.encode() if config.hsts else GO_HSTS,
    )
    settings = UpstreamConfig(targets=(config.proxy_url,), prefix="/api/", track=untracked is not None)
    return Upstream(settings, [proxied], "/api/", "", go_api, untracked)


def match(upstreams: Sequence[Upstream], host: str, path: str) -> Upstream | None:
    for upstream in upstreams:
        if (not upstream.host or upstream.host == host) and (
            path.startswith(upstream.prefix) or path + "/" == upstream.prefix
        ):
            return upstream
    return None


def target(url: str, key: str) -> Target:
    """A configured target URL (scheme optional, path ignored) as the scheme, host and port it names."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as error:
        raise ConfigError(key, f"{url!r}: {error}") from error
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(key, f"{url!r} is not an http(s)://host[:port] URL")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(key, f"{parts.hostname}: credentials in a target URL are not supported")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return Target(scheme, host, port)
