"""TLS, HTTP/2, the plain-port redirect, HSTS and certificate hot swap (tracker/edge/tls.py, https_redirect.py)."""

from __future__ import annotations

import shutil
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.harness import TrackerProcess, free_port, start_tracker, wait_until


@pytest.fixture
def tls_tracker(tmp_path: Path, test_certs: Path) -> Iterator[tuple[TrackerProcess, int]]:
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(test_certs / "localhost.pem", cert)
    shutil.copy(test_certs / "localhost.key", key)
    tls_port = free_port()
    tracker = start_tracker(
        tmp_path / "t",
        ProxyPortTLS=f"127.0.0.1:{tls_port}",
        UseLocalTLS=True,
        TLSCert=str(cert),
        TLSKey=str(key),
        HSTS="max-age=63072000; includeSubDomains",
        Acme={"CacheDirectory": str(tmp_path / "acme")},
    )
    yield tracker, tls_port
    tracker.stop()


def served_serial(port: int, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_http1_and_http2_over_tls_with_hsts(tls_tracker: tuple[TrackerProcess, int], test_certs: Path) -> None:
    _, port = tls_tracker
    ca = ssl.create_default_context(cafile=str(test_certs / "ca.pem"))
    with httpx.Client(verify=ca) as client:
        one = client.get(f"https://localhost:{port}/health")
    assert one.status_code == 200 and one.http_version == "HTTP/1.1"
    assert one.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    with httpx.Client(verify=ca, http2=True) as client:
        two = client.get(f"https://localhost:{port}/tr/v1/tr/ename/over_h2")
    assert two.status_code == 200 and two.http_version == "HTTP/2"


def test_the_plain_port_redirects_to_https(tls_tracker: tuple[TrackerProcess, int]) -> None:
    tracker, port = tls_tracker
    response = httpx.get(tracker.url("/tr/v1/tr/ename/x?a=1&b=%20"), headers={"host": "localhost:1234"})
    assert response.status_code == 308
    assert response.headers["location"] == f"https://localhost:{port}/tr/v1/tr/ename/x?a=1&b=%20"
    assert "strict-transport-security" not in response.headers


def test_acme_challenges_are_answered_on_the_plain_port(
    tls_tracker: tuple[TrackerProcess, int], tmp_path: Path
) -> None:
    tracker, _ = tls_tracker
    challenges = tmp_path / "acme" / "challenges"
    challenges.mkdir(parents=True)
    (challenges / "tok-EN_1").write_text("tok-EN_1.thumbprint")
    response = httpx.get(tracker.url("/.well-known/acme-challenge/tok-EN_1"))
    assert response.status_code == 200 and response.text == "tok-EN_1.thumbprint"
    assert httpx.get(tracker.url("/.well-known/acme-challenge/..%2Fescape")).status_code == 404
    assert httpx.get(tracker.url("/.well-known/acme-challenge/missing")).status_code == 404


def test_a_new_certificate_is_served_without_a_restart(
    tls_tracker: tuple[TrackerProcess, int], test_certs: Path, tmp_path: Path
) -> None:
    tracker, port = tls_tracker
    ca = test_certs / "ca.pem"
    first = served_serial(port, ca)
    second = x509.load_pem_x509_certificate((test_certs / "localhost-2.pem").read_bytes()).serial_number
    assert first != second
    shutil.copy(test_certs / "localhost-2.key", tmp_path / "server.key")
    shutil.copy(test_certs / "localhost-2.pem", tmp_path / "server.pem")
    wait_until(lambda: served_serial(port, ca) == second, 15, what="the new certificate on new connections")
    assert tracker.process is not None and tracker.process.poll() is None
