"""The answers every layer shares: a JSON error naming the problem, the tracking pixel, and the refusal sent
before routing (rate limit, connection gate, full spool) shaped for who asked: pixels still get their GIF so no
e-mail shows a broken image, browser pages a short HTML page, APIs JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Scope, Send

# The classic 35-byte GIF89a 1x1 image the Go tracker answers with.
PIXEL = bytes.fromhex("47494638396101000100800000ffffff0000002c00000000010001000002024401003b")
PIXEL_HEADERS = {
    "cache-control": "no-cache, no-store, must-revalidate, private",
    "pragma": "no-cache",
    "expires": "0",
}
RawHeaders = list[tuple[bytes, bytes]]
_PIXEL_RAW: RawHeaders = [(b"content-type", b"image/gif")] + [
    (k.encode(), v.encode()) for k, v in PIXEL_HEADERS.items()
]
BROWSER_FAMILIES = frozenset(("other", "proxy", "static"))


def json_error(status: int, message: str, headers: dict[str, str] | None = None, **fields: Any) -> Response:
    """A JSON error body: {"error": message, ...fields}."""
    body = orjson.dumps({"error": message, **fields})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def pixel(headers: dict[str, str] | None = None) -> Response:
    return Response(PIXEL, media_type="image/gif", headers={**PIXEL_HEADERS, **(headers or {})})


def wants_pixel(family: str, path: str) -> bool:
    """The one rule for "this request must get its GIF, whatever happens"."""
    return family == "tracking" and "/img" in path


async def refuse(
    scope: Scope, send: Send, *, status: int, family: str, title: str, headers: RawHeaders, **details: Any
) -> None:
    """Send `status` with `headers`: `title` heads the HTML page, `details` make the JSON body."""
    headers = list(headers)
    if scope["type"] == "websocket":  # a refused handshake: the HTTP answer when the server can send one
        await refuse_websocket(scope, send, status, headers, orjson.dumps(details))
        return
    if wants_pixel(family, scope["path"]):
        status, body = 200, PIXEL
        headers += _PIXEL_RAW
    elif family == "redirects" or (family in BROWSER_FAMILIES and scope["method"] == "GET"):
        body = f"<!doctype html><title>{title}</title><p>{title}; try again soon.".encode()
        headers.append((b"content-type", b"text/html; charset=utf-8"))
    else:
        body = orjson.dumps(details)
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def refuse_websocket(scope: Scope, send: Send, status: int, headers: RawHeaders, body: bytes) -> None:
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})  # before the handshake: Hypercorn answers 403
        return
    headers = [*headers, (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
