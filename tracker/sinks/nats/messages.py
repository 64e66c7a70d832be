"""A consumed NATS message → one `logs` or `updates` row, in the Go tracker's columns; or Malformed with the reason.

Log messages (Alias "log"): JSON objects with any of topic (else id, else the subject), name, host, hostname,
msg, level (a number), ltimenss (the sender's time in nanoseconds, digits), ldate, oid, org, owner, ip, params
(an object or its JSON text). Updates (Alias "update"): id (else the subject), msg, updated (epoch milliseconds).
A message carrying `Nats-Msg-Id` keeps one row id however often it arrives.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson

from tracker.records import Record

TABLES = {"log": "logs", "update": "updates"}
NIL = "00000000-0000-0000-0000-000000000000"
ROW_NAMESPACE = uuid.UUID("6f1b4a0e-5c1d-4a57-9a43-2f8b1f0f6c11")  # uuid5 ids of messages with a Nats-Msg-Id
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DIGITS = re.compile(r"-?\d{1,19}")
TEXT_COLUMNS = ("name", "host", "hostname", "msg", "org")

IPColumns = Callable[[str], tuple[str, str]]  # an address → (ip column, iphash column), per IPStorage


class Malformed(ValueError):
    """The message cannot become a row; the text says why (it goes to the dead-letter file with it)."""


def record(alias: str, subject: str, data: bytes, headers: Mapping[str, str] | None, ip_columns: IPColumns) -> Record:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise Malformed(f"not JSON: {error}") from None
    if not isinstance(body, dict):
        raise Malformed(f"not a JSON object but {type(body).__name__}")
    now = datetime.now(UTC)
    if alias == "update":
        return Record(TABLES[alias], update_row(body, subject, now))
    message_id = (headers or {}).get("Nats-Msg-Id", "")
    return Record(TABLES[alias], log_row(body, subject, message_id, now, ip_columns))


def log_row(
    body: dict[str, Any], subject: str, message_id: str, now: datetime, ip_columns: IPColumns
) -> dict[str, Any]:
    ip, iphash = ip_columns(_text(body, "ip"))
    row: dict[str, Any] = {
        "id": str(uuid.uuid5(ROW_NAMESPACE, message_id) if message_id else uuid.uuid1()),
        "ldate": _date(body.get("ldate"), now),
        "created_at": _stamp(now),
        "ltime": _integer(body, "ltimenss"),
        "topic": _text(body, "topic") or _text(body, "id") or subject,
        "oid": _uuid(body.get("oid")),
        "owner": _uuid(body.get("owner")),
        "ip": ip,
        "iphash": iphash,
        "level": _level(body.get("level")),
        "params": _params(body.get("params")),
    }
    row.update((column, _text(body, column)) for column in TEXT_COLUMNS)
    return row


def update_row(body: dict[str, Any], subject: str, now: datetime) -> dict[str, Any]:
    updated = body.get("updated")
    when = now
    if updated not in (None, ""):
        millis = _integer(body, "updated")
        try:
            when = datetime.fromtimestamp(millis / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise Malformed(f"updated: {millis} is not a time in epoch milliseconds") from None
    return {"id": _text(body, "id") or subject, "updated_at": _stamp(when), "msg": _text(body, "msg")}


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise Malformed(f"{name}: expected text, got {type(value).__name__}")


def _integer(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None or value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
        return int(value)
    raise Malformed(f"{name}: expected an integer (digits), got {orjson.dumps(value).decode()[:60]}")


def _level(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 2**31:
        return int(value)
    if value is None:
        return 0
    raise Malformed(f"level: expected a number, got {orjson.dumps(value).decode()[:60]}")


def _params(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise Malformed("params: text that is not JSON") from None
    if not isinstance(value, dict):
        raise Malformed(f"params: expected an object, got {type(value).__name__}")
    return value


def _uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value))) if value else NIL
    except ValueError:
        return NIL  # Go's parseUUID: an unreadable owner or oid is stored as the nil UUID


def _date(value: Any, now: datetime) -> str:
    if isinstance(value, str) and DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise Malformed(f"ldate: {value!r} is not a date") from None
    return now.strftime("%Y-%m-%d")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
