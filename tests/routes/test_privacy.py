"""The /ppi/ routes and consent at ingest, on a real tracker process writing to DuckDB and to the real
ClickHouse server: agree/jds/geoip round trips, and the consent matrix (cookies and stored columns)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pytest

from tests.harness import ROOT, TrackerProcess, prepare_tracker, snapshot_query, wait_until
from tests.inprocess import InProcessServer
from tracker.events.ids import ZERO_UUID
from tracker.privacy.hashing import short_hash

LONDON = "81.2.69.142"  # GB / London / ENG in MaxMind's GeoIP2-City-Test.mmdb
UA = "Mozilla/5.0 (X11; Linux x86_64) privacy-test"
JURISDICTION = ("gdpr", "opt-in", 1, '{"cookies":"ask"}', '["EU","GB"]')


@dataclass
class Store:
    """The tracker under test and a way to read what its sink stored."""

    tracker: TrackerProcess
    kind: str
    read: Any  # (sql, column names) -> list[dict]

    def rows(self, table: str, where: str, columns: str) -> list[dict[str, Any]]:
        self.tracker.wait_shipped()
        names = [c.strip() for c in columns.split(",")]
        return list(self.read(f"SELECT {columns} FROM {table} WHERE {where}", names))


def _seed_duckdb_jurisdiction(path: Path) -> None:
    ddl = (ROOT / ".setup/duckdb/03_commerce_privacy.sql").read_text()
    [create] = [s for s in ddl.split(";") if "TABLE IF NOT EXISTS jurisdictions" in s]
    with duckdb.connect(str(path)) as db:
        db.execute(create)
        db.execute("INSERT INTO jurisdictions VALUES (?, ?, ?, ?, ?, now(), now())", list(JURISDICTION))


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, geoip_city_database: Path
) -> Iterator[Store]:
    """One tracker per store for the module: the tests write under their own vids and event names."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    overrides: dict[str, Any] = {
        "GeoIP": {"Database": str(geoip_city_database)},
        "TrustedProxies": ["127.0.0.1/32"],
        "Consent": {"Mode": "required", "HonorGPC": True},
        "IPStorage": "hash",
    }
    if request.param == "clickhouse":
        server = request.getfixturevalue("clickhouse_server")
        database = request.getfixturevalue("clickhouse_module_database")
        overrides["Notify"] = [server.notify_entry(database)]
    tracker = prepare_tracker(tmp_path / "tracker", **overrides)
    if request.param == "duckdb":
        database_path = tmp_path / "tracker" / "tracker.duckdb"
        _seed_duckdb_jurisdiction(database_path)

        def read(sql: str, names: list[str]) -> list[dict[str, Any]]:
            return [dict(zip(names, row, strict=True)) for row in snapshot_query(database_path, sql)]
    else:

        def read(sql: str, names: list[str]) -> list[dict[str, Any]]:
            text = server.query(sql + " FORMAT JSONEachRow", database)
            return [orjson.loads(line) for line in text.splitlines() if line.strip()]

    tracker.start()
    if request.param == "clickhouse":
        values = "('{}', '{}', {}, '{}', '{}', now(), now())".format(*JURISDICTION)
        server.query(f"INSERT INTO jurisdictions VALUES {values}", database)
    try:
        yield Store(tracker, request.param, read)
    finally:
        tracker.kill9()


def _post(store: Store, path: str, body: Any, **headers: str) -> httpx.Response:
    sent = {"x-forwarded-for": LONDON, "user-agent": UA, **headers}
    return httpx.post(store.tracker.url(path), content=orjson.dumps(body), headers=sent, timeout=10)


def test_agree_records_consent_in_both_tables_and_reads_it_back(store: Store) -> None:
    vid = str(uuid.uuid1())
    body = {"vid": vid, "cflags": 1024, "tz": "America/Los_Angeles", "w": 1280, "h": 720, "app": "Shop"}
    response = _post(store, "/tr/v1/ppi/agree", body)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["access-control-allow-origin"] == "*"

    def read_back() -> list[dict[str, Any]]:
        answer = httpx.get(store.tracker.url(f"/tr/v1/ppi/agree?vid={vid}"), timeout=10)
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    [found] = wait_until(read_back, 30, what="the agreement to be readable")
    assert found["cflags"] == 1024 and found["country"] == "US"  # tz decides the country, as in Go
    assert found["region"] == "eng" and found["city"] == "london"  # GeoIP fills what the client did not say
    assert found["app"] == "Shop" and found["vp_w"] == 1280 and found["vp_h"] == 720
    assert found["hhash"] == short_hash("127.0.0.1") and found["iphash"] and found["ip"] == ""
    where = f"toString(vid) = '{vid}'" if store.kind == "clickhouse" else f"vid = '{vid}'"
    [history] = store.rows("agreed", where, "cflags, tz, country")
    assert int(history["cflags"]) == 1024  # ClickHouse's JSON quotes 64-bit integers
    assert (history["tz"], history["country"]) == ("America/Los_Angeles", "US")


