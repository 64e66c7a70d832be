"""Typing of loose values: what Go's convertParamsToTypes does to `params`, and the numeric fields.

Param strings become bools, ints, floats, epoch milliseconds or parsed JSON. An integer between
946684800 and 946684800000 is taken for seconds and multiplied by 1000, as Go does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from tracker.errors import BadEvent

_INT = re.compile(r"^[+-]?\d{1,18}$")
_FLOAT = re.compile(r"^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y")
_MAYBE_TYPED = frozenset("+-.{[tf")  # what a typed string can start with, besides a digit
SECONDS_LOW, SECONDS_HIGH = 946684800, 946684800000


def param_value(value: Any) -> Any:
    kind = type(value)
    if kind is not str:
        if kind is int or (isinstance(value, int) and not isinstance(value, bool)):
            return value * 1000 if SECONDS_LOW <= value < SECONDS_HIGH else value
        return value
    text = value.strip()
    first = text[:1]
    if first not in _MAYBE_TYPED and not first.isdigit():
        return value  # most text: nothing below can match (isdigit also covers the non-ASCII digits \d matches)
    if text in ("true", "false"):
        return text == "true"
    if _INT.match(text):
        return _seconds_to_ms(int(text))
    if _FLOAT.match(text):
        return float(text)
    if text[:1] in "{[" and text[-1:] in "}]":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return value
    if text[:1].isdigit() and len(text) >= 8:
        stamp = _epoch_ms(text)
        if stamp is not None:
            return stamp
    return value


def _seconds_to_ms(number: int) -> int:
    return number * 1000 if SECONDS_LOW <= number < SECONDS_HIGH else number


def _epoch_ms(text: str) -> int | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def to_int(field: str, value: Any, bits: int = 64) -> int:
    if isinstance(value, bool):
        raise BadEvent(field, "expected a number, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INT.match(value.strip()):
        value = int(value.strip())
    if not isinstance(value, int):
        raise BadEvent(field, f"expected an integer, got {_show(value)}")
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise BadEvent(field, f"out of range for a {bits}-bit integer")
    return value


def to_float(field: str, value: Any) -> float:
    if isinstance(value, bool):
        raise BadEvent(field, "expected a number, got a boolean")
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str) and _FLOAT.match(value.strip()):
        result = float(value.strip())
    else:
        raise BadEvent(field, f"expected a number, got {_show(value)}")
    if result != result or result in (float("inf"), float("-inf")):
        raise BadEvent(field, "expected a finite number")
    return result


def _show(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 40 else text[:37] + "..."
