"""Events for proxied requests (Upstreams[].Track, and the Go /api/ route with ProxyUrlFilter): one server-side
`events` row per request, built as the Go tracker's track() builds it after proxying.

The values are the Go ones: `user` header/cookie, the visitor cookies, path pairs after the first segment
(/api/ename/x gives ename=x) and, for GET, the query. The body went to the upstream and is not read.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import Scope

from tracker.edge.proxy import Tracker
from tracker.edge.upstreams import Upstream
from tracker.events import inputs
from tracker.records import Record
from tracker.routes.incoming import request_info


def event_recorder(runtime: Any) -> Tracker:
    """The `track` hook of ReverseProxy, writing through `runtime` (a tracker.runtime.Runtime)."""

    async def record(scope: Scope, upstream: Upstream) -> None:
        info = request_info(Request(scope), runtime.trusted)
        rest = info.path.lstrip("/").partition("/")[2]
        pairs = inputs.path_pairs(rest)
        query = inputs.query_values(info.query, runtime.config.ignore_query_params_key) if info.method == "GET" else {}
        values = {**inputs.seed(info), **pairs, **query}
        event, _ = runtime.build_event(values, info, is_server=True, injected_params={**pairs, **query})
        await runtime.accept([Record("events", event)], family="proxy")

    return record
