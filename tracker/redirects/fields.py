"""Admin input for a short link, checked before anything is acknowledged: JSON shapes, storage bounds, keys.

Every value must fit every sink's column (DuckDB INTEGER and TIMESTAMP, ClickHouse DateTime), so a saved link
is never dead-lettered and always loads again after a restart. A key is an IDNA host or IP literal, then a
path of segments from the RFC 3986 path-segment set (plus non-ASCII letters): no CRLF, space, `..`, `<`, NUL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tracker import timestamps
from tracker.errors import BadEvent
from tracker.redirects.targets import MAX_URL, BadTarget, has_control_characters, normalise_host

EARLIEST, LATEST = datetime(1970, 1, 1), datetime(2106, 2, 7, 6, 28, 15)  # ClickHouse DateTime's range
MAX_VISITS = 2**31 - 1  # DuckDB INTEGER
MAX_SLUG, MAX_TAGS, MAX_TAG = 200, 50, 100
DEVICES = ("android", "ios", "desktop")
STRINGS = {
    "urlfrom": MAX_URL,
    "urlto": MAX_URL,
    "host": 1000,  # before IDNA encoding
    "slugfrom": MAX_SLUG,
    "slug": MAX_SLUG,
    "org": 200,
    "oid": 36,
    "valid_since": 64,
    "valid_until": 64,
}
SLUG_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@")


def admin_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The link fields of an API body (others are ignored, as the Go API does), each of the right JSON type
    and size; null means "not given"."""
    fields: dict[str, Any] = {}
    for name, limit in STRINGS.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadEvent(name, "must be a string")
        if len(value) > limit:
            raise BadEvent(name, f"longer than {limit} characters")
        fields[name] = value
    if body.get("status") is not None:
        fields["status"] = _status(body["status"])
    if body.get("max_visits") is not None:
        fields["max_visits"] = _max_visits(body["max_visits"])
    if body.get("crawlable") is not None:
        if not isinstance(body["crawlable"], bool):
            raise BadEvent("crawlable", "must be true or false")
        fields["crawlable"] = body["crawlable"]
    if body.get("tags") is not None:
        fields["tags"] = _tags(body["tags"])
    if body.get("targets") is not None:
        fields["targets"] = _targets(body["targets"])
    return fields


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 3:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadEvent("status", "must be one of 0 (the default), 301, 302, 303, 307, 308")
    return value


def _max_visits(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_VISITS:
        raise BadEvent("max_visits", f"must be a positive integer up to {MAX_VISITS}")
    return value


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise BadEvent("tags", "must be a list of strings")
    if len(value) > MAX_TAGS or any(len(t) > MAX_TAG or has_control_characters(t) for t in value):
        raise BadEvent("tags", f"at most {MAX_TAGS} tags of at most {MAX_TAG} characters, no control characters")
    return value


def _targets(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or any(k not in DEVICES for k in value):
        raise BadEvent("targets", f"must be an object with keys among {list(DEVICES)}")
    for device, url in value.items():
        if url is not None and not isinstance(url, str):
            raise BadEvent(f"targets.{device}", "must be a string")
        if url and len(url) > MAX_URL:
            raise BadEvent(f"targets.{device}", f"longer than {MAX_URL} characters")
    return {k: v for k, v in value.items() if v}


def normalise_time(value: str, name: str, bounded: bool = True) -> str:
    """ISO 8601 → UTC text as every table stores it (timestamps.text); `bounded`: inside every sink's range
    (rows already stored are not)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise BadEvent(name, f"not an ISO 8601 time: {value[:64]!r}") from None
    if bounded and not EARLIEST <= parsed <= LATEST:
        raise BadEvent(name, f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d %H:%M:%S} UTC")
    return timestamps.text(parsed)


def link_key(url: str) -> str:
    """`https://Yourdomain.com/Short?x` → `yourdomain.com/short` (the Go key: host + path, lowercased)."""
    text = url.strip()
    if "//" not in text:
        text = "//" + text
    parts = urlsplit(text)
    return (parts.netloc.lower() + parts.path.lower()).rstrip("/") if parts.path != "/" else parts.netloc.lower() + "/"


def key_from_url(url: str) -> str:
    """A checked key from a Go-style `urlfrom` (scheme, query and fragment dropped)."""
    if has_control_characters(url) or any(ch in url.strip() for ch in " \\"):
        raise BadEvent("urlfrom", "must not contain spaces, control characters or backslashes")
    try:
        key = link_key(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        raise BadEvent("urlfrom", "is not a URL") from None
    host, _, path = key.partition("/")
    if not path:
        raise BadEvent("urlfrom", "Bad URL (from path)")
    return f"{checked_host(host, 'urlfrom')}/{checked_slug(path, 'urlfrom')}"


def checked_host(host: str, field: str = "host") -> str:
    try:
        return normalise_host(host)
    except BadTarget as error:
        raise BadEvent(field, str(error)) from None


def checked_slug(slug: str, field: str = "slugfrom") -> str:
    """Lowercased path segments, each from the path-segment set (or a non-ASCII letter), none empty, . or .."""
    text = slug.strip("/").lower()
    if not text:
        raise BadEvent(field, "Bad URL (from path)")
    if len(text) > MAX_SLUG:
        raise BadEvent(field, f"longer than {MAX_SLUG} characters")
    for segment in text.split("/"):
        if segment in ("", ".", ".."):
            raise BadEvent(field, "path segments must not be empty, '.' or '..'")
        for ch in segment:
            if ch in SLUG_CHARACTERS or (not ch.isascii() and ch.isalnum()):
                continue
            raise BadEvent(field, f"may hold only letters, digits and -._~!$&'()*+,;=:@ (not {ch!r})")
    return text
