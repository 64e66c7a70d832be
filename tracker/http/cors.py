"""CORS for the browser-facing routes: the Go preflight answer and Access-Control-Allow-Origin.

With AllowOrigin "*" a request that names its Origin gets that origin echoed (plus Vary: Origin), because
browsers refuse "*" together with credentials, which the tracking cookies need.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

PREFLIGHT_HEADERS = {
    "access-control-allow-credentials": "true",
    "access-control-allow-headers": "Authorization,Accept,User,Content-Type",
    "access-control-allow-methods": "GET,POST,HEAD,PUT,DELETE",
    "access-control-max-age": "1728000",
}


def allow_origin(request: Request, configured: str) -> dict[str, str]:
    if configured == "*":
        for name, value in request.scope["headers"]:  # not request.headers: this runs on every tracking hit
            if name == b"origin" and value:
                origin = value.decode("latin-1")
                return {
                    "access-control-allow-origin": origin,
                    "access-control-allow-credentials": "true",
                    "vary": "Origin",
                }
    return {"access-control-allow-origin": configured}


def preflight(request: Request, configured: str) -> Response:
    return Response(status_code=200, headers={**PREFLIGHT_HEADERS, **allow_origin(request, configured)})
