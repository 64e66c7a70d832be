"""The response leg of the proxy (tracker/edge/proxy_relay.py) in a real tracker: a short answer whose body lags
its head goes out whole in one piece, and an upstream that breaks off or stalls inside it gets 502 or 504 with
JSON instead of a response cut short."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.harness import TrackerProcess, start_tracker
from tests.raw_http import RawUpstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstream: RawUpstream, server_engine: str
) -> Iterator[TrackerProcess]:
    routes = [{"Prefix": "/", "Targets": [upstream.url], "ReadTimeoutSeconds": 1}]
    tracker = start_tracker(tmp_path_factory.mktemp(f"relay-{server_engine}"), Upstreams=routes)
    yield tracker
    assert tracker.stop() == 0


def test_a_short_body_that_lags_its_head_is_relayed_whole(proxy: TrackerProcess) -> None:
    answer = httpx.get(proxy.url("/late"), timeout=10)
    assert answer.status_code == 200
    assert answer.content == b"helloworld" and answer.headers["content-length"] == "10"
    assert "Traceback" not in proxy.log()


@pytest.mark.parametrize(
    ("path", "status", "error"), [("/cut", 502, "upstream failed"), ("/stall", 504, "upstream timed out")]
)
def test_an_upstream_that_breaks_off_or_stalls_inside_a_short_body_gets_a_clean_error(
    proxy: TrackerProcess, path: str, status: int, error: str
) -> None:
    answer = httpx.get(proxy.url(path), timeout=10)
    assert answer.status_code == status
    assert answer.json() == {"error": error}
    assert httpx.get(proxy.url("/late"), timeout=10).content == b"helloworld"  # the next exchange is clean
    assert "Traceback" not in proxy.log()
