"""Slow clients (tracker/edge/slow_clients.py) against a real tracker: one that stops reading a big static file or
a proxied download is cut off; one that stops sending its body gets 408; and neither timeout cuts a long
download, or a WebSocket, whose client simply has nothing to send (Hypercorn's read_timeout did)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.edge.test_proxy import Upstream, start_upstream
from tests.harness import TrackerProcess, start_tracker, wait_until
from tracker.edge.slow_clients import SlowClients
from tracker.http.context import SCOPE_KEY, RequestContext

SIZE = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrackerProcess, Upstream]]:
    site = tmp_path_factory.mktemp("site")
    with (site / "big.bin").open("wb") as big:
        big.truncate(SIZE)
    upstream = start_upstream()
    tracker = start_tracker(
        tmp_path_factory.mktemp("t"),
        WriteTimeoutSeconds=1,
        ReadTimeoutSeconds=1,
        Static=[{"Root": str(site), "Prefix": "/files/"}],
        Upstreams=[{"Prefix": "/app/", "Targets": [upstream.url]}],
    )
    yield tracker, upstream
    tracker.kill9()
    upstream.process.terminate()
    upstream.process.wait(10)


def _read_to_the_end(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    received = b""
    try:
        while chunk := sock.recv(1 << 20):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _received_after_stalling(port: int, target: str, stall_seconds: float) -> int:
    """Asks for `target`, reads nothing for `stall_seconds`, then reads to the end: the bytes received."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(stall_seconds)
        return len(_read_to_the_end(sock))


@pytest.mark.parametrize("target", ["/files/big.bin", f"/app/download?size={SIZE}"])
def test_a_client_that_stops_reading_is_cut_off(setup: tuple[TrackerProcess, Upstream], target: str) -> None:
    tracker, _ = setup
    received = _received_after_stalling(tracker.port, target, stall_seconds=4)
    assert 0 < received < SIZE // 2  # the socket buffers' worth, then the connection closed
    wait_until(lambda: "sending the response" in tracker.log(), 10, what="the log line")
    assert "Traceback" not in tracker.log()
    assert httpx.get(tracker.url("/ping")).status_code == 200


@pytest.mark.parametrize("target", ["/tr/v1/tr/", "/app/upload"])
def test_a_client_that_stops_sending_its_body_gets_408(setup: tuple[TrackerProcess, Upstream], target: str) -> None:
    tracker, _ = setup
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as sock:
        head = f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        sock.sendall(head.encode() + b'{"ename": "sl')  # and never the rest
        answer = _read_to_the_end(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"error": "request body too slow"}
    assert "Traceback" not in tracker.log()


def test_downloads_and_quiet_websockets_outlive_the_read_timeout(setup: tuple[TrackerProcess, Upstream]) -> None:
    tracker, _ = setup
    started = time.monotonic()
    with httpx.stream("GET", tracker.url("/files/big.bin")) as response:
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if time.monotonic() - started < 2.5:
                time.sleep(0.01)  # slow for longer than ReadTimeoutSeconds, never stopped for a whole second
    assert total == SIZE and time.monotonic() - started > 2

    async def quiet_websocket() -> str | bytes:
        async with connect(f"ws://127.0.0.1:{tracker.port}/app/ws") as ws:
            await asyncio.sleep(2.5)  # the client has nothing to say for longer than ReadTimeoutSeconds
            await ws.send("still here")
            return await ws.recv()

    assert asyncio.run(quiet_websocket()) in ("still here", "echo:still here")


@pytest.mark.parametrize(
    ("method", "family", "wrapped"),
    [("GET", "tracking", False), ("HEAD", "tracking", False), ("POST", "tracking", True), ("GET", "proxy", True)],
)
async def test_only_what_can_stall_is_wrapped(method: str, family: str, wrapped: bool) -> None:
    """A tracking GET reads no body and is answered in one piece: it is passed through as it came."""
    seen: list[tuple[object, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append((receive, send))

    async def receive() -> dict[str, object]:
        return {"type": "http.request"}

    async def send(message: dict[str, object]) -> None:
        pass

    found = RequestContext(family, "", "x", "127.0.0.1", {}, None)
    scope = {"type": "http", "method": method, "path": "/tr/v1/tr/", SCOPE_KEY: found}
    await SlowClients(app, read_seconds=1, write_seconds=1)(scope, receive, send)  # type: ignore[arg-type]
    assert (seen[0] != (receive, send)) is wrapped
