"""Which headers cross the reverse proxy, both ways.

Hop-by-hop headers (RFC 9110 §7.6.1: the fixed list plus every header named in Connection) never cross.
The upstream is told who asked with X-Real-IP, X-Forwarded-For/-Proto/-Host and Forwarded (RFC 7239).
X-Forwarded-For from a peer outside TrustedProxies is dropped, never extended: the upstream sees the socket
address, so a client cannot plant an address of its choosing. X-Real-IP is always ours, never the client's: the
client address we computed (the socket peer, or through TrustedProxies the X-Forwarded-For hop), as Forwarded's
`for=` says, and as nginx's `proxy_set_header X-Real-IP $remote_addr` with the realip module does.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import Scope

from tracker.http.client_ip import TrustedProxies, client_ip

HOP_BY_HOP = frozenset(
    (
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    )
)
# Hypercorn writes its own Date and Server on every response; the upstream's would be duplicates (nginx also
# replaces both by default).
SET_BY_SERVER = frozenset((b"date", b"server"))
DROPPED_FROM_RESPONSES = HOP_BY_HOP | SET_BY_SERVER
# Replaced by our own values, or (expect) answered by our server already.
# Content-Length is set by the proxy from the checked value (proxy_body.declared_length).
NOT_FORWARDED = HOP_BY_HOP | {
    b"expect",
    b"content-length",
    b"x-real-ip",
    b"x-forwarded-for",
    b"x-forwarded-proto",
    b"x-forwarded-host",
    b"forwarded",
}

Headers = list[tuple[bytes, bytes]]


def forwarding_headers(scope: Scope, trusted: TrustedProxies) -> Headers:
    """The client's headers minus hop-by-hop ones, plus the forwarding headers (names lowercase)."""
    raw: Headers = scope["headers"]
    named = _named_in_connection(raw)
    forwarded_for = ""
    host = ""
    headers: Headers = []
    for name, value in raw:
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"x-forwarded-for":  # several lines are one list (RFC 9110 §5.3)
            forwarded_for = f"{forwarded_for}, {value.decode('latin-1')}" if forwarded_for else value.decode("latin-1")
        if name not in NOT_FORWARDED and (not named or name not in named):
            headers.append((name, value))
    peer = scope.get("client")
    peer_ip = client_ip(peer[0] if peer else None, None, trusted)  # normalised socket address
    trusted_peer = bool(forwarded_for) and bool(peer_ip) and trusted.trusts(peer_ip)
    client = client_ip(peer_ip, forwarded_for, trusted) if trusted_peer else peer_ip
    proto = "https" if scope["scheme"] in ("https", "wss") else "http"
    # Like nginx's $proxy_add_x_forwarded_for: the chain a trusted proxy gave us, plus the address we saw.
    chain = f"{forwarded_for}, {peer_ip}" if trusted_peer else peer_ip
    headers += [
        (b"x-real-ip", client.encode("latin-1")),
        (b"x-forwarded-for", chain.encode("latin-1")),
        (b"x-forwarded-proto", proto.encode()),
        (b"x-forwarded-host", host.encode("latin-1")),
        (b"forwarded", forwarded(client, proto, host).encode("latin-1")),
    ]
    return headers


def response_headers(raw: Sequence[tuple[bytes, bytes]]) -> Headers:
    """The upstream's response headers minus hop-by-hop ones (and Date, Server), names lowercased for ASGI."""
    lowered = [(n.lower(), v) for n, v in raw]
    named = _named_in_connection(lowered)
    return [(n, v) for n, v in lowered if n not in DROPPED_FROM_RESPONSES and (not named or n not in named)]


def forwarded(client: str, proto: str, host: str) -> str:
    """One RFC 7239 element; IPv6 addresses and hosts are quoted as the grammar requires."""
    node = f'"[{client}]"' if ":" in client else (client or "unknown")
    element = f"for={node};proto={proto}"
    if host:
        element += ';host="' + host.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return element


def request_host(scope: Scope) -> str:
    """The Host header's name part, lowercase, for matching upstreams by Host."""
    host = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), "")
    if host.startswith("["):
        return host[: host.find("]") + 1].lower()
    return host.rsplit(":", 1)[0].lower()


def _named_in_connection(raw: Sequence[tuple[bytes, bytes]]) -> frozenset[bytes]:
    tokens = [value for name, value in raw if name == b"connection"]
    if not tokens:
        return frozenset()
    return frozenset(t.strip().lower() for value in tokens for t in value.split(b",") if t.strip())
