"""The ClickHouse sink against a real ClickHouse server (Debian 18.16), and its schema and insert bodies
against current ClickHouse, in process (chdb-core 26.x): every table the tracker writes, with its values."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.sink_duckdb import event
from tests.harness import free_port
from tests.services.clickhouse import ClickHouseServer, sink_for
from tracker.config import from_mapping
from tracker.redirects.accounts import Account, token_digest
from tracker.redirects.model import Redirect
from tracker.sinks.base import PermanentSinkError, TransientSinkError
from tracker.sinks.clickhouse.encode import encode
from tracker.sinks.clickhouse.sink import ClickHouseSink
from tracker.sinks.clickhouse.sql import bind, statements
from tracker.sinks.schema import schema_files

TABLES = {"events", "redirects", "redirect_history", "accounts", "payments", "ltv", "agreements", "agreed"}
TABLES |= {"jurisdictions"}
VIEWS = {"visitors", "sessions", "hits", "ips", "reqs", "dailies", "browsers", "referrers", "counters", "ltvu", "ltvv"}
KEYS = {"events": "eid", "redirects": "urlfrom", "redirect_history": "id", "accounts": "uid", "payments": "id"}
KEYS |= {"ltv": "payment_id, id", "agreements": "vid", "agreed": "id", "jurisdictions": "regulation"}
STAMP = "2026-03-04 05:06:07.890"  # the tracker's UTC text (events and the control plane)
STAMP_UNIX = int(datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp())
CHDB_SETTINGS = "SETTINGS input_format_skip_unknown_fields=1, date_time_input_format='best_effort'"


def samples() -> dict[str, list[dict[str, Any]]]:
    """One or more rows per table, in the shapes the tracker's builders produce (amounts in every form)."""
    oid, vid, uid, sid, pay1, pay2 = (str(uuid.uuid4()) for _ in range(6))
    detailed: dict[str, Any] = {
        **event(),
        "vid": vid,
        "sid": sid,
        "uid": uid,
        "cflags": 1024,
        "score": 1.5,
        "duration": 1200,
    }
    detailed |= {"lat": 52.52, "lon": 13.4, "country": "DE", "targets": {"variant": "b"}, "xid": "exp-1"}
    link = Redirect(
        urlfrom="go.example/sale",
        urlto="https://shop.example/sale?x=1",
        slug="sale",
        status=301,
        oid=oid,
        updater="alice",
        created_at=STAMP,
        updated_at=STAMP,
        valid_since=STAMP,
        max_visits=100,
        tags=("spring", "mail"),
        targets={"ios": "https://apps.example/ios"},
        crawlable=True,
    ).row()
    history: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "urlfrom": "go.example/sale",
        "hostfrom": "go.example",
        "slugfrom": "sale",
    }
    history |= {"urlto": "https://shop.example/sale?x=1", "hostto": "shop.example", "pathto": "/sale"}
    history |= {"searchto": "x=1", "action": "create", "updater": "alice", "oid": oid, "created_at": STAMP}
    history |= {"updated_at": STAMP}
    account = Account("alice", "scrypt$16384$8$1$c2FsdA$ZGln", (token_digest("t1"),), STAMP, STAMP).row()
    payment: dict[str, Any] = {
        "id": pay1,
        "oid": oid,
        "org": "acme",
        "uid": uid,
        "vid": vid,
        "sid": sid,
        "product": "Widget",
    }
    payment |= {"qty": 2, "duration": 2592000, "starts": STAMP, "ends": None, "currency": "EUR", "country": "DE"}
    payment |= {"price": "12.50", "revenue": Decimal("25.0000"), "tax": 2.5, "discount": None, "total": 27}
    payment |= {"paid_at": datetime(2026, 3, 4, 9, tzinfo=timezone(timedelta(hours=2))), "created_at": STAMP}
    payment |= {"updated_at": STAMP}
    ltv: list[dict[str, Any]] = [
        {"payment_id": pay1, "hhash": "h1", "id": uid, "id_type": "uid", "paid": "25.00"},
        {"payment_id": pay2, "hhash": "h1", "id": uid, "id_type": "uid", "paid": Decimal("10.5")},
        {"payment_id": pay1, "hhash": "h1", "id": vid, "id_type": "vid", "paid": 25},
    ]
    for row in ltv:
        row.update(oid=oid, created_at=STAMP, updated_at=STAMP)
    agreement: dict[str, Any] = {
        "vid": vid,
        "created_at": STAMP,
        "updated_at": STAMP,
        "cflags": 1024,
        "sid": sid,
        "uid": uid,
    }
    agreement |= {"hhash": "h1", "url": "//shop.example/privacy", "ip": "203.0.113.9", "iphash": "abc"}
    agreement |= {"country": "DE", "source": "mail", "vp_w": 1280, "vp_h": 720, "lat": 52.5, "owner": uid}
    jurisdiction: dict[str, Any] = {
        "regulation": "gdpr",
        "compliance": "opt-in",
        "seq": 1,
        "rules": {"cflags": 1024, "bar": True},
    }
    jurisdiction |= {"locs": ["DE", "FR"], "created_at": STAMP, "updated_at": STAMP}
    return {
        "events": [event(), detailed],
        "redirects": [link],
        "redirect_history": [history],
        "accounts": [account],
        "payments": [payment],
        "ltv": ltv,
        "agreements": [agreement],
        "agreed": [{**agreement, "id": str(uuid.uuid4())}],
        "jurisdictions": [jurisdiction],
    }


