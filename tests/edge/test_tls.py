"""TLS, HTTP/2, the plain-port redirect, HSTS and certificate hot swap (tracker/edge/tls.py, https_redirect.py):
a real tracker with a test CA's certificate, and the plain-port middleware in process."""

from __future__ import annotations

import shutil
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from starlette.types import Receive, Scope, Send

from tests.harness import TrackerProcess, free_port, prepare_tracker, run_until_exit, start_tracker, wait_until
from tests.raw_http import start_tls_tracker
from tracker.edge.https_redirect import PlainToHttps


@dataclass
class TLSTracker:
    process: TrackerProcess
    tls_port: int
    except_port: int  # ProxyExceptHTTP: plain, every route
    workdir: Path  # localhost.pem and localhost.key (read again on change), acme/ (the challenge files)


def tls_tracker_in(workdir: Path, test_certs: Path) -> TLSTracker:
    except_port = free_port()
    tracker, tls_port = start_tls_tracker(
        workdir, test_certs, ProxyExceptHTTP=f"127.0.0.1:{except_port}", HSTS="max-age=63072000; includeSubDomains"
    )
    return TLSTracker(tracker, tls_port, except_port, workdir)


@pytest.fixture
def tls_tracker(tmp_path: Path, test_certs: Path) -> Iterator[TLSTracker]:
    """A TLS tracker of its own, for a test that changes its certificate files."""
    tracker = tls_tracker_in(tmp_path, test_certs)
    yield tracker
    tracker.process.kill9()


@pytest.fixture(scope="module")
def shared_tls_tracker(tmp_path_factory: pytest.TempPathFactory, test_certs: Path) -> Iterator[TLSTracker]:
    """One TLS tracker for the tests of a module that only send requests to it."""
    tracker = tls_tracker_in(tmp_path_factory.mktemp("tls"), test_certs)
    yield tracker
    tracker.process.kill9()


def served_serial(port: int, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_http1_and_http2_over_tls_with_hsts(shared_tls_tracker: TLSTracker, test_certs: Path) -> None:
    port = shared_tls_tracker.tls_port
    ca = ssl.create_default_context(cafile=str(test_certs / "ca.pem"))
    with httpx.Client(verify=ca) as client:
        one = client.get(f"https://localhost:{port}/health")
    assert one.status_code == 200 and one.http_version == "HTTP/1.1"
    assert one.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    with httpx.Client(verify=ca, http2=True) as client:
        two = client.get(f"https://localhost:{port}/tr/v1/tr/ename/over_h2")
    assert two.status_code == 200 and two.http_version == "HTTP/2"


def test_the_plain_port_redirects_to_https(shared_tls_tracker: TLSTracker) -> None:
    tracker, port = shared_tls_tracker.process, shared_tls_tracker.tls_port
    response = httpx.get(tracker.url("/tr/v1/tr/ename/x?a=1&b=%20"), headers={"host": "localhost:1234"})
    assert response.status_code == 308
    assert response.headers["location"] == f"https://localhost:{port}/tr/v1/tr/ename/x?a=1&b=%20"
    assert "strict-transport-security" not in response.headers
    posted = httpx.post(tracker.url("/tr/v1/tr/ename/x"), content=b"{}", headers={"host": "localhost"})
    assert posted.status_code == 308  # 308: the client repeats the POST with its body
    for forged in ("evil.example@localhost", "localhost/evil", "a b"):
        assert httpx.get(tracker.url("/x"), headers={"host": forged}).status_code == 400


def test_the_except_http_listener_serves_everything_in_plain(shared_tls_tracker: TLSTracker) -> None:
    response = httpx.get(f"http://127.0.0.1:{shared_tls_tracker.except_port}/health")
    assert response.status_code == 200 and "strict-transport-security" not in response.headers


def test_acme_challenges_are_answered_on_the_plain_port(shared_tls_tracker: TLSTracker) -> None:
    tracker = shared_tls_tracker.process
    challenges = shared_tls_tracker.workdir / "acme" / "challenges"
    challenges.mkdir(parents=True)
    (challenges / "tok-EN_1").write_text("tok-EN_1.thumbprint")
    response = httpx.get(tracker.url("/.well-known/acme-challenge/tok-EN_1"))
    assert response.status_code == 200 and response.text == "tok-EN_1.thumbprint"
    assert httpx.get(tracker.url("/.well-known/acme-challenge/..%2Fescape")).status_code == 404
    assert httpx.get(tracker.url("/.well-known/acme-challenge/missing")).status_code == 404


def test_a_new_certificate_is_served_without_a_restart(
    tls_tracker: TLSTracker, test_certs: Path, tmp_path: Path
) -> None:
    tracker, port = tls_tracker.process, tls_tracker.tls_port
    ca = test_certs / "ca.pem"
    first = served_serial(port, ca)
    second = x509.load_pem_x509_certificate((test_certs / "localhost-2.pem").read_bytes()).serial_number
    assert first != second
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), http2=True) as kept:
        assert kept.get(f"https://localhost:{port}/health").http_version == "HTTP/2"
        shutil.copy(test_certs / "localhost-2.key", tls_tracker.workdir / "localhost.key")
        shutil.copy(test_certs / "localhost-2.pem", tls_tracker.workdir / "localhost.pem")
        wait_until(lambda: served_serial(port, ca) == second, 15, what="the new certificate on new connections")
        assert kept.get(f"https://localhost:{port}/health").status_code == 200  # the open connection goes on
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), http2=True) as client:
        after = client.get(f"https://localhost:{port}/health")
    assert after.http_version == "HTTP/2"  # ALPN still offered by the swapped-in context
    assert after.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert tracker.process is not None and tracker.process.poll() is None


