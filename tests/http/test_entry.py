"""What the request entry refuses before any layer acts on it, on a real Hypercorn server: a target not in
origin form (it could name another authority) and ambiguous body framing (request smuggling), on every route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.inprocess import InProcessServer
from tests.raw_http import ask


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    srv = InProcessServer(Path(tmp_path_factory.mktemp("entry"))).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("target", ["@evil.example/x", "%2F@127.0.0.1:6379/", "http://evil.example/", "evil:80"])
def test_a_target_not_in_origin_form_is_400_on_every_route(server: InProcessServer, target: str) -> None:
    answer, _ = ask(server.port, f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    assert answer is not None and answer.status == 400 and b'"field":"target"' in answer.body


@pytest.mark.parametrize("path", ["/tr/v1/tr/ename/x", "/tr/v1/rpi/links", "/no-such-page"])
def test_content_length_with_chunked_is_400_and_the_connection_closes(server: InProcessServer, path: str) -> None:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\nGET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    ).encode()
    answer, closed = ask(server.port, request, see_close=True)
    assert answer is not None and answer.status == 400 and b'"field":"body"' in answer.body
    assert closed, "the smuggled second request must not be answered on the same connection"


def test_options_asterisk_and_origin_form_targets_pass(server: InProcessServer) -> None:
    answer, _ = ask(server.port, b"GET /health?x=%2F@a HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert answer is not None and answer.status == 200
    answer, _ = ask(server.port, b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert answer is not None and answer.status != 400
