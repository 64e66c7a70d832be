"""The hashes the Go tracker stores (SPEC.md §0), kept bit-compatible so dashboards keep joining.

hash() is FNV-1a-32 in base 36; iphash chains four of them; sha() is SHA-1 in URL-safe base64 with padding,
used for ehash/chash/uhash with PrefixPrivateHash as a salt.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def fnv1a32(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def base36(number: int) -> str:
    if number == 0:
        return "0"
    out = []
    while number:
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


@lru_cache(maxsize=65536)  # hosts and user agents repeat: most calls are cache hits
def short_hash(text: str) -> str:
    """Go's hash(): hhash of a host, bhash of a user agent."""
    return base36(fnv1a32(text))


@lru_cache(maxsize=65536)
def ip_hash(ip: str) -> str:
    """Go's iphash: h1‖h2‖h3‖h4, each later h = hash(ip + everything so far)."""
    so_far = short_hash(ip)
    for _ in range(3):
        so_far += short_hash(ip + so_far)
    return so_far


def sha(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(text.encode()).digest()).decode()


def private_hash(prefix: str, value: str) -> str:
    """ehash/chash/uhash: sha(PrefixPrivateHash + lower(trim(value)))."""
    return sha(prefix + value.strip().lower())
