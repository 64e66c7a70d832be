"""The answers every layer shares: a JSON error naming the problem, the tracking pixel, and the refusal sent
before routing (rate limit, connection gate, full spool) shaped for who asked: pixels still get their GIF so no
e-mail shows a broken image, browser pages a short HTML page, APIs JSON."""

from __future__ import annotations

from collections.abc import Mapping
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
_ENCODED_BY_STARLETTE = frozenset(("content-length", "content-type"))


class EncodedResponse(Response):
    """A Response from headers already encoded. Starlette's own lower-cases and encodes each header of each
    response; the tracking answers differ from one another only in their CORS headers."""

    def __init__(self, status: int, body: bytes, raw_headers: RawHeaders) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = raw_headers


def encode_headers(headers: Mapping[str, str]) -> RawHeaders:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


_PIXEL_HEAD = encode_headers(PIXEL_HEADERS)
_PIXEL_TAIL = [(b"content-length", str(len(PIXEL)).encode()), (b"content-type", b"image/gif")]


def error_body(message: str, **fields: Any) -> bytes:
    """Every JSON error's body: {"error": message, ...fields}."""
    return orjson.dumps({"error": message, **fields})


def json_error(status: int, message: str, headers: dict[str, str] | None = None, **fields: Any) -> Response:
    return Response(error_body(message, **fields), status_code=status, media_type="application/json", headers=headers)


async def send_json_error(send: Send, status: int, message: str, *, close: bool = False, **fields: Any) -> None:
    """json_error straight onto the ASGI channel, for layers that hold no Request; `close` ends the connection."""
    body = error_body(message, **fields)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def pixel(headers: dict[str, str] | None = None) -> Response:
    """The GIF with no-cache headers, then `headers`: the headers Starlette's Response would send, in its order."""
    if not headers:
        return EncodedResponse(200, PIXEL, [*_PIXEL_HEAD, *_PIXEL_TAIL])
    if PIXEL_HEADERS.keys().isdisjoint(headers) and _ENCODED_BY_STARLETTE.isdisjoint(headers):
        return EncodedResponse(200, PIXEL, [*_PIXEL_HEAD, *encode_headers(headers), *_PIXEL_TAIL])
    return Response(PIXEL, media_type="image/gif", headers={**PIXEL_HEADERS, **headers})


def empty(headers: dict[str, str]) -> Response:
    """200 with no body (a tracking hit's answer), as Response(status_code=200, headers=headers) sends it."""
    if _ENCODED_BY_STARLETTE.isdisjoint(headers):
        return EncodedResponse(200, b"", [*encode_headers(headers), (b"content-length", b"0")])
    return Response(status_code=200, headers=headers)


def wants_pixel(family: str, path: str) -> bool:
    """The one rule for "this request must get its GIF, whatever happens"."""
    return family == "tracking" and "/img" in path


async def refuse(
    scope: Scope, send: Send, *, status: int, family: str, title: str, headers: RawHeaders, **details: Any
) -> None:
    """Send `status` with `headers`: `title` heads the HTML page, `details` make the JSON body."""
    headers = list(headers)
    if scope["type"] == "websocket":  # a refused handshake: the HTTP answer when the server can send one
        fields = dict(details)
        await deny_websocket(scope, send, status, str(fields.pop("error", title)), headers=headers, **fields)
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


async def deny_websocket(
    scope: Scope,
    send: Send,
    status: int,
    message: str,
    *,
    close_code: int = 1008,
    headers: RawHeaders | None = None,
    **fields: Any,
) -> None:
    """An HTTP answer instead of the upgrade when the server supports it (ASGI websocket denial), else a close
    (before the handshake Hypercorn answers that with 403)."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": close_code})
        return
    body = error_body(message, **fields)
    headers = [*(headers or []), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})
