"""Which driver errors mean "retry later" and which mean "these rows can never be stored".

Transient: the cluster could not answer now (timeouts, too few replicas alive, no host reachable, overloaded,
bootstrapping, a server error, a dropped connection), or the sink is not allowed to write yet (credentials,
permissions: an operator fixes those while the rows wait in the spool). Permanent: the request itself is wrong
for these rows (an invalid query or value, a value the driver cannot serialise). Anything unknown is
transient: retried, never lost.
"""

from __future__ import annotations

import struct
from typing import Literal

from cassandra import (
    AuthenticationFailed,
    CoordinationFailure,
    InvalidRequest,
    OperationTimedOut,
    RequestValidationException,
    Timeout,
    Unauthorized,
    Unavailable,
    UnsupportedOperation,
)
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionException
from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage, ServerError
from cassandra.protocol import RequestValidationException as InvalidMessage  # SyntaxException as the server sent it

from tracker.sinks.cassandra.types import BadValue

Verdict = Literal["transient", "permanent"]

TRANSIENT: tuple[type[BaseException], ...] = (
    OperationTimedOut,  # the client gave up waiting
    Timeout,  # ReadTimeout, WriteTimeout: too few replicas answered in time
    Unavailable,  # too few replicas alive for the consistency level
    CoordinationFailure,  # ReadFailure, WriteFailure: replicas failed the request
    NoHostAvailable,
    ConnectionException,
    OverloadedErrorMessage,
    IsBootstrappingErrorMessage,
    ServerError,
    Unauthorized,
    AuthenticationFailed,
    OSError,
)
PERMANENT: tuple[type[BaseException], ...] = (
    BadValue,  # our type mapping refused a value
    TypeError,  # the driver could not serialise a value for its column
    ValueError,
    OverflowError,
    struct.error,
    UnsupportedOperation,
)
# Invalid requests that are about the keyspace, not the rows: the schema is missing (Schema "manual"), so wait.
MISSING_SCHEMA = ("unconfigured table", "keyspace", "does not exist", "undefined column name")


def classify(error: BaseException) -> Verdict:
    if isinstance(error, TRANSIENT):
        return "transient"
    if isinstance(error, InvalidRequest):
        text = str(error).lower()
        return "transient" if any(marker in text for marker in MISSING_SCHEMA) else "permanent"
    if isinstance(error, (RequestValidationException, InvalidMessage, *PERMANENT)):  # syntax, configuration…
        return "permanent"
    return "transient"


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:300]}"
