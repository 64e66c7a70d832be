"""ACME certificates (Let's Encrypt or any RFC 8555 server) with the `acme` library, HTTP-01 challenges.

Runs in one process (the one that owns the sinks); workers only read files: the challenge tokens they answer
on the plain port (`<CacheDirectory>/challenges/`) and the certificate they serve (`<CacheDirectory>/<first
domain>.crt/.key`, picked up by tls.ReloadingCertificate without a restart). The account key and certificates
stay on disk; a certificate is renewed when it expires within RenewDays or no longer covers every domain,
checked every CHECK_SECONDS; failed orders are retried after RETRY_SECONDS, doubling. Until the first
certificate arrives a self-signed one lets the TLS listener start.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from acme import challenges, client, crypto_util, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from josepy.jwk import JWKRSA

from tracker.config import AcmeConfig

log = logging.getLogger("tracker.edge.acme")
CHECK_SECONDS = 12 * 3600
RETRY_SECONDS = 300
ORDER_SECONDS = 120


def certificate_paths(acme: AcmeConfig) -> tuple[Path, Path]:
    base = Path(acme.cache_directory) / (acme.domains[0] if acme.domains else "certificate")
    return base.with_suffix(".crt"), base.with_suffix(".key")


def challenge_directory(acme: AcmeConfig) -> Path:
    return Path(acme.cache_directory) / "challenges"


def ensure_bootstrap_certificate(acme: AcmeConfig, cert: Path, key: Path) -> None:
    """A self-signed certificate for the domains, only when there is none yet, so TLS can start."""
    if cert.exists() and key.exists():
        return
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, acme.domains[0] if acme.domains else "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in acme.domains]), critical=False)
        .sign(private, hashes.SHA256())
    )
    key_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_pair(cert, key, certificate.public_bytes(serialization.Encoding.PEM), key_pem)


def renewal_due(cert: Path, domains: tuple[str, ...], days: int) -> bool:
    """True when there is no certificate from an ACME server yet, it expires within `days`, or a domain was
    added to the config since it was issued."""
    try:
        certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    except (OSError, ValueError):
        return True
    if certificate.issuer == certificate.subject:  # our bootstrap certificate
        return True
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        covered = set(names.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        covered = set()
    if not {d.lower() for d in domains} <= {n.lower() for n in covered}:
        return True
    remaining = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return remaining < datetime.timedelta(days=days)


class AcmeManager:
    def __init__(
        self, acme: AcmeConfig, plain_listener: tuple[str, int] | None = None, check_seconds: float = CHECK_SECONDS
    ) -> None:
        self.acme = acme
        self.plain_listener = plain_listener
        self.check_seconds = check_seconds
        self.cert, self.key = certificate_paths(acme)
        self.challenges = challenge_directory(acme)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._renew_forever(), name="acme")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def renew_if_due(self) -> bool:
        """One check: order a certificate when renewal is due. True if one was written; CA errors propagate."""
        if not renewal_due(self.cert, self.acme.domains, self.acme.renew_days):
            return False
        await _in_daemon_thread(self.obtain)
        log.info("certificate obtained", extra={"domains": list(self.acme.domains)})
        return True

    async def _renew_forever(self) -> None:
        if self.plain_listener is not None:
            await _listening(*self.plain_listener)  # the CA will call it: workers must be up first
        failures = 0
        while True:
            try:
                await self.renew_if_due()
                failures = 0
            except Exception as error:  # noqa: BLE001 - the CA or network may fail; keep serving, retry
                failures += 1
                log.error("ACME order failed", extra={"error": f"{type(error).__name__}: {error}"[:500]})
            await asyncio.sleep(retry_delay(failures, self.check_seconds))

    def obtain(self) -> None:
        """One ACME order, blocking (runs in a thread): account, HTTP-01 for every domain, certificate files."""
        acme_client = self._client()
        key_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        order = acme_client.new_order(crypto_util.make_csr(key_pem, list(self.acme.domains)))
        written: list[Path] = []
        try:
            for authorization in order.authorizations:
                if authorization.body.status == messages.STATUS_VALID:
                    continue  # the CA reuses an authorization validated recently: nothing to answer
                challenge = next(
                    (c for c in authorization.body.challenges if isinstance(c.chall, challenges.HTTP01)), None
                )
                if challenge is None:
                    raise errors.Error(f"the CA offers no HTTP-01 challenge for {authorization.body.identifier.value}")
                response, validation = challenge.response_and_validation(acme_client.net.key)
                token_file = self.challenges / challenge.chall.encode("token")
                _atomic_write(token_file, validation.encode())
                written.append(token_file)
                acme_client.answer_challenge(challenge, response)
            deadline = datetime.datetime.now() + datetime.timedelta(seconds=ORDER_SECONDS)
            finished = acme_client.poll_and_finalize(order, deadline)
        finally:
            for token_file in written:
                token_file.unlink(missing_ok=True)
        _write_pair(self.cert, self.key, finished.fullchain_pem.encode(), key_pem)

    def _client(self) -> client.ClientV2:
        account_key = self._account_key()
        verify: bool | str = self.acme.ca_bundle or True
        network = client.ClientNetwork(account_key, user_agent="tracker", verify_ssl=verify)  # type: ignore[arg-type]
        directory = client.ClientV2.get_directory(self.acme.directory, network)
        acme_client = client.ClientV2(directory, net=network)
        registration = messages.NewRegistration.from_data(terms_of_service_agreed=True, email=self.acme.email or None)
        try:
            acme_client.new_account(registration)
        except errors.ConflictError as existing:  # this key has an account already (every order after the first)
            acme_client.net.account = messages.RegistrationResource(uri=existing.location, body=messages.Registration())
        return acme_client

    def _account_key(self) -> JWKRSA:
        path = Path(self.acme.cache_directory) / "account.key"
        if not path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            _atomic_write(path, pem, mode=0o600)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        return JWKRSA(key=loaded)


async def _in_daemon_thread(work: Callable[[], None]) -> None:
    """`work` in a thread that does not hold up the process's exit: asyncio.to_thread's executor is joined at
    shutdown, and an order waiting on a slow CA would delay SIGTERM by minutes."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def report(error: BaseException | None) -> None:
        if done.done():  # the awaiting task was cancelled
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def run() -> None:
        error: BaseException | None = None
        try:
            work()
        except BaseException as raised:  # noqa: BLE001 - handed to the awaiting task
            error = raised
        with contextlib.suppress(RuntimeError):  # the loop closed while the order ran: nobody waits any more
            loop.call_soon_threadsafe(report, error)

    threading.Thread(target=run, name="acme-order", daemon=True).start()
    await done


def retry_delay(failures: int, check_seconds: float) -> float:
    """Seconds to the next check: the check interval, or after failures RETRY_SECONDS doubling up to it (a CA
    such as Let's Encrypt limits failed validations per hour)."""
    if failures == 0:
        return check_seconds
    return float(min(check_seconds, RETRY_SECONDS * 2 ** min(failures - 1, 16)))


async def _listening(host: str, port: int, timeout: float = 60.0) -> None:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(target, port), timeout=1.0)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.2)
            continue
        writer.close()
        return


def _write_pair(cert: Path, key: Path, cert_pem: bytes, key_pem: bytes) -> None:
    # the key first: a reader that sees the new certificate must find its key already in place
    _atomic_write(key, key_pem, mode=0o600)
    _atomic_write(cert, cert_pem)


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Readers see the old file or the new one, never a part; a key is never readable by others, even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)  # O_CREAT keeps an old file's mode: start from none
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())  # the rename must not reach the disk before the bytes do
    os.chmod(temporary, mode)  # the umask may have narrowed it
    os.replace(temporary, path)
