"""The control plane's errors: each carries the HTTP status and the fields its JSON answer shows."""

from __future__ import annotations

from typing import Any


class ControlError(Exception):
    status = 400

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields


class NotFound(ControlError):
    status = 404


class Conflict(ControlError):
    status = 409


class AuthFailed(ControlError):
    status = 401


class Throttled(ControlError):
    status = 429


class Unavailable(ControlError):
    status = 503
