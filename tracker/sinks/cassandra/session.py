"""The driver's Cluster built from the settings, and its callbacks turned into awaitables.

Routing is token-aware over data-centre-aware round robin, so each statement (and each per-partition batch,
which takes its first statement's routing key) goes straight to a replica of its partition. The consistency
level, request timeout and retries come from the config; TLS follows the Go tracker: CACert turns it on and
names the CA, Secure checks the server's host name, Cert + Key are a client certificate.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from cassandra import ConsistencyLevel, WriteType
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, ResponseFuture
from cassandra.connection import DefaultEndPoint
from cassandra.policies import DCAwareRoundRobinPolicy, RetryPolicy, TokenAwarePolicy
from cassandra.query import dict_factory

from tracker.sinks.cassandra.settings import CassandraSettings, split_host
from tracker.sinks.client_tls import client_tls

DEFAULT_PORT = 9042
PROTOCOL_VERSION = 4  # UNSET values (sparse rows without tombstones) need v4: Cassandra 2.2+, every ScyllaDB


class IdempotentWriteRetry(RetryPolicy):  # type: ignore[misc]  # the driver has no type hints
    """Retry timed-out writes on the same host up to `retries` times: every write here is an idempotent upsert
    (the default policy retries only batch-log writes). Reads and unavailable replicas follow the default."""

    def __init__(self, retries: int) -> None:
        self.retries = retries

    def on_write_timeout(
        self,
        query: Any,
        consistency: int,
        write_type: str,
        required_responses: int,
        received_responses: int,
        retry_num: int,
    ) -> tuple[int, int | None]:
        if retry_num < self.retries and write_type in (WriteType.SIMPLE, WriteType.UNLOGGED_BATCH, WriteType.BATCH):
            return self.RETRY, consistency
        return self.RETHROW, None


def consistency_level(settings: CassandraSettings) -> int:
    return int(ConsistencyLevel.name_to_value[settings.consistency.upper()])


def contact_points(settings: CassandraSettings) -> list[DefaultEndPoint]:
    points = []
    for host in settings.hosts or ("127.0.0.1",):
        name, port = split_host(host)
        points.append(DefaultEndPoint(name, port or DEFAULT_PORT))
    return points


def tls_context(settings: CassandraSettings) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    context = client_tls(settings.ca_cert, settings.cert, settings.tls_key)
    context.check_hostname = settings.secure  # Go: EnableHostVerification = Secure; the chain is always checked
    return context


def build_cluster(settings: CassandraSettings) -> Cluster:
    """A Cluster object: nothing connects until `connect()` (which blocks: call it off the event loop)."""
    local_dc = settings.local_dc or None
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
        retry_policy=IdempotentWriteRetry(settings.retries),
        consistency_level=consistency_level(settings),
        request_timeout=settings.timeout_ms / 1000,
        row_factory=dict_factory,
    )
    auth = PlainTextAuthProvider(settings.username, settings.password) if settings.username else None
    return Cluster(
        contact_points=contact_points(settings),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        ssl_context=tls_context(settings),
        protocol_version=PROTOCOL_VERSION,
        connect_timeout=min(settings.timeout_ms / 1000, 10.0),
        application_name="tracker",
    )


def wait(future: ResponseFuture) -> asyncio.Future[Any]:
    """The driver answers on its own I/O thread; hand the result to the event loop that asked."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any = None, error: BaseException | None = None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    future.add_callbacks(
        lambda result: loop.call_soon_threadsafe(settle, result),
        lambda error: loop.call_soon_threadsafe(settle, None, error),
    )
    return done
