"""ACME end to end against a real ACME server (pebble), HTTP-01 validated against the tracker's plain port, and
a renewal with the same account; the renewal rule and the background task (tracker/edge/acme.py)."""

from __future__ import annotations

import datetime
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.harness import eventually, free_port, prepare_tracker, wait_until
from tests.services.pebble import Pebble
from tracker.config import AcmeConfig, from_mapping
from tracker.edge.acme import (
    RETRY_SECONDS,
    AcmeManager,
    certificate_paths,
    ensure_bootstrap_certificate,
    renewal_due,
    retry_delay,
)
from tracker.edge.tls import acme_settings


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


def leaf_on_disk(cert: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(cert.read_bytes())[0]


def test_a_certificate_is_obtained_by_http01_served_and_renewed(
    tmp_path: Path, pebble_for: Callable[[int], Pebble]
) -> None:
    http_port, tls_port = free_port(), free_port()
    pebble = pebble_for(http_port)
    acme = {
        "Directory": pebble.directory_url,
        "Domains": ["localhost"],
        "Email": "ops@example.com",
        "CacheDirectory": str(tmp_path / "acme"),
        "CABundle": str(pebble.ca_bundle),
    }
    tracker = prepare_tracker(
        tmp_path / "t", ProxyPort=f"127.0.0.1:{http_port}", ProxyPortTLS=f"127.0.0.1:{tls_port}", Acme=acme
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
        for private in ("account.key", "localhost.key"):
            assert (tmp_path / "acme" / private).stat().st_mode & 0o077 == 0  # readable by the tracker's user only
        assert "certificate obtained" in tracker.log()
        # pebble fetched the token from the tracker's plain port, and that made the authorization valid
        assert f"validate w/ HTTP: http://localhost:{http_port}/.well-known/acme-challenge/" in pebble.log()
        assert "set VALID by completed challenge" in pebble.log()
        assert list((tmp_path / "acme" / "challenges").iterdir()) == []  # tokens removed after the order

        # a renewal: the same account key (the CA answers "exists"), the authorization reused (pebble is
        # started with PEBBLE_AUTHZREUSE=100), new files on disk, served by the running tracker
        settings = acme_settings(from_mapping({"ProxyPortTLS": f"127.0.0.1:{tls_port}", "Acme": acme}))
        AcmeManager(settings).obtain()
        renewed = leaf_on_disk(tmp_path / "acme" / "localhost.crt")
        assert renewed.serial_number != leaf.serial_number
        wait_until(
            lambda: served_leaf(tls_port).serial_number == renewed.serial_number,
            15,
            what="the renewed certificate on new connections",
        )
        assert tracker.process is not None and tracker.process.poll() is None
    finally:
        tracker.kill9()


def make_leaf(directory: Path, test_certs: Path, days: int, names: tuple[str, ...] = ("localhost",)) -> Path:
    """A certificate from the test CA for `names`, valid for `days` more days."""
    ca_key = serialization.load_pem_private_key((test_certs / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate((test_certs / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    path = directory / "localhost.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_renewal_is_due_for_bootstrap_expiring_and_uncovering_certificates(tmp_path: Path, test_certs: Path) -> None:
    acme = AcmeConfig(domains=("localhost",), cache_directory=str(tmp_path), renew_days=30)
    cert, key = certificate_paths(acme)
    assert renewal_due(cert, acme.domains, 30)  # none yet
    ensure_bootstrap_certificate(acme, cert, key)
    assert renewal_due(cert, acme.domains, 30)  # self-signed bootstrap: always replaced
    make_leaf(tmp_path, test_certs, days=90)
    assert not renewal_due(cert, acme.domains, 30)
    assert renewal_due(cert, acme.domains, 91)
    make_leaf(tmp_path, test_certs, days=10)
    assert renewal_due(cert, acme.domains, 30)
    assert not renewal_due(cert, acme.domains, 7)
    make_leaf(tmp_path, test_certs, days=90)
    assert renewal_due(cert, ("localhost", "www.example.com"), 30)  # a domain added to the config


class RecordingManager(AcmeManager):
    """The renewal loop with the order replaced: a fresh 90-day certificate from the test CA."""

    def __init__(self, acme: AcmeConfig, test_certs: Path, check_seconds: float = 12 * 3600) -> None:
        super().__init__(acme, check_seconds=check_seconds)
        self.test_certs = test_certs
        self.orders = 0

    def obtain(self) -> None:
        self.orders += 1
        make_leaf(self.cert.parent, self.test_certs, days=90)


async def test_a_certificate_expiring_within_renew_days_is_renewed_once(tmp_path: Path, test_certs: Path) -> None:
    acme = AcmeConfig(domains=("localhost",), cache_directory=str(tmp_path), renew_days=30)
    manager = RecordingManager(acme, test_certs)
    make_leaf(tmp_path, test_certs, days=29)
    assert await manager.renew_if_due() is True
    assert manager.orders == 1
    assert await manager.renew_if_due() is False  # the new certificate has 90 days
    assert manager.orders == 1
    make_leaf(tmp_path, test_certs, days=31)
    assert await manager.renew_if_due() is False
    assert manager.orders == 1


async def test_the_background_task_renews_an_expiring_certificate(tmp_path: Path, test_certs: Path) -> None:
    acme = AcmeConfig(domains=("localhost",), cache_directory=str(tmp_path), renew_days=30)
    manager = RecordingManager(acme, test_certs, check_seconds=0.05)
    make_leaf(tmp_path, test_certs, days=5)
    await manager.start()
    try:
        await eventually(lambda: manager.orders, 10, interval=0.02, what="a renewal order")
        assert manager.orders == 1
        assert not renewal_due(manager.cert, acme.domains, 30)
    finally:
        await manager.stop()


def test_failed_orders_are_retried_later_and_later() -> None:
    day = 86400.0
    assert retry_delay(0, day) == day
    assert retry_delay(1, day) == RETRY_SECONDS
    assert retry_delay(2, day) == 2 * RETRY_SECONDS
    assert retry_delay(50, day) == day  # never past the check interval


def test_acme_domains_default_to_domains_without_ips_or_wildcards() -> None:
    config = from_mapping({"ProxyPortTLS": ":8443", "Domains": ["example.com", "127.0.0.1", "*.example.com", "[::1]"]})
    assert acme_settings(config).domains == ("example.com",)
    own = from_mapping({"ProxyPortTLS": ":8443", "Domains": ["example.com"], "Acme": {"Domains": ["a.example"]}})
    assert acme_settings(own).domains == ("a.example",)
    local = from_mapping(
        {"ProxyPortTLS": ":8443", "UseLocalTLS": True, "TLSCert": "c", "TLSKey": "k", "Domains": ["example.com"]}
    )
    assert acme_settings(local).domains == ()


def test_a_stuck_ca_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    """The order runs in a daemon thread: SIGTERM while the CA never answers still stops the tracker promptly
    (the acme library's own network timeout is 45 s; the harness waits 20)."""
    with socket.create_server(("127.0.0.1", 0)) as stuck_ca:
        tracker = prepare_tracker(
            tmp_path / "t",
            ProxyPortTLS=f"127.0.0.1:{free_port()}",
            Acme={
                "Directory": f"https://127.0.0.1:{stuck_ca.getsockname()[1]}/dir",
                "Domains": ["localhost"],
                "CacheDirectory": str(tmp_path / "acme"),
            },
        )
        tracker.start()
        try:
            stuck_ca.settimeout(30)
            held, _ = stuck_ca.accept()  # the order has begun: it now waits for a TLS answer that never comes
            with held:
                assert tracker.stop(timeout=20) == 0
        finally:
            tracker.kill9()
