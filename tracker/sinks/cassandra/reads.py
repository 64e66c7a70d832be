"""The Cassandra sink's answers as a primary store, within what CQL can answer: whole-table reads for links and
accounts, and a link's visits from one partition of `events_by_link` (which the sink fills beside every
short_rdr event), counted here, since CQL cannot group by day, referer or country."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.sinks.base import Row
from tracker.sinks.stats import BOT_PATTERN, TOP, LinkStats

LINK_TABLE = "events_by_link"
LINK_COLUMNS = ("link", "created_at", "eid", "vid", "ua", "referer", "country")
LINK_READ = ("created_at", "vid", "ua", "referer", "country")
IS_BOT = re.compile(BOT_PATTERN)


def is_link_hit(event: Row) -> bool:
    return bool(
        event.get("ename") == "short_rdr" and event.get("link") and event.get("created_at") and event.get("eid")
    )


def link_visit_row(event: Row) -> dict[str, Any]:
    """The `events_by_link` row of a short-link hit."""
    return {column: event.get(column) for column in LINK_COLUMNS}


def link_visit_rows(events: Iterable[Row]) -> list[dict[str, Any]]:
    """The `events_by_link` rows of the short-link hits among these events."""
    return [link_visit_row(event) for event in events if is_link_hit(event)]


def link_stats(key: str, visits: Sequence[Mapping[str, Any]], days: int, now: datetime | None = None) -> LinkStats:
    """What the SQL stores compute with GROUP BY, from the link's visit rows (created_at as datetimes)."""
    since = (now or datetime.now(UTC)).replace(tzinfo=None) - timedelta(days=int(days))
    bots = 0
    people: set[Any] = set()
    by_day: Counter[str] = Counter()
    referrers: Counter[str] = Counter()
    countries: Counter[str] = Counter()
    for visit in visits:
        if IS_BOT.search((visit.get("ua") or "").lower()):
            bots += 1
            continue
        if visit.get("vid") is not None:
            people.add(visit["vid"])
        created = _naive_utc(visit.get("created_at"))
        if created is not None and created >= since:
            by_day[created.strftime("%Y-%m-%d")] += 1
        if visit.get("referer"):
            referrers[visit["referer"]] += 1
        if visit.get("country"):
            countries[visit["country"]] += 1
    return LinkStats.from_rows(
        key,
        [{"visits": len(visits), "bots": bots, "uniques": len(people)}],
        [{"day": day, "visits": n} for day, n in sorted(by_day.items())],
        [{"referer": r, "visits": n} for r, n in _top(referrers)],
        [{"country": c, "visits": n} for c, n in _top(countries)],
    )


def _top(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def _naive_utc(value: Any) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
