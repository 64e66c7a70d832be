"""Privacy routes (/ppi/): record consent (POST agree), read a visitor's agreements (GET agree?vid=), list the
jurisdictions, and look up an IP's location. Answers are the Go ones (SPEC.md §1); errors are JSON naming the
field, keeping Go's texts (`Bad request (body)`, `Bad Request (IP)`, `Unknown action`) as the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tracker.errors import BadEvent
from tracker.events.ids import parse_uuid
from tracker.http.answers import json_error
from tracker.http.body import BodyTooLarge, read_body
from tracker.http.cors import allow_origin, preflight
from tracker.http.process import Process, process
from tracker.http.request_info import request_info
from tracker.pipeline.spool import SpoolFull
from tracker.privacy import agreement, geoip
from tracker.privacy.storage import IPPolicy
from tracker.records import Record
from tracker.redirects.errors import ControlError

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]


def routes(api: str) -> list[BaseRoute]:
    ppi = f"{api}/ppi"
    return [
        Route(f"{ppi}/agree", agree, methods=METHODS),
        Route(f"{ppi}/jds", jurisdictions, methods=METHODS),
        Route(f"{ppi}/geoip", locate, methods=METHODS),
        Route(f"{ppi}/{{action:path}}", unknown, methods=METHODS),
        Route(ppi, unknown, methods=METHODS),
    ]


def _json(body: Any, headers: dict[str, str], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def agree(request: Request) -> Response:
    runtime = process(request)
    cors = allow_origin(request, runtime.config.allow_origin)
    if request.method == "OPTIONS":
        return preflight(request, runtime.config.allow_origin)
    if request.method == "POST":
        return await _record(request, runtime, cors)
    vid = request.query_params.get("vid", "")
    if not vid:
        return _json([], cors, 404)
    if parse_uuid(vid) is None:
        return json_error(400, "Bad request (vid)", cors, field="vid")
    try:
        rows = await runtime.control.agreements(vid.lower())
    except ControlError as error:
        return json_error(error.status, error.message, cors, **error.fields)
    return _json(rows, cors)


async def _record(request: Request, runtime: Process, cors: dict[str, str]) -> Response:
    config = runtime.config
    try:
        body = await read_body(request, config.limits.body_limit("privacy"))
        if not body.strip():
            raise BadEvent("body", "Bad request (body)")
        try:
            values = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadEvent("body", "Bad request (data): not JSON") from None
        if not isinstance(values, dict):
            raise BadEvent("body", "Bad request (data): expected a JSON object")
        durable = _write_agreement(values, request, runtime)
        del values  # nothing of the request's rows stays alive while the commit is awaited
        await durable
    except BadEvent as error:
        return json_error(400, error.message, cors, field=error.field)
    except BodyTooLarge as error:
        return json_error(413, str(error), cors, field="body", limit=error.limit)
    except SpoolFull:
        return json_error(503, "spool is full; retry later", {**cors, "retry-after": "5"})
    return Response(status_code=200, headers=cors)


def _write_agreement(values: dict[str, Any], request: Request, runtime: Process) -> Awaitable[None]:
    """The agreement's rows written to the spool; the commit to await once they are dropped (with this frame)."""
    policy = IPPolicy(runtime.config.stored_ip, runtime.config.prefix_private_hash)
    current, history = agreement.build(values, request_info(request), policy, runtime.privacy)
    return runtime.intake.append([Record("agreements", current), Record("agreed", history)], family="privacy")


async def jurisdictions(request: Request) -> Response:
    runtime = process(request)
    cors = allow_origin(request, runtime.config.allow_origin)
    if request.method == "OPTIONS":
        return preflight(request, runtime.config.allow_origin)
    try:
        rows = await runtime.control.jurisdictions()
    except ControlError as error:
        return json_error(error.status, error.message, cors, **error.fields)
    return _json([_parsed(row) for row in rows], cors)


def _parsed(row: dict[str, Any]) -> dict[str, Any]:
    """rules and locs are JSON stored as text: answer them as JSON."""
    out = dict(row)
    for column in ("rules", "locs"):
        if isinstance(out.get(column), str):
            with contextlib.suppress(orjson.JSONDecodeError):  # text that is not JSON is answered as text
                out[column] = orjson.loads(out[column])
    return out


async def locate(request: Request) -> Response:
    runtime = process(request)
    cors = allow_origin(request, runtime.config.allow_origin)
    if request.method == "OPTIONS":
        return preflight(request, runtime.config.allow_origin)
    database = runtime.privacy.geo
    if database is None:
        return json_error(503, "Service Unavailable", cors, field="ip", reason="no GeoIP database is configured")
    ip = request.query_params.get("ip", "") or request_info(request).client_ip
    try:
        found = database.lookup(ip)
    except geoip.BadAddress:
        return json_error(400, "Bad Request (IP)", cors, field="ip")
    if found is None:
        return json_error(400, "Not Found (IP)", cors, field="ip")
    return _json(found.as_json(), cors)


async def unknown(request: Request) -> Response:
    runtime = process(request)
    if request.method == "OPTIONS":
        return preflight(request, runtime.config.allow_origin)
    cors = allow_origin(request, runtime.config.allow_origin)
    return json_error(400, "Unknown action", cors, field="action", action=request.path_params.get("action", ""))
