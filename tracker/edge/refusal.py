"""The answer to a request the edge refuses before routing it (rate limit, connection gate), by route family:
pixels still get their GIF so no e-mail shows a broken image, browser pages a short HTML page, APIs JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Scope, Send

from tracker.routes.track import PIXEL, PIXEL_HEADERS

Headers = list[tuple[bytes, bytes]]
_PIXEL_HEADERS: Headers = [(b"content-type", b"image/gif")] + [
    (k.encode(), v.encode()) for k, v in PIXEL_HEADERS.items()
]


async def refuse(
    scope: Scope, send: Send, *, status: int, family: str, title: str, headers: Headers, **details: Any
) -> None:
    """Send `status` with `headers`: `title` heads the HTML page, `details` make the JSON body."""
    headers = list(headers)
    if family == "tracking" and "/img" in scope["path"]:
        status, body = 200, PIXEL
        headers += _PIXEL_HEADERS
    elif family == "redirects" or (family == "other" and scope["method"] == "GET"):
        body = f"<!doctype html><title>{title}</title><p>{title}; try again soon.".encode()
        headers.append((b"content-type", b"text/html; charset=utf-8"))
    else:
        body = orjson.dumps(details)
        headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
