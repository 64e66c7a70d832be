"""The primary store's reads in SQL, written once: short links, accounts and visit statistics. A SQL sink gives
only its dialect (how it keeps one row per key, matches a pattern, subtracts days, names a day)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.sinks.stats import BOT_PATTERN, TOP, LinkStats

Query = Callable[[str, Sequence[Any]], Awaitable[list[dict[str, Any]]]]
HITS = "FROM events WHERE ename = 'short_rdr' AND link = ?"


@dataclass(slots=True, frozen=True)
class Dialect:
    latest: str  # after a table name: what makes a read show one row per key ("FINAL", or "")
    matches: str  # a regular-expression match, with {text} and {pattern}
    now: str  # the current time, comparable with created_at
    day: str  # created_at as "YYYY-MM-DD" text
    uuid: str  # a bound text parameter as a UUID, with {param}

    def is_bot(self) -> str:
        return self.matches.format(text="lower(ua)", pattern=f"'{BOT_PATTERN}'")


def links(dialect: Dialect) -> str:
    return f"SELECT * FROM redirects {dialect.latest}".strip()


def accounts(dialect: Dialect) -> str:
    return f"SELECT * FROM accounts {dialect.latest}".strip()


VISITS = f"SELECT count(*) AS visits {HITS}"


async def link_stats(query: Query, dialect: Dialect, key: str, days: int) -> LinkStats:
    is_bot = dialect.is_bot()
    recent = f"created_at >= {dialect.now} - INTERVAL {int(days)} DAY"
    people = f"{HITS} AND NOT {is_bot}"
    totals = await query(
        f"SELECT count(*) AS visits, sum(CASE WHEN {is_bot} THEN 1 ELSE 0 END) AS bots, "
        f"count(DISTINCT CASE WHEN {is_bot} THEN NULL ELSE vid END) AS uniques {HITS}",
        [key],
    )
    by_day = await query(
        f"SELECT {dialect.day} AS day, count(*) AS visits {people} AND {recent} GROUP BY day ORDER BY day",
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


class SqlPrimaryStore:
    """The PrimaryStore methods of a SQL sink, given its `query` and its `dialect`."""

    dialect: Dialect

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def load_links(self) -> list[dict[str, Any]]:
        return await self.query(links(self.dialect))

    async def load_accounts(self) -> list[dict[str, Any]]:
        return await self.query(accounts(self.dialect))

    async def link_stats(self, key: str, days: int = 30) -> LinkStats:
        return await link_stats(self.query, self.dialect, key, days)

    async def agreements(self, vid: str) -> list[dict[str, Any]]:
        uuid = self.dialect.uuid.format(param="?")
        return await self.query(f"SELECT * FROM agreements {self.dialect.latest} WHERE vid = {uuid}", [vid])

    async def jurisdictions(self) -> list[dict[str, Any]]:
        latest = self.dialect.latest
        return await self.query(f"SELECT * FROM jurisdictions {latest} ORDER BY regulation, compliance, seq")

    async def visit_count(self, key: str) -> int:
        rows = await self.query(VISITS, [key])
        return int(rows[0]["visits"]) if rows else 0
