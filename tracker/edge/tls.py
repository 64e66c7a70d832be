"""TLS: the certificate files in use, HTTP/2 by ALPN, and new certificates without a restart.

Certificates come from TLSCert/TLSKey (UseLocalTLS) or from the ACME cache (Acme.Domains). The engine builds its
SSLContext once; ours carries an SNI callback that, at most once a second, checks the files' modification
times and hands new handshakes a context loaded from the new files. Connections already open keep theirs.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import ssl
import threading
import time
from pathlib import Path

from tracker.config import AcmeConfig, Config, ConfigError

log = logging.getLogger("tracker.edge.tls")
ALPN = ["h2", "http/1.1"]
CHECK_SECONDS = 1.0


def acme_settings(config: Config) -> AcmeConfig:
    """The Acme section with its Domains defaulting to the top-level Domains (as the Go tracker's autocert
    whitelist), minus what HTTP-01 cannot prove: IP addresses and wildcards. No domains with UseLocalTLS."""
    if config.use_local_tls:
        return dataclasses.replace(config.acme, domains=())
    if config.acme.domains:
        return config.acme
    return dataclasses.replace(config.acme, domains=tuple(d for d in config.domains if _acme_name(d)))


def _acme_name(domain: str) -> bool:
    try:
        ipaddress.ip_address(domain.strip("[]"))
    except ValueError:
        return bool(domain) and "*" not in domain
    return False


def tls_enabled(config: Config) -> bool:
    return bool(config.proxy_port_tls) and (config.use_local_tls or bool(acme_settings(config).domains))


def certificate_files(config: Config) -> tuple[Path, Path]:
    if config.use_local_tls and config.tls_cert:
        return Path(config.tls_cert), Path(config.tls_key)
    from tracker.edge.acme import certificate_paths

    return certificate_paths(acme_settings(config))


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """As Hypercorn makes it (TLS >= 1.2, no compression, ALPN h2 + http/1.1), from these files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    context.set_alpn_protocols(ALPN)
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return context


class ReloadingCertificate:
    """The newest loadable certificate for a cert/key pair; a broken pair on disk keeps the last good one (and
    is reported once, not at every check: a half-written pair fails, then loads once the other file lands)."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert, self.key = cert, key
        self._lock = threading.Lock()
        self._stamp = self._files_stamp()
        self._context: ssl.SSLContext | None = None
        self._failed: tuple[int, int] | None = None
        self._checked = 0.0

    def _files_stamp(self) -> tuple[int, int]:
        try:
            return (os.stat(self.cert).st_mtime_ns, os.stat(self.key).st_mtime_ns)
        except OSError:
            return (0, 0)

    def require(self, config: Config, key_path: str) -> None:
        """Refuse to start on a pair that does not load: one clear error, not a worker crash loop."""
        try:
            server_context(self.cert, self.key)
        except (OSError, ssl.SSLError) as error:
            message = f"{self.cert} with {self.key} does not load: {error}"
            raise ConfigError(key_path, message, config.source) from None

    def sni_callback(self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> None:
        fresh = self.current()
        if fresh is not None and fresh is not context:
            connection.context = fresh

    def current(self) -> ssl.SSLContext | None:
        now = time.monotonic()
        if now - self._checked < CHECK_SECONDS:
            return self._context
        with self._lock:
            self._checked = now
            stamp = self._files_stamp()
            if (stamp != self._stamp or self._context is None) and stamp != self._failed:
                try:
                    context = server_context(self.cert, self.key)
                except (OSError, ssl.SSLError) as error:
                    self._failed = stamp
                    log.error("new certificate not loadable; keeping the current one", extra={"error": str(error)})
                    return self._context
                if self._context is not None:
                    log.info("certificate reloaded", extra={"cert": str(self.cert)})
                self._context, self._stamp = context, stamp
            return self._context
