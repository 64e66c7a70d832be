"""The outermost layer of every request: what is refused before any layer acts on it (a target not in origin
form, ambiguous body framing, a head over MaxHeaderBytes), the request context built once, the request metrics,
and the last-resort 500.

One coroutine and one send wrapper for what were four layers (Starlette's error middleware, the entry, the
metrics and the header limit): every hop and every wrapper of `send` is paid by each tracking hit.
"""

from __future__ import annotations

import logging
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.http.answers import deny_websocket, send_json_error
from tracker.http.client_ip import TrustedProxies
from tracker.http.context import SCOPE_KEY, Classifier, RequestContext, build_context
from tracker.http.framing import BadFraming, declared_length, head_size
from tracker.http.request_target import REFUSAL as TARGET_REFUSAL
from tracker.http.request_target import is_origin_form
from tracker.metrics import RequestStats

log = logging.getLogger("tracker.http.entry")


def refused(scope: Scope) -> tuple[str, str] | None:
    """(field, reason) for a request no layer may act on: a target not in origin form (it would name another
    authority in an upstream URL or a Location), or a body whose framing is ambiguous (smuggling)."""
    if not is_origin_form(scope) and not (scope.get("method") == "OPTIONS" and scope.get("raw_path") == b"*"):
        return "target", TARGET_REFUSAL
    for name, _ in scope["headers"]:
        if name == b"content-length" or name == b"transfer-encoding":
            try:
                declared_length(scope["headers"])
            except BadFraming as error:
                return "body", str(error)
            break
    return None


class RequestEntry:
    """Builds the RequestContext of every HTTP and WebSocket request, after the refusals; counts and times every
    HTTP request by route family and status; answers 500 (and logs) when a layer below raises before answering.
    `max_header_bytes` None: no head limit (unit tests that only build contexts)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        classifier: Classifier,
        trusted: TrustedProxies,
        max_header_bytes: int | None = None,
        stats: RequestStats | None = None,
    ) -> None:
        self.app = app
        self.classifier = classifier
        self.trusted = trusted
        self.max_header_bytes = max_header_bytes
        self.stats = stats if stats is not None else RequestStats()

    def build(self, scope: Scope) -> RequestContext:
        return build_context(scope, self.classifier, self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)  # lifespan

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            refusal = refused(scope)
            family = "" if refusal is not None else self._enter(scope).family
        except Exception as error:  # nothing sent yet, and no family to count it under
            await _internal_error(scope, send, error, sent=False)
            raise
        if refusal is not None:
            await send_json_error(send, 400, refusal[1], close=True, field=refusal[0])
            return
        stats = self.stats
        status = 0

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        stats.in_flight += 1
        started = perf_counter()
        try:
            limit = self.max_header_bytes
            if limit is not None and head_size(scope) > limit:
                await send_json_error(send_and_record, 431, "request header fields too large", limit=limit)
            else:
                await self.app(scope, receive, send_and_record)
        except Exception as error:
            await _internal_error(scope, send, error, sent=bool(status))
            raise
        finally:
            stats.in_flight -= 1
            stats.record(family, status or 500, perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = refused(scope)
        if refusal is not None:
            await deny_websocket(scope, send, 400, refusal[1], field=refusal[0])
            return
        self._enter(scope)
        if self.max_header_bytes is not None and head_size(scope) > self.max_header_bytes:
            await send({"type": "websocket.close"})  # before the handshake Hypercorn answers it with 403
            return
        await self.app(scope, receive, send)

    def _enter(self, scope: Scope) -> RequestContext:
        found = scope[SCOPE_KEY] = self.build(scope)
        return found


async def _internal_error(scope: Scope, send: Send, error: Exception, *, sent: bool) -> None:
    """What Starlette's ServerErrorMiddleware did: log, and the 500 if nothing was sent yet; the caller re-raises
    so that the server sees the failure too."""
    log.exception("unhandled error", extra={"path": scope["path"], "error_type": type(error).__name__})
    if not sent:
        await send_json_error(send, 500, "internal error")