def same(sent: Any, got: Any) -> bool:
    """Whether ClickHouse gave back what the tracker sent: times to the second in UTC, JSON as text."""
    if sent is None:
        return got is None
    if isinstance(sent, bool):
        return int(got) == int(sent)
    if isinstance(sent, dict | list):
        return bool(orjson.loads(got) == sent)
    if isinstance(sent, datetime):
        sent = sent.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(got, datetime):
        got = got.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(sent, int | float | Decimal) or isinstance(got, int | float | Decimal):
        return Decimal(str(sent)) == Decimal(str(got))  # amounts sent as text come back as numbers
    if isinstance(sent, str) and len(sent) == len(STAMP) and sent[13] == ":":
        sent = sent[:19]
    return str(got) == str(sent)


def differences(table: str, sent: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[Any]:
    assert len(got) == len(sent), f"{table}: {len(got)} rows stored of {len(sent)}"
    found = []
    for row, stored in zip(sent, got, strict=True):
        found += [(table, k, v, stored.get(k)) for k, v in row.items() if not same(v, stored.get(k))]
    return found


def order_by(table: str) -> str:
    """Keys as text: ClickHouse orders UUIDs by their two 64-bit halves, not as text."""
    return ", ".join(f"toString({key.strip()})" for key in KEYS[table].split(","))


def in_key_order(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(str(row[k.strip()]) for k in KEYS[table].split(",")))


async def test_schema_auto_creates_every_table_and_view(
    sink: ClickHouseSink, clickhouse_server: ClickHouseServer
) -> None:
    names = set(clickhouse_server.query(f"SELECT name FROM system.tables WHERE database = '{sink.database}'").split())
    assert names >= TABLES | VIEWS


async def test_every_table_stores_its_rows_with_their_values(sink: ClickHouseSink) -> None:
    sent = samples()
    assert set(sent) == TABLES
    for table, rows in sent.items():
        await sink.write(table, rows)
    wrong = []
    for table, rows in sent.items():
        stored = await sink.query(f"SELECT * FROM {table} FINAL ORDER BY {order_by(table)}")
        wrong += differences(
            table,
            in_key_order(table, rows),
            [{k: str(v) if isinstance(v, uuid.UUID) else v for k, v in r.items()} for r in stored],
        )
    assert wrong == []


async def test_views_count_each_event_and_payment_once_after_a_replay(sink: ClickHouseSink) -> None:
    sent = samples()
    for _ in range(2):  # the spool delivers at least once
        for table in ("events", "ltv"):
            await sink.write(table, sent[table])
    uid, vid = sent["ltv"][0]["id"], sent["ltv"][2]["id"]
    assert await sink.query("SELECT toString(uid) AS uid, paid FROM ltvu") == [{"uid": uid, "paid": Decimal("35.5")}]
    assert await sink.query("SELECT toString(vid) AS vid, paid FROM ltvv") == [{"vid": vid, "paid": Decimal("25")}]
    assert (await sink.query("SELECT sum(events) AS n, count() AS visitors FROM visitors")) == [{"n": 2, "visitors": 2}]
    assert (await sink.query("SELECT sum(events) AS n FROM sessions")) == [{"n": 2}]
    assert (await sink.query("SELECT sum(total) AS n FROM hits")) == [{"n": 2}]


async def test_a_replayed_batch_is_not_counted_twice(sink: ClickHouseSink, clickhouse_server: ClickHouseServer) -> None:
    rows = [event() for _ in range(500)]
    await sink.write("events", rows)
    await sink.write("events", rows)
    assert clickhouse_server.scalar(f"SELECT count() FROM {sink.database}.events FINAL") == 500


async def test_a_bad_row_is_refused_alone_and_the_rest_stored(
    sink: ClickHouseSink, clickhouse_server: ClickHouseServer
) -> None:
    rows = [event() for _ in range(9)]
    bad = copy.deepcopy(rows[4])
    bad["eid"] = "not-a-uuid"
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("events", rows[:4] + [bad] + rows[4:])
    assert caught.value.rows == [bad] and caught.value.others_stored and "Code:" in str(caught.value)
    assert clickhouse_server.scalar(f"SELECT count() FROM {sink.database}.events") == 9


async def test_an_amount_that_is_not_a_number_is_refused_alone(sink: ClickHouseSink) -> None:
    good = samples()["ltv"]
    bad = {**good[0], "payment_id": str(uuid.uuid4()), "paid": "12,50"}
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("ltv", [good[0], bad, good[1]])
    assert caught.value.rows == [bad]
    assert await sink.query("SELECT count() AS n, sum(paid) AS paid FROM ltv") == [{"n": 2, "paid": Decimal("35.5")}]


async def test_state_tables_keep_the_newest_version(sink: ClickHouseSink) -> None:
    older = {
        "urlfrom": "go.example/a",
        "urlto": "https://example.com/1",
        "created_at": "2026-01-01 00:00:00.000",
        "updated_at": "2026-01-01 00:00:00.000",
        "tags": ["x"],
        "targets": {},
        "crawlable": False,
    }
    newer = {**older, "urlto": "https://example.com/2", "updated_at": "2026-01-02 00:00:00.000"}
    await sink.write("redirects", [newer])
    await sink.write("redirects", [older])  # a late replay of an older version
    rows = await sink.query("SELECT urlto, tags FROM redirects FINAL WHERE urlfrom = ?", ["go.example/a"])
    assert rows == [{"urlto": "https://example.com/2", "tags": '["x"]'}]


async def test_query_escapes_parameters(sink: ClickHouseSink) -> None:
    assert await sink.query("SELECT ? AS a, ? AS b", ["it's {x} \\ 'quoted'", 7]) == [
        {"a": "it's {x} \\ 'quoted'", "b": 7}
    ]
    assert await sink.query("SELECT {a} AS a", {"a": "x'); DROP TABLE events; --"}) == [
        {"a": "x'); DROP TABLE events; --"}
    ]


async def test_query_placeholders_skip_string_literals_and_braces(sink: ClickHouseSink) -> None:
    assert await sink.query("SELECT '{}' AS a, 'why?' AS b") == [{"a": "{}", "b": "why?"}]
    assert await sink.query("SELECT 'why?' AS a, ? AS b, '{x}' AS c", ["it's"]) == [
        {"a": "why?", "b": "it's", "c": "{x}"}
    ]
    with pytest.raises(ValueError):
        bind("SELECT ?, ?", [1])


async def test_a_table_missing_from_the_schema_is_permanent_unless_the_schema_is_manual(
    sink: ClickHouseSink, clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    with pytest.raises(PermanentSinkError) as caught:
        await sink.write("nonesuch", [{"a": 1}])
    assert caught.value.rows == [{"a": 1}]
    manual = sink_for(clickhouse_server, clickhouse_database, Schema="manual")
    await manual.open()
    with pytest.raises(TransientSinkError, match="manual"):
        await manual.write("nonesuch", [{"a": 1}])
    clickhouse_server.query(f"CREATE TABLE {clickhouse_database}.nonesuch (a Int64) ENGINE = Memory")
    await manual.write("nonesuch", [{"a": 1}])  # created by the operator: the waiting rows go in
    await manual.close()
    assert clickhouse_server.scalar(f"SELECT sum(a) FROM {clickhouse_database}.nonesuch") == 1


async def test_a_server_that_is_down_is_a_transient_error(clickhouse_database: str) -> None:
    config = from_mapping(
        {"Notify": [{"Service": "clickhouse", "Hosts": [f"127.0.0.1:{free_port()}"], "Timeout": 1000}]}
    )
    down = ClickHouseSink(config.notify[0], config)
    with pytest.raises(TransientSinkError):
        await down.open()
    await down.close()


async def test_a_host_that_refuses_connections_is_passed_over(
    clickhouse_server: ClickHouseServer, clickhouse_database: str
) -> None:
    hosts = [f"127.0.0.1:{free_port()}", clickhouse_server.host]
    sink = sink_for(clickhouse_server, clickhouse_database, Hosts=hosts)
    await sink.open()
    await sink.write("events", [event() for _ in range(3)])
    assert await sink.query("SELECT count() AS n FROM events") == [{"n": 3}]
    await sink.close()


async def test_secure_checks_the_server_against_cacert_and_presents_a_client_certificate(
    tmp_path: Path, test_certs: Path
) -> None:
    server = ClickHouseServer(tmp_path / "tls", free_port(), free_port(), https_port=free_port(), certs=test_certs)
    server.start()
    try:
        secure = {"Hosts": [f"127.0.0.1:{server.https_port}"], "Secure": True, "CACert": str(test_certs / "ca.pem")}
        client = {"Cert": str(test_certs / "localhost-2.pem"), "Key": str(test_certs / "localhost-2.key")}
        sink = sink_for(server, "tls", **secure, **client)
        assert sink.url.startswith("https://")
        await sink.open()
        await sink.write("events", [event()])
        assert await sink.query("SELECT count() AS n FROM events") == [{"n": 1}]
        await sink.close()
        without_client_certificate = sink_for(server, "tls", **secure)
        with pytest.raises(TransientSinkError):
            await without_client_certificate.open()
        await without_client_certificate.close()
    finally:
        server.stop()


async def test_gzip_and_plain_bodies_both_store(clickhouse_server: ClickHouseServer, clickhouse_database: str) -> None:
    for compress in (True, False):
        sink = sink_for(clickhouse_server, clickhouse_database, EnableCompression=compress)
        await sink.open()
        await sink.write("events", [event() for _ in range(1500)])  # past the size encoded off the loop
        await sink.close()
    assert clickhouse_server.scalar(f"SELECT count() FROM {clickhouse_database}.events") == 3000


async def test_times_are_utc_on_a_server_in_another_timezone(tmp_path: Path) -> None:
    if not Path("/usr/share/zoneinfo/Asia/Tokyo").exists():
        pytest.skip("ClickHouse 18.16 reads time zones from tzdata, which is not installed")
    server = ClickHouseServer(tmp_path / "tokyo", free_port(), free_port(), timezone="Asia/Tokyo")
    server.start()
    try:
        server.query("CREATE DATABASE t")
        sink = sink_for(server, "t")
        await sink.open()
        await sink.write("events", [{**event(), "created_at": STAMP}])
        await sink.close()
        assert server.query("SELECT toUnixTimestamp(created_at), toString(created_at) FROM t.events").split() == [
            str(STAMP_UNIX),
            STAMP[:10],
            STAMP[11:19],
        ]
        assert server.query("SELECT toString(date) FROM t.hits").strip() == STAMP[:10]
    finally:
        server.stop()


def test_schema_and_inserts_work_on_current_clickhouse(tmp_path: Path) -> None:
    """The same SQL files and the sink's JSONEachRow bodies, on ClickHouse 26.x in process, with the values
    read back; and UTC times whatever the session's timezone."""
    chdb_session = pytest.importorskip("chdb.session")
    db = chdb_session.Session(str(tmp_path / "chdb"))
    try:
        db.query("CREATE DATABASE IF NOT EXISTS t")
        db.query("USE t")
        for file in schema_files("clickhouse"):
            for statement in statements(file.read_text()):
                db.query(statement)
        names = set(
            str(db.query("SELECT name FROM system.tables WHERE database = 't'", "CSV")).replace('"', "").split()
        )
        assert names >= TABLES | VIEWS
        columns: dict[str, dict[str, str]] = {}
        for line in str(db.query("SELECT table, name, type FROM system.columns WHERE database = 't'", "TSV")).split(
            "\n"
        ):
            if line:
                table, name, kind = line.split("\t")
                columns.setdefault(table, {})[name] = kind
        sent = samples()
        sent["events"] += [event() for _ in range(50)]
        wrong = []
        for table, rows in sent.items():
            body = encode(rows + rows, columns[table]).decode()  # a replay in the same body
            db.query(f"INSERT INTO {table} {CHDB_SETTINGS} FORMAT JSONEachRow\n{body}")
            text = str(db.query(f"SELECT * FROM {table} FINAL ORDER BY {order_by(table)}", "JSONEachRow"))
            wrong += differences(table, in_key_order(table, rows), [orjson.loads(line) for line in text.splitlines()])
        assert wrong == []
        assert str(db.query("SELECT count() FROM visitors", "CSV")).strip() == "52"
        assert str(db.query("SELECT sum(paid) FROM ltvu", "CSV")).strip() == "35.5"
        db.query("SET session_timezone = 'America/New_York'")
        utc = encode([{**event(), "eid": str(uuid.UUID(int=1)), "created_at": STAMP}], columns["events"]).decode()
        db.query(f"INSERT INTO events {CHDB_SETTINGS} FORMAT JSONEachRow\n{utc}")
        stored = db.query(f"SELECT toUnixTimestamp(created_at) FROM events WHERE eid = '{uuid.UUID(int=1)}'", "CSV")
        assert str(stored).strip() == str(STAMP_UNIX)
    finally:
        db.close()
