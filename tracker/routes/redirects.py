"""Short-link hits on the catch-all, the tracked redirects /rdr/ and /xrdr/, and robots.txt for short links.

A hit is looked up in this worker's LinkCache (no database trip), recorded as a `short_rdr` event through
the spool, then answered with the link's status. /rdr/ and /xrdr/ only go to allowed hosts: anything else
goes to DefaultRedirect, so they are never open redirects.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tracker.errors import BadEvent
from tracker.events import inputs
from tracker.events.derived import derived_records
from tracker.events.inputs import RequestInfo
from tracker.events.row import Visitor
from tracker.http.answers import EncodedResponse, json_error
from tracker.http.process import Process, process
from tracker.http.request_info import request_info
from tracker.pipeline.groupcommit import DURABLE
from tracker.pipeline.spool import SpoolFull
from tracker.records import Record
from tracker.redirects.model import Redirect
from tracker.redirects.targets import BadTarget, allowed_target, location, normalise_target, tracked_hop
from tracker.routes.track import visitor_cookies
from tracker.timestamps import now_text

log = logging.getLogger("tracker.routes.redirects")
NO_STORE = "private, no-store, max-age=0"
REDIRECT_HEADERS = ((b"cache-control", NO_STORE.encode()), (b"content-length", b"0"))
NOT_CRAWLABLE = (b"x-robots-tag", b"noindex, nofollow")


async def short_link(request: Request) -> Response | None:
    """The answer for a request whose host + path is a live short link, else None (the request falls through)."""
    runtime = process(request)
    info = request_info(request)
    if not runtime.links.ready:  # checked here too: no coroutine for every hit once the links are in
        await runtime.links.loaded()
    link = runtime.links.lookup(info.host, info.path)
    if link is None or not link.live_at(now_text()):
        return None
    if link.max_visits is not None and not await runtime.control.claim_visit(key=link.urlfrom):
        return None
    target = link.target_for(info.user_agent)
    query = inputs.query_values(info.query, runtime.config.ignore_query_params_key)
    values: dict[str, Any] = {**inputs.seed(info), **query}
    is_server = False
    hop = tracked_hop(target, runtime.config.api_prefix)
    if hop is not None:
        target, carried = hop
        if not _hop_is_safe(target, link):
            return None
        values.update(carried)
        is_server = True
    uri = info.path + ("?" + info.query if info.query else "")
    values.update(ename="short_rdr", etyp="redirect", last=uri, url=f"{request.scope['scheme']}://{info.host}{uri}")
    visitor = await _record(runtime, values, info, is_server, query, link)
    if runtime.config.redirects.pass_query and info.query:
        target = _with_query(target, info.query)
    headers = [(b"location", location(target).encode("latin-1")), *REDIRECT_HEADERS]
    if not link.crawlable:
        headers.append(NOT_CRAWLABLE)
    response = EncodedResponse(link.status or runtime.config.redirects.status, b"", headers)
    if visitor is not None and not is_server:
        visitor_cookies(request, response, visitor, runtime)
    return response


def make_tracked_redirect(kind: str) -> Callable[[Request, str], Awaitable[Response]]:
    """/rdr/ (server-side event) and /xrdr/ (browser event, sets cookies): 302 to an allowed `url` parameter;
    `rest`, the path after /<kind>/, is a URL tuple of the event's values."""
    is_server = kind == "rdr"

    async def endpoint(request: Request, rest: str) -> Response:
        runtime = process(request)
        config = runtime.config
        info = request_info(request)
        pairs = inputs.path_pairs(rest)
        query = inputs.query_values(info.query, config.ignore_query_params_key)
        requested = dict(parse_qsl(info.query, keep_blank_values=True)).get("url", "")
        target = allowed_target(requested, config.redirects.allowed_hosts or config.domains) or ""
        if requested and not target:
            log.warning("redirect refused", extra={"route": kind, "target": requested[:200]})
        target = target or config.default_redirect
        values = {**inputs.seed(info), **pairs, **query, "url": target or requested}
        visitor = await _record(runtime, values, info, is_server, {**pairs, **query}, None)
        if not target:
            return json_error(400, "url is missing or not an allowed host, and no DefaultRedirect is set", field="url")
        response = EncodedResponse(302, b"", [(b"location", location(target).encode("latin-1")), *REDIRECT_HEADERS])
        if visitor is not None and not is_server:
            visitor_cookies(request, response, visitor, runtime)
        return response

    return endpoint


async def robots(request: Request) -> Response:
    """Short links are not crawlable unless marked so (Shlink's convention)."""
    runtime = process(request)
    info = request_info(request)
    await runtime.links.loaded()
    lines = ["User-agent: *"]
    for link in sorted(runtime.links.for_host(info.host), key=lambda x: x.path):
        lines.append(f"{'Allow' if link.crawlable else 'Disallow'}: {link.path}")
    return PlainTextResponse("\n".join(lines) + "\n")


def _hop_is_safe(final: str, link: Redirect) -> bool:
    """Targets are checked when saved; a link stored before that check may wrap anything in its /rdr/ hop."""
    try:
        normalise_target(final)
    except BadTarget as error:
        log.warning("short link refused: unsafe /rdr/ hop", extra={"link": link.urlfrom, "error": str(error)})
        return False
    return True


async def _record(
    runtime: Process,
    values: dict[str, Any],
    info: RequestInfo,
    is_server: bool,
    injected: dict[str, Any],
    link: Redirect | None,
) -> Visitor | None:
    """Append the hit event; a redirect is answered even when the event cannot be recorded."""
    try:
        visitor, durable = _write_hit(runtime, values, info, is_server, injected, link)
    except BadEvent as error:
        runtime.metrics.rejected(type(error).__name__)
        return None
    try:
        await durable
    except SpoolFull:
        _not_recorded(runtime, info)
    return visitor


def _write_hit(
    runtime: Process,
    values: dict[str, Any],
    info: RequestInfo,
    is_server: bool,
    injected: dict[str, Any],
    link: Redirect | None,
) -> tuple[Visitor, Awaitable[None]]:
    """The hit's rows written to the spool: (its visitor, the commit to await once the rows are dropped)."""
    event, visitor = runtime.intake.build_event(values, info, is_server=is_server, injected_params=injected)
    if link is not None:
        event["link"] = link.urlfrom
    try:
        derived = derived_records(event, values, is_server, runtime.privacy, info)
        return visitor, runtime.intake.append([Record("events", event), *derived], family="redirects")
    except SpoolFull:
        _not_recorded(runtime, info)
        return visitor, DURABLE


def _not_recorded(runtime: Process, info: RequestInfo) -> None:
    runtime.metrics.rejected("SpoolFull")
    log.warning("redirect hit not recorded: spool full", extra={"path": info.path})


def _with_query(target: str, query: str) -> str:
    base, hash_mark, fragment = target.partition("#")
    joined = base + ("&" if "?" in base else "?") + query
    return joined + hash_mark + fragment
