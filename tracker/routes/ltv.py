"""/tr/v1/ltv/: payments and lifetime value (SPEC.md §1, §4). The request's value map (cookies, URL tuple,
query, JSON body) becomes `payments` and `ltv` records, appended to the spool through the tracking intake;
the answer (200, empty, ACAO as in Go) is sent only once they are durable, without them alive meanwhile.
Bad input is a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import BadEvent
from tracker.events import inputs, payments
from tracker.http.answers import json_error
from tracker.http.body import BodyTooLarge, read_body
from tracker.http.cors import allow_origin, preflight
from tracker.http.process import Process, process
from tracker.http.request_info import request_info
from tracker.pipeline.spool import SpoolFull

WRITING_METHODS = frozenset(("GET", "POST", "PUT"))


async def endpoint(request: Request, rest: str) -> Response:
    """`rest`, the path after /ltv/, is the URL tuple (`uid/U/amt/5`)."""
    runtime = process(request)
    config = runtime.config
    if request.method == "OPTIONS":
        return preflight(request, config.allow_origin)
    cors = allow_origin(request, config.allow_origin)
    if request.method not in WRITING_METHODS:
        return Response(status_code=200, headers=cors)
    try:
        durable = await _store(request, rest, runtime)
        await durable
    except SpoolFull:
        runtime.metrics.rejected("SpoolFull")
        return json_error(503, "spool is full; retry later", headers={**cors, "retry-after": "5"})
    except BodyTooLarge as error:
        runtime.metrics.rejected("BodyTooLarge")
        return json_error(413, str(error), headers=cors, field="body", limit=error.limit)
    except BadEvent as error:
        runtime.metrics.rejected("BadEvent")
        return json_error(400, error.message, headers=cors, field=error.field)
    return Response(status_code=200, headers=cors)


async def _store(request: Request, rest: str, runtime: Process) -> Awaitable[None]:
    """The payment's records written to the spool; the commit to await once they are dropped (with this frame)."""
    config = runtime.config
    info = request_info(request)
    values = {
        **inputs.seed(info),
        **inputs.path_pairs(rest),
        **inputs.query_values(info.query, config.ignore_query_params_key),
    }
    if request.method != "GET":
        values |= payments.parse_body(await read_body(request, config.limits.body_limit("tracking")))
    records = payments.build(payments.top_level(values), info.host, config.limits.max_events_per_batch)
    return runtime.intake.append(records, family="tracking")
