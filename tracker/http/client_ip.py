"""Who is the client: the socket peer, or X-Forwarded-For read right to left only through trusted proxies.

Go trusted X-Real-IP and the left-most X-Forwarded-For from anyone (SPEC.md §8.1). Here a header is read only
when the socket peer is in TrustedProxies, and then the right-most address that is not itself trusted wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(slots=True, frozen=True)
class TrustedProxies:
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, cidrs: Iterable[str]) -> TrustedProxies:
        return cls(tuple(ipaddress.ip_network(c, strict=False) for c in cidrs))

    def trusts(self, address: str) -> bool:
        if not self.networks:
            return False
        ip = parse_ip(address)
        return ip is not None and any(ip in network for network in self.networks)


@lru_cache(maxsize=65536)
def parse_ip(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]  # "1.2.3.4:5678"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@lru_cache(maxsize=65536)
def _text(ip: IPAddress) -> str:
    return str(ip)


@lru_cache(maxsize=65536)
def _peer_text(peer: str) -> str:
    ip = parse_ip(peer)
    return "" if ip is None else _text(ip)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: TrustedProxies) -> str:
    """The client's address as text ('' when unknown)."""
    if not peer:
        return ""
    if not forwarded_for or not trusted.networks:
        return _peer_text(peer)  # the usual case: one cached lookup by the peer's text
    peer_ip = parse_ip(peer)
    if peer_ip is None:
        return ""
    if not trusted.trusts(str(peer_ip)):
        return _text(peer_ip)
    for hop in reversed(forwarded_for.split(",")):
        hop_ip = parse_ip(hop)
        if hop_ip is None:
            break  # a garbled hop: stop at the last address we could verify
        if not trusted.trusts(str(hop_ip)):
            return str(hop_ip)
        peer_ip = hop_ip
    return str(peer_ip)