def test_agree_answers_go_shapes_and_json_errors(store: Store) -> None:
    missing = httpx.get(store.tracker.url("/tr/v1/ppi/agree"), timeout=10)
    assert missing.status_code == 404 and missing.json() == []
    unknown_vid = httpx.get(store.tracker.url(f"/tr/v1/ppi/agree?vid={uuid.uuid4()}"), timeout=10)
    assert unknown_vid.status_code == 200 and unknown_vid.json() == []
    bad_vid = httpx.get(store.tracker.url("/tr/v1/ppi/agree?vid=nope"), timeout=10)
    assert bad_vid.status_code == 400 and bad_vid.json()["field"] == "vid"
    empty = httpx.post(store.tracker.url("/tr/v1/ppi/agree"), content=b"", timeout=10)
    assert empty.status_code == 400 and empty.json() == {"error": "Bad request (body)", "field": "body"}
    not_json = httpx.post(store.tracker.url("/tr/v1/ppi/agree"), content=b"{oops", timeout=10)
    assert not_json.status_code == 400 and not_json.json()["field"] == "body"
    no_vid = _post(store, "/tr/v1/ppi/agree", {"cflags": 1024})
    assert no_vid.status_code == 400 and no_vid.json()["field"] == "vid"
    bad_flags = _post(store, "/tr/v1/ppi/agree", {"vid": str(uuid.uuid1()), "cflags": {"a": 1}})
    assert bad_flags.status_code == 400 and bad_flags.json()["field"] == "cflags"
    preflight = httpx.options(store.tracker.url("/tr/v1/ppi/agree"), timeout=10)
    assert preflight.status_code == 200 and preflight.headers["access-control-max-age"] == "1728000"


def test_jurisdictions_and_geoip_lookups(store: Store) -> None:
    jds = httpx.get(store.tracker.url("/tr/v1/ppi/jds"), timeout=10)
    assert jds.status_code == 200
    [row] = jds.json()
    assert (row["regulation"], row["compliance"], row["seq"]) == JURISDICTION[:3]
    assert row["rules"] == {"cookies": "ask"} and row["locs"] == ["EU", "GB"]

    found = httpx.get(store.tracker.url(f"/tr/v1/ppi/geoip?ip={LONDON}"), timeout=10)
    assert found.status_code == 200
    assert found.json() == {
        "ips": "81.2.69.142",
        "ipe": "81.2.69.143",
        "iso2": "GB",
        "country": "United Kingdom",
        "region": "ENG",
        "city": "London",
        "lat": 51.5142,
        "lon": -0.0931,
        "zip": "",
        "tz": "Europe/London",
    }
    own = httpx.get(store.tracker.url("/tr/v1/ppi/geoip"), headers={"x-forwarded-for": "216.160.83.56"}, timeout=10)
    assert own.status_code == 200 and own.json()["city"] == "Milton" and own.json()["zip"] == "98354"
    bad = httpx.get(store.tracker.url("/tr/v1/ppi/geoip?ip=bad"), timeout=10)
    assert bad.status_code == 400 and bad.json() == {"error": "Bad Request (IP)", "field": "ip"}
    absent = httpx.get(store.tracker.url("/tr/v1/ppi/geoip?ip=8.8.8.8"), timeout=10)
    assert absent.status_code == 400 and absent.json() == {"error": "Not Found (IP)", "field": "ip"}
    other = httpx.get(store.tracker.url("/tr/v1/ppi/zzz"), timeout=10)
    assert other.status_code == 400 and other.json()["error"] == "Unknown action"


