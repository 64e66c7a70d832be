"""Choosing an upstream and a target (tracker/edge/upstreams.py)."""

from __future__ import annotations

import time

import pytest

from tracker.config import ConfigError, UpstreamConfig, from_mapping
from tracker.edge.upstreams import build_upstreams, match


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
    assert upstream.path_for("/app/x%2Fy") == "/x%2Fy"
    assert upstream.path_for("/app/") == "/"


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
