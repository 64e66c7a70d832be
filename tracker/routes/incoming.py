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
    host = request.headers.get("host", "")
    if host.startswith("["):
        return host[: host.find("]") + 1].lower()
    return host.rsplit(":", 1)[0].lower() if ":" in host else host.lower()


def peer_address(request: Request, trusted: TrustedProxies) -> str:
    peer = request.client.host if request.client else None
    return client_ip(peer, request.headers.get("x-forwarded-for"), trusted)


def request_info(request: Request, trusted: TrustedProxies) -> RequestInfo:
    headers = request.headers
    scope = request.scope
    return RequestInfo(
        method=request.method,
        host=request_host(request),
        path=scope["path"],
        query=scope["query_string"].decode("latin-1"),
        user_agent=headers.get("user-agent", ""),
        referer=headers.get("referer", ""),
        client_ip=peer_address(request, trusted),
        secure=scope["scheme"] in ("https", "wss"),
        cookies=request.cookies,
        user_header=headers.get("user", ""),
    )
