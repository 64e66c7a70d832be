"""Which headers cross the reverse proxy (tracker/edge/proxy_headers.py), on plain ASGI scopes."""

from __future__ import annotations

from typing import Any

from tracker.edge.proxy_headers import forwarded, forwarding_headers, request_host, response_headers
from tracker.http.client_ip import TrustedProxies

TRUSTED = TrustedProxies.parse(["10.0.0.0/8"])


def scope(peer: str, *headers: tuple[str, str], scheme: str = "http") -> dict[str, Any]:
    return {
        "type": "http",
        "scheme": scheme,
        "client": (peer, 50000),
        "headers": [(n.encode(), v.encode()) for n, v in headers],
    }


def sent(s: dict[str, Any], trusted: TrustedProxies = TRUSTED) -> dict[str, str]:
    return {n.decode(): v.decode() for n, v in forwarding_headers(s, trusted)}


def test_an_untrusted_peer_cannot_plant_an_address() -> None:
    headers = sent(scope("203.0.113.9", ("host", "t.example"), ("x-forwarded-for", "6.6.6.6")))
    assert headers["x-forwarded-for"] == "203.0.113.9"
    assert headers["forwarded"] == 'for=203.0.113.9;proto=http;host="t.example"'


def test_x_real_ip_is_always_the_computed_client_never_the_clients_own() -> None:
    planted = forwarding_headers(scope("203.0.113.9", ("x-real-ip", "6.6.6.6"), ("x-real-ip", "7.7.7.7")), TRUSTED)
    assert [v for n, v in planted if n == b"x-real-ip"] == [b"203.0.113.9"]
    through_proxy = scope("10.0.0.2", ("x-real-ip", "6.6.6.6"), ("x-forwarded-for", "198.51.100.7, 10.0.0.1"))
    headers = forwarding_headers(through_proxy, TRUSTED)
    assert [v for n, v in headers if n == b"x-real-ip"] == [b"198.51.100.7"]  # one value: ours


def test_a_trusted_proxy_chain_is_extended_with_the_peer_and_names_the_client() -> None:
    s = scope("10.0.0.2", ("host", "t.example"), ("x-forwarded-for", "198.51.100.7, 10.0.0.1"), scheme="https")
    headers = sent(s)
    assert headers["x-forwarded-for"] == "198.51.100.7, 10.0.0.1, 10.0.0.2"
    assert headers["forwarded"] == 'for=198.51.100.7;proto=https;host="t.example"'
    assert headers["x-forwarded-proto"] == "https" and headers["x-forwarded-host"] == "t.example"


def test_several_x_forwarded_for_lines_are_one_list() -> None:
    s = scope("10.0.0.2", ("x-forwarded-for", "198.51.100.7"), ("x-forwarded-for", "10.0.0.1"))
    assert sent(s)["x-forwarded-for"] == "198.51.100.7, 10.0.0.1, 10.0.0.2"


def test_hop_by_hop_and_connection_named_headers_are_dropped_both_ways() -> None:
    s = scope(
        "127.0.0.1",
        ("connection", "keep-alive, X-Hop"),
        ("x-hop", "1"),
        ("te", "trailers"),
        ("upgrade", "h2c"),
        ("proxy-authorization", "Basic x"),
        ("transfer-encoding", "chunked"),
        ("expect", "100-continue"),
        ("x-kept", "yes"),
    )
    forwarding = {"x-real-ip", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"}
    assert set(sent(s)) == {"x-kept", *forwarding}
    upstream = [(b"Connection", b"close, X-Secret"), (b"X-Secret", b"1"), (b"Keep-Alive", b"timeout=5")]
    upstream += [(b"Date", b"x"), (b"Server", b"up"), (b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")]
    assert response_headers(upstream) == [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]


def test_forwarded_quotes_ipv6_and_hosts() -> None:
    assert forwarded("2001:db8::1", "http", 'we"ird') == 'for="[2001:db8::1]";proto=http;host="we\\"ird"'
    assert forwarded("", "http", "") == "for=unknown;proto=http"


def test_request_host_drops_the_port() -> None:
    assert request_host(scope("1.1.1.1", ("host", "App.Example:8080"))) == "app.example"
    assert request_host(scope("1.1.1.1", ("host", "[::1]:8080"))) == "[::1]"
