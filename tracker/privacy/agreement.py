"""A consent record (POST /ppi/agree) → the row written to both `agreements` (the visitor's current consent)
and `agreed` (its history, one row per record), in the Go columns (SPEC.md §4).

The body is not lowercased (Go keeps it as sent); the country comes from `tz`, then GeoIP, unless the client
says it. The client IP is stored as IPStorage says, like an event's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracker.errors import BadEvent
from tracker.events import coerce
from tracker.events.ids import ZERO_UUID, new_id, parse_uuid
from tracker.events.inputs import RequestInfo
from tracker.privacy.hashing import short_hash
from tracker.privacy.rules import PrivacyRules
from tracker.privacy.storage import IPPolicy
from tracker.timestamps import now_text

UUID_COLUMNS = ("sid", "uid", "avid", "owner", "oid", "ref")
TEXT_COLUMNS = (
    "app",
    "rel",
    "url",
    "gaid",
    "idfa",
    "msid",
    "fbid",
    "country",
    "region",
    "city",
    "culture",
    "source",
    "medium",
    "campaign",
    "term",
    "rcode",
    "aff",
    "browser",
    "device",
    "os",
    "tz",
    "zip",
    "org",
)
MAX_TEXT = 8192


def build(
    values: Mapping[str, Any], info: RequestInfo, ip_policy: IPPolicy, rules: PrivacyRules
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(agreements row, agreed row) for one consent body; BadEvent names the field that cannot be stored."""
    values = {str(k).lower().removeprefix("utm_"): v for k, v in values.items() if v is not None}
    vid = parse_uuid(values.get("vid")) or parse_uuid(info.cookies.get("vid"))
    if vid is None:
        raise BadEvent("vid", "Bad request (data): a visitor id (UUID) is required")
    now = now_text()
    row: dict[str, Any] = {"vid": vid, "created_at": now, "updated_at": now}
    cflags = values.get("cflags", 0)
    if isinstance(cflags, bool) or not isinstance(cflags, (int, float, str)):
        raise BadEvent("cflags", "Bad request (data): expected an integer")
    row["cflags"] = coerce.to_int("cflags", cflags)
    for column in UUID_COLUMNS:
        if column in values:
            row[column] = parse_uuid(values[column]) or ZERO_UUID
    for column in TEXT_COLUMNS:
        value = values.get(column)
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise BadEvent(column, "Bad request (data): expected a string")
        text = str(value)
        if len(text) > MAX_TEXT:
            raise BadEvent(column, f"Bad request (data): longer than {MAX_TEXT} characters")
        row[column] = text
    if "country" in row:
        row["country"] = row["country"].upper()
    for source, column in (("w", "vp_w"), ("h", "vp_h"), ("vp_w", "vp_w"), ("vp_h", "vp_h")):
        if source in values:
            row[column] = coerce.to_int(source, values[source])
    if values.get("lat") is not None and values.get("lon") is not None:
        row["lat"], row["lon"] = coerce.to_float("lat", values["lat"]), coerce.to_float("lon", values["lon"])
    row["hhash"] = short_hash(info.host) if info.host else ""
    if info.user_agent:
        row["bhash"] = short_hash(info.user_agent)
    row["ip"], row["iphash"] = ip_policy.apply(info.client_ip)
    rules.locate(row, info.client_ip)
    return row, {**row, "id": new_id()}
