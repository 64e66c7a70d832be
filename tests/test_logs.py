"""Structured logs never carry a secret, whatever logged it."""

from __future__ import annotations

import logging

import orjson

from tracker.logs import JsonFormatter


def line(message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("tracker.app", logging.ERROR, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    parsed: dict[str, object] = orjson.loads(JsonFormatter().format(record))
    return parsed


def test_the_go_admin_password_segment_is_never_logged() -> None:
    entry = line("unhandled error", path="/tr/v1/rpi/redirect/alice/hunter2", other="/tr/v1/rpi/redirects/a/pw2/x.com")
    assert entry["path"] == "/tr/v1/rpi/redirect/alice/***" and entry["other"] == "/tr/v1/rpi/redirects/a/***/x.com"
    assert "hunter2" not in orjson.dumps(entry).decode()


def test_tokens_are_never_logged() -> None:
    entry = line("auth failed for Bearer abc.DEF-123", url="/x?token=t0k3n&page=2", query="password=p&x=1")
    text = orjson.dumps(entry).decode()
    assert "abc.DEF-123" not in text and "t0k3n" not in text and entry["url"] == "/x?token=***&page=2"
    assert entry["msg"] == "auth failed for Bearer ***" and entry["query"] == "password=***&x=1"
