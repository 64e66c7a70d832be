"""ACME end to end against a real ACME server (pebble), HTTP-01 validated against the tracker's plain port;
and the renewal rule (tracker/edge/acme.py)."""

from __future__ import annotations

import datetime
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from tests.harness import free_port, prepare_tracker, wait_until
from tests.services.pebble import Pebble
from tracker.config import AcmeConfig
from tracker.edge.acme import ensure_bootstrap_certificate, expires_within


def served_leaf(port: int) -> x509.Certificate:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_a_certificate_is_obtained_by_http01_and_served(tmp_path: Path, pebble_for: Callable[[int], Pebble]) -> None:
    http_port, tls_port = free_port(), free_port()
    pebble = pebble_for(http_port)
    tracker = prepare_tracker(
        tmp_path / "t",
        ProxyPort=f"127.0.0.1:{http_port}",
        ProxyPortTLS=f"127.0.0.1:{tls_port}",
        Acme={
            "Directory": pebble.directory_url,
            "Domains": ["localhost"],
            "Email": "ops@example.com",
            "CacheDirectory": str(tmp_path / "acme"),
            "CABundle": str(pebble.ca_bundle),
        },
    )
    tracker.start()
    try:

        def issued() -> bool:
            leaf = served_leaf(tls_port)
            return leaf.issuer != leaf.subject  # no longer the self-signed bootstrap certificate

        wait_until(issued, 90, interval=0.5, what="a pebble-issued certificate on the TLS port")
        leaf = served_leaf(tls_port)
        assert x509.DNSName("localhost") in leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        chain = x509.load_pem_x509_certificates((tmp_path / "acme" / "localhost.crt").read_bytes())
        assert chain[0] == leaf  # the full chain on disk is what is served
        for child, parent in zip(chain, chain[1:], strict=False):
            child.verify_directly_issued_by(parent)
        root = x509.load_pem_x509_certificate(pebble.issuing_root().encode())
        chain[-1].verify_directly_issued_by(root)  # and it ends at pebble's root
        assert (tmp_path / "acme" / "account.key").exists() and (tmp_path / "acme" / "localhost.crt").exists()
        assert "certificate obtained" in tracker.log()
        assert list((tmp_path / "acme" / "challenges").iterdir()) == []  # tokens removed after the order
    finally:
        tracker.stop()


def test_renewal_is_due_for_bootstrap_and_expiring_certificates(tmp_path: Path, test_certs: Path) -> None:
    acme = AcmeConfig(domains=("localhost",), cache_directory=str(tmp_path), renew_days=30)
    cert, key = tmp_path / "localhost.crt", tmp_path / "localhost.key"
    assert expires_within(cert, 30)  # none yet
    ensure_bootstrap_certificate(acme, cert, key)
    assert expires_within(cert, 30)  # self-signed bootstrap: always replaced
    issued = x509.load_pem_x509_certificate((test_certs / "localhost.pem").read_bytes())
    cert.write_bytes((test_certs / "localhost.pem").read_bytes())  # valid ten years, from a CA
    assert not expires_within(cert, 30)
    days_left = (issued.not_valid_after_utc - datetime.datetime.now(datetime.UTC)).days
    assert expires_within(cert, days_left + 2)
