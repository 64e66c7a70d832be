"""The rows the Go tracker writes beside an event (clickhouse.go, SPEC.md §3): hosts, outcomes, userhosts,
usernames, emails and cells from browser routes (IsServer=false); visitor_interests and, for an event with a
thread id (`tid`), the messaging tables mthreads, mstore, mtriage and impression_daily from every route.

Everything comes from the finished events row (typed, and already stripped of what consent does not allow) and
the request's values (for the hashes and the messaging fields). Nothing here raises: a bad messaging field is the
column's default, as in Go. Row keys are derived from the event id, so a replayed spool batch writes nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tracker.events.go_columns import MSTORE, MTHREADS, MTRIAGE, read_columns
from tracker.events.ids import ZERO_UUID
from tracker.events.inputs import RequestInfo
from tracker.privacy.consent import cflags_of
from tracker.privacy.rules import PrivacyRules
from tracker.records import Record

# Columns the events row holds already typed (and consent-checked): the messaging rows take them from there.
EVENT_OWNED = frozenset(
    ("vid", "sid", "uid", "oid", "org", "tid", "rid", "ref", "app", "rel", "ver", "ptyp", "etyp", "ename")
    + ("source", "medium", "campaign", "term", "aff", "xid", "split", "relation")
)
HASHES = (("usernames", "uhash"), ("emails", "ehash"), ("cells", "chash"))
IDENTITY_KEYS = frozenset(("outcome", "uhash", "ehash", "chash"))
TAG_KEYS = frozenset(("audience", "audience_tags", "content", "content_tags", "tags"))
# An event whose values hold none of these derives at most its `hosts` row, which is made of the request's host
# and the batch's time only: every such event of a batch derives the same rows (batch.build_batch shares them).
BEYOND_HOSTS = IDENTITY_KEYS | TAG_KEYS | {"uid", "tid"}


def derived_records(
    event: Mapping[str, Any],
    values: Mapping[str, Any],
    is_server: bool,
    privacy: PrivacyRules | None = None,
    info: RequestInfo | None = None,
) -> list[Record]:
    """The Go tables' rows for one built event. `privacy` and `info` decide the consent for the rows the events
    row cannot show it for (the identity hashes, interests); without them everything is allowed."""

    def personal() -> bool:  # asked only when a row needs it: most events write no such row
        if privacy is None:
            return True
        gpc, dnt = (info.gpc, info.dnt) if info is not None else (False, False)
        return privacy.consent.allowed(cflags_of(values), gpc=gpc, dnt=dnt).personalisation

    records: list[Record] = []
    if not is_server:
        records += _browser_rows(event, values, personal)
    if TAG_KEYS.intersection(values) and _known(event.get("oid")) and _known(event.get("vid")) and personal():
        interests = _interests(event, values)
        if interests is not None:
            records.append(Record("visitor_interests", interests))
    if _known(event.get("tid")):
        records += _messaging(event, values)
    return records


def _known(value: Any) -> bool:
    return isinstance(value, str) and value != ZERO_UUID


def _browser_rows(event: Mapping[str, Any], values: Mapping[str, Any], personal: Callable[[], bool]) -> list[Record]:
    hhash, created = event.get("hhash", ""), event["created_at"]
    rows: list[Record] = []
    if event.get("host"):
        rows.append(Record("hosts", {"hhash": hhash, "hostname": event["host"], "created_at": created}))
    if IDENTITY_KEYS.isdisjoint(values) and "uid" not in event:
        return rows  # the common page view: nothing else to write
    visitor = {"vid": event.get("vid", ZERO_UUID), "sid": event.get("sid", ZERO_UUID), "created_at": created}
    outcome = values.get("outcome")
    if isinstance(outcome, str) and outcome:
        row = {"eid": event["eid"], "hhash": hhash, "outcome": outcome, "sink": event.get("sink", "")}
        rows.append(Record("outcomes", {**row, "created": created[:10], "url": event.get("url", ""), "total": 1}))
    if _known(event.get("uid")):
        rows.append(Record("userhosts", {"hhash": hhash, "uid": event["uid"], **visitor}))
    hashes = [(table, column) for table, column in HASHES if isinstance(values.get(column), str) and values[column]]
    if hashes and personal():
        rows += [Record(table, {"hhash": hhash, column: values[column], **visitor}) for table, column in hashes]
    return rows


def tags(value: Any) -> list[str]:
    """Go's parseTagsFromValue: a JSON array of strings, or comma-separated text."""
    if isinstance(value, list):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


