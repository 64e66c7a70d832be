"""Typed errors raised at the edges of the request path; http.answers.json_error turns them into answers."""

from __future__ import annotations


class BadEvent(ValueError):
    """An event that cannot be stored; `field` names the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
