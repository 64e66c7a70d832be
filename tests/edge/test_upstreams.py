"""Choosing an upstream and a target (tracker/edge/upstreams.py)."""

from __future__ import annotations

import time

import pytest

from tracker.config import ConfigError, UpstreamConfig, from_mapping
from tracker.edge.upstreams import build_upstreams, match
from tracker.http.request_target import OriginForm


def test_longest_prefix_wins_and_a_host_upstream_comes_first() -> None:
    upstreams = build_upstreams(
        [
            UpstreamConfig(targets=("http://a:1",), prefix="/"),
            UpstreamConfig(targets=("http://b:1",), prefix="/app/"),
            UpstreamConfig(targets=("http://c:1",), prefix="/app/admin/"),
            UpstreamConfig(targets=("http://d:1",), prefix="/", host="Shop.Example"),
        ]
    )

    def chosen(host: str, path: str) -> str:
        found = match(upstreams, host, path)
        return found.targets[0].base if found else ""

    assert chosen("x", "/app/admin/users") == "http://c:1"
    assert chosen("x", "/app/x") == "http://b:1"
    assert chosen("x", "/app") == "http://b:1"  # the prefix without its slash
    assert chosen("x", "/other") == "http://a:1"
    assert chosen("shop.example", "/app/x") == "http://d:1"


def test_round_robin_skips_a_failing_target_until_its_time_is_up() -> None:
    [upstream] = build_upstreams([UpstreamConfig(targets=("http://a:1", "http://b:1", "http://c:1"))])
    firsts = [upstream.candidates()[0].base for _ in range(6)]
    assert firsts == ["http://a:1", "http://b:1", "http://c:1"] * 2
    upstream.targets[1].failed_until = time.monotonic() + 60
    order = [t.base for t in upstream.candidates()]
    assert order[-1] == "http://b:1" and len(order) == 3  # last resort, still tried
    assert "http://b:1" not in {upstream.candidates()[0].base for _ in range(6)}
    upstream.targets[1].failed_until = time.monotonic() - 1
    assert "http://b:1" in {upstream.candidates()[0].base for _ in range(6)}


def test_strip_prefix_keeps_the_rest_of_the_raw_path() -> None:
    [upstream] = build_upstreams([UpstreamConfig(targets=("http://a:1",), prefix="/app/", strip_prefix=True)])
    assert upstream.path_for(OriginForm("/app/x%2Fy", "q=%20")) == OriginForm("/x%2Fy", "q=%20")
    assert upstream.path_for(OriginForm("/app/", "")) == OriginForm("/", "")


def test_upstream_urls_take_only_scheme_host_and_port_from_the_target() -> None:
    [upstream] = build_upstreams([UpstreamConfig(targets=("https://Backend:8443/ignored?x",))])
    target = upstream.targets[0]
    assert target.base == "https://backend:8443"
    url = target.url(OriginForm("//evil.example:6379/x%2F@y", "a=%20"))
    assert (url.scheme, url.host, url.port) == ("https", "backend", 8443)
    assert url.raw_path_qs == "//evil.example:6379/x%2F@y?a=%20"  # sent as the client wrote it
    assert target.websocket_url(OriginForm("/ws", "")) == "wss://backend:8443/ws"
    [v6] = build_upstreams([UpstreamConfig(targets=("http://[::1]",))])
    assert v6.targets[0].url(OriginForm("/x", "")).host == "::1" and v6.targets[0].base == "http://[::1]"


@pytest.mark.parametrize("url", ["ftp://a:1", "http://user:secret@a:1", "http://a:notaport", "http://"])
def test_a_target_that_is_not_an_http_authority_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="Upstreams"):
        build_upstreams([UpstreamConfig(targets=(url,))])


def test_proxy_url_is_the_go_api_upstream() -> None:
    config = from_mapping(
        {"ProxyUrl": "http://backend:9000/ignored", "ProxyUrlFilter": "^/api/health", "AllowOrigin": "*"}
    )
    [upstream] = build_upstreams([], config)
    assert upstream.prefix == "/api/" and upstream.targets[0].base == "http://backend:9000"
    assert upstream.go_api is not None and upstream.go_api.origin_host == "backend:9000"
    assert upstream.tracks("/api/orders") and not upstream.tracks("/api/health/live")
    with pytest.raises(ConfigError, match="ProxyUrlFilter"):
        build_upstreams([], from_mapping({"ProxyUrl": "http://b:1", "ProxyUrlFilter": "("}))
