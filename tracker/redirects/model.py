"""A short link (one `redirects` row), how its key is normalised, and the checks a new link must pass.

The key (`urlfrom`) is lower(host) + lower(path), no scheme and no query, as in the Go tracker; a link
answers with its own status or the configured default, to a per-device target when one matches.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from tracker import timestamps
from tracker.errors import BadEvent
from tracker.events.ids import ZERO_UUID
from tracker.redirects.fields import (
    admin_fields,
    checked_host,
    checked_slug,
    key_from_url,
    link_key,
    normalise_time,
)
from tracker.redirects.targets import BadTarget, normalise_target, tracked_hop
from tracker.timestamps import now_text

STATUSES = frozenset((301, 302, 303, 307, 308))
CODE_ALPHABET = string.ascii_lowercase + string.digits  # keys are lowercased, so codes are too


@dataclass(frozen=True, slots=True)
class Redirect:
    urlfrom: str
    urlto: str
    slug: str = ""
    status: int = 0
    oid: str = ZERO_UUID
    org: str = ""
    updater: str = ""
    created_at: str = ""
    updated_at: str = ""
    valid_since: str | None = None
    valid_until: str | None = None
    max_visits: int | None = None
    tags: tuple[str, ...] = ()
    targets: Mapping[str, str] = field(default_factory=dict)
    crawlable: bool = False
    deleted: bool = False

    @property
    def host(self) -> str:
        return self.urlfrom.split("/", 1)[0]

    @property
    def path(self) -> str:
        return "/" + self.urlfrom.split("/", 1)[1] if "/" in self.urlfrom else "/"

    def live_at(self, moment: str) -> bool:
        """Valid now: not deleted and inside [valid_since, valid_until] (ISO text compares in time order)."""
        if self.deleted:
            return False
        if self.valid_since and moment < self.valid_since:
            return False
        return not (self.valid_until and moment > self.valid_until)

    def target_for(self, user_agent: str) -> str:
        if self.targets:
            device = device_of(user_agent)
            if self.targets.get(device):
                return self.targets[device]
        return self.urlto

    def row(self) -> dict[str, Any]:
        values = asdict(self)
        values["tags"] = list(self.tags)
        values["targets"] = dict(self.targets)
        return values

    def public(self) -> dict[str, Any]:
        return {**self.row(), "host": self.host, "path": self.path}

    @classmethod
    def from_row(cls, values: Mapping[str, Any]) -> Redirect:
        def text(name: str) -> str:
            value = values.get(name)
            return "" if value is None else str(value)

        def moment(name: str) -> str | None:
            value = values.get(name)
            if value in (None, ""):
                return None
            if isinstance(value, datetime):
                return timestamps.text(value)
            return normalise_time(str(value), name, bounded=False)

        tags, targets = values.get("tags") or [], values.get("targets") or {}
        if isinstance(tags, str):
            tags = orjson.loads(tags or "[]")
        if isinstance(targets, str):
            targets = orjson.loads(targets or "{}")
        return cls(
            urlfrom=text("urlfrom"),
            urlto=text("urlto"),
            slug=text("slug"),
            status=int(values.get("status") or 0),
            oid=text("oid") or ZERO_UUID,
            org=text("org"),
            updater=text("updater"),
            created_at=moment("created_at") or "",
            updated_at=moment("updated_at") or "",
            valid_since=moment("valid_since"),
            valid_until=moment("valid_until"),
            max_visits=int(values["max_visits"]) if values.get("max_visits") not in (None, "") else None,
            tags=tuple(str(t) for t in tags),
            targets={str(k): str(v) for k, v in dict(targets).items()},
            crawlable=bool(values.get("crawlable")),
            deleted=bool(values.get("deleted")),
        )


def device_of(user_agent: str) -> str:
    agent = user_agent.lower()
    if "android" in agent:
        return "android"
    if "iphone" in agent or "ipad" in agent or "ipod" in agent:
        return "ios"
    return "desktop"


def random_code(length: int = 7) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def checked_target(url: str, field_name: str, api_prefix: str) -> str:
    """The target as a URI (targets.normalise_target); a hop through our own /rdr/ must wrap a valid target too."""
    try:
        target = normalise_target(url)
    except BadTarget as error:
        raise BadEvent(field_name, str(error)) from None
    hop = tracked_hop(target, api_prefix)
    if hop is not None:
        try:
            normalise_target(hop[0])
        except BadTarget as error:
            raise BadEvent(field_name, f"the url inside the /rdr/ hop {error}") from None
    return target


def build(
    fields: Mapping[str, Any],
    *,
    updater: str,
    domains: Sequence[str],
    default_host: str,
    existing: Redirect | None = None,
    taken: Mapping[str, Redirect] | None = None,
    api_prefix: str = "/tr/v1",
) -> Redirect:
    """A new or updated link from API fields, checked as the Go tracker checks (plus our own fields and bounds)."""
    given = admin_fields(fields)
    merged: dict[str, Any] = existing.row() if existing else {}
    merged.update(given)
    urlto = str(merged.get("urlto") or "").strip()
    if not urlto:
        raise BadEvent("urlto", "Bad URL (null)")
    urlto = checked_target(urlto, "urlto", api_prefix)
    urlfrom = existing.urlfrom if existing else _urlfrom(given, default_host, taken or {})
    if urlfrom == link_key(urlto):
        raise BadEvent("urlto", "Bad URL (equal)")
    target = urlsplit(urlto)
    if (target.hostname or "") in {d.lower() for d in domains} and tracked_hop(urlto, api_prefix) is None:
        raise BadEvent("urlto", "Bad URL (self-referential)")
    status = int(merged.get("status") or 0)
    if status and status not in STATUSES:
        raise BadEvent("status", f"must be one of {sorted(STATUSES)}")
    clean_targets = {k: checked_target(v, f"targets.{k}", api_prefix) for k, v in (merged.get("targets") or {}).items()}
    since, until = (normalise_time(merged[n], n) if merged.get(n) else None for n in ("valid_since", "valid_until"))
    if since and until and until <= since:
        raise BadEvent("valid_until", "must be after valid_since")
    oid = str(merged.get("oid") or ZERO_UUID)
    try:
        uuid.UUID(oid)
    except ValueError:
        raise BadEvent("oid", "must be a UUID") from None
    stamp = now_text()
    return Redirect(
        urlfrom=urlfrom,
        urlto=urlto,
        slug=urlfrom.split("/", 1)[1],
        status=status,
        oid=oid,
        org=str(merged.get("org") or ""),
        updater=updater,
        created_at=existing.created_at if existing else stamp,
        updated_at=stamp,
        valid_since=since,
        valid_until=until,
        max_visits=merged.get("max_visits"),
        tags=tuple(merged.get("tags") or ()),
        targets=clean_targets,
        crawlable=bool(merged.get("crawlable", False)),
        deleted=False,
    )


def _urlfrom(fields: Mapping[str, Any], default_host: str, taken: Mapping[str, Redirect]) -> str:
    if fields.get("urlfrom"):
        return key_from_url(fields["urlfrom"])
    given_host = fields.get("host") or default_host
    if not given_host.strip():
        raise BadEvent("host", "needed when urlfrom is not given (or configure Domains)")
    host = checked_host(given_host)
    slug = fields.get("slugfrom") or fields.get("slug") or ""
    if slug:
        return f"{host}/{checked_slug(slug, 'slugfrom' if fields.get('slugfrom') else 'slug')}"
    for _ in range(20):
        key = f"{host}/{random_code()}"
        if key not in taken or taken[key].deleted:
            return key
    raise BadEvent("slugfrom", "could not find a free short code")


def deleted_copy(link: Redirect, updater: str) -> Redirect:
    return replace(link, deleted=True, updater=updater, updated_at=now_text())
