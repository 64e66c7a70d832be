"""A request's framing as it arrives: the size of its head, counted the way Go's net/http counts it for
MaxHeaderBytes, and its body framing, unambiguous or refused (RFC 9112 §6.3): one Content-Length, or chunked,
never both.

Checked for every request when it arrives (http/entry.py), so no route answers, and the proxy never relays, a
request that one server would frame one way and the next another (request smuggling). The head is counted here
because the engines' own limits do not see every head: Hypercorn's h11 limit (h11_max_incomplete_size) only
bounds a head that arrives in pieces; one that arrives in a single read is parsed whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import Scope


class BadFraming(Exception):
    """The request's body framing is ambiguous (RFC 9112 §6.3): relaying it could desynchronise the upstream."""


def declared_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    """The body length the client declared, None when it declared none (chunked, HTTP/2 without one).

    h11 already answers conflicting Content-Length values with 400 and a Transfer-Encoding other than chunked
    with 501, and merges identical Content-Length values into one (RFC 9110 §8.6 allows it); HTTP/2 requests
    reach us unchecked. What is left is refused here: both Content-Length and Transfer-Encoding (a request
    smuggling attempt, or a client nobody should trust with a pooled upstream connection), several
    Content-Length values, one that is not a number, and any Transfer-Encoding but chunked.
    """
    lengths = [v.strip() for n, value in headers if n == b"content-length" for v in value.split(b",")]
    codings = [v.strip().lower() for n, value in headers if n == b"transfer-encoding" for v in value.split(b",")]
    if codings and lengths:
        raise BadFraming("both Content-Length and Transfer-Encoding")
    if codings and codings != [b"chunked"]:
        raise BadFraming("Transfer-Encoding other than chunked")
    if len(lengths) > 1:
        raise BadFraming("more than one Content-Length")
    if not lengths:
        return None
    if not lengths[0].isdigit() or len(lengths[0]) > 18:
        raise BadFraming("Content-Length is not a number")
    return int(lengths[0])


def head_size(scope: Scope) -> int:
    """The bytes of `METHOD target HTTP/1.1\r\n`, each `name: value\r\n` and the closing `\r\n`."""
    query = len(scope["query_string"])
    target = len(scope.get("raw_path") or scope["path"].encode())
    size = len(scope.get("method", "GET")) + target + (query + 1 if query else 0) + 14
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
    return size
