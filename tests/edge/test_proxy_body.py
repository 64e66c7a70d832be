"""Request smuggling and desync (RFC 9112 §6.3) through the proxy (tracker/edge/proxy_body.py, proxy.py): a real
tracker, raw sockets on both sides, and an upstream that records every request as its bytes framed it.

The upstream here answers as soon as a request's head is in, then reads the body, as apps that refuse or
ignore a body do: the kind whose pooled connection a half-sent or mis-framed body poisons for the next client.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.types import Message, Receive

from tests.harness import TrackerProcess, start_tracker, wait_until
from tests.raw_http import RawUpstream, ask, h2_request, read_answer, start_tls_tracker
from tracker.edge.proxy_body import RequestBody, known_empty
from tracker.http.framing import BadFraming, declared_length


@pytest.fixture(scope="module")
def eager() -> Iterator[RawUpstream]:
    with RawUpstream(answer_before_body=True) as server:
        yield server


@pytest.fixture(scope="module")
def plain() -> Iterator[RawUpstream]:
    with RawUpstream(big_bytes=256 << 20) as server:  # more than the socket buffers between here and the client
        yield server


@pytest.fixture(scope="module")
def tracker(
    eager: RawUpstream, plain: RawUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrackerProcess]:
    process = start_tracker(
        tmp_path_factory.mktemp("framing"),
        Workers=1,  # one worker, so one upstream pool: the second client's request can meet the first's connection
        Upstreams=[{"Prefix": "/eager/", "Targets": [eager.url]}, {"Prefix": "/plain/", "Targets": [plain.url]}],
    )
    yield process
    process.kill9()


def request(tracker: TrackerProcess, head: str, body: bytes = b"") -> bytes:
    lines = head.strip().splitlines()
    return ("\r\n".join([*lines[:1], f"Host: 127.0.0.1:{tracker.port}", *lines[1:]]) + "\r\n\r\n").encode() + body


def get(tracker: TrackerProcess, path: str) -> bytes:
    answer, _ = ask(tracker.port, request(tracker, f"GET {path} HTTP/1.1\nConnection: close"))
    assert answer is not None and answer.status == 200
    return answer.body


def test_content_length_with_chunked_is_refused_and_the_pooled_connection_stays_clean(
    tracker: TrackerProcess, eager: RawUpstream
) -> None:
    """Forwarded with the client's Content-Length (64) and the de-chunked body (5 bytes), the pooled connection
    waited for 59 more bytes, and the next client's request became them."""
    warm = get(tracker, "/eager/warm")
    connection = warm.split(b" ")[0]
    # this upstream records a request after answering it: count only once the warm-up is in its log
    wait_until(lambda: "GET /eager/warm HTTP/1.1" in [r.line for r in eager.requests], 10, what="the warm-up")
    seen = len(eager.requests)
    smuggled = b"5\r\nhello\r\n0\r\n\r\nGET /eager/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    head = "POST /eager/x HTTP/1.1\nContent-Length: 64\nTransfer-Encoding: chunked"
    answer, closed = ask(tracker.port, request(tracker, head, smuggled), see_close=True)
    assert answer is not None and answer.status == 400 and closed  # RFC 9112 §6.3: and close the connection
    assert orjson.loads(answer.body) == {"error": "both Content-Length and Transfer-Encoding", "field": "body"}
    assert get(tracker, "/eager/next") == connection + b" GET /eager/next HTTP/1.1"  # same pooled connection
    # this upstream records a request once it has read the body, after answering: wait for it
    wait_until(lambda: [r.line for r in eager.requests[seen:]] == ["GET /eager/next HTTP/1.1"], 10, what="the log")
    assert not eager.garbage


