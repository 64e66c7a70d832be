"""Where a redirect may go: one parser for every URL the tracker answers as `Location`.

A short link's targets are checked and normalised once, when saved (normalise_target); /rdr/ and /xrdr/ check
their `url` parameter with the same parser plus their allowed-host rule (allowed_target). A normalised target
is a URI (IRI → URI: an IDNA host, non-ASCII percent-encoded); control characters and backslashes are refused.
location() makes any string a valid header value, so even a link stored before these checks is never a 500.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import parse_qsl, quote, urlsplit

import idna

MAX_URL = 8192
MAX_HOST = 253
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"  # reserved characters and "%" stay as they are: normalising twice is a no-op
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))  # every visible ASCII character


class BadTarget(ValueError):
    """A URL the tracker will not redirect to; the message says why."""


def has_control_characters(text: str) -> bool:
    """C0 and C1 controls and DEL: browsers drop or rewrite them, so they make a URL mean something else."""
    return any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text)


def normalise_host(host: str) -> str:
    """A DNS name (IDNA, returned in its ASCII form) or an IP literal (IPv6 in brackets), lowercased."""
    text = host.strip().lower()
    if not text or has_control_characters(host):
        raise BadTarget("the host is empty or holds control characters")
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if ":" in bare or bare.replace(".", "").isdigit():  # looks like an IP literal (a failed parse costs ~6 us)
        try:
            address = ipaddress.ip_address(bare)
        except ValueError:
            pass
        else:
            return f"[{address.compressed}]" if address.version == 6 else address.compressed
    name = text[:-1] if text.endswith(".") else text
    if name.isascii() and "xn--" not in name:  # IDNA maps plain ASCII names to themselves: skip its ~50 us
        labels = name.split(".")
        if len(name) <= MAX_HOST and all(_LABEL.fullmatch(label) for label in labels):
            return name
        raise BadTarget(f"the host is not a DNS name or an IP literal: {host[:100]!r}")
    try:
        ascii_name = idna.encode(name, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise BadTarget(f"the host is not a DNS name or an IP literal: {host[:100]!r}") from None
    if len(ascii_name) > MAX_HOST or not all(_LABEL.fullmatch(label) for label in ascii_name.split(".")):
        raise BadTarget(f"the host is not a DNS name or an IP literal: {host[:100]!r}")
    return ascii_name


def normalise_target(url: str) -> str:
    """An absolute http(s) URL with a host and no user info, as a URI; else BadTarget."""
    if len(url) > MAX_URL:
        raise BadTarget(f"longer than {MAX_URL} characters")
    if has_control_characters(url) or "\\" in url:
        raise BadTarget("must not contain control characters or backslashes")
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unbalanced "[" in the host
        raise BadTarget("is not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise BadTarget("must be an absolute http(s) URL")
    if "@" in parts.netloc:
        raise BadTarget("must not hold user info (user@host)")
    try:
        port = parts.port
    except ValueError:
        raise BadTarget("has a bad port") from None
    host = normalise_host(parts.hostname or "")
    authority = host if port is None else f"{host}:{port}"
    return _join(parts.scheme.lower(), authority, parts.path, parts.query, parts.fragment)


def same_site_path(url: str) -> str | None:
    """`/page?x` (one leading slash, nothing a browser reads as another host), as a URI; else None."""
    if not url.startswith("/") or url.startswith("//") or has_control_characters(url) or "\\" in url:
        return None
    return quote(url, safe=_URI_SAFE)


def allowed_target(url: str, allowed_hosts: tuple[str, ...]) -> str | None:
    """/rdr/'s rule: a same-site path, or a normalised target whose host is (a subdomain of) an allowed host."""
    if not url or len(url) > MAX_URL:
        return None
    if url.startswith("/"):
        return same_site_path(url)
    try:
        target = normalise_target(url)
    except BadTarget:
        return None
    host = (urlsplit(target).hostname or "").rstrip(".")
    allowed = {normalise_host_or_same(h) for h in allowed_hosts}
    return target if any(host == h or host.endswith("." + h) for h in allowed) else None


@functools.lru_cache(maxsize=256)
def normalise_host_or_same(host: str) -> str:
    try:
        return normalise_host(host)
    except BadTarget:
        return host.lower()


def tracked_hop(target: str, api_prefix: str) -> tuple[str, dict[str, str]] | None:
    """A link to our own /rdr/ goes straight to its `url` (one hop): (that url, the other query keys), or None."""
    try:
        parts = urlsplit(target)
    except ValueError:  # only a link stored before targets were checked can be this broken
        return None
    if f"{api_prefix}/rdr/" not in parts.path and not parts.path.endswith(f"{api_prefix}/rdr"):
        return None
    query = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    final = query.pop("url", "")
    return (final, query) if final else None


def location(url: str) -> str:
    """A header-safe `Location`: anything outside visible ASCII percent-encoded (UTF-8), the rest untouched."""
    return url if url.isascii() and url.isprintable() and " " not in url else quote(url, safe=_HEADER_SAFE)


def _join(scheme: str, authority: str, path: str, query: str, fragment: str) -> str:
    text = f"{scheme}://{authority}{quote(path, safe=_URI_SAFE)}"
    if query:
        text += "?" + quote(query, safe=_URI_SAFE)
    if fragment:
        text += "#" + quote(fragment, safe=_URI_SAFE)
    return text
