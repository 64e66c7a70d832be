"""What every networked sink (ClickHouse, NATS, Cassandra) does the same way: its client TLS context from the
Notify entry's CACert/Cert/Key, and the short error text its TransientSinkErrors carry."""

from __future__ import annotations

import ssl


def client_tls(ca_cert: str | None, cert: str | None, key: str | None) -> ssl.SSLContext:
    """Server certificates checked against `ca_cert` (else the system's CAs); `cert` and `key` as a client
    certificate."""
    context = ssl.create_default_context(cafile=ca_cert or None)
    if cert:
        context.load_cert_chain(cert, key or None)
    return context


def short_error(error: BaseException) -> str:
    """The error's type and the start of its text: enough to act on, never a whole server answer."""
    text = str(error)
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__
