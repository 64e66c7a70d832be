"""The short-link admin API (tracker/routes/admin.py) against a real tracker with two workers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.harness import prepare_tracker, snapshot_query, wait_until
from tests.routes.conftest import (
    HOP,
    LEGACY_PASSWORD,
    Admin,
    account_command,
    add_account,
    bearer_status,
    worker_connections,
)

pytestmark = pytest.mark.usefixtures("admin")


def links(admin: Admin, **params: str) -> dict:
    response = httpx.get(admin.tracker.url("/tr/v1/rpi/links"), params=params, headers=admin.bearer)
    assert response.status_code == 200, response.text
    return response.json()


def test_go_api_creates_and_lists_with_the_password_in_the_path(admin: Admin) -> None:
    url = admin.tracker.url(f"/tr/v1/rpi/redirect/{admin.uid}/{admin.password}")
    response = httpx.post(
        url, json={"urlfrom": "https://Yourdomain.com/Go-Short", "urlto": "https://example.com/x?a=1"}
    )
    assert response.status_code == 200, response.text
    listed = httpx.get(admin.tracker.url(f"/tr/v1/rpi/redirects/{admin.uid}/{admin.password}/yourdomain.com")).json()
    assert "yourdomain.com/go-short" in [r["urlfrom"] for r in listed["results"]]
    other = httpx.get(admin.tracker.url(f"/tr/v1/rpi/redirects/{admin.uid}/{admin.password}/other.example")).json()
    assert other["results"] == []


def test_bearer_api_create_get_update_delete(admin: Admin) -> None:
    base = admin.tracker.url("/tr/v1/rpi/links")
    created = httpx.post(
        base,
        json={
            "host": "go.example",
            "slugfrom": "Crud",
            "urlto": "https://example.com/a",
            "tags": ["spring"],
            "status": 301,
        },
        headers=admin.bearer,
    )
    assert created.status_code == 201, created.text
    key = created.json()["urlfrom"]
    assert key == "go.example/crud" and created.json()["updater"] == "alice"
    assert httpx.get(f"{base}/{key}", headers=admin.bearer).json()["status"] == 301
    updated = httpx.patch(f"{base}/{key}", json={"urlto": "https://example.com/b"}, headers=admin.bearer)
    assert updated.status_code == 200 and updated.json()["urlto"] == "https://example.com/b"
    assert updated.json()["tags"] == ["spring"] and updated.json()["created_at"] == created.json()["created_at"]
    assert httpx.delete(f"{base}/{key}", headers=admin.bearer).status_code == 200
    assert httpx.get(f"{base}/{key}", headers=admin.bearer).status_code == 404
    assert httpx.delete(f"{base}/{key}", headers=admin.bearer).status_code == 404


def test_duplicate_slug_is_409(admin: Admin) -> None:
    base = admin.tracker.url("/tr/v1/rpi/links")
    body = {"host": "go.example", "slugfrom": "twice", "urlto": "https://example.com/"}
    assert httpx.post(base, json=body, headers=admin.bearer).status_code == 201
    again = httpx.post(base, json=body, headers=admin.bearer)
    assert again.status_code == 409 and again.json()["field"] == "urlfrom"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"urlto": "not a url", "host": "go.example"}, "urlto"),
        ({"urlto": "https://example.com/", "host": "go.example", "status": 200}, "status"),
        ({"urlto": "https://example.com/", "host": "go.example", "max_visits": "ten"}, "max_visits"),
        ([1, 2], "body"),
    ],
)
def test_bad_input_is_400_naming_the_field(admin: Admin, body: object, field: str) -> None:
    response = httpx.post(admin.tracker.url("/tr/v1/rpi/links"), json=body, headers=admin.bearer)
    assert response.status_code == 400 and response.json()["field"] == field, response.text


def test_auth_failures_change_nothing_go_routes_answer_bad_pass_bearer_routes_401(admin: Admin) -> None:
    before = links(admin)["total"]
    body = {"urlfrom": "https://go.example/nope", "urlto": "https://example.com/"}
    for path in ("/tr/v1/rpi/redirect/alice/wrong-password", "/tr/v1/rpi/redirect/mallory/x"):
        go_answer = httpx.post(admin.tracker.url(path), json=body)
        assert (go_answer.status_code, go_answer.text) == (400, "Bad pass")
    listing = httpx.get(admin.tracker.url("/tr/v1/rpi/redirects/alice/wrong-password/go.example"))
    assert (listing.status_code, listing.text) == (400, "Bad pass")
    missing = httpx.post(admin.tracker.url("/tr/v1/rpi/links"), json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    forged = httpx.post(
        admin.tracker.url("/tr/v1/rpi/links"), json=body, headers={"authorization": "Bearer trk_forged"}
    )
    assert forged.status_code == 401
    assert links(admin)["total"] == before


def test_login_issues_a_session_token(admin: Admin) -> None:
    response = httpx.post(admin.tracker.url("/tr/v1/rpi/login"), json={"uid": "alice", "password": admin.password})
    assert response.status_code == 200
    session = {"authorization": f"Bearer {response.json()['token']}"}
    assert httpx.get(admin.tracker.url("/tr/v1/rpi/me"), headers=session).json() == {"uid": "alice"}
    missing = httpx.post(admin.tracker.url("/tr/v1/rpi/login"), json={"uid": "alice"})
    assert missing.status_code == 400 and missing.json()["field"] == "password"


def test_pagination_and_search(admin: Admin) -> None:
    base = admin.tracker.url("/tr/v1/rpi/links")
    for n in range(5):
        body = {"host": "page.example", "slugfrom": f"p{n}", "urlto": "https://example.com/", "tags": ["paged"]}
        assert httpx.post(base, json=body, headers=admin.bearer).status_code == 201
    first = links(admin, host="page.example", limit="2")
    second = links(admin, host="page.example", limit="2", offset="2")
    assert first["total"] == 5 and len(first["results"]) == 2 and len(second["results"]) == 2
    assert not {r["urlfrom"] for r in first["results"]} & {r["urlfrom"] for r in second["results"]}
    assert links(admin, q="paged")["total"] == 5
    assert httpx.get(base, params={"limit": "0"}, headers=admin.bearer).status_code == 400


def test_every_change_is_in_redirect_history_with_who(admin: Admin) -> None:
    base = admin.tracker.url("/tr/v1/rpi/links")
    key = httpx.post(
        base, json={"host": "go.example", "slugfrom": "hist", "urlto": "https://example.com/1"}, headers=admin.bearer
    ).json()["urlfrom"]
    httpx.patch(f"{base}/{key}", json={"urlto": "https://example.com/2"}, headers=admin.bearer)
    httpx.delete(f"{base}/{key}", headers=admin.bearer)

    def history() -> list[tuple[str, str, str]]:
        sql = "SELECT action, updater, urlto FROM redirect_history WHERE urlfrom = ? ORDER BY updated_at"
        return snapshot_query(admin.database, sql, [key])  # type: ignore[return-value]

    expected = [
        ("create", "alice", "https://example.com/1"),
        ("update", "alice", "https://example.com/2"),
        ("delete", "alice", "https://example.com/2"),
    ]
    wait_until(lambda: history() == expected, 30, what="three history rows")


def test_an_account_added_while_running_works_at_once(admin: Admin) -> None:
    creds = add_account(admin.tracker.config_path, "bob")
    me = httpx.get(admin.tracker.url("/tr/v1/rpi/me"), headers={"authorization": f"Bearer {creds['token']}"})
    assert me.status_code == 200 and me.json() == {"uid": "bob"}


def test_a_go_sha1_password_works_once_and_is_upgraded_to_scrypt(admin: Admin) -> None:
    url = admin.tracker.url(f"/tr/v1/rpi/redirects/gopher/{LEGACY_PASSWORD}/go.example")
    assert httpx.get(url).status_code == 200

    def stored() -> str:
        return str(snapshot_query(admin.database, "SELECT pwd FROM accounts WHERE uid = 'gopher'")[0][0])

    wait_until(lambda: stored().startswith("scrypt$"), 30, what="the upgraded hash")
    assert httpx.get(url).status_code == 200
    assert httpx.get(admin.tracker.url("/tr/v1/rpi/redirects/gopher/wrong/go.example")).status_code == 400


def test_qr_codes_in_svg_and_png(admin: Admin) -> None:
    base = admin.tracker.url("/tr/v1/rpi/links")
    key = httpx.post(
        base, json={"host": "go.example", "slugfrom": "qr", "urlto": "https://example.com/"}, headers=admin.bearer
    ).json()["urlfrom"]
    svg = httpx.get(admin.tracker.url(f"/tr/v1/rpi/qr/{key}"), headers=admin.bearer)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    png = httpx.get(admin.tracker.url(f"/tr/v1/rpi/qr/{key}"), params={"format": "png"}, headers=admin.bearer)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def login(admin: Admin, uid: str, password: str) -> httpx.Response:
    return httpx.post(admin.tracker.url("/tr/v1/rpi/login"), json={"uid": uid, "password": password})


def test_a_reset_ends_earlier_sessions_and_tokens_on_every_worker(admin: Admin) -> None:
    first = add_account(admin.tracker.config_path, "carol", "carol-password-1")
    session = login(admin, "carol", "carol-password-1").json()["token"]
    connections = worker_connections(admin.tracker)
    assert len(connections) == 2
    assert [bearer_status(c, t) for c in connections.values() for t in (session, first["token"])] == [200] * 4
    second = add_account(admin.tracker.config_path, "carol", "carol-password-2")
    assert [bearer_status(c, t) for c in connections.values() for t in (session, first["token"])] == [401] * 4
    assert [bearer_status(c, second["token"]) for c in connections.values()] == [200, 200]
    assert login(admin, "carol", "carol-password-1").status_code == 401
    assert login(admin, "carol", "carol-password-2").status_code == 200


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end_on_every_worker(admin: Admin) -> None:
    creds = add_account(admin.tracker.config_path, "dave", "dave-password-1")
    session = login(admin, "dave", "dave-password-1").json()["token"]
    connections = worker_connections(admin.tracker)
    assert [bearer_status(c, session) for c in connections.values()] == [200, 200]
    assert account_command(admin.tracker.config_path, "disable", "dave") == {"uid": "dave", "state": "disabled"}
    assert [bearer_status(c, t) for c in connections.values() for t in (session, creds["token"])] == [401] * 4
    assert login(admin, "dave", "dave-password-1").status_code == 401
    go_list = admin.tracker.url("/tr/v1/rpi/redirects/dave/dave-password-1/go.example")
    assert httpx.get(go_list).status_code == 400  # "Bad pass", as Go
    again = add_account(admin.tracker.config_path, "dave", "dave-password-2")  # a reset enables it again
    assert [bearer_status(c, again["token"]) for c in connections.values()] == [200, 200]


def test_a_removed_account_ends_at_once_and_cannot_be_removed_twice(admin: Admin) -> None:
    creds = add_account(admin.tracker.config_path, "erin", "erin-password-1")
    session = login(admin, "erin", "erin-password-1").json()["token"]
    connections = worker_connections(admin.tracker)
    assert account_command(admin.tracker.config_path, "remove", "erin") == {"uid": "erin", "state": "removed"}
    assert [bearer_status(c, t) for c in connections.values() for t in (session, creds["token"])] == [401] * 4
    assert login(admin, "erin", "erin-password-1").status_code == 401
    with pytest.raises(subprocess.CalledProcessError) as twice:
        account_command(admin.tracker.config_path, "remove", "erin")
    assert twice.value.returncode == 1 and "no such account" in twice.value.stderr

    def stored() -> list[tuple[str, str]]:
        return snapshot_query(admin.database, "SELECT pwd, CAST(tokens AS VARCHAR) FROM accounts WHERE uid = 'erin'")

    wait_until(lambda: stored() == [("!removed", "[]")], 30, what="the removal in DuckDB")


DEEP = "@deeper than orjson writes@"
LINK = {"urlto": "https://example.com/", "host": "go.example"}


def encode(body: dict[str, object]) -> str:
    """JSON whose DEEP values are nested 300 levels: orjson reads up to 1024 levels but writes only 254."""
    return json.dumps(body).replace(json.dumps(DEEP), "[" * 300 + '"x"' + "]" * 300)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**LINK, "slugfrom": "b1", "status": "abc"}, "status"),
        ({**LINK, "slugfrom": "b2", "valid_since": "9999-12-31T23:59:59-01:00"}, "valid_since"),
        ({**LINK, "slugfrom": "b3", "valid_until": "2999-01-01"}, "valid_until"),
        ({**LINK, "slugfrom": "b4", "max_visits": 3_000_000_000}, "max_visits"),
        ({**LINK, "slugfrom": "b5", "targets": {"ios": DEEP}}, "targets.ios"),
        ({**LINK, "slugfrom": "b6", "tags": DEEP}, "tags"),
        ({**LINK, "slugfrom": "b7", "crawlable": "no"}, "crawlable"),
        ({**LINK, "host": "go.example\r\n"}, "host"),
        ({**LINK, "host": "<b>go.example"}, "host"),
        ({**LINK, "host": "go.example/.."}, "host"),
        ({**LINK, "host": "go example"}, "host"),
        ({**LINK, "slugfrom": "a\r\nb"}, "slugfrom"),
        ({**LINK, "slugfrom": "a b"}, "slugfrom"),
        ({**LINK, "slugfrom": "x/../../admin"}, "slugfrom"),
        ({**LINK, "slugfrom": "<b>x"}, "slugfrom"),
        ({**LINK, "slugfrom": "a\x00b"}, "slugfrom"),
        ({**LINK, "slugfrom": "a\x7fb"}, "slugfrom"),
        ({**LINK, "slugfrom": "b8", "urlto": HOP + "javascript:alert(1)"}, "urlto"),
        ({**LINK, "slugfrom": "b9", "urlto": HOP + "data:text/html,x"}, "urlto"),
        ({**LINK, "slugfrom": "b10", "urlto": HOP + "//evil.com/"}, "urlto"),
        ({**LINK, "slugfrom": "b11", "urlto": "https://example.com/\x01"}, "urlto"),
    ],
)
def test_admin_input_that_does_not_fit_is_400_naming_the_field_and_nothing_is_saved(
    admin: Admin, body: dict[str, object], field: str
) -> None:
    before = links(admin)["total"]
    headers = {**admin.bearer, "content-type": "application/json"}
    created = httpx.post(admin.tracker.url("/tr/v1/rpi/links"), content=encode(body), headers=headers)
    assert created.status_code == 400 and created.json()["field"] == field, created.text
    assert links(admin)["total"] == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "abc"}, "status"),
        ({"max_visits": 3_000_000_000}, "max_visits"),
        ({"valid_until": "0001-01-01T00:00:00+01:00"}, "valid_until"),
        ({"targets": {"android": DEEP}}, "targets.android"),
        ({"urlto": HOP + "javascript:alert(1)"}, "urlto"),
    ],
)
def test_updates_are_checked_the_same_way(admin: Admin, body: dict[str, object], field: str) -> None:
    key = httpx.post(
        admin.tracker.url("/tr/v1/rpi/links"),
        json={"host": "go.example", "urlto": "https://example.com/kept"},
        headers=admin.bearer,
    ).json()["urlfrom"]
    url = admin.tracker.url(f"/tr/v1/rpi/links/{key}")
    headers = {**admin.bearer, "content-type": "application/json"}
    updated = httpx.patch(url, content=encode(body), headers=headers)
    assert updated.status_code == 400 and updated.json()["field"] == field, updated.text
    assert httpx.get(url, headers=admin.bearer).json()["urlto"] == "https://example.com/kept"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"urlfrom": "https://go.example/a\r\nb", "urlto": "https://example.com/"}, "urlfrom"),
        ({"urlfrom": "https://go.example/<b>", "urlto": "https://example.com/"}, "urlfrom"),
        ({"urlfrom": "https://evil@go.example/x", "urlto": "https://example.com/"}, "urlfrom"),
        ({"urlfrom": "https://go.example/st", "urlto": "https://example.com/", "status": "abc"}, "status"),
        ({"urlfrom": "https://go.example/mv", "urlto": "https://example.com/", "max_visits": 3000000000}, "max_visits"),
    ],
)
def test_the_go_route_is_checked_the_same_way(admin: Admin, body: dict[str, object], field: str) -> None:
    response = httpx.post(admin.tracker.url(f"/tr/v1/rpi/redirect/{admin.uid}/{admin.password}"), json=body)
    assert response.status_code == 400 and response.json()["field"] == field, response.text


def test_unknown_fields_deeper_than_the_writer_can_encode_are_ignored(admin: Admin) -> None:
    body = encode({**LINK, "slugfrom": "deep-extra", "x": DEEP})
    headers = {**admin.bearer, "content-type": "application/json"}
    created = httpx.post(admin.tracker.url("/tr/v1/rpi/links"), content=body, headers=headers)
    assert created.status_code == 201 and "x" not in created.json()


EDGE_LINKS = [
    {"host": "go.example", "slugfrom": "edge-visits", "max_visits": 2**31 - 1, "status": "308"},
    {"host": "go.example", "slugfrom": "edge-times", "valid_since": "1970-01-01T00:00:00Z"}
    | {"valid_until": "2106-02-07T06:28:15Z"},
    {"host": "Bücher.Example", "slugfrom": "Frühling", "urlto": "https://例え.jp/パス?q=€"},
    {"host": "go.example", "slugfrom": "edge-lists", "tags": ["t" * 100] * 50}
    | {"targets": {d: f"https://{d}.example/ä" for d in ("android", "ios", "desktop")}},
]


def test_links_at_the_edges_of_every_bound_still_load_after_a_restart(tmp_path: Path) -> None:
    tracker = prepare_tracker(tmp_path / "tracker")
    creds = add_account(tracker.config_path, "frank", "frank-password-1")
    add_account(tracker.config_path, "grace", "grace-password-1")
    tracker.start()
    try:
        bearer = {"authorization": f"Bearer {creds['token']}"}
        saved = []
        for fields in EDGE_LINKS:
            body = {"urlto": "https://example.com/edge", **fields}
            response = httpx.post(tracker.url("/tr/v1/rpi/links"), json=body, headers=bearer)
            assert response.status_code == 201, response.text
            saved.append(response.json())
        assert account_command(tracker.config_path, "disable", "grace")["state"] == "disabled"
        tracker.wait_shipped()
    finally:
        assert tracker.stop() == 0
    account_command(tracker.config_path, "remove", "frank")  # written straight to DuckDB: nothing is running
    assert snapshot_query(tracker.workdir / "tracker.duckdb", "SELECT count(*) FROM redirects") == [(len(saved),)]
    admin_creds = add_account(tracker.config_path, "heidi", "heidi-password-1")
    tracker.start()
    try:
        bearer = {"authorization": f"Bearer {admin_creds['token']}"}
        for link in saved:
            loaded = httpx.get(tracker.url(f"/tr/v1/rpi/links/{link['urlfrom']}"), headers=bearer)
            assert loaded.status_code == 200, link["urlfrom"]
            assert {k: loaded.json()[k] for k in link if k not in ("updated_at", "created_at")} == {
                k: v for k, v in link.items() if k not in ("updated_at", "created_at")
            }
        hit = httpx.get(tracker.url("/fr%C3%BChling"), headers={"host": "xn--bcher-kva.example"})
        assert (
            hit.status_code == 302
            and hit.headers["location"] == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%E2%82%AC"
        )
        assert httpx.get(tracker.url("/edge-visits"), headers={"host": "go.example"}).status_code == 308
        for uid in ("frank", "grace"):
            response = httpx.post(tracker.url("/tr/v1/rpi/login"), json={"uid": uid, "password": f"{uid}-password-1"})
            assert response.status_code == 401, uid
        removed_token = {"authorization": f"Bearer {creds['token']}"}
        assert httpx.get(tracker.url("/tr/v1/rpi/me"), headers=removed_token).status_code == 401
        assert all(not s.get("dead_lettered") for s in tracker.status()["sinks"].values())
        assert not list((tracker.workdir / "spool").glob("dead-letter/*"))
    finally:
        tracker.kill9()
