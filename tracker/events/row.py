"""The value map of one event → an `events` row (SPEC.md §3), plus the visitor ids the cookies must carry.

Typed columns are checked here: a value that cannot be stored raises BadEvent naming the field. Keys that are
not columns become `params` (values typed by coerce.param_value), except the Go exclude list. EventRows builds
the rows of one request (or one socket): what its events share (the request's columns, the time, the injected
params, what consent allows) is worked out once, not once per event.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import orjson

from tracker.errors import BadEvent
from tracker.events import coerce
from tracker.events.columns import (
    EXCLUDED_FROM_PARAMS,
    LOWERCASE,
    TEXT_COLUMN_SET,
    UUID_ALIASES,
    UUID_COLUMN_SET,
)
from tracker.events.ids import ZERO_UUID, IdBlock, parse_uuid
from tracker.events.inputs import RequestInfo
from tracker.privacy import hashing
from tracker.privacy.consent import Allowed, cflags_of, scrub
from tracker.privacy.rules import PrivacyRules
from tracker.privacy.storage import IPPolicy
from tracker.timestamps import now_text

MAX_TEXT = 8192
MAX_ENCODED = 64 * MAX_TEXT
INTERNAL_PATH = re.compile(r"^/tr/v\d+/(tr|img|pub|str|rdr|xrdr|ws)\b")
NUMBER_KEYS = frozenset(("cflags", "duration", "ver", "score", "lat", "lon", "w", "h", "vp_w", "vp_h"))
PRIVATE_HASHES = (("email", "ehash"), ("cell", "chash"), ("uname", "uhash"))
PRIVATE_SOURCES = frozenset(source for source, _ in PRIVATE_HASHES)
UUID_KEYS = UUID_COLUMN_SET | UUID_ALIASES.keys()
RARE_KEYS = UUID_KEYS | NUMBER_KEYS | PRIVATE_SOURCES | {"content", "last", "targets"}


class Visitor(NamedTuple):
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
    """One event's row; `values` is consumed (aliases and hashes are added to it)."""
    rows = EventRows(
        info,
        ip_policy,
        is_server=is_server,
        url_filter=url_filter,
        url_filter_group=url_filter_group,
        private_prefix=private_prefix,
        injected_params=injected_params,
        privacy=privacy,
    )
    return rows.build(values)


