"""The request context: what every layer needs to know of a request, worked out once when it arrives and kept
in the ASGI scope. A request whose target is not in origin form, or whose body framing is ambiguous, is refused
here with 400 before any layer acts on it. The route family decides metrics labels, limits and the shape of
refusals; the client IP is the only one (X-Forwarded-For read only through TrustedProxies); the headers are the
few the event model reads, taken in one pass over the raw list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from tracker.http.answers import deny_websocket, send_json_error
from tracker.http.client_ip import TrustedProxies, client_ip
from tracker.http.framing import BadFraming, declared_length
from tracker.http.hosts import host_name
from tracker.http.request_target import REFUSAL as TARGET_REFUSAL
from tracker.http.request_target import origin_form

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


def refused(scope: Scope) -> tuple[str, str] | None:
    """(field, reason) for a request no layer may act on: a target not in origin form (it would name another
    authority in an upstream URL or a Location), or a body whose framing is ambiguous (smuggling)."""
    if origin_form(scope) is None and not (scope.get("method") == "OPTIONS" and scope.get("raw_path") == b"*"):
        return "target", TARGET_REFUSAL
    for name, _ in scope["headers"]:
        if name == b"content-length" or name == b"transfer-encoding":
            try:
                declared_length(scope["headers"])
            except BadFraming as error:
                return "body", str(error)
            break
    return None


class RequestEntry:
    """The outermost layer: builds the RequestContext of every HTTP and WebSocket request."""

    def __init__(self, app: ASGIApp, *, classifier: Classifier, trusted: TrustedProxies) -> None:
        self.app = app
        self.classifier = classifier
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refusal = refused(scope)
            if refusal is not None:
                if scope["type"] == "websocket":
                    await deny_websocket(scope, send, 400, refusal[1], field=refusal[0])
                else:
                    await send_json_error(send, 400, refusal[1], close=True, field=refusal[0])
                return
            scope[SCOPE_KEY] = self.build(scope)
        await self.app(scope, receive, send)

    def build(self, scope: Scope) -> RequestContext:
        found: dict[bytes, str] = {}
        for name, value in scope["headers"]:
            if name in WANTED_HEADERS and name not in found:  # the first occurrence, as Headers.get returns
                found[name] = value.decode("latin-1")
        host = host_name(found.get(b"host", ""))
        family, kind, upstream = self.classifier.classify(scope["path"], host)
        peer = scope.get("client")
        address = client_ip(peer[0] if peer else None, found.get(b"x-forwarded-for"), self.trusted)
        return RequestContext(family, kind, host, address, found, upstream)
