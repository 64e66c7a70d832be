"""Operations routes: /health (liveness), /ping, /clear, /status (JSON), /metrics (Prometheus or Go JSON).

None of them records an event. /status and /metrics can be limited to OpsAllow networks and carry no CORS
headers (no other site's page may read them); /ping and /clear answer with CORS, as in Go.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tracker.http.answers import json_error
from tracker.http.client_ip import TrustedProxies
from tracker.http.context import context
from tracker.http.cors import allow_origin
from tracker.http.process import Process, process

JSON = "application/json"


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type=JSON)


async def ping(request: Request) -> Response:
    runtime = process(request)
    return PlainTextResponse("pong", headers=allow_origin(request, runtime.config.allow_origin))


async def clear(request: Request) -> Response:
    runtime = process(request)
    headers = {"clear-site-data": '"*"', **allow_origin(request, runtime.config.allow_origin)}
    return PlainTextResponse("OK", headers=headers)


async def status(request: Request) -> Response:
    runtime = process(request)
    if not _allowed(request, runtime):
        return json_error(403, "not allowed from this address")
    body = {
        **runtime.status(),
        "client": context(request.scope).client_ip,
        "conns": runtime.metrics.requests.in_flight,
    }
    return Response(orjson.dumps(body), media_type=JSON)


async def metrics(request: Request) -> Response:
    runtime = process(request)
    if not _allowed(request, runtime):
        return json_error(403, "not allowed from this address")
    if request.query_params.get("format") == "json":
        return Response(orjson.dumps(go_shaped(runtime)), media_type=JSON)
    return Response(runtime.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")


def _allowed(request: Request, runtime: Process) -> bool:
    allow = runtime.config.ops_allow
    if not allow:
        return True
    return TrustedProxies.parse(allow).trusts(context(request.scope).client_ip)


ROUTES = {"/health": health, "/ping": ping, "/clear": clear, "/status": status, "/metrics": metrics}


def go_shaped(runtime: Process) -> dict[str, Any]:
    """The Go tracker's /metrics JSON (SPEC.md §6), so existing dashboards keep reading it."""
    status = runtime.shipping_status()
    sinks = status.get("sinks", {}).values()
    written = sum(sum(s.get("written", {}).values()) for s in sinks)
    failed = sum(sum(s.get("dead_lettered", {}).values()) for s in sinks)
    batches = sum(s.get("batches", 0) for s in sinks)
    failed_batches = sum(s.get("failed_batches", 0) for s in sinks)
    uptime = max(time.time() - runtime.started, 1e-9)
    metrics = runtime.metrics
    healthy = all(s.get("state") == "ok" for s in sinks)
    return {
        "metrics": {
            "event_count": metrics.accepted_total,
            "error_count": metrics.refused_total + failed,
            "campaign_events": 0,
            "mthreads_ops": 0,
            "mstore_ops": 0,
            "mtriage_ops": 0,
            "total_latency_ns": 0,
            "last_processed_unix": int(time.time()),
            "connection_count": metrics.requests.in_flight,
            "health_status": "healthy" if healthy else "degraded",
            "start_time_unix": int(runtime.started),
        },
        "batching": {
            "enabled": True,
            "total_batches": batches,
            "total_items": written,
            "failed_batches": failed_batches,
            "avg_batch_size": written / batches if batches else 0,
            "avg_flush_latency_ms": 0,
            "queued_items": sum(s.get("lag_bytes", 0) for s in sinks),
            "memory_usage_mb": 0,
            "last_flush_time": int(time.time()),
        },
        "calculated": {
            "avg_latency_ms": 0,
            "error_rate": (metrics.refused_total / metrics.accepted_total) if metrics.accepted_total else 0,
            "uptime_seconds": uptime,
            "events_per_second": metrics.accepted_total / uptime,
            "batch_success_rate": 1 - (failed_batches / batches) if batches else 1,
            "avg_items_per_batch": written / batches if batches else 0,
        },
        "timestamp": int(time.time()),
    }
