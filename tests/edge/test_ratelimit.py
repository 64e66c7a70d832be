"""Rate limits (tracker/edge/ratelimit.py) in real tracker processes, with memory and with Redis storage."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import free_port, start_tracker, wait_until
from tests.services.redis import RedisServer, start_redis

PIXEL_PREFIX = b"GIF89a"


def test_the_request_after_the_limit_gets_429_with_headers(tmp_path: Path) -> None:
    tracker = start_tracker(tmp_path / "t", RateLimits=[{"Limit": "5/minute", "Routes": ["tracking"]}])
    try:
        answers = [httpx.get(tracker.url("/tr/v1/tr/ename/x")) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert answers[0].headers["ratelimit-limit"] == "5" and answers[0].headers["ratelimit-remaining"] == "4"
        refused = answers[5]
        assert refused.json() == {
            "error": "rate limited",
            "limit": "5/minute",
            "retry_after": refused.json()["retry_after"],
        }
        assert 1 <= int(refused.headers["retry-after"]) <= 60 and refused.headers["ratelimit-remaining"] == "0"
        assert 0 < int(refused.headers["ratelimit-reset"]) <= 60
        # other route families are not limited by a tracking rule
        assert httpx.get(tracker.url("/ping")).status_code == 200
        # a limited pixel still answers its image, so no e-mail shows a broken picture
        pixel = httpx.get(tracker.url("/tr/v1/img/ename/opened"))
        assert pixel.status_code == 200 and pixel.content.startswith(PIXEL_PREFIX) and "retry-after" in pixel.headers
        tracker.wait_shipped()
        assert tracker.status()["sinks"]["duckdb"]["written"]["events"] == 5
    finally:
        tracker.kill9()


def test_limits_are_per_client_address_behind_a_trusted_proxy(tmp_path: Path) -> None:
    tracker = start_tracker(
        tmp_path / "t", TrustedProxies=["127.0.0.1/32"], RateLimits=[{"Limit": "2/minute", "Routes": ["all"]}]
    )
    try:
        first = [httpx.get(tracker.url("/ping"), headers={"x-forwarded-for": "203.0.113.1"}) for _ in range(3)]
        other = httpx.get(tracker.url("/ping"), headers={"x-forwarded-for": "203.0.113.2"})
        assert [r.status_code for r in first] == [200, 200, 429] and other.status_code == 200
    finally:
        tracker.kill9()


def test_redis_storage_shares_counts_between_two_trackers(tmp_path: Path, redis_server: RedisServer) -> None:
    rules = [{"Limit": "6/minute", "Routes": ["tracking"]}]
    one = start_tracker(tmp_path / "one", RateLimits=rules, RateLimitStorage=redis_server.uri)
    two = start_tracker(tmp_path / "two", RateLimits=rules, RateLimitStorage=redis_server.uri)
    try:
        statuses = []
        for i in range(7):
            tracker = one if i % 2 == 0 else two
            statuses.append(httpx.get(tracker.url("/tr/v1/tr/ename/shared")).status_code)
        assert statuses == [200] * 6 + [429]
        assert httpx.get(two.url("/tr/v1/tr/ename/shared")).status_code == 429
    finally:
        one.kill9()
        two.kill9()


def test_a_redis_outage_lets_requests_through(tmp_path: Path) -> None:
    tracker = start_tracker(
        tmp_path / "t",
        RateLimits=[{"Limit": "1/minute", "Routes": ["tracking"]}],
        RateLimitStorage=f"redis://127.0.0.1:{free_port()}",
    )
    try:
        assert [httpx.get(tracker.url("/tr/v1/tr/ename/x")).status_code for _ in range(3)] == [200, 200, 200]
        assert "rate-limit storage failing" in tracker.log()
    finally:
        tracker.kill9()


def test_a_hung_redis_lets_requests_through_and_counting_resumes(tmp_path: Path) -> None:
    redis = start_redis()
    tracker = start_tracker(
        tmp_path / "t", RateLimits=[{"Limit": "2/minute", "Routes": ["tracking"]}], RateLimitStorage=redis.uri
    )
    url = tracker.url("/tr/v1/tr/ename/hung")
    try:
        assert httpx.get(url).status_code == 200
        redis.pause()  # accepts connections, answers nothing: each command times out instead of failing fast
        assert [httpx.get(url, timeout=30).status_code for _ in range(4)] == [200] * 4
        assert tracker.log().count("rate-limit storage failing") == 1
        redis.resume()
        wait_until(lambda: httpx.get(url).status_code == 429, 30, interval=0.5, what="the limit to apply again")
        assert "rate-limit storage back" in tracker.log()
    finally:
        tracker.kill9()
        redis.stop()


def test_a_limited_redirect_answers_a_small_html_page(tmp_path: Path) -> None:
    tracker = start_tracker(tmp_path / "t", RateLimits=[{"Limit": "1/minute", "Routes": ["redirects"]}])
    try:
        target = tracker.url("/tr/v1/rdr/")
        first = httpx.get(target, params={"url": "https://yourdomain.com/page"})
        second = httpx.get(target, params={"url": "https://yourdomain.com/page"})
        assert first.status_code == 302 and first.headers["ratelimit-remaining"] == "0"
        assert second.status_code == 429 and second.headers["content-type"].startswith("text/html")
        assert "Too many requests" in second.text and int(second.headers["retry-after"]) >= 1
        assert httpx.get(tracker.url("/tr/v1/tr/ename/x")).status_code == 200  # tracking is not limited
    finally:
        tracker.kill9()


def test_static_files_can_be_limited_as_their_own_family(tmp_path: Path) -> None:
    root = tmp_path / "www"
    root.mkdir()
    (root / "a.txt").write_text("a")
    tracker = start_tracker(
        tmp_path / "t",
        Static=[{"Root": str(root), "Prefix": "/assets/"}],
        RateLimits=[{"Limit": "2/minute", "Routes": ["static"]}],
    )
    try:
        statuses = [httpx.get(tracker.url("/assets/a.txt")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert httpx.get(tracker.url("/ping")).status_code == 200
    finally:
        tracker.kill9()
