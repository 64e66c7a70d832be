"""The driver's Cluster as the settings make it (nothing connects): token-aware routing, the configured
consistency, timeouts, retries, credentials and TLS; and the bridge from the driver's thread to the event loop."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cassandra import ConsistencyLevel, OperationTimedOut, WriteType
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from tests.sinks.cassandra.offline import DriverThreadFuture
from tests.sinks.cassandra.test_settings import settings
from tracker.sinks.cassandra.session import IdempotentWriteRetry, build_cluster, contact_points, wait


def test_routing_is_token_aware_over_the_local_data_centre_at_the_configured_consistency() -> None:
    cluster = build_cluster(settings(Consistency="LOCAL_QUORUM", LocalDC="dc1", Timeout=1500, Retries=2))
    try:
        profile = cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
        assert isinstance(profile.load_balancing_policy, TokenAwarePolicy)
        child = profile.load_balancing_policy._child_policy
        assert isinstance(child, DCAwareRoundRobinPolicy) and child.local_dc == "dc1"
        assert profile.consistency_level == ConsistencyLevel.LOCAL_QUORUM
        assert profile.request_timeout == 1.5
        assert isinstance(profile.retry_policy, IdempotentWriteRetry) and profile.retry_policy.retries == 2
        assert cluster.protocol_version == 4  # UNSET values need v4
        assert cluster.auth_provider is None and cluster.ssl_context is None
    finally:
        cluster.shutdown()


def test_hosts_become_contact_points_with_their_ports() -> None:
    points = contact_points(settings(Hosts=["10.0.0.1", "db.internal:19042", "[::1]:9043", "::1"]))
    assert [(p.address, p.port) for p in points] == [
        ("10.0.0.1", 9042),
        ("db.internal", 19042),
        ("::1", 9043),
        ("::1", 9042),
    ]
    assert [(p.address, p.port) for p in contact_points(settings())] == [("127.0.0.1", 9042)]


def test_credentials_and_tls_as_the_go_config_has_them(test_certs: Path) -> None:
    ca, cert, key = test_certs / "ca.pem", test_certs / "localhost.pem", test_certs / "localhost.key"
    cluster = build_cluster(
        settings(Username="tracker", Password="pw", CACert=str(ca), Cert=str(cert), Key=str(key), Secure=True)
    )
    try:
        assert isinstance(cluster.auth_provider, PlainTextAuthProvider)
        assert cluster.auth_provider.username == "tracker"
        context = cluster.ssl_context
        assert isinstance(context, ssl.SSLContext)
        assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
        assert len(context.get_ca_certs()) == 1  # CACert alone, not the system's CAs
    finally:
        cluster.shutdown()
    # CACert without Secure: encrypted and the chain checked, the host name not (Go: EnableHostVerification=false)
    cluster = build_cluster(settings(CACert=str(ca)))
    try:
        assert cluster.ssl_context is not None and not cluster.ssl_context.check_hostname
        assert cluster.ssl_context.verify_mode == ssl.CERT_REQUIRED
    finally:
        cluster.shutdown()


def test_timed_out_upserts_are_retried_as_they_are_idempotent() -> None:
    policy = IdempotentWriteRetry(retries=2)
    one = ConsistencyLevel.ONE
    assert policy.on_write_timeout(None, one, WriteType.UNLOGGED_BATCH, 1, 0, 0) == (policy.RETRY, one)
    assert policy.on_write_timeout(None, one, WriteType.SIMPLE, 1, 0, 1) == (policy.RETRY, one)
    assert policy.on_write_timeout(None, one, WriteType.SIMPLE, 1, 0, 2) == (policy.RETHROW, None)
    assert policy.on_write_timeout(None, one, WriteType.COUNTER, 1, 0, 0) == (policy.RETHROW, None)


async def test_answers_from_the_drivers_thread_reach_the_event_loop() -> None:
    assert await wait(DriverThreadFuture(result=[{"n": 1}])) == [{"n": 1}]  # type: ignore[arg-type]
    with pytest.raises(OperationTimedOut):
        await wait(DriverThreadFuture(error=OperationTimedOut("slow")))  # type: ignore[arg-type]


async def test_a_late_answer_to_a_caller_that_gave_up_is_dropped_quietly() -> None:
    loop = asyncio.get_running_loop()
    problems: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: problems.append(context))
    callbacks: list[Callable[[Any], None]] = []
    held = type("HeldFuture", (), {"add_callbacks": lambda self, ok, fail: callbacks.append(ok)})()
    waiting = wait(held)
    waiting.cancel()
    answer = threading.Thread(target=callbacks[0], args=("late",))
    answer.start()
    answer.join()  # the settle call is now queued on the loop
    await asyncio.sleep(0)  # one turn of the loop runs it
    assert waiting.cancelled() and problems == []
