"""The reverse proxy (tracker/edge/proxy.py, proxy_body.py, proxy_ws.py, proxy_track.py) between real
processes: a client, a tracker, and upstream apps each in their own process on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.harness import TrackerProcess, free_port, snapshot_query, start_tracker, wait_until
from tests.raw_http import start_tls_tracker
from tracker.config import from_mapping, replace
from tracker.edge.proxy import ReverseProxy
from tracker.http.client_ip import TrustedProxies

UPSTREAM_APP = Path(__file__).with_name("upstream_app.py")
MIB = 1024 * 1024
WS_LIMIT = 256 * 1024


@dataclass
class Upstream:
    port: int
    ws_port: int  # a plain `websockets` server in the same process
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_upstream(tls: Path | None = None) -> Upstream:
    """The upstream app in its own process; with `tls` (a test_certs directory) it serves https and wss."""
    port, ws_port = free_port(), free_port()
    command = [sys.executable, str(UPSTREAM_APP), "--port", str(port), "--ws-port", str(ws_port)]
    if tls is not None:
        command += ["--certfile", str(tls / "localhost.pem"), "--keyfile", str(tls / "localhost.key")]
    process = subprocess.Popen(command)
    upstream = Upstream(port, ws_port, process)
    base = upstream.url.replace("http:", "https:") if tls else upstream.url

    verify = ssl.create_default_context(cafile=str(tls / "ca.pem")) if tls else True

    def answers() -> bool:
        return httpx.get(base + "/app/who", timeout=1, verify=verify).status_code == 200

    wait_until(answers, 20, what="upstream app")
    return upstream


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    first, second = start_upstream(), start_upstream()
    yield first, second
    for upstream in (first, second):
        upstream.process.terminate()
        upstream.process.wait(10)


@pytest.fixture(scope="module")
def proxy(upstreams: tuple[Upstream, Upstream], tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    first, second = upstreams
    dead = f"http://127.0.0.1:{free_port()}"
    tracker = start_tracker(
        tmp_path_factory.mktemp("proxy"),
        Upstreams=[
            {"Prefix": "/app/", "Targets": [first.url]},
            {"Prefix": "/app/slow", "Targets": [first.url], "ReadTimeoutSeconds": 0.5},
            {"Prefix": "/rr/", "Targets": [first.url, second.url], "StripPrefix": True},
            {"Prefix": "/mixed/", "Targets": [dead, first.url], "StripPrefix": True},
            {"Prefix": "/dead/", "Targets": [dead], "ConnectTimeoutSeconds": 1},
            {"Prefix": "/tracked/", "Targets": [first.url], "StripPrefix": True, "Track": True},
            {"Prefix": "/raw-ws/", "Targets": [f"http://127.0.0.1:{first.ws_port}"]},
        ],
        ProxyUrl=first.url,
        ProxyUrlFilter="^/api/private/",
        ProxyForceJson=True,
        Limits={"MaxWebSocketMessageBytes": WS_LIMIT},
    )
    yield tracker
    tracker.kill9()


def worker_memory_kib(tracker: TrackerProcess) -> dict[int, tuple[int, int]]:
    """(current RSS, peak RSS) of each worker process: the ones that serve, hence proxy."""
    assert tracker.process is not None
    children = subprocess.run(["pgrep", "-P", str(tracker.process.pid)], capture_output=True, text=True).stdout.split()
    found = {}
    for pid in map(int, children):
        if "multiprocessing.spawn" not in Path(f"/proc/{pid}/cmdline").read_text():
            continue  # the resource tracker
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        found[pid] = (int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]))
    assert found, "no worker process found"
    return found


def test_forwarding_headers_and_hop_by_hop(proxy: TrackerProcess) -> None:
    response = httpx.get(
        proxy.url("/app/echo?x=1&y=%20"),
        headers={"connection": "keep-alive, x-secret-hop", "x-secret-hop": "1", "te": "trailers", "x-app": "kept"},
    )
    assert response.status_code == 200
    seen = response.json()
    headers = dict(seen["headers"])
    assert seen["raw_path"] == "/app/echo" and seen["query"] == "x=1&y=%20"
    assert headers["x-forwarded-for"] == "127.0.0.1" and headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == f"127.0.0.1:{proxy.port}" and headers["host"] == f"127.0.0.1:{proxy.port}"
    assert headers["forwarded"] == f'for=127.0.0.1;proto=http;host="127.0.0.1:{proxy.port}"'
    assert headers["x-app"] == "kept" and "x-secret-hop" not in headers and "te" not in headers
    assert response.headers["x-upstream"] == "yes"
    assert "x-private" not in response.headers and "keep-alive" not in response.headers
    assert len(response.headers.get_list("date")) == 1 and len(response.headers.get_list("server")) == 1


def test_x_forwarded_for_and_x_real_ip_from_an_untrusted_peer_are_replaced(proxy: TrackerProcess) -> None:
    seen = httpx.get(proxy.url("/app/echo"), headers={"x-forwarded-for": "6.6.6.6", "x-real-ip": "6.6.6.6"}).json()
    assert dict(seen["headers"])["x-forwarded-for"] == "127.0.0.1"
    assert [v for n, v in seen["headers"] if n == "x-real-ip"] == ["127.0.0.1"]  # the client we computed, once


def test_x_real_ip_through_a_trusted_proxy_is_the_client_it_forwarded(
    upstreams: tuple[Upstream, Upstream], tmp_path: Path
) -> None:
    tracker = start_tracker(
        tmp_path / "t", TrustedProxies=["127.0.0.1/32"], Upstreams=[{"Prefix": "/app/", "Targets": [upstreams[0].url]}]
    )
    try:
        forwarded = {"x-forwarded-for": "198.51.100.7", "x-real-ip": "6.6.6.6"}
        seen = httpx.get(tracker.url("/app/echo"), headers=forwarded).json()["headers"]
        assert [v for n, v in seen if n == "x-real-ip"] == ["198.51.100.7"]
        assert dict(seen)["x-forwarded-for"] == "198.51.100.7, 127.0.0.1"
    finally:
        tracker.kill9()


@pytest.mark.parametrize("code", [201, 204, 301, 404, 418, 503])
def test_status_codes_pass_through(proxy: TrackerProcess, code: int) -> None:
    response = httpx.get(proxy.url(f"/app/status/{code}"))
    assert response.status_code == code and response.headers["x-code"] == str(code)


def test_methods_and_bodies(proxy: TrackerProcess) -> None:
    seen = httpx.put(proxy.url("/app/echo"), content=b"hello").json()
    assert seen["method"] == "PUT" and seen["body"] == "hello"
    assert httpx.delete(proxy.url("/app/echo")).json()["method"] == "DELETE"
    head = httpx.head(proxy.url("/app/echo"))
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_chunked_both_ways(proxy: TrackerProcess) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"y" * 1000

    up = httpx.post(proxy.url("/app/upload"), content=chunks())
    assert up.json() == {"bytes": 10_000, "chunked": True}
    down = httpx.get(proxy.url("/app/download"), params={"size": 300_000, "chunked": 1})
    assert len(down.content) == 300_000 and "content-length" not in down.headers


def test_expect_100_continue_upload(proxy: TrackerProcess, tmp_path: Path) -> None:
    body = tmp_path / "body.bin"
    body.write_bytes(b"z" * (2 * MIB))
    out = subprocess.run(
        ["curl", "-s", "-H", "Expect: 100-continue", "--data-binary", f"@{body}", proxy.url("/app/upload")],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert '"bytes":2097152' in out.stdout


def test_200_mib_down_and_up_in_bounded_memory(proxy: TrackerProcess) -> None:
    before = worker_memory_kib(proxy)
    size = 200 * MIB
    received = 0
    with httpx.stream("GET", proxy.url("/app/download"), params={"size": size}, timeout=120) as response:
        assert response.headers["content-length"] == str(size)
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received == size

    def upload():  # type: ignore[no-untyped-def]
        block = b"u" * MIB
        for _ in range(200):
            yield block

    answer = httpx.post(proxy.url("/app/upload"), content=upload(), headers={"content-length": str(size)}, timeout=120)
    assert answer.json() == {"bytes": size, "chunked": False}
    after = worker_memory_kib(proxy)
    growth = max(after[pid][1] - before[pid][0] for pid in after)
    assert growth < 40 * 1024  # KiB: far below the 200 MiB that went through each way
    assert max(peak for _, peak in after.values()) < 150 * 1024  # KiB: the serving worker's whole peak RSS


def test_a_response_streams_before_the_upstream_has_finished_it(proxy: TrackerProcess) -> None:
    part = uuid.uuid4().hex
    with httpx.stream("GET", proxy.url("/app/two-parts"), params={"id": part}, timeout=30) as response:
        lines = response.iter_lines()
        assert next(lines) == "first"  # the upstream holds "second" back until released
        assert httpx.get(proxy.url("/app/release"), params={"id": part}).text == "released"
        assert next(lines) == "second"


def test_a_client_leaving_mid_download_closes_the_upstream_stream(
    proxy: TrackerProcess, upstreams: tuple[Upstream, Upstream]
) -> None:
    stream = uuid.uuid4().hex
    state = f"{upstreams[0].url}/app/streams"
    with httpx.stream("GET", proxy.url("/app/forever"), params={"id": stream}, timeout=30) as response:
        chunks = response.iter_raw()  # kept referenced: a finished iterator would close the response
        received = 0
        while received < 4 * MIB:
            received += len(next(chunks))
        assert httpx.get(state).json()[stream] == "open"
    wait_until(lambda: httpx.get(state).json()[stream] == "closed", 20, what="the upstream to see its reader go")
    assert "Traceback" not in proxy.log()


def test_a_client_giving_up_on_a_slow_upstream_drops_the_upstream_request(
    proxy: TrackerProcess, upstreams: tuple[Upstream, Upstream]
) -> None:
    held = uuid.uuid4().hex
    holds = f"{upstreams[0].url}/app/holds"
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(proxy.url("/app/hold"), params={"id": held}, timeout=httpx.Timeout(5, read=1.5))
    # the upstream would hold it 30 s, and the proxy's read timeout here is 60 s
    wait_until(lambda: httpx.get(holds).json().get(held) == "client left", 10, what="the upstream to lose its client")


def test_websocket_echo_through_the_proxy(proxy: TrackerProcess) -> None:
    async def session() -> tuple[str, bytes, int, str, str | None]:
        async with connect(f"ws://127.0.0.1:{proxy.port}/app/ws", subprotocols=["chat"]) as ws:
            await ws.send("hi")
            text = await ws.recv()
            await ws.send(b"\x00\x01binary")
            data = await ws.recv()
            await ws.send("close:4001")
            with contextlib.suppress(ConnectionClosed):
                await ws.recv()
            assert ws.close_code is not None
            return str(text), bytes(data), ws.close_code, ws.close_reason or "", ws.subprotocol

    text, data, code, reason, subprotocol = asyncio.run(session())
    assert (text, data, code, reason, subprotocol) == ("echo:hi", b"\x00\x01binary", 4001, "bye", "chat")


def test_websocket_client_close_code_and_reason_reach_the_upstream(
    proxy: TrackerProcess, upstreams: tuple[Upstream, Upstream]
) -> None:
    socket_id = uuid.uuid4().hex

    async def session(path: str) -> str | None:
        async with connect(f"ws://127.0.0.1:{proxy.port}{path}?id={socket_id}") as ws:
            await ws.send("hi")
            assert await ws.recv() in ("hi", "echo:hi")
            assert ws.response is not None and len(ws.response.headers.get_all("server")) == 1
            cookie = ws.response.headers.get("set-cookie")
            await ws.close(code=4002, reason="client bye")
            return cookie

    assert asyncio.run(session("/app/ws")) == "ws=1; Path=/"  # the upstream's handshake headers reach the client
    asyncio.run(session("/raw-ws/"))
    closed = f"{upstreams[0].url}/app/ws-closed"
    # Hypercorn alone would hand the app 1006 for every client close (its issue #127): edge/ws_close_code.py
    assert wait_until(lambda: httpx.get(closed).json().get(socket_id), 10, what="the upstream's close") == 4002


def test_websocket_messages_over_the_limit_close_with_1009_both_ways(proxy: TrackerProcess) -> None:
    async def closed_code(message: str | bytes) -> int | None:
        async with connect(f"ws://127.0.0.1:{proxy.port}/app/ws", max_size=None) as ws:
            await ws.send(message)
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await ws.recv()
            return ws.close_code

    assert asyncio.run(closed_code(b"c" * (WS_LIMIT + 1))) == 1009  # client to upstream: refused by the tracker
    assert asyncio.run(closed_code(f"big:{WS_LIMIT + 1}")) == 1009  # upstream to client: refused on the way back

    async def received_at_the_limit() -> int:
        async with connect(f"ws://127.0.0.1:{proxy.port}/app/ws", max_size=None) as ws:
            await ws.send(f"big:{WS_LIMIT}")
            return len(await asyncio.wait_for(ws.recv(), 10))

    assert asyncio.run(received_at_the_limit()) == WS_LIMIT  # the limit itself passes


def test_go_api_route_preflight_cors_hsts_origin_host_and_forced_json(
    proxy: TrackerProcess, upstreams: tuple[Upstream, Upstream]
) -> None:
    preflight = httpx.options(proxy.url("/api/anything"), headers={"origin": "https://app.example"})
    assert preflight.status_code == 200 and preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-upstream" not in preflight.headers  # answered by the tracker, as in Go
    response = httpx.post(
        proxy.url("/api/echo"), content=b"{}", headers={"content-type": "text/plain", "origin": "https://app.example"}
    )
    seen = dict(response.json()["headers"])
    assert response.json()["path"] == "/api/echo"
    assert seen["content-type"] == "application/json" and seen["x-origin-host"] == f"127.0.0.1:{upstreams[0].port}"
    assert "strict-transport-security" not in response.headers  # Go's HSTS only goes out over https
    assert response.headers["access-control-allow-origin"] == "https://app.example"


async def test_go_api_answers_over_https_carry_hsts(upstreams: tuple[Upstream, Upstream]) -> None:
    """In process (a TLS tracker is tests/edge/test_tls.py's business): an https scope through the real proxy."""
    configured = from_mapping({"ProxyUrl": upstreams[0].url, "HSTS": "max-age=60"})
    messages: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer is out
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "scheme": "https",
        "method": "GET",
        "path": "/api/echo",
        "raw_path": b"/api/echo",
        "query_string": b"",
        "client": ("127.0.0.1", 1234),
        "headers": [(b"host", b"t.example")],
    }
    for go in (configured, replace(configured, hsts="")):
        messages.clear()
        requested = False
        proxy = ReverseProxy([], TrustedProxies(), go=go)
        try:
            await proxy.handle(scope, receive, send)
        finally:
            await proxy.aclose()
        headers = dict(messages[0]["headers"])
        assert messages[0]["status"] == 200 and headers[b"access-control-allow-origin"] == b"*"
        assert headers[b"strict-transport-security"] == (go.hsts.encode() or b"max-age=15768000 ; includeSubDomains")


