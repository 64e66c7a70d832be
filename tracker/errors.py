"""Typed errors raised at the edges of the request path, and the one helper that turns them into JSON."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class BadEvent(ValueError):
    """An event that cannot be stored; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def json_error(status: int, message: str, headers: dict[str, str] | None = None, **fields: Any) -> Response:
    """A JSON error body: {"error": message, ...fields}."""
    body = orjson.dumps({"error": message, **fields})
    return Response(body, status_code=status, media_type="application/json", headers=headers)
