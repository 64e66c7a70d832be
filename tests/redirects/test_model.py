"""Short-link keys, checks and per-device targets (tracker/redirects/model.py)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tracker.errors import BadEvent
from tracker.redirects.model import Redirect, build, device_of, link_key

DOMAINS = ("yourdomain.com",)


def make(**fields: object) -> Redirect:
    return build(fields, updater="alice", domains=DOMAINS, default_host="go.example")


def test_key_is_lowercased_host_and_path_without_scheme_or_query() -> None:
    assert link_key("https://Yourdomain.com/Short?x=1") == "yourdomain.com/short"
    assert (
        make(urlfrom="https://Yourdomain.com/Short", urlto="https://example.com/x?a=1").urlfrom
        == "yourdomain.com/short"
    )


def test_without_a_slug_a_random_lowercase_code_on_the_default_host() -> None:
    link = make(urlto="https://example.com/")
    host, code = link.urlfrom.split("/")
    assert host == "go.example" and len(code) == 7 and code == code.lower()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"urlfrom": "https://go.example/a", "urlto": ""}, "urlto", "Bad URL (null)"),
        ({"urlfrom": "https://go.example/a", "urlto": "https://go.example/a"}, "urlto", "Bad URL (equal)"),
        ({"urlfrom": "https://go.example/a", "urlto": "https://yourdomain.com/page"}, "urlto", "self-referential"),
        ({"urlfrom": "https://go.example/", "urlto": "https://example.com/"}, "urlfrom", "from path"),
        ({"urlfrom": "https://go.example/a", "urlto": "javascript:alert(1)"}, "urlto", "http(s)"),
        ({"urlto": "https://example.com/", "status": 418}, "status", "one of"),
        ({"urlto": "https://example.com/", "targets": {"tv": "https://x.io/"}}, "targets", "keys"),
        ({"urlto": "https://example.com/", "max_visits": 0}, "max_visits", "positive"),
        ({"urlto": "https://example.com/", "valid_until": "soon"}, "valid_until", "ISO 8601"),
        ({"urlto": "https://example.com/", "slugfrom": "../x"}, "slugfrom", ".."),
        ({"urlto": "https://example.com/", "tags": "a,b"}, "tags", "list"),
    ],
)
def test_bad_fields_are_named(fields: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(BadEvent) as caught:
        make(**fields)
    assert caught.value.field == field and message in caught.value.message


def test_self_referential_is_allowed_through_our_own_rdr() -> None:
    assert make(slugfrom="a", urlto="https://yourdomain.com/tr/v1/rdr/?url=https://example.com/").slug == "a"


def test_device_targets_follow_the_user_agent() -> None:
    link = make(
        slugfrom="app",
        urlto="https://example.com/",
        targets={"android": "https://play.example/", "ios": "https://apps.example/"},
    )
    assert link.target_for("Mozilla/5.0 (Linux; Android 14; Pixel 8)") == "https://play.example/"
    assert link.target_for("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)") == "https://apps.example/"
    assert link.target_for("Mozilla/5.0 (X11; Linux x86_64) Chrome/120") == "https://example.com/"
    assert device_of("") == "desktop"


def test_validity_window() -> None:
    link = make(
        slugfrom="w", urlto="https://example.com/", valid_since="2030-01-01T00:00:00Z", valid_until="2030-02-01"
    )
    assert not link.live_at("2029-12-31 23:59:59.000000")
    assert link.live_at("2030-01-15 00:00:00.000000")
    assert not link.live_at("2030-02-01 00:00:01.000000")


def test_rows_round_trip() -> None:
    link = make(slugfrom="rt", urlto="https://example.com/", tags=["spring"], targets={"ios": "https://apps.example/"})
    assert Redirect.from_row(link.row()) == link


@pytest.mark.parametrize(
    "inner", ["javascript:alert(1)", "data:text/html,x", "//evil.com", "/local", "https://u@evil.com"]
)
def test_a_hop_through_our_own_rdr_must_wrap_a_valid_target(inner: str) -> None:
    with pytest.raises(BadEvent) as caught:
        make(slugfrom="hop", urlto=f"https://yourdomain.com/tr/v1/rdr/?url={quote(inner, safe='')}&xid=1")
    assert caught.value.field == "urlto" and "/rdr/" in caught.value.message


def test_targets_are_stored_as_uris() -> None:
    link = make(slugfrom="iri", urlto="https://例え.jp/パス?q=€", targets={"ios": "https://apps.example/ä"})
    assert link.urlto == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=%E2%82%AC"
    assert link.targets == {"ios": "https://apps.example/%C3%A4"}
    with pytest.raises(BadEvent) as caught:
        make(slugfrom="ctl", urlto="https://example.com/\x01")
    assert caught.value.field == "urlto"
