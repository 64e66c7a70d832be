"""Events for proxied requests (Upstreams[].Track, and the Go /api/ route with ProxyUrlFilter): one server-side
`events` row per request, built as the Go tracker's track() builds it after proxying.

The values are the Go ones: `user` header/cookie, the visitor cookies, path pairs after the first segment
(/api/ename/x gives ename=x) and, for GET, the query. The body went to the upstream and is not read.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.requests import Request
from starlette.types import Scope

from tracker.config import Config
from tracker.edge.proxy import Tracker
from tracker.edge.upstreams import Upstream
from tracker.events import inputs
from tracker.events.derived import derived_records
from tracker.http.process import EventIntake
from tracker.http.request_info import request_info
from tracker.records import Record


def event_recorder(config: Config, intake: EventIntake) -> Tracker:
    """The `track` hook of ReverseProxy."""

    async def record(scope: Scope, upstream: Upstream) -> None:
        durable = write(scope)
        await durable

    def write(scope: Scope) -> Awaitable[None]:
        """The request's rows written to the spool; the commit to await once they are dropped (with this frame)."""
        info = request_info(Request(scope))
        rest = info.path.lstrip("/").partition("/")[2]
        pairs = inputs.path_pairs(rest)
        query = inputs.query_values(info.query, config.ignore_query_params_key) if info.method == "GET" else {}
        values = {**inputs.seed(info), **pairs, **query}
        event, _ = intake.build_event(values, info, is_server=True, injected_params={**pairs, **query})
        derived = derived_records(event, values, True, intake.privacy, info)
        return intake.append([Record("events", event), *derived], family="proxy")

    return record
