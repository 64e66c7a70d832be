"""Driver errors sorted with the driver's own exception classes: what a retry can fix waits in the spool, what
it cannot goes to the dead letter."""

from __future__ import annotations

import pytest
from cassandra import (
    AlreadyExists,
    AuthenticationFailed,
    ConsistencyLevel,
    InvalidRequest,
    OperationTimedOut,
    ReadFailure,
    ReadTimeout,
    Unauthorized,
    Unavailable,
    WriteFailure,
    WriteTimeout,
    WriteType,
)
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionBusy, ConnectionShutdown
from cassandra.protocol import (
    IsBootstrappingErrorMessage,
    OverloadedErrorMessage,
    ServerError,
    SyntaxException,
)

from tracker.sinks.cassandra.errors import classify
from tracker.sinks.cassandra.types import BadValue

QUORUM = ConsistencyLevel.LOCAL_QUORUM


@pytest.mark.parametrize(
    "error",
    [
        OperationTimedOut(errors={"10.0.0.1": "timed out"}, last_host="10.0.0.1"),
        ReadTimeout("Operation timed out", consistency=QUORUM, required_responses=2, received_responses=1),
        WriteTimeout(
            "Operation timed out",
            consistency=QUORUM,
            required_responses=2,
            received_responses=1,
            write_type=WriteType.UNLOGGED_BATCH,
        ),
        Unavailable("Cannot achieve consistency", consistency=QUORUM, required_replicas=2, alive_replicas=1),
        WriteFailure("Replica failed", consistency=QUORUM, required_responses=2, received_responses=1, failures=1),
        ReadFailure("Replica failed", consistency=QUORUM, required_responses=2, received_responses=1, failures=1),
        NoHostAvailable("Unable to connect to any servers", {"127.0.0.1:9042": ConnectionRefusedError(111, "refused")}),
        ConnectionShutdown("Connection to 10.0.0.1:9042 was closed"),
        ConnectionBusy("Connection 1 is overloaded"),
        OverloadedErrorMessage(0x1001, "Overloaded", None),
        IsBootstrappingErrorMessage(0x1002, "Bootstrapping", None),
        ServerError(0x0000, "java.lang.RuntimeException", None),
        Unauthorized("User tracker has no MODIFY permission on <table tracker.events>"),
        AuthenticationFailed("Failed to authenticate to 10.0.0.1: bad credentials"),
        InvalidRequest("unconfigured table events"),  # Schema "manual" and the table is not there yet
        InvalidRequest("Keyspace 'tracker' does not exist"),
        ConnectionRefusedError(111, "Connection refused"),
        RuntimeError("something the driver never documented"),  # unknown: retried, never lost
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_a_retry_can_fix_are_transient(error: BaseException) -> None:
    assert classify(error) == "transient"


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest('Invalid STRING constant (x) for "vid" of type uuid'),
        InvalidRequest("Batch too large"),
        SyntaxException(0x2000, "line 1:7 no viable alternative", None),
        AlreadyExists(keyspace="tracker", table="events"),
        TypeError('Received an argument of invalid type for column "vid". Expected: UUIDType, Got: str'),
        BadValue("column vid (uuid): cannot store 'nope'"),
        OverflowError("int too big to convert"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_about_the_rows_themselves_are_permanent(error: BaseException) -> None:
    assert classify(error) == "permanent"
