"""A request target chooses a path on the configured upstream, never the host or port the tracker connects to
(tracker.http.request_target.py, used by proxy.py and proxy_ws.py): a real tracker, raw request lines, and a
second listener standing in for "any host and port" that must see no connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.harness import TrackerProcess, start_tracker
from tests.raw_http import RawUpstream, ask, h2_request, start_tls_tracker
from tracker.http.request_target import OriginForm, origin_form


@pytest.fixture(scope="module")
def upstream() -> Iterator[RawUpstream]:
    with RawUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def decoy() -> Iterator[RawUpstream]:
    """Where an attacker would point the tracker (Redis on 6379, a metadata service...)."""
    with RawUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def tracker(upstream: RawUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    process = start_tracker(
        tmp_path_factory.mktemp("target"),
        Upstreams=[
            {"Prefix": "/", "Targets": [upstream.url]},
            {"Prefix": "/app/", "Targets": [upstream.url], "StripPrefix": True},
        ],
        ProxyUrl=upstream.url,
    )
    yield process
    process.kill9()


def get(tracker: TrackerProcess, target: str, *headers: str, method: str = "GET") -> tuple[int, dict[str, object]]:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{tracker.port}", *headers, "Connection: close"]
    answer, _ = ask(tracker.port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert answer is not None
    body = orjson.loads(answer.body) if answer.headers.get("content-type") == "application/json" else {}
    return answer.status, body


ATTACKS_THAT_MATCH_AN_UPSTREAM = [
    "%2F@127.0.0.1:{port}/",  # decoded "/@…" matches "/": glued after host:port it was the authority
    "%2F%2F@127.0.0.1:{port}/",
    "%2Fapp%2F@127.0.0.1:{port}/x",  # matches /app/ (StripPrefix) through the decoded path
    "%2Fapi%2F@127.0.0.1:{port}/x",  # the Go ProxyUrl upstream
    "?x=@127.0.0.1:{port}/",  # an empty path matches "/"
]
ATTACKS_THAT_MATCH_NOTHING = [
    "@127.0.0.1:{port}/",
    "http://127.0.0.1:{port}/",  # absolute form
    "127.0.0.1:{port}",  # authority form
    "\\@127.0.0.1:{port}/",
]


@pytest.mark.parametrize("target", ATTACKS_THAT_MATCH_AN_UPSTREAM)
def test_a_target_not_in_origin_form_is_400_and_connects_nowhere(
    tracker: TrackerProcess, decoy: RawUpstream, upstream: RawUpstream, target: str
) -> None:
    seen = decoy.connections
    before = len(upstream.requests)
    status, body = get(tracker, target.format(port=decoy.port))
    assert status == 400 and body == {
        "error": "the request target must be a path starting with / (origin form)",
        "field": "target",
    }
    assert decoy.connections == seen and len(upstream.requests) == before


@pytest.mark.parametrize("target", ATTACKS_THAT_MATCH_NOTHING)
def test_targets_that_name_no_upstream_path_connect_nowhere(
    tracker: TrackerProcess, decoy: RawUpstream, upstream: RawUpstream, target: str
) -> None:
    seen = decoy.connections
    before = len(upstream.requests)
    status, body = get(tracker, target.format(port=decoy.port))
    assert status in (400, 404) and body.get("error")  # 404: no upstream path (nor link, nor file) is named
    assert decoy.connections == seen and len(upstream.requests) == before


def test_connect_in_authority_form_connects_nowhere(tracker: TrackerProcess, decoy: RawUpstream) -> None:
    seen = decoy.connections
    status, _ = get(tracker, f"127.0.0.1:{decoy.port}", method="CONNECT")
    assert 400 <= status < 500 and decoy.connections == seen


def test_origin_form_paths_that_look_like_authorities_stay_on_the_upstream(
    tracker: TrackerProcess, decoy: RawUpstream, upstream: RawUpstream
) -> None:
    """`//host:port/` and `%2F@host:port` inside a path are paths: sent as the client wrote them, to our upstream."""
    seen = decoy.connections
    for target in (
        f"//127.0.0.1:{decoy.port}/x",
        f"/api%2F@127.0.0.1:{decoy.port}/?q=%2F@x",
        f"/app//@127.0.0.1:{decoy.port}/",
    ):
        status, _ = get(tracker, target)
        assert status == 200
    lines = [r.line for r in upstream.requests[-3:]]
    assert lines == [
        f"GET //127.0.0.1:{decoy.port}/x HTTP/1.1",
        f"GET /api%2F@127.0.0.1:{decoy.port}/?q=%2F@x HTTP/1.1",
        f"GET /@127.0.0.1:{decoy.port}/ HTTP/1.1",  # /app/ stripped, the rest kept with one leading slash
    ]
    assert decoy.connections == seen


@pytest.mark.parametrize("target", ["%2F@127.0.0.1:{port}/", "%2Fapp%2F@127.0.0.1:{port}/ws"])
def test_a_websocket_upgrade_with_such_a_target_is_400_and_connects_nowhere(
    tracker: TrackerProcess, decoy: RawUpstream, target: str
) -> None:
    seen = decoy.connections
    upgrade = (
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    )
    lines = [f"GET {target.format(port=decoy.port)} HTTP/1.1", f"Host: 127.0.0.1:{tracker.port}", *upgrade]
    answer, _ = ask(tracker.port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert answer is not None and answer.status == 400
    assert json.loads(answer.body)["error"].startswith("the request target must be a path")
    assert decoy.connections == seen


@pytest.mark.parametrize(
    ("raw_path", "query", "expected"),
    [
        (b"/a%2Fb", b"x=%20", OriginForm("/a%2Fb", "x=%20")),
        (b"//h:1/x", b"", OriginForm("//h:1/x", "")),
        (b"%2F@h:1/", b"", None),
        (b"@h/", b"", None),
        (b"http://h/", b"", None),
        (b"", b"x", None),
        (b"/a b", b"", None),  # HTTP/2 :path values are not checked as strictly as h11 request lines
        (b"/a\r\nX: 1", b"", None),
        (b"/a#f", b"", None),
        (b"/a", b"x\r\n", None),
        (b"/caf\xc3\xa9", b"", None),
    ],
)
def test_origin_form(raw_path: bytes, query: bytes, expected: OriginForm | None) -> None:
    assert origin_form({"path": "/ignored", "raw_path": raw_path, "query_string": query}) == expected


def test_origin_form_without_a_raw_path_quotes_the_decoded_one() -> None:
    assert origin_form({"path": "/a b/é", "query_string": b""}) == OriginForm("/a%20b/%C3%A9", "")


def test_http2_paths_not_in_origin_form_connect_nowhere(
    tmp_path: Path, test_certs: Path, upstream: RawUpstream, decoy: RawUpstream
) -> None:
    """h2 leaves `:path` to the app: the same refusals hold for HTTP/2 requests and what they may carry."""
    tracker, tls_port = start_tls_tracker(
        tmp_path,
        test_certs,
        Upstreams=[{"Prefix": "/", "Targets": [upstream.url]}, {"Prefix": "/app/", "Targets": [upstream.url]}],
    )
    seen, requests = decoy.connections, len(upstream.requests)

    def h2_get(path: bytes) -> int:
        fields = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"localhost"), (b":path", path)]
        answer = h2_request(tls_port, str(test_certs / "ca.pem"), fields)
        return answer.status if answer is not None else 0  # 0: the stream or connection was reset

    try:
        port = str(decoy.port).encode()
        for attack in (
            b"%2F@127.0.0.1:PORT/",
            b"%2Fapp%2F@127.0.0.1:PORT/x",
            b"/app/x HTTP/1.1\r\nHost: 127.0.0.1:PORT",
        ):
            assert h2_get(attack.replace(b"PORT", port)) in (0, 400)  # 0: h2 refused the bytes itself (CRLF)
        assert decoy.connections == seen and len(upstream.requests) == requests
        assert h2_get(b"/app/fine") == 200 and upstream.requests[-1].line == "GET /app/fine HTTP/1.1"
    finally:
        tracker.kill9()
