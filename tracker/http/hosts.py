"""The one Host-header parser: `example.com:8080` → `example.com`, `[::1]:80` → `[::1]`, lowercased."""

from __future__ import annotations


def host_name(header: str) -> str:
    """The host of a Host header (or an authority) without its port; IPv6 literals keep their brackets."""
    if header.startswith("["):
        end = header.find("]")
        return header[: end + 1].lower() if end > 0 else header.lower()
    if header.count(":") == 1:
        return header.split(":", 1)[0].lower()
    return header.lower()