def test_a_broken_certificate_on_disk_keeps_the_last_good_one(
    tls_tracker: TLSTracker, test_certs: Path, tmp_path: Path
) -> None:
    tracker, port = tls_tracker.process, tls_tracker.tls_port
    ca = test_certs / "ca.pem"
    first = served_serial(port, ca)
    (tls_tracker.workdir / "localhost.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    )
    wait_until(lambda: served_serial(port, ca) and "not loadable" in tracker.log(), 15, what="the failed reload")
    assert served_serial(port, ca) == first
    shutil.copy(test_certs / "localhost-2.key", tls_tracker.workdir / "localhost.key")  # then a good pair again
    shutil.copy(test_certs / "localhost-2.pem", tls_tracker.workdir / "localhost.pem")
    second = x509.load_pem_x509_certificate((test_certs / "localhost-2.pem").read_bytes()).serial_number
    wait_until(lambda: served_serial(port, ca) == second, 15, what="the repaired certificate")


async def hsts_app(scope: Scope, receive: Receive, send: Send) -> None:
    """An upstream-like app: `/own` answers its own HSTS header."""
    headers = [(b"strict-transport-security", b"max-age=1")] if scope["path"] == "/own" else []
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.mark.parametrize("https_port, suffix", [(443, ""), (8443, ":8443")])
async def test_redirect_targets_keep_ipv6_hosts_and_omit_port_443(tmp_path: Path, https_port: int, suffix: str) -> None:
    app = PlainToHttps(hsts_app, https_port=https_port, challenges=tmp_path, serve_all_ports=frozenset(), hsts="")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        v6 = await client.get("http://[::1]:8080/a%2Fb?q=1")
        named = await client.get("http://example.com/")
    assert v6.status_code == 308 and v6.headers["location"] == f"https://[::1]{suffix}/a%2Fb?q=1"
    assert named.headers["location"] == f"https://example.com{suffix}/"


async def test_hsts_is_added_once_and_an_app_header_wins(tmp_path: Path) -> None:
    app = PlainToHttps(hsts_app, https_port=443, challenges=tmp_path, serve_all_ports=frozenset(), hsts="max-age=9")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        ours = await client.get("https://example.com/")
        own = await client.get("https://example.com/own")
    assert ours.headers.get_list("strict-transport-security") == ["max-age=9"]
    assert own.headers.get_list("strict-transport-security") == ["max-age=1"]


def test_every_worker_serves_the_new_certificate(tmp_path: Path, test_certs: Path) -> None:
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    shutil.copy(test_certs / "localhost.pem", cert)
    shutil.copy(test_certs / "localhost.key", key)
    port = free_port()
    tracker = start_tracker(
        tmp_path / "t",
        Workers=2,
        ProxyPortTLS=f"127.0.0.1:{port}",
        UseLocalTLS=True,
        TLSCert=str(cert),
        TLSKey=str(key),
    )
    try:
        ca = test_certs / "ca.pem"
        second = x509.load_pem_x509_certificate((test_certs / "localhost-2.pem").read_bytes()).serial_number
        shutil.copy(test_certs / "localhost-2.key", key)
        shutil.copy(test_certs / "localhost-2.pem", cert)
        # each worker process checks the files on its own: 20 new connections in a row all see the new one
        wait_until(lambda: all(served_serial(port, ca) == second for _ in range(20)), 20, what="the new certificate")
    finally:
        tracker.kill9()


def test_a_certificate_that_does_not_load_stops_the_start_with_one_line(tmp_path: Path, test_certs: Path) -> None:
    cert = tmp_path / "server.pem"
    shutil.copy(test_certs / "localhost.pem", cert)  # with the other pair's key: they do not match
    tracker = prepare_tracker(
        tmp_path / "t",
        ProxyPortTLS=f"127.0.0.1:{free_port()}",
        UseLocalTLS=True,
        TLSCert=str(cert),
        TLSKey=str(test_certs / "localhost-2.key"),
    )
    run = run_until_exit(tracker)
    assert run.returncode == 2
    assert "TLSCert" in run.stderr and "does not load" in run.stderr and "Traceback" not in run.stderr