def test_http2_clients_through_tls_stream_both_ways_and_are_told_https(
    tmp_path: Path, test_certs: Path, upstreams: tuple[Upstream, Upstream]
) -> None:
    tracker, tls_port = start_tls_tracker(
        tmp_path,
        test_certs,
        HSTS="max-age=60",
        Upstreams=[{"Prefix": "/app/", "Targets": [upstreams[0].url]}],
        ProxyUrl=upstreams[0].url,
    )
    base = f"https://localhost:{tls_port}"

    def blocks():  # type: ignore[no-untyped-def]
        for _ in range(64):
            yield b"h" * 65536

    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(test_certs / "ca.pem")), http2=True) as client:
            echo = client.get(base + "/app/echo")
            assert echo.http_version == "HTTP/2"
            seen = dict(echo.json()["headers"])
            assert seen["x-forwarded-proto"] == "https" and seen["x-forwarded-host"] == f"localhost:{tls_port}"
            assert seen["forwarded"] == f'for=127.0.0.1;proto=https;host="localhost:{tls_port}"'
            upload = client.post(base + "/app/upload", content=blocks())  # HTTP/2: no length, no chunked framing
            assert upload.json() == {"bytes": 64 * 65536, "chunked": True}
            down = client.get(base + "/app/download", params={"size": 5 * MIB})
            assert len(down.content) == 5 * MIB
            api = client.get(base + "/api/echo")
            assert api.headers["strict-transport-security"] == "max-age=60"  # the configured HSTS, over https
    finally:
        tracker.kill9()


