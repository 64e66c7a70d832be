"""Reads of short links, accounts and visit statistics from the primary store, in each store's SQL dialect.

The primary store is the first configured sink that can read. Writes never come through here: they go to
the spool like every other row, so every sink receives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

# Known bots, crawlers, link previewers and HTTP libraries: counted apart from people in visit statistics.
BOT_PATTERN = (
    "bot|crawl|spider|slurp|facebookexternalhit|embedly|preview|whatsapp|telegram|discord|slack|skype|"
    "headless|lighthouse|curl|wget|python-|httpx|go-http-client|java/|okhttp|libwww|monitor|uptime"
)


class ReadableStore(Protocol):
    name: str
    can_read: bool

    async def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...


def dialect(store: ReadableStore) -> str:
    return str(getattr(store, "dialect", "duckdb"))


def _final(store: ReadableStore) -> str:
    return " FINAL" if dialect(store) == "clickhouse" else ""


async def load_redirects(store: ReadableStore) -> list[dict[str, Any]]:
    return await store.query(f"SELECT * FROM redirects{_final(store)}")


async def load_accounts(store: ReadableStore) -> list[dict[str, Any]]:
    return await store.query(f"SELECT * FROM accounts{_final(store)}")


async def link_stats(store: ReadableStore, key: str, days: int = 30) -> dict[str, Any]:
    if dialect(store) == "clickhouse":
        is_bot, day, limit_day = (
            f"match(lower(ua), '{BOT_PATTERN}')",
            "toString(toDate(created_at))",
            f"created_at >= now() - INTERVAL {int(days)} DAY",
        )
    else:
        is_bot, day, limit_day = (
            f"regexp_matches(lower(ua), '{BOT_PATTERN}')",
            "strftime(CAST(created_at AS DATE), '%Y-%m-%d')",
            f"created_at >= now()::TIMESTAMP - INTERVAL {int(days)} DAY",
        )
    hits = "FROM events WHERE ename = 'short_rdr' AND link = ?"
    totals = await store.query(
        f"SELECT count(*) AS visits, sum(CASE WHEN {is_bot} THEN 1 ELSE 0 END) AS bots, "
        f"count(DISTINCT CASE WHEN {is_bot} THEN NULL ELSE vid END) AS uniques {hits}",
        [key],
    )
    by_day = await store.query(
        f"SELECT {day} AS day, count(*) AS visits {hits} AND NOT {is_bot} AND {limit_day} GROUP BY day ORDER BY day",
        [key],
    )
    referrers = await store.query(
        f"SELECT referer, count(*) AS visits {hits} AND NOT {is_bot} AND referer <> '' "
        "GROUP BY referer ORDER BY visits DESC, referer LIMIT 10",
        [key],
    )
    countries = await store.query(
        f"SELECT country, count(*) AS visits {hits} AND NOT {is_bot} AND country <> '' "
        "GROUP BY country ORDER BY visits DESC, country LIMIT 10",
        [key],
    )
    total = totals[0] if totals else {}
    visits, bots = int(total.get("visits") or 0), int(total.get("bots") or 0)
    return {
        "link": key,
        "visits": visits - bots,
        "uniques": int(total.get("uniques") or 0),
        "bots": bots,
        "by_day": [{"day": str(r["day"]), "visits": int(r["visits"])} for r in by_day],
        "referrers": [{"referer": r["referer"], "visits": int(r["visits"])} for r in referrers],
        "countries": [{"country": r["country"], "visits": int(r["visits"])} for r in countries],
    }


async def visit_count(store: ReadableStore, key: str) -> int:
    rows = await store.query("SELECT count(*) AS visits FROM events WHERE ename = 'short_rdr' AND link = ?", [key])
    return int(rows[0]["visits"]) if rows else 0
