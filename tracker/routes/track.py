"""Tracking routes: /tr/ (browser events), /str/ (server-side events), /img/ (email and pixel tracking).

Each request becomes one or more `events` rows appended to the spool as one record; the answer is sent only
once they are durable, and keeps none of them alive while it waits (`Reply`). /img/ answers its GIF whatever
happens; the others answer JSON errors naming the field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from tracker.errors import BadEvent
from tracker.events import inputs, row
from tracker.events.batch import build_batch, event_records, event_values
from tracker.events.cookies import set_visitor_cookies
from tracker.events.ids import parse_uuid
from tracker.http.answers import empty, json_error, pixel
from tracker.http.body import BodyTooLarge, read_body
from tracker.http.cors import allow_origin, preflight
from tracker.http.process import Process, process
from tracker.http.request_info import request_info
from tracker.pipeline.groupcommit import DURABLE
from tracker.pipeline.spool import SpoolFull
from tracker.records import Record

WRITING_METHODS = frozenset(("GET", "POST", "PUT"))


class BatchRejected(BadEvent):
    def __init__(self, rejected: list[dict[str, Any]]) -> None:
        super().__init__("body", f"all {len(rejected)} events were rejected")
        self.rejected = rejected


@dataclass(slots=True)
class Outcome:
    records: list[Record]
    visitors: list[row.Visitor]
    rejected: list[dict[str, Any]]


@dataclass(slots=True)
class Reply:
    """What the answer needs once the events are written: never their records, which are dropped before the
    answer waits for the group commit (rows kept alive through it fill the garbage collector's generations)."""

    eids: list[str]  # /str/ answers them
    accepted: int
    rejected: list[dict[str, Any]]
    visitor: row.Visitor | None  # the first event's, for the cookies


Endpoint = Callable[[Request, str], Awaitable[Response]]


def make_endpoint(kind: str) -> Endpoint:
    """kind is "tr", "str" or "img"; `rest`, the path after /<kind>/, is the URL tuple."""
    is_server = kind == "str"

    async def endpoint(request: Request, rest: str) -> Response:
        runtime = process(request)
        config = runtime.config
        if request.method == "OPTIONS" and kind != "img":
            return preflight(request, config.allow_origin)
        try:
            reply, durable = await _store(request, rest, runtime, is_server)
            await durable
        except (BadEvent, BodyTooLarge, SpoolFull) as error:
            return _failure(request, kind, error, runtime)
        cors = allow_origin(request, config.allow_origin)
        response = pixel(cors) if kind == "img" else _answer(kind, reply, cors)
        if not is_server and reply.visitor is not None:
            visitor_cookies(request, response, reply.visitor, runtime)
        return response

    return endpoint


async def _store(request: Request, rest: str, runtime: Process, is_server: bool) -> tuple[Reply, Awaitable[None]]:
    """The request's events written to the spool: (what the answer needs, the commit to await before it)."""
    outcome = await _parse(request, rest, runtime, is_server)
    records = outcome.records
    durable = runtime.intake.append(records, family="tracking") if records else DURABLE
    eids = [r.row["eid"] for r in records if r.table == "events"] if is_server else []
    visitor = outcome.visitors[0] if outcome.visitors else None
    return Reply(eids, len(outcome.visitors), outcome.rejected, visitor), durable


async def _parse(request: Request, rest: str, runtime: Process, is_server: bool) -> Outcome:
    config = runtime.config
    info = request_info(request)
    if request.method not in WRITING_METHODS:
        return Outcome([], [], [])
    pairs = inputs.path_pairs(rest)
    query = inputs.query_values(info.query, config.ignore_query_params_key)
    base = {**inputs.seed(info), **pairs, **query}
    injected = {**pairs, **query}
    items: list[Any] = [{}]
    if request.method == "POST":
        body = await read_body(request, config.limits.body_limit("tracking"))
        items = _body_items(request, body, config.limits.max_events_per_batch)
    rows = runtime.intake.event_rows(info, is_server=is_server, injected_params=injected)
    if len(items) == 1:  # a GET, a form, one JSON object: its error is the answer, there is no batch to keep
        if not isinstance(items[0], dict):
            raise BadEvent("body", "each event must be a JSON object")
        values = event_values(base, items[0])
        event, visitor = rows.build(values)
        return Outcome(event_records(event, values, rows), [visitor], [])
    batch = build_batch(items, base, rows, item_field="body")
    if not batch.records and batch.rejected:
        raise BatchRejected(batch.rejected)
    return Outcome(batch.records, batch.visitors, batch.rejected)


def _body_items(request: Request, body: bytes, max_events: int) -> list[Any]:
    if not body.strip():
        return [{}]
    content_type = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        return [inputs.form_event(body)]
    return inputs.json_events(body, max_events)


def _answer(kind: str, reply: Reply, headers: dict[str, str]) -> Response:
    if kind == "str":
        ids = reply.eids
        body: Any = ids[0] if len(ids) == 1 and not reply.rejected else ids
        if reply.rejected:
            body = {"eids": ids, "accepted": len(ids), "rejected": reply.rejected}
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)
    if reply.rejected:
        body = {"accepted": reply.accepted, "rejected": reply.rejected}
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)
    return empty(headers)


def _failure(request: Request, kind: str, error: Exception, runtime: Process) -> Response:
    runtime.metrics.rejected(type(error).__name__)
    headers = allow_origin(request, runtime.config.allow_origin)
    if kind == "img":
        return pixel(headers)
    if isinstance(error, SpoolFull):
        return json_error(503, "spool is full; retry later", headers={**headers, "retry-after": "5"})
    if isinstance(error, BodyTooLarge):
        return json_error(413, str(error), headers=headers, field="body", limit=error.limit)
    assert isinstance(error, BadEvent)
    extra = {"rejected": error.rejected} if isinstance(error, BatchRejected) else {}
    return json_error(400, error.message, headers=headers, field=error.field, **extra)


def visitor_cookies(request: HTTPConnection, response: Response, visitor: row.Visitor, runtime: Process) -> None:
    settings = runtime.config.cookies
    cookies = request.cookies if any(name == b"cookie" for name, _ in request.scope["headers"]) else {}
    if not visitor.cookies or (settings.require_consent and not cookies.get("CookieConsent", "0").strip("0")):
        return
    had_vid = parse_uuid(cookies.get("vid")) == visitor.vid
    secure = request.scope["scheme"] == "https"
    set_visitor_cookies(response, visitor, settings, secure_request=secure, had_vid=had_vid)
