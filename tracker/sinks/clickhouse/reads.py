"""The ClickHouse sink's answers as a primary store. Tables are ReplacingMergeTree: reads that must show one row
per key use FINAL. Values are bound client-side (`?`), as 18.16 has no server-side parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tracker.sinks.stats import BOT_PATTERN, TOP, LinkStats

Query = Callable[[str, Sequence[Any]], Awaitable[list[dict[str, Any]]]]

LINKS = "SELECT * FROM redirects FINAL"
ACCOUNTS = "SELECT * FROM accounts FINAL"
AGREEMENTS = "SELECT * FROM agreements FINAL WHERE vid = toUUID(?)"
JURISDICTIONS = "SELECT * FROM jurisdictions FINAL ORDER BY regulation, compliance, seq"
HITS = "FROM events WHERE ename = 'short_rdr' AND link = ?"
VISITS = f"SELECT count(*) AS visits {HITS}"
IS_BOT = f"match(lower(ua), '{BOT_PATTERN}')"


async def link_stats(query: Query, key: str, days: int) -> LinkStats:
    recent = f"created_at >= now() - INTERVAL {int(days)} DAY"
    people = f"{HITS} AND NOT {IS_BOT}"
    totals = await query(
        f"SELECT count(*) AS visits, sum(CASE WHEN {IS_BOT} THEN 1 ELSE 0 END) AS bots, "
        f"count(DISTINCT CASE WHEN {IS_BOT} THEN NULL ELSE vid END) AS uniques {HITS}",
        [key],
    )
    by_day = await query(
        f"SELECT toString(toDate(created_at)) AS day, count(*) AS visits {people} AND {recent} "
        "GROUP BY day ORDER BY day",
        [key],
    )
    referrers = await query(
        f"SELECT referer, count(*) AS visits {people} AND referer <> '' "
        f"GROUP BY referer ORDER BY visits DESC, referer LIMIT {TOP}",
        [key],
    )
    countries = await query(
        f"SELECT country, count(*) AS visits {people} AND country <> '' "
        f"GROUP BY country ORDER BY visits DESC, country LIMIT {TOP}",
        [key],
    )
    return LinkStats.from_rows(key, totals, by_day, referrers, countries)