CASES = {
    # name: (body extras, headers, cookies expected, kept columns, dropped columns)
    "no_answer": ({}, {}, False, ["country"], ["vid", "sid", "iphash", "ua", "city", "uid", "gaid"]),
    "analytics": ({"cflags": 3072}, {}, True, ["vid", "iphash", "ua", "city", "country"], ["uid", "gaid"]),
    "everything": ({"cflags": 7680}, {}, True, ["vid", "iphash", "city", "uid", "gaid"], []),
    "everything_gpc": ({"cflags": 7680}, {"sec-gpc": "1"}, True, ["vid", "iphash", "uid"], ["gaid"]),
    "necessary_gpc": ({"cflags": 1024}, {"sec-gpc": "1"}, False, ["country"], ["vid", "iphash", "uid", "gaid"]),
    "cookie_consent": ({}, {"cookie": "CookieConsent=3072"}, True, ["vid", "iphash", "city"], ["uid", "gaid"]),
}
UID = "0b6a3e1c-8a1e-11ee-b9d1-0242ac120002"


def _is_empty(value: Any) -> bool:
    return value in (None, "", 0, 0.0) or str(value) == ZERO_UUID


def test_consent_matrix_decides_cookies_and_stored_columns(store: Store) -> None:
    cookies: dict[str, list[str]] = {}
    for name, (extra, headers, _, _, _) in CASES.items():
        body = {"ename": f"consent_{name}", "uid": UID, "gaid": "ad-id-1", **extra}
        response = _post(store, "/tr/v1/tr/", body, **headers)
        assert response.status_code == 200, response.text
        cookies[name] = [c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")]
    columns = "ename, vid, sid, iphash, ua, city, country, uid, gaid"
    rows = {r["ename"]: r for r in store.rows("events", "ename LIKE 'consent_%'", columns)}
    for name, (_, _, sets_cookies, kept, dropped) in CASES.items():
        assert (cookies[name] == ["vid", "sid"]) is sets_cookies, (name, cookies[name])
        stored = rows[f"consent_{name}"]
        assert all(not _is_empty(stored[c]) for c in kept), (name, stored)
        assert all(_is_empty(stored[c]) for c in dropped), (name, stored)
        assert stored["country"] == "GB"


def test_account_hash_mixer_rejects_events_as_go_does(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path, AccountHashMixer="s3cret").start()
    try:
        base = server.base_url
        good = short_hash("127.0.0.1" + "s3cret")
        missing = httpx.post(f"{base}/tr/v1/tr/", json={"ename": "mixer_missing"}, timeout=10)
        assert missing.status_code == 400 and missing.json()["field"] == "acct"
        wrong = httpx.post(f"{base}/tr/v1/tr/", json={"ename": "mixer_wrong", "acct": "zzz"}, timeout=10)
        assert wrong.status_code == 400 and wrong.json()["field"] == "acct"
        pixel = httpx.get(f"{base}/tr/v1/img/ename/mixer_pixel", timeout=10)
        assert pixel.status_code == 200 and pixel.content.startswith(b"GIF89a")
        assert httpx.post(f"{base}/tr/v1/tr/", json={"ename": "mixer_ok", "acct": good}, timeout=10).is_success
        names = {r["ename"] for r in server.rows("events", at_least=1)}
        assert names == {"mixer_ok"}
    finally:
        server.stop()


def test_privacy_routes_without_a_readable_store_or_geoip_answer_503(tmp_path: Path) -> None:
    server = InProcessServer(tmp_path).start()  # the memory sink answers no reads
    try:
        for path in (f"/tr/v1/ppi/agree?vid={uuid.uuid1()}", "/tr/v1/ppi/jds", "/tr/v1/ppi/geoip?ip=1.2.3.4"):
            response = httpx.get(server.base_url + path, timeout=10)
            assert response.status_code == 503 and response.json()["error"], path
        assert re.search("GeoIP", httpx.get(server.base_url + "/tr/v1/ppi/geoip", timeout=10).text)
    finally:
        server.stop()


def test_agreements_are_read_through_the_control_plane_with_several_workers(tmp_path: Path) -> None:
    """With Workers > 1 only the supervisor opens the sinks: workers ask it over the control socket."""
    tracker = prepare_tracker(tmp_path / "tracker", Workers=2).start()
    try:
        vid = str(uuid.uuid1())
        body = orjson.dumps({"vid": vid, "cflags": 3072, "tz": "Europe/London"})
        assert httpx.post(tracker.url("/tr/v1/ppi/agree"), content=body, timeout=10).status_code == 200

        def read_back() -> list[dict[str, Any]]:
            return list(httpx.get(tracker.url(f"/tr/v1/ppi/agree?vid={vid}"), timeout=10).json())

        [found] = wait_until(read_back, 30, what="the agreement through a worker")
        assert found["vid"] == vid and found["cflags"] == 3072 and found["country"] == "GB"
        assert httpx.get(tracker.url("/tr/v1/ppi/jds"), timeout=10).json() == []
    finally:
        tracker.kill9()
