"""Reading a request body under a size limit, and dropping a small unread one so the connection stays usable."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Receive

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


async def drain(receive: Receive, limit: int = 256 * 1024) -> bool:
    """Read and drop what is left of a request body the answer did not need, up to `limit` bytes as Go's
    net/http does: a body tail arriving after the answer makes the server drop the keep-alive connection.
    False when the body was larger: the answer should then say `Connection: close`."""
    size = 0
    while size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return False
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False
