"""Reading a request safely: the body under a size limit, and the RequestInfo the event model needs."""

from __future__ import annotations

from starlette.requests import Request

from tracker.edge.client_ip import TrustedProxies, client_ip
from tracker.events.inputs import RequestInfo

DRAIN_BYTES = 8 * 1024 * 1024


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLarge. A refused body of modest size is still read and dropped, so a client that is
    still sending can read our 413 (closing on it mid-upload makes its TCP stack discard the answer)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + DRAIN_BYTES:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit + DRAIN_BYTES:
            break
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise BodyTooLarge(limit)
    return b"".join(chunks)


def request_host(request: Request) -> str:
    return _host_name(request.headers.get("host", ""))


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host[: host.find("]") + 1].lower()
    return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


def peer_address(request: Request, trusted: TrustedProxies) -> str:
    peer = request.client.host if request.client else None
    return client_ip(peer, request.headers.get("x-forwarded-for"), trusted)


WANTED_HEADERS = frozenset((b"host", b"user-agent", b"referer", b"cookie", b"user", b"x-forwarded-for"))


def request_info(request: Request, trusted: TrustedProxies) -> RequestInfo:
    """One pass over the raw headers (the hot path: Starlette's Headers scans the list for every lookup)."""
    scope = request.scope
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in WANTED_HEADERS and name not in found:  # the first occurrence, as Headers.get returns
            found[name] = value.decode("latin-1")
    client = scope.get("client")
    cookie_header = found.get(b"cookie")
    return RequestInfo(
        method=scope["method"],
        host=_host_name(found.get(b"host", "")),
        path=scope["path"],
        query=scope["query_string"].decode("latin-1"),
        user_agent=found.get(b"user-agent", ""),
        referer=found.get(b"referer", ""),
        client_ip=client_ip(client[0] if client else None, found.get(b"x-forwarded-for"), trusted),
        secure=scope["scheme"] in ("https", "wss"),
        cookies=request.cookies if cookie_header else {},
        user_header=found.get(b"user", ""),
    )