@pytest.mark.parametrize(
    ("framing", "status"),
    [
        ("Content-Length: 5\nContent-Length: 6", 400),
        ("Content-Length: 5, 6", 400),
        ("Content-Length: -5", 400),
        ("Transfer-Encoding: gzip, chunked", 501),  # h11: a coding it does not implement
        ("Transfer-Encoding: chunked\nTransfer-Encoding: chunked", 501),
        ("Transfer-Encoding: identity", 501),
    ],
)
def test_conflicting_or_unknown_framing_is_refused_before_the_upstream(
    tracker: TrackerProcess, eager: RawUpstream, framing: str, status: int
) -> None:
    connections, seen = eager.connections, len(eager.requests)
    answer, closed = ask(tracker.port, request(tracker, f"POST /eager/x HTTP/1.1\n{framing}", b"hello"), see_close=True)
    assert answer is not None and answer.status == status and closed
    assert eager.connections == connections and len(eager.requests) == seen


def test_identical_content_lengths_are_one_and_the_upstream_is_told_it_once(
    tracker: TrackerProcess, plain: RawUpstream
) -> None:
    """RFC 9110 §8.6 lets a recipient take `5` and `5` as one value; h11 does before our code sees them."""
    head = "POST /plain/dup HTTP/1.1\nContent-Length: 5\nContent-Length: 5\nConnection: close"
    answer, _ = ask(tracker.port, request(tracker, head, b"hello"))
    assert answer is not None and answer.status == 200
    received = plain.requests[-1]
    assert received.line == "POST /plain/dup HTTP/1.1" and received.body == b"hello"
    assert received.header("content-length") == ["5"] and received.header("transfer-encoding") == []


def test_a_chunked_body_goes_upstream_framed_by_the_proxy(tracker: TrackerProcess, plain: RawUpstream) -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    head = "POST /plain/chunked HTTP/1.1\nTransfer-Encoding: chunked\nConnection: close"
    answer, _ = ask(tracker.port, request(tracker, head, body))
    assert answer is not None and answer.status == 200
    received = plain.requests[-1]
    assert received.body == b"hello world" and received.header("content-length") in ([], ["11"])


def test_an_upstream_that_answered_before_the_whole_body_loses_that_connection(
    tracker: TrackerProcess, eager: RawUpstream
) -> None:
    """The answer is relayed, but the connection is mid-request (999,000 body bytes owed): it is closed, not
    pooled, while the client is still connected and still owes the rest of its body."""
    head = "POST /eager/upload HTTP/1.1\nContent-Length: 1000000"
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as client:
        client.sendall(request(tracker, head, b"u" * 1000))
        answer = read_answer(client)
        assert answer is not None and answer.status == 200
        connection = int(answer.body.split(b" ")[0])
        wait_until(lambda: connection in eager.closed, 10, what="the proxy to close the half-sent connection")
        after = get(tracker, "/eager/after")
    assert int(after.split(b" ")[0]) != connection and after.endswith(b" GET /eager/after HTTP/1.1")
    assert not eager.garbage


def test_a_response_not_read_whole_is_not_pooled(tracker: TrackerProcess, plain: RawUpstream) -> None:
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=10) as client:
        client.sendall(request(tracker, "GET /plain/big HTTP/1.1"))
        assert client.recv(65536).startswith(b"HTTP/1.1 200")
        big = next(r for r in reversed(plain.requests) if r.line == "GET /plain/big HTTP/1.1")
    wait_until(lambda: big.connection in plain.closed, 10, what="the proxy to close the half-read connection")
    assert get(tracker, "/plain/next").endswith(b" GET /plain/next HTTP/1.1") and not plain.garbage


