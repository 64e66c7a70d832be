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
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from tracker.errors import BadEvent

STATUSES = frozenset((301, 302, 303, 307, 308))
DEVICES = ("android", "ios", "desktop")
CODE_ALPHABET = string.ascii_lowercase + string.digits  # keys are lowercased, so codes are too
NIL_UUID = "00000000-0000-0000-0000-000000000000"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # the events table's format: sorts as text in time order


def now_text() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


@dataclass(frozen=True, slots=True)
class Redirect:
    urlfrom: str
    urlto: str
    slug: str = ""
    status: int = 0
    oid: str = NIL_UUID
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
                return value.replace(tzinfo=None).strftime(TIME_FORMAT)
            return normalise_time(str(value), name)

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
            oid=text("oid") or NIL_UUID,
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


def normalise_time(value: str, name: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise BadEvent(name, f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime(TIME_FORMAT)


def link_key(url: str) -> str:
    """`https://Yourdomain.com/Short?x` → `yourdomain.com/short` (the Go key: host + path, lowercased)."""
    text = url.strip()
    if "//" not in text:
        text = "//" + text
    parts = urlsplit(text)
    return (parts.netloc.lower() + parts.path.lower()).rstrip("/") if parts.path != "/" else parts.netloc.lower() + "/"


def random_code(length: int = 7) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def check_target(url: str, field_name: str) -> str:
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadEvent(field_name, "must be an absolute http(s) URL")
    if any(ch in text for ch in "\\\r\n\t "):
        raise BadEvent(field_name, "must not contain spaces, control characters or backslashes")
    return text


def build(
    fields: Mapping[str, Any],
    *,
    updater: str,
    domains: Sequence[str],
    default_host: str,
    existing: Redirect | None = None,
    taken: Mapping[str, Redirect] | None = None,
) -> Redirect:
    """A new or updated link from API fields, checked as the Go tracker checks (plus our own fields)."""
    merged: dict[str, Any] = existing.row() if existing else {}
    merged.update({k: v for k, v in fields.items() if v is not None})
    for name in ("urlfrom", "slugfrom", "slug", "urlto", "host"):
        if name in merged and not isinstance(merged[name], str):
            raise BadEvent(name, "must be a string")
    urlto = str(merged.get("urlto") or "").strip()
    if not urlto:
        raise BadEvent("urlto", "Bad URL (null)")
    urlto = check_target(urlto, "urlto")
    urlfrom = existing.urlfrom if existing else _urlfrom(merged, default_host, taken or {})
    if urlfrom == link_key(urlto):
        raise BadEvent("urlto", "Bad URL (equal)")
    target = urlsplit(urlto)
    if (target.hostname or "") in {d.lower() for d in domains} and "/rdr/" not in target.path:
        raise BadEvent("urlto", "Bad URL (self-referential)")
    path = urlfrom.split("/", 1)[1] if "/" in urlfrom else ""
    if len(path) < 1:
        raise BadEvent("urlfrom", "Bad URL (from path)")
    status = int(merged.get("status") or 0)
    if status and status not in STATUSES:
        raise BadEvent("status", f"must be one of {sorted(STATUSES)}")
    targets = merged.get("targets") or {}
    if not isinstance(targets, Mapping) or any(k not in DEVICES for k in targets):
        raise BadEvent("targets", f"must be an object with keys among {list(DEVICES)}")
    clean_targets = {k: check_target(str(v), f"targets.{k}") for k, v in targets.items() if v}
    tags = merged.get("tags") or []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise BadEvent("tags", "must be a list of strings")
    max_visits = merged.get("max_visits")
    if max_visits is not None and (not isinstance(max_visits, int) or isinstance(max_visits, bool) or max_visits < 1):
        raise BadEvent("max_visits", "must be a positive integer")
    since, until = (
        normalise_time(str(merged[n]), n) if merged.get(n) else None for n in ("valid_since", "valid_until")
    )
    if since and until and until <= since:
        raise BadEvent("valid_until", "must be after valid_since")
    oid = str(merged.get("oid") or NIL_UUID)
    try:
        uuid.UUID(oid)
    except ValueError:
        raise BadEvent("oid", "must be a UUID") from None
    stamp = now_text()
    link = Redirect(
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
        max_visits=max_visits,
        tags=tuple(tags),
        targets=clean_targets,
        crawlable=bool(merged.get("crawlable", False)),
        deleted=False,
    )
    return link


def _urlfrom(fields: Mapping[str, Any], default_host: str, taken: Mapping[str, Redirect]) -> str:
    if fields.get("urlfrom"):
        key = link_key(str(fields["urlfrom"]))
        if "/" not in key or key.endswith("/") and key.count("/") == 1:
            raise BadEvent("urlfrom", "Bad URL (from path)")
        return key
    host = str(fields.get("host") or default_host).strip().lower()
    if not host:
        raise BadEvent("host", "needed when urlfrom is not given (or configure Domains)")
    slug = str(fields.get("slugfrom") or fields.get("slug") or "").strip().strip("/").lower()
    if slug:
        if any(ch in slug for ch in "?#\\ ") or ".." in slug:
            raise BadEvent("slugfrom", "may not contain ?, #, spaces, backslashes or ..")
        return f"{host}/{slug}"
    for _ in range(20):
        key = f"{host}/{random_code()}"
        if key not in taken or taken[key].deleted:
            return key
    raise BadEvent("slugfrom", "could not find a free short code")


def deleted_copy(link: Redirect, updater: str) -> Redirect:
    return replace(link, deleted=True, updater=updater, updated_at=now_text())
