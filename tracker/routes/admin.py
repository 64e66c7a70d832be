"""The short-link admin API under /rpi/: the Go tracker's password-in-path routes, and a bearer-token API
(`/rpi/links`, `/rpi/stats`, `/rpi/qr`, `/rpi/login`) the admin page and scripts use.

Every call is authenticated by the control plane (constant-time checks, failures throttled per client) and
every change is written to `redirect_history` with who made it.
"""

from __future__ import annotations

import html
import io
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import orjson
import segno
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from tracker.errors import BadEvent
from tracker.http.answers import json_error
from tracker.http.body import BodyTooLarge, read_body
from tracker.http.context import context
from tracker.http.cors import allow_origin, preflight
from tracker.http.process import process
from tracker.pipeline.spool import SpoolFull
from tracker.privacy.erase import ERASURES, BadErasure, parse_subject
from tracker.privacy.erase import request as erase_request
from tracker.records import Record
from tracker.redirects.errors import AuthFailed, ControlError
from tracker.redirects.fields import admin_fields

Handler = Callable[[Request, Any, str], Awaitable[Any]]


def routes(api: str) -> list[BaseRoute]:
    rpi = f"{api}/rpi"
    return [
        Route(f"{rpi}/redirect/{{uid}}/{{password}}", _go(_go_save), methods=["POST"]),
        Route(f"{rpi}/redirects/{{uid}}/{{password}}/{{host}}", _go(_go_list), methods=["GET"]),
        Route(f"{rpi}/login", login, methods=["POST"]),
        Route(f"{rpi}/admin", page, methods=["GET"]),
        Route(f"{rpi}/admin.js", asset, methods=["GET"]),
        Route(f"{rpi}/admin.css", asset, methods=["GET"]),
        Route(f"{rpi}/me", _bearer(lambda request, control, uid: _me(uid)), methods=["GET"]),
        Route(f"{rpi}/links", _bearer(_list), methods=["GET"]),
        Route(f"{rpi}/links", _bearer(_create), methods=["POST"]),
        Route(f"{rpi}/links/{{key:path}}", _bearer(_get), methods=["GET"]),
        Route(f"{rpi}/links/{{key:path}}", _bearer(_update), methods=["PUT", "PATCH"]),
        Route(f"{rpi}/links/{{key:path}}", _bearer(_delete), methods=["DELETE"]),
        Route(f"{rpi}/stats/{{key:path}}", _bearer(_stats), methods=["GET"]),
        Route(f"{rpi}/qr/{{key:path}}", _bearer(_qr), methods=["GET"]),
        Route(f"{rpi}/erase", _bearer(_erase), methods=["POST"]),
        Route(f"{rpi}/{{rest:path}}", _preflight, methods=["OPTIONS"]),
    ]


def _answer(request: Request, body: Any, status: int = 200) -> Response:
    if isinstance(body, Response):
        response = body
    else:
        response = Response(orjson.dumps(body), status_code=status, media_type="application/json")
    response.headers.update(allow_origin(request, process(request).config.allow_origin))
    response.headers["cache-control"] = "no-store"
    return response


def _failure(request: Request, error: Exception) -> Response:
    headers = allow_origin(request, process(request).config.allow_origin)
    if isinstance(error, BodyTooLarge):
        return json_error(413, str(error), headers=headers, field="body")
    assert isinstance(error, ControlError)
    if isinstance(error, AuthFailed):
        headers["www-authenticate"] = 'Bearer realm="tracker"'
    if "retry_after" in error.fields:
        headers["retry-after"] = str(error.fields["retry_after"])
    return json_error(error.status, error.message, headers=headers, **error.fields)


def _client(request: Request) -> str:
    return context(request.scope).client_ip


def _go(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        control = process(request).control
        try:
            uid = await control.authenticate(
                uid=request.path_params["uid"],
                password=request.path_params["password"],
                token="",
                client=_client(request),
            )
            return _answer(request, await handler(request, control, uid))
        except AuthFailed:
            return _bad_pass(request)
        except (ControlError, BodyTooLarge) as error:
            return _failure(request, error)

    return endpoint


def _bad_pass(request: Request) -> Response:
    """What Go clients of the password-in-path routes expect: 400 `Bad pass` in plain text (the bearer routes,
    which are ours, answer 401 with a JSON body)."""
    headers = allow_origin(request, process(request).config.allow_origin)
    return Response(b"Bad pass", status_code=400, media_type="text/plain; charset=utf-8", headers=headers)


def _bearer(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        control = process(request).control
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthFailed("missing credentials: send Authorization: Bearer <token>")
            uid = await control.authenticate(uid="", password="", token=token.strip(), client=_client(request))
            result = await handler(request, control, uid)
            return _answer(request, result, 201 if request.method == "POST" else 200)
        except (ControlError, BodyTooLarge) as error:
            return _failure(request, error)

    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    body = await read_body(request, process(request).config.limits.body_limit("admin"))
    try:
        value = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as error:
        raise ControlError(f"body is not JSON: {error}", field="body") from None
    if not isinstance(value, dict):
        raise ControlError("body must be a JSON object", field="body")
    return value


async def _link_fields(request: Request) -> dict[str, Any]:
    """The link fields of the body, checked in shape and size here, before they travel to the control plane."""
    try:
        return admin_fields(await _json_body(request))
    except BadEvent as error:
        raise ControlError(error.message, field=error.field) from None


async def _go_save(request: Request, control: Any, uid: str) -> Any:
    await control.save(fields=await _link_fields(request), uid=uid, key=None, mode="upsert")
    return Response(status_code=200)


async def _go_list(request: Request, control: Any, uid: str) -> Any:
    host = request.path_params["host"]
    return await control.list(host="" if host in ("*", "_", "all") else host, offset=0, limit=100_000)


async def _me(uid: str) -> Any:
    return {"uid": uid}


async def _list(request: Request, control: Any, uid: str) -> Any:
    params = request.query_params
    try:
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 50))
    except ValueError:
        raise ControlError("offset and limit must be integers", field="offset") from None
    if offset < 0 or not 1 <= limit <= 1000:
        raise ControlError("offset must be >= 0 and limit 1-1000", field="limit")
    return await control.list(host=params.get("host", ""), offset=offset, limit=limit, query=params.get("q", ""))


