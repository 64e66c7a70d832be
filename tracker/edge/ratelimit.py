"""Rate limits per client IP and route family, with the `limits` library's moving window.

Counts live in memory (per worker process) or, with `RateLimitStorage: "redis://…"`, in Redis, shared by every
worker and tracker instance. Over a limit: 429 with Retry-After and RateLimit-Limit/-Remaining/-Reset (JSON
for API routes, a short HTML page for redirects), except pixels, which still answer their GIF (recording
nothing) so e-mail clients show no broken image. Allowed responses carry the RateLimit-* headers too.
If the storage fails (Redis down, or hung: every Redis command has a 250 ms timeout, no client retries, and
the whole check a 1 s deadline) requests are let through, the failure is logged once per outage and the
storage is left alone for 5 s, so a hung Redis costs one slow request per 5 s, not one per request: refusing
all traffic because the counter store is down would turn a Redis outage into a site outage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.config import RateLimitConfig
from tracker.http.answers import refuse
from tracker.http.context import context

log = logging.getLogger("tracker.edge.ratelimit")
STORAGE_TIMEOUT_S = 0.25  # per Redis connect and command: a local Redis answers in well under 1 ms
CHECK_DEADLINE_S = 1.0  # the whole check, whatever the storage does
BYPASS_AFTER_FAILURE_S = 5.0
FAMILIES = frozenset(("tracking", "redirects", "proxy", "static", "admin", "privacy", "ops", "other", "all"))


@dataclass(frozen=True, slots=True)
class Rule:
    index: int
    item: RateLimitItem
    text: str
    families: frozenset[str]

    def applies(self, family: str) -> bool:
        return "all" in self.families or family in self.families


def async_storage_uri(uri: str) -> str:
    return uri if uri.startswith("async+") else "async+" + uri


def storage_for(uri: str) -> Storage:
    """The async storage for `uri`; Redis (through coredis, the `limits[async-redis]` extra) with timeouts."""
    uri = async_storage_uri(uri)
    if uri.startswith("async+redis"):
        from coredis.retry import NoRetryPolicy

        storage = storage_from_string(
            uri,
            connect_timeout=STORAGE_TIMEOUT_S,
            stream_timeout=STORAGE_TIMEOUT_S,
            retry_policy=NoRetryPolicy(),  # type: ignore[arg-type]  # passed through to coredis.Redis
        )
    else:
        storage = storage_from_string(uri)
    assert isinstance(storage, Storage)  # the async+ scheme always gives an async storage
    return storage


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        rules: Sequence[RateLimitConfig],
        storage_uri: str,
    ) -> None:
        self.app = app
        self.rules = [Rule(i, parse(r.limit), r.limit, frozenset(r.routes)) for i, r in enumerate(rules)]
        self.limiter = MovingWindowRateLimiter(storage_for(storage_uri))
        self._storage_failing = False
        self._bypass_until = 0.0  # monotonic; while in the future the storage is not asked (fail open)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.rules:  # a WebSocket: its handshake
            await self.app(scope, receive, send)
            return
        found = context(scope)
        family = found.family
        rules = [rule for rule in self.rules if rule.applies(family)]
        if not rules:
            await self.app(scope, receive, send)
            return
        if self._bypass_until and time.monotonic() < self._bypass_until:
            await self.app(scope, receive, send)
            return
        client = found.client_ip
        try:
            with anyio.fail_after(CHECK_DEADLINE_S):
                verdicts = [await self._check(rule, family, client) for rule in rules]
            self._storage_ok()
        except Exception as error:  # noqa: BLE001 - any storage failure: fail open, see the module docstring
            self._storage_failed(error)
            await self.app(scope, receive, send)
            return
        refused = next((v for v in verdicts if not v.allowed), None)
        if refused is not None:
            await self._refuse(scope, send, refused, family)
            return
        tightest = min(verdicts, key=lambda v: v.remaining)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *tightest.headers()]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _check(self, rule: Rule, family: str, client: str) -> Verdict:
        identifiers = (str(rule.index), family, client)
        allowed = await self.limiter.hit(rule.item, *identifiers)
        stats = await self.limiter.get_window_stats(rule.item, *identifiers)
        return Verdict(rule, allowed, stats.remaining, max(0, math.ceil(stats.reset_time - time.time())))

    async def _refuse(self, scope: Scope, send: Send, verdict: Verdict, family: str) -> None:
        headers = verdict.headers() + [(b"retry-after", str(max(verdict.reset, 1)).encode())]
        await refuse(
            scope,
            send,
            status=429,
            family=family,
            title="Too many requests",
            headers=headers,
            error="rate limited",
            limit=verdict.rule.text,
            retry_after=verdict.reset,
        )

    def _storage_failed(self, error: Exception) -> None:
        if not self._storage_failing:
            detail = f"{type(error).__name__}: {error}"[:300]
            log.error("rate-limit storage failing; letting requests through", extra={"error": detail})
        self._storage_failing = True
        self._bypass_until = time.monotonic() + BYPASS_AFTER_FAILURE_S

    def _storage_ok(self) -> None:
        if self._storage_failing:
            log.warning("rate-limit storage back")
        self._storage_failing = False
        self._bypass_until = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    allowed: bool
    remaining: int
    reset: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.rule.item.amount).encode()),
            (b"ratelimit-remaining", str(max(self.remaining, 0)).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
        ]
