"""The RequestInfo the event model reads, taken from the request context (no second pass over the headers)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from tracker.events.inputs import RequestInfo
from tracker.http.context import context


def request_info(request: HTTPConnection) -> RequestInfo:
    scope = request.scope
    found = context(scope)
    headers = found.headers
    return RequestInfo(
        method=scope.get("method", "GET"),  # a WebSocket handshake is a GET
        host=found.host,
        path=scope["path"],
        query=scope["query_string"].decode("latin-1"),
        user_agent=headers.get(b"user-agent", ""),
        referer=headers.get(b"referer", ""),
        client_ip=found.client_ip,
        secure=scope["scheme"] in ("https", "wss"),
        cookies=request.cookies if b"cookie" in headers else {},
        user_header=headers.get(b"user", ""),
        gpc=headers.get(b"sec-gpc", "").strip() == "1",
        dnt=headers.get(b"dnt", "").strip() == "1",
    )