async def _create(request: Request, control: Any, uid: str) -> Any:
    return await control.save(fields=await _link_fields(request), uid=uid, key=None, mode="create")


async def _get(request: Request, control: Any, uid: str) -> Any:
    return await control.get(key=request.path_params["key"].lower())


async def _update(request: Request, control: Any, uid: str) -> Any:
    fields = await _link_fields(request)
    return await control.save(fields=fields, uid=uid, key=request.path_params["key"].lower(), mode="update")


async def _delete(request: Request, control: Any, uid: str) -> Any:
    return await control.delete(key=request.path_params["key"].lower(), uid=uid)


async def _stats(request: Request, control: Any, uid: str) -> Any:
    return await control.stats(key=request.path_params["key"].lower())


async def _erase(request: Request, control: Any, uid: str) -> Any:
    """One person's erasure (privacy/erase.py), queued in the spool behind every row acknowledged before it."""
    body = await _json_body(request)
    given = [name for name in ("vid", "uid", "id") if name in body]
    if len(given) != 1 or not isinstance(body[given[0]], str):
        raise ControlError('send one of "vid", "uid" or "id" (vid and uid columns) as a UUID string', field="body")
    try:
        kind, person = parse_subject(body[given[0]], "any" if given[0] == "id" else given[0])
    except BadErasure as error:
        raise ControlError(str(error), field=given[0]) from None
    erasure = erase_request(kind, person, f"admin:{uid}")
    answer = {"id": erasure["id"], "kind": kind, "status": "queued"}
    try:
        durable = process(request).intake.append([Record(ERASURES, erasure)], family="privacy")
        del erasure  # nothing of the row stays alive while the commit is awaited
        await durable
    except SpoolFull:
        headers = {**allow_origin(request, process(request).config.allow_origin), "retry-after": "5"}
        return json_error(503, "spool is full; retry later", headers=headers)
    return _answer(request, answer, 202)


async def _qr(request: Request, control: Any, uid: str) -> Any:
    link = await control.get(key=request.path_params["key"].lower())
    scheme = "http" if request.query_params.get("scheme") == "http" else "https"
    kind = request.query_params.get("format", "svg")
    if kind not in ("svg", "png"):
        raise ControlError("format must be svg or png", field="format")
    buffer = io.BytesIO()
    segno.make(f"{scheme}://{link['urlfrom']}", error="m").save(buffer, kind=kind, scale=6, border=2)
    return Response(buffer.getvalue(), media_type="image/svg+xml" if kind == "svg" else "image/png")


async def login(request: Request) -> Response:
    control = process(request).control
    try:
        fields = await _json_body(request)
        uid, password = fields.get("uid"), fields.get("password")
        if not isinstance(uid, str) or not uid:
            raise ControlError("uid is required", field="uid")
        if not isinstance(password, str) or not password:
            raise ControlError("password is required", field="password")
        return _answer(request, await control.login(uid=uid, password=password, client=_client(request)))
    except (ControlError, BodyTooLarge) as error:
        return _failure(request, error)


PAGE_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
ASSET_TYPES = {"admin.js": "text/javascript; charset=utf-8", "admin.css": "text/css; charset=utf-8"}


def _asset_text(name: str) -> str:
    return resources.files("tracker.redirects").joinpath(name).read_text()


async def page(request: Request) -> Response:
    """The marketer page: no inline script or style (the CSP forbids both); the API prefix travels in data-api."""
    api = html.escape(process(request).config.api_prefix, quote=True)
    return HTMLResponse(_asset_text("admin.html").replace("{{API}}", api), headers=PAGE_HEADERS)


async def asset(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    return Response(_asset_text(name), media_type=ASSET_TYPES[name], headers=PAGE_HEADERS)


async def _preflight(request: Request) -> Response:
    return preflight(request, process(request).config.allow_origin)
