"""What is stored of a client IP (IPStorage): a hash, a truncated address, the raw address, or nothing.

The Go iphash is a chain of FNV-32 hashes, so an unsalted IPv4 hash can be reversed by brute force; when
PrefixPrivateHash is set it salts the hash, which then no longer matches Go-written rows (documented).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from tracker.privacy.hashing import ip_hash


@dataclass(slots=True, frozen=True)
class IPPolicy:
    mode: str = "hash"  # hash | truncate | raw | drop
    salt: str = ""

    def apply(self, ip: str) -> tuple[str, str]:
        """(ip column, iphash column) for one client address."""
        if not ip or self.mode == "drop":
            return "", ""
        if self.mode == "truncate":
            ip = truncate(ip)
        hashed = ip_hash(self.salt + ip)
        return (ip if self.mode in ("raw", "truncate") else ""), hashed


def truncate(ip: str) -> str:
    """Zero the host part: /24 for IPv4, /48 for IPv6."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
