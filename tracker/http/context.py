"""The request context: what every layer needs to know of a request, worked out once when it arrives (by the
request entry, http/entry.py) and kept in the ASGI scope. The route family decides metrics labels, limits and
the shape of refusals; the client IP is the only one (X-Forwarded-For read only through TrustedProxies); the
headers are the few the event model reads, taken in one pass over the raw list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.types import Scope

from tracker.http.client_ip import TrustedProxies, client_ip
from tracker.http.hosts import host_name

SCOPE_KEY = "tracker.context"
OPS_PATHS = frozenset(("/health", "/ping", "/clear", "/status", "/metrics"))
API_FAMILIES = {
    "tr": "tracking",
    "str": "tracking",
    "img": "tracking",
    "ltv": "tracking",
    "ws": "tracking",
    "rdr": "redirects",
    "xrdr": "redirects",
    "rpi": "admin",
    "ppi": "privacy",
    "pub": "static",
}
WANTED_HEADERS = frozenset(
    (b"host", b"user-agent", b"referer", b"cookie", b"user", b"x-forwarded-for", b"sec-gpc", b"dnt")
)


class Routed(Protocol):
    """A proxy upstream as the classifier sees it: the path prefix it serves."""

    @property
    def prefix(self) -> str: ...


@dataclass(slots=True)
class RequestContext:
    family: str  # tracking, redirects, admin, privacy, static, proxy, ops, other
    api_kind: str  # the first segment after the API prefix ("tr", "rdr", …), "" outside the API
    host: str
    client_ip: str
    headers: dict[bytes, str]  # the first value of each of WANTED_HEADERS present
    upstream: Routed | None  # the upstream this request's host and path match, if any


def context(scope: Scope) -> RequestContext:
    found: RequestContext = scope[SCOPE_KEY]
    return found


@dataclass(slots=True, frozen=True)
class Classifier:
    """Tells a request's route family: the API's own segments, the ops paths, then (outside the API) an upstream
    or static site with a prefix of its own, else the catch-all ("redirects": short links come first)."""

    api_prefix: str
    match_upstream: Callable[[str, str], Routed | None]
    static_prefixes: Sequence[str] = ()

    def classify(self, path: str, host: str) -> tuple[str, str, Routed | None]:
        api = self.api_prefix
        if path.startswith(api) and path[len(api) : len(api) + 1] == "/":
            kind = path[len(api) + 1 :].split("/", 1)[0]
            return API_FAMILIES.get(kind, "other"), kind, None
        if path in OPS_PATHS:
            return "ops", "", None
        upstream = self.match_upstream(host, path)
        if upstream is not None and upstream.prefix != "/":
            return "proxy", "", upstream
        if any(path.startswith(prefix) for prefix in self.static_prefixes):
            return "static", "", upstream
        return "redirects", "", upstream


def build_context(scope: Scope, classifier: Classifier, trusted: TrustedProxies) -> RequestContext:
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in WANTED_HEADERS and name not in found:  # the first occurrence, as Headers.get returns
            found[name] = value.decode("latin-1")
    host = host_name(found.get(b"host", ""))
    family, kind, upstream = classifier.classify(scope["path"], host)
    peer = scope.get("client")
    address = client_ip(peer[0] if peer else None, found.get(b"x-forwarded-for"), trusted)
    return RequestContext(family, kind, host, address, found, upstream)
