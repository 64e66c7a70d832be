"""A request body's framing, unambiguous or refused (RFC 9112 §6.3): one Content-Length, or chunked, never both.

Checked for every request when it arrives (http/context.py), so no route answers, and the proxy never relays, a
request that one server would frame one way and the next another (request smuggling).
"""

from __future__ import annotations

from collections.abc import Sequence


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
