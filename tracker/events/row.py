"""The value map of one event → an `events` row (SPEC.md §3), plus the visitor ids the cookies must carry.

Typed columns are checked here: a value that cannot be stored raises BadEvent naming the field. Keys that are
not columns become `params` (values typed by coerce.param_value), except the Go exclude list. EventRows builds
the rows of one request (or one socket): what its events share (the request's columns, the time, the injected
params, what consent allows) is worked out once, not once per event.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from tracker.errors import BadEvent
from tracker.events.columns import EXCLUDED_FROM_PARAMS, UUID_ALIASES, UUID_COLUMN_SET
from tracker.events.fields import (
    MAX_ENCODED,
    MAX_TEXT,
    ParamTypes,
    as_text,
    clean_url,
    encoded,
    numbers,
    own_params,
    typed_params,
)
from tracker.events.ids import ZERO_UUID, IdBlock, parse_uuid
from tracker.events.inputs import RequestInfo
from tracker.events.shapes import NUMBER_KEYS, PRIVATE_HASHES, PRIVATE_SOURCES, UUID_KEYS, Shape, shape_of, text_columns
from tracker.privacy import hashing
from tracker.privacy.consent import Allowed, cflags_of, scrub
from tracker.privacy.rules import PrivacyRules
from tracker.privacy.storage import IPPolicy
from tracker.timestamps import now_text

new_tuple = tuple.__new__  # makes a NamedTuple without calling its Python __new__: half the cost, per event
INTERNAL_PATH = re.compile(r"^/tr/v\d+/(tr|img|pub|str|rdr|xrdr|ws)\b")


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
        self.is_server = is_server
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
        self._template = self._row_template()
        self.default_url: str | None = None
        if not is_server and not INTERNAL_PATH.match(info.path):
            self.default_url = clean_url(f"//{info.host}{info.path}", url_filter, url_filter_group)
        self.injected = {k: v for k, v in (injected_params or {}).items() if k not in EXCLUDED_FROM_PARAMS}
        self._injected_typed: dict[str, Any] | None = None
        self._param_types = ParamTypes()
        self._vid_text: Any = None
        self._vid: str | None = None
        self._sid_text: Any = None
        self._sid: str | None = None
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
        self._template = self._row_template()
        self._param_types.forget()

    def _row_template(self) -> dict[str, Any]:
        """What every row starts as: copying a dict that has the keys is cheaper than adding them one by one.
        No later step of `build` writes a key of `shared`, so they keep the request's values."""
        return {"eid": "", "created_at": self.created_at, "vid": "", "sid": "", **self.shared}

    def build(self, values: dict[str, Any], shape: Shape | None = None) -> tuple[dict[str, Any], Visitor]:
        """One event's row. `shape` is shapes.shape_of(values) when the caller knows it already; `values` is
        consumed when the shape is rare (aliases and hashes are added to it), else left as it is."""
        if shape is None:
            shape = shape_of(values)
        rare = shape.rare
        ids = self.ids
        fresh = ids.fresh
        eid = values.get("eid")
        row = self._template.copy()
        row["eid"] = (eid and parse_uuid(eid)) or (fresh.pop() if fresh else ids.more())
        text = values.get("vid")
        if text != self._vid_text:  # the events of a request nearly always name one visitor: parse it once
            self._vid_text, self._vid = text, parse_uuid(text)
        text = values.get("sid")
        if text != self._sid_text:  # and one session (a socket's, when its events name none)
            self._sid_text, self._sid = text, parse_uuid(text)
        vid, sid = self._vid, self._sid
        new_visitor, new_session = vid is None, sid is None
        if vid is None:
            vid = fresh.pop() if fresh else ids.more()
        if sid is None:
            sid = vid if new_visitor else fresh.pop() if fresh else ids.more()
        row["vid"], row["sid"] = vid, sid
        columns = shape.text
        if rare:
            if not UUID_KEYS.isdisjoint(values):
                for alias in UUID_ALIASES.keys() & values.keys():
                    values.setdefault(UUID_ALIASES[alias], values[alias])
                for column in UUID_COLUMN_SET & values.keys():
                    row[column] = parse_uuid(values[column]) or ZERO_UUID
            if "ename" not in values and isinstance(values.get("content"), str):
                values["ename"] = values.pop("content")
                columns = text_columns(values)
        for column, case in columns:
            value = values[column]
            if type(value) is not str:
                if value is None or isinstance(value, (dict, list)):
                    continue
                value = as_text(column, value)
            elif len(value) > MAX_TEXT:
                raise BadEvent(column, f"longer than {MAX_TEXT} characters")
            row[column] = value if case is None else case(value)

        if rare and not NUMBER_KEYS.isdisjoint(values):
            numbers(values, row)
        if shape.url and isinstance(url := values["url"], str):
            if len(url) > MAX_TEXT:
                raise BadEvent("url", f"longer than {MAX_TEXT} characters")
            row["url"] = clean_url(url, self.url_filter, self.url_filter_group)
        if rare and isinstance(last := values.get("last"), str):
            if len(last) > MAX_TEXT:
                raise BadEvent("last", f"longer than {MAX_TEXT} characters")
            row["last"] = clean_url(last, self.url_filter, self.url_filter_group)
        if "url" not in row and self.default_url is not None:
            row["url"] = self.default_url

        if rare and not PRIVATE_SOURCES.isdisjoint(values):
            for source, target in PRIVATE_HASHES:
                if isinstance(values.get(source), str) and values[source].strip():
                    values[target] = hashing.private_hash(self.private_prefix, values[source])
        own = values.get("params")
        if type(own) is dict:
            row["params"] = self._param_types.typed(own)
        elif own is None and self._injected_typed is not None:
            row["params"] = dict(self._injected_typed)
        else:
            row["params"] = self._params(own)
        if rare and isinstance(values.get("targets"), dict):
            if len(encoded("targets", values["targets"])) > MAX_ENCODED:
                raise BadEvent("targets", "larger than 512 KiB")
            row["targets"] = values["targets"]
        cookies = True
        privacy = self.privacy
        if privacy is not None:
            if self._consent_per_event:
                cookies = self._apply_privacy(privacy, row, values).analytics
            elif "tz" in row:  # consent "off" and no GeoIP: all PrivacyRules.apply can still do is this
                privacy.locate(row, self.info.client_ip)
        return row, new_tuple(Visitor, (vid, sid, new_visitor, new_session, cookies))

    def _params(self, own: Any) -> dict[str, Any]:
        params = own_params(own)
        if params is not None:
            return typed_params(params)
        if self._injected_typed is None:  # the request's query and path pairs: typed once, copied per row
            self._injected_typed = typed_params(self.injected)
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
