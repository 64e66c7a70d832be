"""The request target as the client sent it, accepted only in origin form before it goes into an upstream URL
or a Location header.

Hypercorn hands the app whatever target h11 parsed: `@evil/`, `%2F@10.0.0.1:6379/`, `http://other/`,
`host:port`. Glued after an upstream's `host:port`, such a target names another authority, and the tracker
would connect wherever the client chose (SSRF). So a target is used only when it is origin form (RFC 9112
§3.2.1): a path starting with `/`, then an optional query, both visible ASCII without `#`, percent-encoding
kept as sent. HTTP/2 `:path` values are not checked as strictly by h2, hence no spaces or control bytes either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from starlette.types import Scope

PATH = re.compile(rb"/[!-\"$-~]*")  # visible ASCII (0x21-0x7e) without '#'
QUERY = re.compile(rb"[!-\"$-~]*")
REFUSAL = "the request target must be a path starting with / (origin form)"


@dataclass(slots=True, frozen=True)
class OriginForm:
    path: str  # starts with "/", percent-encoding as the client sent it
    query: str  # without "?", "" when none


def origin_form(scope: Scope) -> OriginForm | None:
    """The target's path and query, or None when the target is not in origin form."""
    raw = scope.get("raw_path")
    if raw is None:  # servers that only give the decoded path
        raw = quote(scope["path"], safe="/:@!$&'()*+,;=%~").encode("ascii")
    query: bytes = scope.get("query_string", b"")
    if PATH.fullmatch(raw) is None or QUERY.fullmatch(query) is None:
        return None
    return OriginForm(raw.decode("ascii"), query.decode("ascii"))


def is_origin_form(scope: Scope) -> bool:
    """origin_form(scope) is not None, without building it (this runs on every request)."""
    raw = scope.get("raw_path")
    if raw is None:
        return origin_form(scope) is not None
    return PATH.fullmatch(raw) is not None and QUERY.fullmatch(scope.get("query_string", b"")) is not None
