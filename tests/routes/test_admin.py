"""The short-link admin API (tracker/routes/admin.py) against a real tracker with two workers."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import snapshot_query, wait_until
from tests.routes.conftest import LEGACY_PASSWORD, Admin, add_account

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


def test_auth_failures_are_401_and_change_nothing(admin: Admin) -> None:
    before = links(admin)["total"]
    body = {"urlfrom": "https://go.example/nope", "urlto": "https://example.com/"}
    assert httpx.post(admin.tracker.url("/tr/v1/rpi/redirect/alice/wrong-password"), json=body).status_code == 401
    assert httpx.post(admin.tracker.url("/tr/v1/rpi/redirect/mallory/x"), json=body).status_code == 401
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
    assert httpx.get(admin.tracker.url("/tr/v1/rpi/redirects/gopher/wrong/go.example")).status_code == 401


def test_qr_codes_in_svg_and_png(admin: Admin) -> None:
    base = admin.tracker.url("/tr/v1/rpi/links")
    key = httpx.post(
        base, json={"host": "go.example", "slugfrom": "qr", "urlto": "https://example.com/"}, headers=admin.bearer
    ).json()["urlfrom"]
    svg = httpx.get(admin.tracker.url(f"/tr/v1/rpi/qr/{key}"), headers=admin.bearer)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    png = httpx.get(admin.tracker.url(f"/tr/v1/rpi/qr/{key}"), params={"format": "png"}, headers=admin.bearer)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
