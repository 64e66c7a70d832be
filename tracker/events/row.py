"""The value map of one event → an `events` row (SPEC.md §3), plus the visitor ids the cookies must carry.

Typed columns are checked here: a value that cannot be stored raises BadEvent naming the field. Keys that are
not columns become `params` (values typed by coerce.param_value), except the Go exclude list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import orjson

from tracker.errors import BadEvent
from tracker.events import coerce
from tracker.events.ids import ZERO_UUID, new_id, parse_uuid
from tracker.events.inputs import RequestInfo
from tracker.privacy import hashing
from tracker.privacy.rules import PrivacyRules
from tracker.privacy.storage import IPPolicy
from tracker.timestamps import now_text

UUID_COLUMNS = ("oid", "uid", "tid", "auth_id", "rid", "invoice_id", "device_id", "ref")
UUID_ALIASES = {"did": "device_id", "auth": "auth_id", "invid": "invoice_id"}
TEXT_COLUMNS = [
    "org",
    "app",
    "rel",
    "ptyp",
    "xid",
    "split",
    "ename",
    "etyp",
    "sink",
    "source",
    "medium",
    "campaign",
    "content",
    "term",
    "aff",
    "arm_id",
    "mcid",
    "device",
    "os",
    "relation",
    "gaid",
    "idfa",
    "msid",
    "fbid",
    "culture",
    "rcode",
    "browser",
    "tz",
    "zip",
    "country",
    "region",
    "city",
    "ja4h",
]
UUID_COLUMN_SET = frozenset(UUID_COLUMNS)
TEXT_COLUMN_SET = frozenset(TEXT_COLUMNS)
LOWERCASE = frozenset(
    ["ename", "etyp", "ptyp", "source", "medium", "campaign", "term", "device", "os", "browser", "relation", "sink"]
)
MAX_TEXT = 8192
# Go's excludeFields: keys that never land in params (they are columns or private).
EXCLUDED_FROM_PARAMS = frozenset(
    [
        "uri",
        "hhash",
        "iphash",
        "cell",
        "chash",
        "email",
        "ehash",
        "uname",
        "acct",
        "first",
        "lat",
        "lon",
        "w",
        "h",
        "params",
        "eid",
        "tr",
        "time",
        "vid",
        "did",
        "sid",
        "app",
        "rel",
        "cflags",
        "created",
        "uid",
        "last",
        "url",
        "ip",
        "latlon",
        "ptyp",
        "bhash",
        "auth_id",
        "duration",
        "xid",
        "split",
        "etyp",
        "ver",
        "sink",
        "score",
        "gaid",
        "idfa",
        "msid",
        "fbid",
        "country",
        "region",
        "city",
        "zip",
        "culture",
        "ref",
        "aff",
        "arm_id",
        "mcid",
        "browser",
        "device",
        "os",
        "tz",
        "vp",
        "targets",
        "rid",
        "relation",
        "rcode",
        "ename",
        "source",
        "medium",
        "campaign",
        "term",
        "content",
        "v1",
        "oid",
        "org",
        "tid",
        "auth",
        "invid",
        "invoice_id",
        "ja4h",
        "uhash",
        "vp_w",
        "vp_h",
        "user",
    ]
)
INTERNAL_PATH = re.compile(r"^/tr/v\d+/(tr|img|pub|str|rdr|xrdr|ws)\b")


@dataclass(slots=True, frozen=True)
class Visitor:
    vid: str
    sid: str
    new_visitor: bool
    new_session: bool
    cookies: bool = True  # the visitor's consent allows the vid/sid cookies


def build(
    values: dict[str, Any],
    info: RequestInfo,
    ip_policy: IPPolicy,
    *,
    is_server: bool,
    url_filter: re.Pattern[str] | None = None,
    url_filter_group: int = 0,
    private_prefix: str = "",
    injected_params: dict[str, Any] | None = None,
    privacy: PrivacyRules | None = None,
) -> tuple[dict[str, Any], Visitor]:
    row: dict[str, Any] = {}
    row["eid"] = parse_uuid(values.get("eid")) or new_id()
    row["created_at"] = now_text()

    visitor = _visitor(values)
    row["vid"], row["sid"] = visitor.vid, visitor.sid
    present = values.keys()
    for alias in UUID_ALIASES.keys() & present:
        values.setdefault(UUID_ALIASES[alias], values[alias])
    for column in UUID_COLUMN_SET & values.keys():
        row[column] = parse_uuid(values[column]) or ZERO_UUID

    if "ename" not in values and isinstance(values.get("content"), str):
        values["ename"] = values.pop("content")
    for column in TEXT_COLUMN_SET & values.keys():
        value = values[column]
        if value is None or isinstance(value, (dict, list)):
            continue
        text = _text(column, value)
        row[column] = text.lower() if column in LOWERCASE else text
    if "country" in row:
        row["country"] = row["country"].upper()

    _numbers(values, row)
    for column in ("url", "last"):
        if isinstance(values.get(column), str):
            row[column] = _clean_url(_text(column, values[column]), url_filter, url_filter_group)
    if "url" not in row and not is_server and not INTERNAL_PATH.match(info.path):
        row["url"] = _clean_url(f"//{info.host}{info.path}", url_filter, url_filter_group)

    for source, target in (("email", "ehash"), ("cell", "chash"), ("uname", "uhash")):
        if isinstance(values.get(source), str) and values[source].strip():
            values[target] = hashing.private_hash(private_prefix, values[source])
    row["params"] = _params(values, injected_params)
    if isinstance(values.get("targets"), dict):
        if len(_encoded("targets", values["targets"])) > 64 * MAX_TEXT:
            raise BadEvent("targets", "larger than 512 KiB")
        row["targets"] = values["targets"]

    row["host"] = info.host
    row["hhash"] = hashing.short_hash(info.host) if info.host else ""
    if not is_server:
        row["ua"] = info.user_agent[:MAX_TEXT]
        row["bhash"] = hashing.short_hash(info.user_agent) if info.user_agent else ""
        row["referer"] = info.referer[:MAX_TEXT]
    row["ip"], row["iphash"] = ip_policy.apply(info.client_ip)
    if privacy is not None:
        allowed = privacy.apply(row, values, host=info.host, client_ip=info.client_ip, gpc=info.gpc, dnt=info.dnt)
        if not allowed.analytics:
            visitor = replace(visitor, cookies=False)
    return row, visitor


def _visitor(values: dict[str, Any]) -> Visitor:
    vid = parse_uuid(values.get("vid"))
    sid = parse_uuid(values.get("sid"))
    new_visitor = vid is None
    if vid is None:
        vid = new_id()
    new_session = sid is None
    if sid is None:
        sid = vid if new_visitor else new_id()
    return Visitor(vid, sid, new_visitor, new_session)


def _numbers(values: dict[str, Any], row: dict[str, Any]) -> None:
    cflags = values.get("cflags")
    if cflags is not None:
        # Go takes cflags only as a JSON number (or the cookie); text from a path or query is ignored.
        if isinstance(cflags, (int, float)) and not isinstance(cflags, bool):
            row["cflags"] = coerce.to_int("cflags", cflags)
        elif not isinstance(cflags, str):
            raise BadEvent("cflags", "expected an integer")
    if "duration" in values:
        row["duration"] = coerce.to_int("duration", values["duration"])
    if "ver" in values:
        row["ver"] = coerce.to_int("ver", values["ver"], bits=32)
    if "score" in values:
        row["score"] = coerce.to_float("score", values["score"])
    lat, lon = values.get("lat"), values.get("lon")
    if lat is not None or lon is not None:
        if lat is None or lon is None:
            raise BadEvent("lat" if lat is None else "lon", "lat and lon must be given together")
        row["lat"], row["lon"] = coerce.to_float("lat", lat), coerce.to_float("lon", lon)
        if not (-90 <= row["lat"] <= 90 and -180 <= row["lon"] <= 180):
            raise BadEvent("lat", "lat/lon out of range")
    for source, column in (("w", "vp_w"), ("h", "vp_h"), ("vp_w", "vp_w"), ("vp_h", "vp_h")):
        if source in values:
            row[column] = coerce.to_int(source, values[source])


def _params(values: dict[str, Any], injected: dict[str, Any] | None) -> dict[str, Any]:
    params = {k: v for k, v in (injected or {}).items() if k not in EXCLUDED_FROM_PARAMS}
    own = values.get("params")
    if isinstance(own, str) and own.strip():
        try:
            own = orjson.loads(own)
        except orjson.JSONDecodeError:
            raise BadEvent("params", "expected a JSON object") from None
    if own is not None and own != "":
        if not isinstance(own, dict):
            raise BadEvent("params", "expected a JSON object")
        params = dict(own)
    typed = {str(k): coerce.param_value(v) for k, v in params.items() if k not in EXCLUDED_FROM_PARAMS}
    if len(_encoded("params", typed)) > 64 * MAX_TEXT:
        raise BadEvent("params", "larger than 512 KiB")
    return typed


def _encoded(field: str, value: Any) -> bytes:
    """`value` as the spool will write it, or BadEvent naming `field`: orjson reads 1024 levels of nesting but
    writes only 254, so a deep value that parsed fine would otherwise fail after it was accepted."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise BadEvent(field, f"cannot be stored as JSON ({error}); nest at most 254 levels") from None


def _text(column: str, value: Any) -> str:
    text = value if isinstance(value, str) else _encoded(column, value).decode()
    if len(text) > MAX_TEXT:
        raise BadEvent(column, f"longer than {MAX_TEXT} characters")
    return text


def _clean_url(url: str, url_filter: re.Pattern[str] | None, group: int) -> str:
    if url_filter is not None:
        match = url_filter.search(url)
        if match:
            index = group if group > 0 else (match.re.groups or 0)
            kept = match.group(index) or ""
            return kept
    for scheme in ("https:", "http:"):
        if url[: len(scheme)].lower() == scheme:
            url = url[len(scheme) :]
            break
    return url.split("?", 1)[0].split("#", 1)[0]
