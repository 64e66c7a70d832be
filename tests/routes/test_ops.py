"""Operations routes on a real Hypercorn server: /health, /ping, /clear, /status, /metrics; the catch-all 404."""

from __future__ import annotations

import socket
import threading

import httpx

from tests.inprocess import InProcessServer
from tests.raw_http import read_answer


def test_ops_routes_answer_and_record_nothing(server: InProcessServer, client: httpx.Client) -> None:
    assert client.get("/tr/v1/tr/ename/before_ops").status_code == 200
    before = len(server.rows("events", at_least=1))
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ping").text == "pong"
    cleared = client.get("/clear")
    assert cleared.text == "OK" and cleared.headers["clear-site-data"] == '"*"'
    status = client.get("/status").json()
    assert status["version"] and "memory" in status["sinks"] and status["client"] == "127.0.0.1"
    assert "bytes" in status["spool"]
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'tracker_requests_total{family="tracking",status="200"}' in metrics.text
    assert "tracker_events_accepted_total" in metrics.text and "tracker_request_seconds_bucket" in metrics.text
    assert "tracker_sink_rows_written_total" in metrics.text
    go = client.get("/metrics?format=json").json()
    assert set(go) == {"metrics", "batching", "calculated", "timestamp"}
    assert go["metrics"]["event_count"] >= before
    assert len(server.rows("events")) == before


def test_status_has_no_cors_and_no_paths(client: httpx.Client) -> None:
    status = client.get("/status", headers={"origin": "https://evil.example"})
    assert status.status_code == 200
    assert not any(name.startswith("access-control-") for name in status.headers)
    assert "/" not in status.text.replace("\\/", ""), "no file system path in /status"
    assert client.get("/ping", headers={"origin": "https://site.example"}).headers["access-control-allow-origin"]


def test_unknown_path_is_a_json_404(client: httpx.Client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404 and response.json()["error"] == "not found"


def test_an_unread_404_body_keeps_the_connection_usable(server: InProcessServer) -> None:
    """The answer needs none of the body, but its tail may still be on the way: it is read and dropped, so the
    keep-alive connection serves the next request (without that, 100 of 100 such connections were dropped)."""
    body = b"x" * 50_000
    head = f"POST /nope HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(head + body[:1000])
            tail = threading.Timer(0.05, sock.sendall, [body[1000:]])  # the tail arrives after the head
            tail.start()
            answer = read_answer(sock)
            assert answer is not None and answer.status == 404
            tail.join()
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = read_answer(sock)
        assert answer is not None and answer.status == 200