def test_http2_content_lengths_are_checked_by_the_proxy(tmp_path: Path, test_certs: Path, plain: RawUpstream) -> None:
    """h2 lets repeated content-length fields through to the app (h11 would have merged or refused them)."""
    tracker, port = start_tls_tracker(tmp_path, test_certs, Upstreams=[{"Prefix": "/plain/", "Targets": [plain.url]}])
    request = [(b":method", b"POST"), (b":scheme", b"https"), (b":authority", b"localhost"), (b":path", b"/plain/h2")]
    try:
        seen = len(plain.requests)
        twice = h2_request(
            port, str(test_certs / "ca.pem"), [*request, (b"content-length", b"5"), (b"content-length", b"5")], b"hello"
        )
        assert twice is not None and twice.status == 400
        assert orjson.loads(twice.body) == {"error": "more than one Content-Length", "field": "body"}
        assert len(plain.requests) == seen
        once = h2_request(port, str(test_certs / "ca.pem"), [*request, (b"content-length", b"5")], b"hello")
        assert once is not None and once.status == 200
        assert plain.requests[-1].body == b"hello" and plain.requests[-1].header("content-length") == ["5"]
    finally:
        tracker.kill9()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"content-length", b"12")], 12),
        ([(b"transfer-encoding", b"chunked")], None),
        ([(b"transfer-encoding", b"Chunked ")], None),
    ],
)
def test_declared_length(headers: list[tuple[bytes, bytes]], expected: int | None) -> None:
    assert declared_length(headers) == expected


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], "both Content-Length and Transfer-Encoding"),
        ([(b"content-length", b"5"), (b"content-length", b"5")], "more than one Content-Length"),  # HTTP/2
        ([(b"content-length", b"5, 5")], "more than one Content-Length"),
        ([(b"content-length", b"+5")], "not a number"),
        ([(b"content-length", b"9" * 19)], "not a number"),
        ([(b"transfer-encoding", b"gzip, chunked")], "other than chunked"),
        ([(b"transfer-encoding", b"chunked"), (b"transfer-encoding", b"chunked")], "other than chunked"),
    ],
)
def test_ambiguous_framing_is_refused(headers: list[tuple[bytes, bytes]], problem: str) -> None:
    with pytest.raises(BadFraming, match=problem):
        declared_length(headers)


@pytest.mark.parametrize(
    ("version", "headers", "empty"),
    [
        ("1.1", [], True),  # RFC 9112 §6.3: neither Content-Length nor Transfer-Encoding: no body
        ("1.0", [(b"host", b"x")], True),
        ("1.1", [(b"content-length", b"0")], True),
        ("2", [(b"content-length", b"0")], True),
        ("1.1", [(b"content-length", b"3")], False),
        ("1.1", [(b"transfer-encoding", b"chunked")], False),
        ("2", [], False),  # HTTP/2 may send a body without a length
    ],
)
def test_a_body_is_known_empty_only_when_the_framing_says_so(
    version: str, headers: list[tuple[bytes, bytes]], empty: bool
) -> None:
    assert known_empty({"http_version": version, "headers": headers}, declared_length(headers)) is empty


def receiving(*chunks: bytes) -> Receive:
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive() -> Message:
        return messages.pop(0)

    return receive


async def test_a_body_longer_or_shorter_than_its_content_length_never_goes_out_whole() -> None:
    """A second check behind h11 and h2, which enforce the length themselves: the relay stops with BadFraming,
    which aiohttp turns into a closed upstream connection."""
    single = await RequestBody.open(receiving(b"hello"), length=4)
    assert single.mismatch is not None and single.payload() == b"hello"  # refused before it is sent: see proxy.py
    for chunks in ((b"hello", b" world"), (b"hel", b"lo")):
        body = await RequestBody.open(receiving(*chunks), length=8)
        payload = body.payload()
        assert not isinstance(payload, (bytes, type(None)))
        with pytest.raises(BadFraming):
            async for _ in payload:
                pass
        assert body.mismatch is not None and not body.sent_whole
    whole = await RequestBody.open(receiving(b"hel", b"lo"), length=5)
    relayed = whole.payload()
    assert not isinstance(relayed, (bytes, type(None)))
    assert b"".join([chunk async for chunk in relayed]) == b"hello" and whole.sent_whole and whole.mismatch is None