def _interests(event: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any] | None:
    """Go records a visitor's audience (who) and content (what) tags when the event has a vid, an oid and tags."""
    if not (_known(event.get("vid")) and _known(event.get("oid"))):
        return None
    audience = tags(values.get("audience")) or tags(values.get("audience_tags"))
    content = tags(values.get("content")) or tags(values.get("content_tags"))
    if not audience and not content:
        content = tags(values.get("tags"))
    everything = audience + content
    if not everything:
        return None
    created = event["created_at"]
    return {
        "eid": event["eid"],
        "vid": event["vid"],
        "uid": event.get("uid", ZERO_UUID),
        "oid": event["oid"],
        "org": event.get("org", ""),
        "audience_tags": audience,
        "audience_counts": dict.fromkeys(audience, 1),
        "content_tags": content,
        "content_counts": dict.fromkeys(content, 1),
        "interests": everything,
        "interest_counts": dict.fromkeys(everything, 1),
        "campaign_sources": {event.get("campaign", ""): {"audience": audience, "content": content}},
        "total_interactions": 1,
        "unique_campaigns": 1,
        **dict.fromkeys(("first_seen", "last_updated", "created_at", "updated_at", "location_updated_at"), created),
        "last_iphash": event.get("iphash", ""),
        "last_lat": event.get("lat", 0.0),
        "last_lon": event.get("lon", 0.0),
        **{f"last_{column}": event.get(column, "") for column in ("country", "region", "city", "zip")},
    }


def _messaging(event: Mapping[str, Any], values: Mapping[str, Any]) -> list[Record]:
    """One row per table for an event with a tid. Go also writes a second mthreads and mstore row per event from
    its campaign hook (with a fresh random message id); here each event is one message, keyed by its eid."""
    created, eid = event["created_at"], uuid.UUID(event["eid"])
    records = []
    for table, kinds in (("mthreads", MTHREADS), ("mstore", MSTORE), ("mtriage", MTRIAGE)):
        row = read_columns(kinds, values)
        for column in EVENT_OWNED & kinds.keys():
            row.pop(column, None)
            if column in event:
                row[column] = event[column]
        row.update(tid=event["tid"], oid=event.get("oid", ZERO_UUID), created_at=created, updated_at=created)
        if table != "mthreads":
            row["mid"] = str(uuid.uuid5(eid, table))
        if table == "mtriage":  # Go's triage defaults: urgent, kept
            row.setdefault("urgency", 8)
            row.setdefault("keep", True)
        records.append(Record(table, row))
    ename = event.get("ename", "")
    if ename and _known(event.get("oid")) and (ename == "conversion" or "score" in event):
        campaign_id = values.get("campaign_id")
        records.append(
            Record(
                "impression_daily",
                {
                    "oid": event["oid"],
                    "org": event.get("org", ""),
                    "tid": event["tid"],
                    "campaign_id": campaign_id if isinstance(campaign_id, str) else "",
                    "day": created[:10],
                    "variant_id": event.get("xid", ""),
                    "total_impressions": 1,
                    "anonymous_impressions": 1,
                    "identified_impressions": 0,
                    "unique_visitors": 1,
                    "conversions": int(ename == "conversion"),
                    "updated_at": created,
                },
            )
        )
    return records
