"""The reading contract, the same on every primary store: links, accounts and a link's visit statistics,
asked for by what they return, each store answering with its own queries (real DuckDB, real ClickHouse)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.services.clickhouse import ClickHouseServer
from tests.sinks.rows import event, stamp
from tracker.config import from_mapping
from tracker.redirects.accounts import Account, token_digest
from tracker.redirects.model import Redirect
from tracker.sinks.base import PrimaryStore, Sink
from tracker.sinks.registry import build_sinks

NOW = stamp(timedelta(minutes=1))
BROWSER, BOT = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120", "Googlebot/2.1 (+http://www.google.com/bot.html)"


@pytest.fixture(params=["duckdb", "clickhouse"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Sink]:
    if request.param == "duckdb":
        entry: dict[str, object] = {"Service": "duckdb", "Path": str(tmp_path / "t.duckdb")}
    else:
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        database: str = request.getfixturevalue("clickhouse_database")
        entry = {"Service": "clickhouse", "Hosts": [server.host], "Context": database}
    (sink,) = build_sinks(from_mapping({"Notify": [entry]}))
    await sink.open()
    yield sink
    await sink.close()


def link(key: str, target: str, *, deleted: bool = False) -> dict[str, object]:
    host, _, slug = key.partition("/")
    return Redirect(
        urlfrom=key, urlto=target, slug=slug, updater="alice", created_at=NOW, updated_at=NOW, deleted=deleted
    ).row()


def visit(key: str, *, ua: str = BROWSER, vid: str | None = None, age: timedelta = timedelta(hours=1), **more: object):
    return event(1, ename="short_rdr", link=key, ua=ua, vid=vid or str(uuid.uuid4()), created_at=stamp(age), **more)


async def test_links_and_accounts_are_loaded_one_row_per_key(store: Sink) -> None:
    assert isinstance(store, PrimaryStore)
    await store.write("redirects", [link("go.example/a", "https://a.example/1"), link("go.example/b", "https://b")])
    await store.write("redirects", [link("go.example/a", "https://a.example/2")])  # a newer version of /a
    await store.write("redirects", [link("go.example/b", "https://b", deleted=True)])
    await store.write("accounts", [Account("alice", "scrypt$x", (token_digest("t"),), NOW, NOW).row()])
    links = {row["urlfrom"]: row for row in await store.load_links()}
    assert sorted(links) == ["go.example/a", "go.example/b"]
    assert Redirect.from_row(links["go.example/a"]).urlto == "https://a.example/2"
    assert Redirect.from_row(links["go.example/b"]).deleted is True
    (account,) = await store.load_accounts()
    assert Account.from_row(account).uid == "alice" and Account.from_row(account).tokens == (token_digest("t"),)


async def test_link_stats_count_people_apart_from_bots_by_day_referrer_and_country(store: Sink) -> None:
    assert isinstance(store, PrimaryStore)
    me = str(uuid.uuid4())
    await store.write(
        "events",
        [
            visit("go.example/a", vid=me, referer="https://news.example/", country="DE"),
            visit("go.example/a", vid=me, referer="https://news.example/", country="DE"),
            visit("go.example/a", referer="https://mail.example/", country="FR"),
            visit("go.example/a", ua=BOT, referer="https://news.example/", country="US"),
            visit("go.example/a", age=timedelta(days=40), country="DE"),  # a person, before the 30 days by day
            visit("go.example/b"),
        ],
    )
    stats = await store.link_stats("go.example/a", days=30)
    assert (stats.link, stats.visits, stats.uniques, stats.bots) == ("go.example/a", 4, 3, 1)
    assert sum(day["visits"] for day in stats.by_day) == 3
    assert stats.referrers == [
        {"referer": "https://news.example/", "visits": 2},
        {"referer": "https://mail.example/", "visits": 1},
    ]
    assert stats.countries == [{"country": "DE", "visits": 3}, {"country": "FR", "visits": 1}]
    assert await store.visit_count("go.example/a") == 5 and await store.visit_count("go.example/none") == 0
    assert (await store.link_stats("go.example/none")).as_json() == {
        "link": "go.example/none",
        "visits": 0,
        "uniques": 0,
        "bots": 0,
        "by_day": [],
        "referrers": [],
        "countries": [],
    }
