"""Structured logs: one JSON object per line on stderr, with any `extra=` fields merged in.

Every line passes through `redact`, so no log line carries a secret whatever logged it: the password segment
of the Go admin routes (/rpi/redirect/{uid}/{password}, /rpi/redirects/{uid}/{password}/{host}), bearer
tokens, and `password`/`token` query values."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

_SECRETS = re.compile(
    r"(/rpi/redirects?/[^/\s\"?#]*/)[^/\s\"?#]+"  # the Go admin routes' password segment
    r"|((?i:bearer)\s+)[^\s\",]+"  # Authorization: Bearer <token>
    r"|((?<![\w-])(?i:password|token|access_token)=)[^&\s\"#]+"  # in a query string
)


def redact(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group(1) or m.group(2) or m.group(3)) + "***", text)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("hypercorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
