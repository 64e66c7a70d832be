"""Where a redirect may go (tracker/redirects/targets.py): one parser for short-link targets and /rdr/."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.redirects.targets import (
    BadTarget,
    allowed_target,
    location,
    normalise_host,
    normalise_target,
    tracked_hop,
)

ALLOWED = ("yourdomain.com",)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/x?a=1#top", "https://example.com/x?a=1#top"),
        ("HTTPS://Example.COM/Path", "https://example.com/Path"),
        ("https://bücher.example/straße?q=€", "https://xn--bcher-kva.example/stra%C3%9Fe?q=%E2%82%AC"),
        ("https://example.com/a b<c>", "https://example.com/a%20b%3Cc%3E"),
        ("https://example.com/already%20encoded", "https://example.com/already%20encoded"),
        ("https://[2001:DB8::1]:8443/x", "https://[2001:db8::1]:8443/x"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/"),
    ],
)
def test_targets_become_uris(url: str, expected: str) -> None:
    assert normalise_target(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//evil.com",
        "/relative",
        "https:evil.com",
        "https://user@evil.com/",
        "https://evil.com\\@yourdomain.com/",
        "https://example.com/\r\nSet-Cookie: x=1",
        "https://example.com/\x00",
        "https://example.com/\x7f",
        "https://example.com/\x85",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https://-bad-.example/",
        "https://" + "a" * 9000,
    ],
)
def test_unsafe_or_ambiguous_targets_are_refused(url: str) -> None:
    with pytest.raises(BadTarget):
        normalise_target(url)


@given(st.text(max_size=60))
def test_a_normalised_target_is_header_safe_ascii_and_stable(tail: str) -> None:
    try:
        target = normalise_target("https://example.com/" + tail)
    except BadTarget:
        return
    assert target.isascii() and target.isprintable() and " " not in target
    assert normalise_target(target) == target and location(target) == target


@given(st.text(max_size=80))
def test_any_text_is_a_uri_or_refused_and_nothing_else_is_raised(url: str) -> None:
    for candidate in (url, "https://" + url, "https://[" + url, "/" + url):
        with contextlib.suppress(BadTarget):  # refused is a fine answer; any other exception would be a 500
            assert normalise_target(candidate).isascii()
        allowed = allowed_target(candidate, ALLOWED)
        assert allowed is None or (allowed.isascii() and location(allowed) == allowed)
        assert tracked_hop(candidate, "/tr/v1") is None or "/tr/v1/rdr" in candidate
        assert location(candidate).isascii() and location(candidate).isprintable()


def test_hosts_are_dns_names_or_ip_literals() -> None:
    assert normalise_host("Bücher.Example.") == "xn--bcher-kva.example"
    assert normalise_host("::1") == "[::1]" and normalise_host("[::1]") == "[::1]"
    assert normalise_host("127.0.0.1") == "127.0.0.1"
    for bad in ("go.example\r\n", "a b", "<b>", "go.example/..", "evil.com:80@x", "", "go.example:8080"):
        with pytest.raises(BadTarget):
            normalise_host(bad)


def test_rdr_allows_same_site_paths_and_allowed_hosts_only() -> None:
    assert allowed_target("https://shop.yourdomain.com/p", ALLOWED) == "https://shop.yourdomain.com/p"
    assert allowed_target("https://yourdomain.com/€", ALLOWED) == "https://yourdomain.com/%E2%82%AC"
    assert allowed_target("/page?a=1", ALLOWED) == "/page?a=1"
    for bad in ("https://evil.com/", "//evil.com", "/\\evil.com", "https://yourdomain.com.evil.com/", ""):
        assert allowed_target(bad, ALLOWED) is None


def test_a_tracked_hop_is_unwrapped_with_its_other_keys() -> None:
    hop = tracked_hop("https://yourdomain.com/tr/v1/rdr/?url=https://example.com/f&XID=1", "/tr/v1")
    assert hop == ("https://example.com/f", {"xid": "1"})
    assert tracked_hop("https://example.com/page?url=https://evil.com/", "/tr/v1") is None


def test_location_encodes_only_what_a_header_cannot_carry() -> None:
    assert location("https://example.com/a?b=c%20d#e") == "https://example.com/a?b=c%20d#e"
    assert location("https://example.com/€ x\r\n") == "https://example.com/%E2%82%AC%20x%0D%0A"
