"""Short-link hits, /rdr/ and /xrdr/ (tracker/routes/redirects.py) against a real tracker with two workers."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import snapshot_query, wait_until
from tests.routes.conftest import BROWSER_UA, Admin


def create(admin: Admin, **fields: object) -> str:
    body = {"host": "go.example", "urlto": "https://example.com/landing", **fields}
    response = httpx.post(admin.tracker.url("/tr/v1/rpi/links"), json=body, headers=admin.bearer)
    assert response.status_code == 201, response.text
    return response.json()["urlfrom"]  # the API answers once every worker's cache has the link


def visit(admin: Admin, path: str, host: str = "go.example", **headers: str) -> httpx.Response:
    return httpx.get(admin.tracker.url(path), headers={"host": host, "user-agent": BROWSER_UA, **headers})


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_each_status(admin: Admin, status: int) -> None:
    create(admin, slugfrom=f"s{status}", status=status)
    response = visit(admin, f"/s{status}")
    assert response.status_code == status and response.headers["location"] == "https://example.com/landing"


def test_default_status_is_302_and_the_query_passes_through(admin: Admin) -> None:
    create(admin, slugfrom="pass", urlto="https://example.com/x?a=1#top")
    response = visit(admin, "/pass?utm_source=mail&b=2")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/x?a=1&utm_source=mail&b=2#top"
    assert response.headers["x-robots-tag"].startswith("noindex")
    assert {"vid", "sid"} <= set(response.cookies.keys())


def test_hit_rows_have_the_right_fields(admin: Admin) -> None:
    key = create(admin, slugfrom="rows")
    visit(admin, "/rows?utm_source=news&utm_campaign=spring", referer="https://news.example/post")

    def rows() -> list[tuple]:
        sql = (
            "SELECT ename, etyp, last, source, campaign, referer, CAST(vid AS VARCHAR), host FROM events "
            "WHERE link = ? AND source = 'news'"
        )
        return snapshot_query(admin.database, sql, [key])

    found = wait_until(rows, 30, what="the hit row")
    assert found[0][:6] == (
        "short_rdr",
        "redirect",
        "/rows",
        "news",
        "spring",  # url and last drop the query
        "https://news.example/post",
    )
    assert found[0][7] == "go.example" and found[0][6] != "00000000-0000-0000-0000-000000000000"


def test_unknown_paths_and_other_hosts_fall_through_to_404(admin: Admin) -> None:
    create(admin, slugfrom="hosted")
    assert visit(admin, "/nope").status_code == 404
    assert visit(admin, "/hosted", host="other.example").status_code == 404


def test_device_targets(admin: Admin) -> None:
    create(admin, slugfrom="app", targets={"android": "https://play.example/app", "ios": "https://apps.example/app"})
    android = visit(admin, "/app", **{"user-agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8)"})
    iphone = visit(admin, "/app", **{"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"})
    assert android.headers["location"] == "https://play.example/app"
    assert iphone.headers["location"] == "https://apps.example/app"
    assert visit(admin, "/app").headers["location"] == "https://example.com/landing"


def test_expired_and_not_yet_valid_links_are_404(admin: Admin) -> None:
    httpx.post(
        admin.tracker.url("/tr/v1/rpi/links"),
        headers=admin.bearer,
        json={
            "host": "go.example",
            "slugfrom": "old",
            "urlto": "https://example.com/",
            "valid_until": "2001-01-01T00:00:00Z",
        },
    )
    httpx.post(
        admin.tracker.url("/tr/v1/rpi/links"),
        headers=admin.bearer,
        json={"host": "go.example", "slugfrom": "future", "urlto": "https://example.com/", "valid_since": "2100-01-01"},
    )
    assert visit(admin, "/old").status_code == 404 and visit(admin, "/future").status_code == 404


def test_max_visits_stops_the_link(admin: Admin) -> None:
    httpx.post(
        admin.tracker.url("/tr/v1/rpi/links"),
        headers=admin.bearer,
        json={"host": "go.example", "slugfrom": "capped", "urlto": "https://example.com/", "max_visits": 3},
    )
    statuses = [visit(admin, "/capped").status_code for _ in range(5)]
    assert statuses == [302, 302, 302, 404, 404]


def test_robots_txt_disallows_links_unless_crawlable(admin: Admin) -> None:
    create(admin, slugfrom="hidden")
    create(admin, slugfrom="public", crawlable=True)
    text = visit(admin, "/robots.txt").text
    assert "Disallow: /hidden" in text and "Allow: /public" in text and text.startswith("User-agent: *")


def test_a_link_to_our_own_rdr_goes_straight_to_its_url(admin: Admin) -> None:
    create(admin, slugfrom="hop", urlto="https://yourdomain.com/tr/v1/rdr/?url=https://example.com/final&xid=X1")
    response = visit(admin, "/hop")
    assert response.status_code == 302 and response.headers["location"] == "https://example.com/final"


def test_tracked_redirects_go_only_to_allowed_hosts(admin: Admin) -> None:
    ok = httpx.get(admin.tracker.url("/tr/v1/rdr/"), params={"url": "https://yourdomain.com/page"})
    assert ok.status_code == 302 and ok.headers["location"] == "https://yourdomain.com/page"
    sub = httpx.get(admin.tracker.url("/tr/v1/xrdr/"), params={"url": "https://shop.yourdomain.com/p"})
    assert sub.status_code == 302 and sub.headers["location"] == "https://shop.yourdomain.com/p"
    assert "vid" in sub.cookies
    assert httpx.get(admin.tracker.url("/tr/v1/rdr/")).headers["location"] == "https://example.com/default"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.com/",
        "//evil.com",
        "///evil.com",
        "https:evil.com",
        "https:/evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "https://yourdomain.com.evil.com/",
        "https://yourdomain.com@evil.com/",
        "javascript:alert(1)",
        "https://evil.com%2f@yourdomain.com",
        "%2F%2Fevil.com",
        "http://evil.com\t.yourdomain.com",
    ],
)
@pytest.mark.parametrize("route", ["rdr", "xrdr"])
def test_open_redirect_attempts_go_to_the_default(admin: Admin, route: str, target: str) -> None:
    response = httpx.get(admin.tracker.url(f"/tr/v1/{route}/"), params={"url": target})
    assert response.status_code == 302 and response.headers["location"] == "https://example.com/default"


def test_encoded_open_redirect_in_the_raw_query(admin: Admin) -> None:
    raw = admin.tracker.url("/tr/v1/rdr/?url=%2F%2Fevil.com%2F")
    assert httpx.get(raw).headers["location"] == "https://example.com/default"


def test_a_target_with_non_latin1_characters_is_stored_as_a_uri_and_answers(admin: Admin) -> None:
    create(admin, slugfrom="iri", urlto="https://bücher.example/straße?q=€", targets={"ios": "https://例え.jp/パス"})
    assert visit(admin, "/iri").headers["location"] == "https://xn--bcher-kva.example/stra%C3%9Fe?q=%E2%82%AC"
    iphone = visit(admin, "/iri", **{"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"})
    assert iphone.status_code == 302 and iphone.headers["location"] == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"


@pytest.mark.parametrize("key", ["legacy-js", "legacy-data", "legacy-evil"])
def test_a_stored_hop_to_an_unsafe_url_is_never_answered(admin: Admin, key: str) -> None:
    response = visit(admin, f"/{key}")
    assert response.status_code == 404 and "location" not in response.headers


def test_stored_links_from_before_the_checks_still_load_and_answer_a_valid_location(admin: Admin) -> None:
    euro = visit(admin, "/legacy-euro?utm_source=é")
    assert euro.status_code == 302
    assert euro.headers["location"] == "https://example.com/%E2%82%AC%20page?q=%C3%BC&utm_source=%C3%A9"
    assert visit(admin, "/legacy-far").headers["location"] == "https://example.com/far"  # valid_until 2999


def test_rdr_answers_an_encoded_location_for_an_allowed_target(admin: Admin) -> None:
    response = httpx.get(admin.tracker.url("/tr/v1/rdr/"), params={"url": "https://yourdomain.com/€ sale"})
    assert response.status_code == 302 and response.headers["location"] == "https://yourdomain.com/%E2%82%AC%20sale"