def test_tracked_upstreams_write_one_event_per_request(proxy: TrackerProcess) -> None:
    assert httpx.get(proxy.url("/tracked/ename/Proxied_Hit?page=7")).status_code == 200
    assert httpx.get(proxy.url("/api/ename/go_hit")).status_code == 200
    assert httpx.get(proxy.url("/api/private/ename/go_private")).status_code == 200  # matches ProxyUrlFilter
    assert httpx.get(proxy.url("/app/echo?ename=untracked")).status_code == 200
    proxy.wait_shipped()
    rows = snapshot_query(
        proxy.workdir / "tracker.duckdb",
        "SELECT ename, params FROM events WHERE ename IN ('proxied_hit', 'go_hit', 'go_private', 'untracked')",
    )
    assert sorted(name for name, _ in rows) == ["go_hit", "proxied_hit"]
    assert json.loads(next(params for name, params in rows if name == "proxied_hit"))["page"] in (7, "7")


def test_a_dead_upstream_is_502_and_a_slow_one_504(proxy: TrackerProcess) -> None:
    down = httpx.get(proxy.url("/dead/x"))
    assert down.status_code == 502 and down.json() == {"error": "no upstream target could be reached"}
    slow = httpx.get(proxy.url("/app/slow"), params={"seconds": 3})
    assert slow.status_code == 504 and slow.json() == {"error": "upstream timed out"}