class EventRows:
    """The rows of one request's events (or one socket's): `build` one value map at a time."""

    def __init__(
        self,
        info: RequestInfo,
        ip_policy: IPPolicy,
        *,
        is_server: bool,
        url_filter: re.Pattern[str] | None = None,
        url_filter_group: int = 0,
        private_prefix: str = "",
        injected_params: dict[str, Any] | None = None,
        privacy: PrivacyRules | None = None,
    ) -> None:
        self.info = info
        self.url_filter = url_filter
        self.url_filter_group = url_filter_group
        self.private_prefix = private_prefix
        self.privacy = privacy
        self.ids = IdBlock(1)
        self.created_at = now_text()
        shared: dict[str, Any] = {"host": info.host, "hhash": hashing.short_hash(info.host) if info.host else ""}
        if not is_server:
            shared["ua"] = info.user_agent[:MAX_TEXT]
            shared["bhash"] = hashing.short_hash(info.user_agent) if info.user_agent else ""
            shared["referer"] = info.referer[:MAX_TEXT]
        shared["ip"], shared["iphash"] = ip_policy.apply(info.client_ip)
        self.shared = shared  # the request's own columns, the same in every row
        self.default_url: str | None = None
        if not is_server and not INTERNAL_PATH.match(info.path):
            self.default_url = _clean_url(f"//{info.host}{info.path}", url_filter, url_filter_group)
        self.injected = {k: v for k, v in (injected_params or {}).items() if k not in EXCLUDED_FROM_PARAMS}
        self._injected_typed: dict[str, Any] | None = None
        self._vid_text: Any = None
        self._vid: str | None = None
        self._allowed: dict[int | None, Allowed] = {}
        self._check_account = privacy is not None and bool(privacy.consent.account_mixer)
        self._fixed: Allowed | None = None  # consent mode "off": the same for every event of the request
        if privacy is not None and privacy.consent.mode == "off":
            self._fixed = privacy.consent.allowed(None, gpc=info.gpc, dnt=info.dnt)
        self._consent_per_event = privacy is not None and (
            self._check_account or privacy.geo is not None or self._fixed is None or not self._fixed.everything
        )

    def new_batch(self, events: int) -> None:
        """The next `events` events (a request's, or a socket message's): one time, their ids made together."""
        self.created_at = now_text()
        self.ids = IdBlock(2 * events)  # an eid and a session id each, for events that name their visitor

    def build(self, values: dict[str, Any]) -> tuple[dict[str, Any], Visitor]:
        """One event's row; `values` is consumed (aliases and hashes are added to it)."""
        take = self.ids.take
        eid = values.get("eid")
        row: dict[str, Any] = {"eid": (eid and parse_uuid(eid)) or take(), "created_at": self.created_at}
        rare = not RARE_KEYS.isdisjoint(values)  # most events have none of these: one check skips them all
        text = values.get("vid")
        if text != self._vid_text:  # the events of a request nearly always name one visitor: parse it once
            self._vid_text, self._vid = text, parse_uuid(text)
        vid, sid = self._vid, values.get("sid")
        if sid is not None:
            sid = parse_uuid(sid)
        new_visitor, new_session = vid is None, sid is None
        if vid is None:
            vid = take()
        if sid is None:
            sid = vid if new_visitor else take()
        row["vid"], row["sid"] = vid, sid
        if rare and not UUID_KEYS.isdisjoint(values):
            for alias in UUID_ALIASES.keys() & values.keys():
                values.setdefault(UUID_ALIASES[alias], values[alias])
            for column in UUID_COLUMN_SET & values.keys():
                row[column] = parse_uuid(values[column]) or ZERO_UUID

        if rare and "ename" not in values and isinstance(values.get("content"), str):
            values["ename"] = values.pop("content")
        for column in TEXT_COLUMN_SET & values.keys():
            value = values[column]
            if type(value) is str:
                if len(value) > MAX_TEXT:
                    raise BadEvent(column, f"longer than {MAX_TEXT} characters")
                text = value
            elif value is None or isinstance(value, (dict, list)):
                continue
            else:
                text = _text(column, value)
            row[column] = text.lower() if column in LOWERCASE else text
        if "country" in row:
            row["country"] = row["country"].upper()

        if rare and not NUMBER_KEYS.isdisjoint(values):
            _numbers(values, row)
        for column in ("url", "last") if rare else ("url",):
            value = values.get(column)
            if isinstance(value, str):
                if len(value) > MAX_TEXT:
                    raise BadEvent(column, f"longer than {MAX_TEXT} characters")
                row[column] = _clean_url(value, self.url_filter, self.url_filter_group)
        if "url" not in row and self.default_url is not None:
            row["url"] = self.default_url

        if rare and not PRIVATE_SOURCES.isdisjoint(values):
            for source, target in PRIVATE_HASHES:
                if isinstance(values.get(source), str) and values[source].strip():
                    values[target] = hashing.private_hash(self.private_prefix, values[source])
        own = values.get("params")
        if type(own) is dict:
            row["params"] = _typed_params(own)
        elif own is None and self._injected_typed is not None:
            row["params"] = dict(self._injected_typed)
        else:
            row["params"] = self._params(own)
        if rare and isinstance(values.get("targets"), dict):
            if len(_encoded("targets", values["targets"])) > MAX_ENCODED:
                raise BadEvent("targets", "larger than 512 KiB")
            row["targets"] = values["targets"]
        row.update(self.shared)
        cookies = True
        privacy = self.privacy
        if privacy is not None:
            if self._consent_per_event:
                cookies = self._apply_privacy(privacy, row, values).analytics
            elif "tz" in row:  # consent "off" and no GeoIP: all PrivacyRules.apply can still do is this
                privacy.locate(row, self.info.client_ip)
        return row, Visitor(vid, sid, new_visitor, new_session, cookies)

    def _params(self, own: Any) -> dict[str, Any]:
        params = _own_params(own)
        if params is not None:
            return _typed_params(params)
        if self._injected_typed is None:  # the request's query and path pairs: typed once, copied per row
            self._injected_typed = _typed_params(self.injected)
        return dict(self._injected_typed)

    def _apply_privacy(self, privacy: PrivacyRules, row: dict[str, Any], values: dict[str, Any]) -> Allowed:
        """PrivacyRules.apply, with what consent allows worked out once per cflags value of the request."""
        info = self.info
        if self._check_account:
            privacy.consent.check_account(values, info.host)
        if privacy.geo is not None or "tz" in row:
            privacy.locate(row, info.client_ip)
        allowed = self._fixed
        if allowed is None:
            cflags = cflags_of(values)
            allowed = self._allowed.get(cflags)
            if allowed is None:
                allowed = self._allowed[cflags] = privacy.consent.allowed(cflags, gpc=info.gpc, dnt=info.dnt)
        if not allowed.everything:
            scrub(row, allowed)
        return allowed


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


def _own_params(own: Any) -> dict[str, Any] | None:
    """The event's own `params` (a JSON object, or its text), or None when it names none."""
    if isinstance(own, str) and own.strip():
        try:
            own = orjson.loads(own)
        except orjson.JSONDecodeError:
            raise BadEvent("params", "expected a JSON object") from None
    if own is None or own == "":
        return None
    if not isinstance(own, dict):
        raise BadEvent("params", "expected a JSON object")
    return own


def _typed_params(params: dict[Any, Any]) -> dict[str, Any]:
    typed = {str(k): coerce.param_value(v) for k, v in params.items() if k not in EXCLUDED_FROM_PARAMS}
    if len(_encoded("params", typed)) > MAX_ENCODED:
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
    scheme = url[:6].lower()
    if scheme == "https:":
        url = url[6:]
    elif scheme[:5] == "http:":
        url = url[5:]
    return url.partition("?")[0].partition("#")[0]
