"""Upstreams of the reverse proxy: which one a request goes to, and which of its targets is healthy.

An upstream is chosen by Host (when it names one) and the longest matching path prefix. Its targets take
turns (round robin); a target that refused a connection or timed out connecting is skipped for
PASSIVE_HEALTH_SECONDS, unless every target is failing, in which case they are all tried again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tracker.config import UpstreamConfig

PASSIVE_HEALTH_SECONDS = 10.0


@dataclass(slots=True)
class Target:
    base: str  # scheme://host:port, no trailing slash
    failed_until: float = 0.0

    @property
    def websocket_base(self) -> str:
        return "wss" + self.base[5:] if self.base.startswith("https") else "ws" + self.base[4:]


@dataclass(slots=True)
class Upstream:
    config: UpstreamConfig
    targets: list[Target]
    prefix: str
    host: str
    _turn: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]

    def candidates(self) -> list[Target]:
        """Targets in the order to try: healthy ones from this request's turn on, then the failing ones."""
        start = next(self._turn) % len(self.targets)
        ordered = self.targets[start:] + self.targets[:start]
        now = time.monotonic()
        healthy = [t for t in ordered if t.failed_until <= now]
        return healthy + [t for t in ordered if t.failed_until > now]

    def path_for(self, raw_path: str) -> str:
        if self.config.strip_prefix and self.prefix != "/" and raw_path.startswith(self.prefix):
            stripped = raw_path[len(self.prefix) :]
            return "/" + stripped.lstrip("/")
        return raw_path


def build_upstreams(configs: Sequence[UpstreamConfig], proxy_url: str) -> list[Upstream]:
    upstreams = [
        Upstream(
            c,
            [Target(_base(t)) for t in c.targets],
            c.prefix if c.prefix.startswith("/") else "/" + c.prefix,
            c.host.lower(),
        )
        for c in configs
        if c.targets
    ]
    if proxy_url:  # the Go tracker's single backend, for its /api/ route
        upstreams.append(
            Upstream(UpstreamConfig(targets=(proxy_url,), prefix="/api/"), [Target(_base(proxy_url))], "/api/", "")
        )
    return sorted(upstreams, key=lambda u: (not u.host, -len(u.prefix)))


def match(upstreams: Sequence[Upstream], host: str, path: str) -> Upstream | None:
    for upstream in upstreams:
        if (not upstream.host or upstream.host == host) and (
            path.startswith(upstream.prefix) or path + "/" == upstream.prefix
        ):
            return upstream
    return None


def _base(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    return f"{parts.scheme}://{parts.netloc}"