def test_round_robin_and_a_dead_target_skipped(proxy: TrackerProcess) -> None:
    pids = {httpx.get(proxy.url("/rr/app/who")).text for _ in range(6)}
    assert len(pids) == 2
    assert [httpx.get(proxy.url("/mixed/app/who")).status_code for _ in range(6)] == [200] * 6


def test_a_killed_upstream_gives_502(tmp_path: Path) -> None:
    upstream = start_upstream()
    tracker = start_tracker(tmp_path / "t", Upstreams=[{"Prefix": "/app/", "Targets": [upstream.url]}])
    try:
        assert httpx.get(tracker.url("/app/who")).status_code == 200
        upstream.process.kill()
        upstream.process.wait(10)
        response = httpx.get(tracker.url("/app/who"))
        assert response.status_code == 502 and response.headers["content-type"] == "application/json"
        assert "Traceback" not in tracker.log()
    finally:
        tracker.kill9()


def test_body_limits_per_route_family(upstreams: tuple[Upstream, Upstream], tmp_path: Path) -> None:
    first, _ = upstreams
    limit = 64 * 1024
    tracker = start_tracker(
        tmp_path / "t",
        Upstreams=[{"Prefix": "/app/", "Targets": [first.url]}],
        Limits={"MaxBodyBytesPerRoute": {"proxy": limit, "tracking": 1000}},
    )

    def chunks(count: int):  # type: ignore[no-untyped-def]
        for _ in range(count):
            yield b"c" * 10_240

    try:
        assert httpx.post(tracker.url("/app/upload"), content=b"a" * limit).json()["bytes"] == limit
        declared = httpx.post(tracker.url("/app/upload"), content=b"b" * (limit + 1))
        assert declared.status_code == 413
        assert declared.json() == {"error": f"body larger than {limit} bytes", "field": "body", "limit": limit}
        streamed = httpx.post(tracker.url("/app/upload"), content=chunks(20))  # chunked: found while streaming
        assert streamed.status_code == 413 and streamed.json()["limit"] == limit
        assert httpx.post(tracker.url("/app/upload"), content=chunks(3)).json() == {"bytes": 30_720, "chunked": True}
        event = httpx.post(tracker.url("/tr/v1/tr/"), json={"ename": "big", "pad": "x" * 2000})
        assert event.status_code == 413 and event.json()["limit"] == 1000
        assert "Traceback" not in tracker.log()
    finally:
        tracker.kill9()


def test_https_upstreams_are_verified_unless_ignore_insecure_tls(tmp_path: Path, test_certs: Path) -> None:
    upstream = start_upstream(tls=test_certs)  # its certificate comes from a CA the system does not trust
    target = f"https://127.0.0.1:{upstream.port}"
    strict = start_tracker(tmp_path / "strict", Upstreams=[{"Prefix": "/app/", "Targets": [target]}])
    trusting = start_tracker(
        tmp_path / "trusting", IgnoreInsecureTLS=True, Upstreams=[{"Prefix": "/app/", "Targets": [target]}]
    )
    try:
        refused = httpx.get(strict.url("/app/echo"))
        assert refused.status_code == 502 and "Certificate" in strict.log()
        assert httpx.get(trusting.url("/app/echo")).json()["path"] == "/app/echo"

        async def echo_over_wss() -> str | bytes:
            async with connect(f"ws://127.0.0.1:{trusting.port}/app/ws") as ws:
                await ws.send("over wss")
                return await ws.recv()

        assert asyncio.run(echo_over_wss()) in ("over wss", "echo:over wss")
    finally:
        strict.kill9()
        trusting.kill9()
        upstream.process.terminate()
        upstream.process.wait(10)
