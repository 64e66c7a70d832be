"""The request context: route families, hosts and client IPs worked out once per request."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tracker.http.client_ip import TrustedProxies
from tracker.http.context import Classifier, Routed
from tracker.http.entry import RequestEntry
from tracker.http.hosts import host_name


@dataclass
class Upstream:
    prefix: str


UPSTREAMS = {"/api/": Upstream("/api/"), "/": Upstream("/")}


def match(host: str, path: str) -> Routed | None:
    if host == "no-upstream.example":
        return None
    return UPSTREAMS["/api/"] if path.startswith("/api/") else UPSTREAMS["/"]


CLASSIFIER = Classifier("/tr/v1", match, static_prefixes=("/assets/",))


@pytest.mark.parametrize(
    ("path", "family", "kind"),
    [
        ("/tr/v1/tr/vid/1", "tracking", "tr"),
        ("/tr/v1/img", "tracking", "img"),
        ("/tr/v1/ws", "tracking", "ws"),
        ("/tr/v1/rdr/x", "redirects", "rdr"),
        ("/tr/v1/rpi/links", "admin", "rpi"),
        ("/tr/v1/ppi/agree", "privacy", "ppi"),
        ("/tr/v1/pub/a.css", "static", "pub"),
        ("/tr/v1/nothing", "other", "nothing"),
        ("/tr/v1x/tr", "redirects", ""),  # not under the API prefix: the catch-all
        ("/status", "ops", ""),
        ("/api/users", "proxy", ""),
        ("/assets/site.css", "static", ""),
        ("/sale", "redirects", ""),
    ],
)
def test_families(path: str, family: str, kind: str) -> None:
    got_family, got_kind, _ = CLASSIFIER.classify(path, "example.com")
    assert (got_family, got_kind) == (family, kind)


def test_the_catch_all_keeps_the_default_upstream_for_later() -> None:
    assert CLASSIFIER.classify("/sale", "example.com")[2] is UPSTREAMS["/"]
    assert CLASSIFIER.classify("/sale", "no-upstream.example")[2] is None


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("Example.COM:8080", "example.com"),
        ("example.com", "example.com"),
        ("[::1]:8080", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("", ""),
        ("[broken", "[broken"),
    ],
)
def test_one_host_parser(header: str, host: str) -> None:
    assert host_name(header) == host


def scope(headers: list[tuple[bytes, bytes]], peer: str = "10.0.0.1") -> dict[str, object]:
    return {"type": "http", "path": "/tr/v1/tr", "headers": headers, "client": (peer, 5000)}


def test_the_client_ip_trusts_forwarded_for_only_from_a_trusted_peer() -> None:
    entry = RequestEntry(lambda *a: None, classifier=CLASSIFIER, trusted=TrustedProxies.parse(["10.0.0.0/8"]))  # type: ignore[arg-type]
    forwarded = [(b"x-forwarded-for", b"198.51.100.7"), (b"host", b"[::1]:80")]
    trusted = entry.build(scope(forwarded))
    assert (trusted.client_ip, trusted.host, trusted.family) == ("198.51.100.7", "[::1]", "tracking")
    assert entry.build(scope(forwarded, peer="192.0.2.1")).client_ip == "192.0.2.1"


def test_the_first_of_repeated_headers_wins() -> None:
    entry = RequestEntry(lambda *a: None, classifier=CLASSIFIER, trusted=TrustedProxies())  # type: ignore[arg-type]
    built = entry.build(scope([(b"user-agent", b"first"), (b"user-agent", b"second")]))
    assert built.headers[b"user-agent"] == "first"
