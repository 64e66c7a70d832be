"""MaxHeaderBytes (refused by tracker/http/entry.py, counted by http/framing.py) in a real tracker: over the
limit is 431, whether the head arrives in one read (which h11's own limit never sees) or in pieces."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.harness import TrackerProcess, start_tracker
from tracker.http.framing import head_size

LIMIT = 4096


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    process = start_tracker(tmp_path_factory.mktemp("headers"), MaxHeaderBytes=LIMIT)
    yield process
    process.kill9()


def test_a_head_under_the_limit_is_served(tracker: TrackerProcess) -> None:
    assert httpx.get(tracker.url("/ping"), headers={"x-pad": "a" * 2000}).status_code == 200


def test_a_head_over_the_limit_in_one_read_gets_431(tracker: TrackerProcess) -> None:
    refused = httpx.get(tracker.url("/tr/v1/tr/ename/x"), headers={"x-pad": "a" * 8000})
    assert refused.status_code == 431
    assert refused.json() == {"error": "request header fields too large", "limit": LIMIT}
    long_query = httpx.get(tracker.url("/tr/v1/tr/?ename=" + "q" * 5000))
    assert long_query.status_code == 431
    assert httpx.get(tracker.url("/ping")).status_code == 200  # the worker is fine


def test_a_head_over_the_limit_in_pieces_is_refused(tracker: TrackerProcess) -> None:
    """h11 refuses a head that grows past the limit while incomplete: a 400, and the connection is closed, maybe
    while the client is still sending (then the client sees a broken pipe or a reset instead of the answer)."""
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as sock:
        try:
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
            for _ in range(8):
                sock.sendall(b"x-pad: " + b"a" * 1000 + b"\r\n")
            sock.sendall(b"\r\n")
            answer = sock.recv(4096)
        except (BrokenPipeError, ConnectionResetError):
            answer = b"closed"
    assert answer == b"closed" or answer.startswith(b"HTTP/1.1 4"), answer[:60]


def test_a_websocket_handshake_over_the_limit_is_refused(tracker: TrackerProcess) -> None:
    async def handshake() -> int:
        try:
            async with connect(f"ws://127.0.0.1:{tracker.port}/tr/v1/ws", additional_headers={"x-pad": "a" * 8000}):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    assert asyncio.run(handshake()) == 403


def test_head_size_counts_the_request_line_and_every_header() -> None:
    scope = {"method": "GET", "raw_path": b"/a", "query_string": b"b=1", "headers": [(b"host", b"x")]}
    assert head_size(scope) == len(b"GET /a?b=1 HTTP/1.1\r\nhost: x\r\n\r\n")
    assert head_size({**scope, "query_string": b""}) == len(b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n")
