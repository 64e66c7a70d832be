"""Payment lines and lifetime value (SPEC.md §4, "LTV write"): a /ltv/ body becomes `payments` rows and, when
the revenue is positive, one `ltv` row per present uid, vid and invid (as `orid`).

Amounts are Decimals from the JSON text to the row (stored as their exact text: the spool is JSON), never
floats; an amount or currency that cannot be stored exactly is refused naming its field.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tracker import timestamps
from tracker.errors import BadEvent
from tracker.events import coerce
from tracker.events.ids import ZERO_UUID, parse_uuid
from tracker.privacy.hashing import short_hash
from tracker.records import Record

SHARED_IDS = ("oid", "tid", "uid", "vid", "sid", "invid", "orid")
LINE_IDS = ("product_id", "orid")  # a line's own order id wins over the top-level one
TEXT = ("product", "pcat", "man", "model", "country", "rcode", "region", "campaign_id")
AMOUNTS = (
    "price", "discount", "revenue", "margin", "cost", "tax", "tax_rate", "commission", "referral", "fees",
    "subtotal", "total", "payment",
)  # fmt: skip
MOMENTS = ("starts", "ends", "invoiced_at", "paid_at")
LTV_IDS = (("uid", "uid"), ("vid", "vid"), ("invid", "orid"))
MAX_DIGITS, MAX_PLACES = 18, 4  # Decimal(18, 4) on every sink
STEP, LIMIT = Decimal(1).scaleb(-MAX_PLACES), Decimal(10) ** (MAX_DIGITS - MAX_PLACES)
MAX_TEXT = 1024
CURRENCY = re.compile(r"[A-Za-z]{3}")


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a /ltv/ body with every non-integer number as a Decimal (never through a float)."""
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        raise BadEvent("body", f"not valid JSON ({error})") from None
    if not isinstance(parsed, dict):
        raise BadEvent("body", "expected a JSON object")
    return parsed


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def top_level(values: Mapping[str, Any]) -> dict[str, Any]:
    """Keys lowercased; top-level strings lowercased as Go's value map does; `payments` items left as sent."""
    return {str(k).lower(): (v.lower() if isinstance(v, str) else v) for k, v in values.items() if v is not None}


def build(values: Mapping[str, Any], host: str, max_lines: int) -> list[Record]:
    """`values` as `top_level` gives them: payments rows, then ltv rows (paid = the sum of line revenue)."""
    lines = values.get("payments")
    if lines is not None and not isinstance(lines, list):
        raise BadEvent("payments", "expected an array of payment objects")
    if lines and len(lines) > max_lines:
        raise BadEvent("payments", f"{len(lines)} payments in one request; the limit is {max_lines}")
    items: list[tuple[str, Any]] = [(f"payments[{n}]", item) for n, item in enumerate(lines or [])]
    if not items:
        items = [("", values)]
    now = timestamps.now_text()
    hhash = short_hash(host) if host else ""
    shared = {column: parse_uuid(values.get(column)) or ZERO_UUID for column in SHARED_IDS}
    shared |= {"org": _text("org", values.get("org", "")), "created_at": now, "updated_at": now}
    records: list[Record] = []
    paid = Decimal(0)
    for prefix, item in items:
        if not isinstance(item, dict):
            raise BadEvent(prefix, "expected a payment object")
        line = payment_line({str(k).lower(): v for k, v in item.items() if v is not None}, prefix)
        paid += Decimal(line.get("revenue") or 0)
        records.append(Record("payments", {**shared, **line}))
    if paid >= LIMIT:
        raise BadEvent("payments", f"the revenue sum is out of range for Decimal({MAX_DIGITS}, {MAX_PLACES})")
    if paid > 0:
        records += ltv_rows(values, shared, paid, hhash)
    return records


def payment_line(item: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """One `payments` row's own columns; `revenue` is the line's `revenue`, else its `amt` (Go's rule)."""
    where = (prefix + ".") if prefix else ""
    row: dict[str, Any] = {"id": str(uuid.uuid4())}
    for column in LINE_IDS:
        if column in item:
            row[column] = parse_uuid(item[column]) or ZERO_UUID
    for column in TEXT:
        if column in item:
            row[column] = _text(where + column, item[column])
    if "country" in row:
        row["country"] = row["country"].upper()
    row["currency"] = currency(where + "currency", item.get("currency", "USD"))
    if "qty" in item:
        row["qty"] = coerce.to_float(where + "qty", item["qty"])
    if "duration" in item:
        row["duration"] = coerce.to_int(where + "duration", item["duration"])
    for column in MOMENTS:
        if column in item:
            row[column] = moment(where + column, item[column])
    for column in AMOUNTS:
        if column in item:
            row[column] = amount(where + column, item[column])
    if "revenue" not in item and "amt" in item:
        row["revenue"] = amount(where + "amt", item["amt"])
    return row


def ltv_rows(values: Mapping[str, Any], shared: Mapping[str, Any], paid: Decimal, hhash: str) -> list[Record]:
    """One row per present, valid uid / vid / invid; all rows of one request share one `payment_id`."""
    payment_id = str(uuid.uuid4())
    common = {
        "payment_id": payment_id,
        "hhash": hhash,
        "paid": _exact_text(paid),
        "oid": shared["oid"],
        "org": shared["org"],
        "updater": _text("updater", values.get("updater", "")),
        "owner": _text("owner", values.get("owner", "")),
        "created_at": shared["created_at"],
        "updated_at": shared["updated_at"],
    }
    rows = []
    for source, id_type in LTV_IDS:
        found = parse_uuid(values.get(source))
        if found is not None and found != ZERO_UUID:
            rows.append(Record("ltv", {**common, "id": found, "id_type": id_type}))
    return rows


def amount(field: str, value: Any) -> str:
    """An amount as exact decimal text that fits Decimal(18, 4): numbers or numeric strings, never booleans."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise BadEvent(field, "expected a decimal amount (a number or numeric text)")
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise BadEvent(field, f"not a decimal amount: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise BadEvent(field, "expected a finite amount")
    if abs(number) >= LIMIT:
        raise BadEvent(field, f"out of range for Decimal({MAX_DIGITS}, {MAX_PLACES})")
    if number != number.quantize(STEP):
        raise BadEvent(field, f"more than {MAX_PLACES} decimal places")
    return _exact_text(number)


def _exact_text(number: Decimal) -> str:
    return format(number.quantize(STEP).normalize(), "f")


def currency(field: str, value: Any) -> str:
    """An ISO 4217 style code: three letters, stored in capitals."""
    if not isinstance(value, str) or not CURRENCY.fullmatch(value.strip()):
        raise BadEvent(field, "expected a three-letter currency code such as USD")
    return value.strip().upper()


def moment(field: str, value: Any) -> str:
    """ISO 8601 text (UTC when naive) or epoch seconds / milliseconds, as the stored UTC text."""
    if isinstance(value, bool):
        raise BadEvent(field, "expected a time, got a boolean")
    try:
        if isinstance(value, (int, Decimal)):
            seconds = float(value)
            parsed = datetime.fromtimestamp(seconds / 1000 if seconds >= coerce.SECONDS_HIGH else seconds, UTC)
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))  # lowercased at top level
        else:
            raise ValueError(value)
    except (ValueError, OverflowError, OSError):
        raise BadEvent(field, "expected an ISO 8601 time or epoch seconds") from None
    return timestamps.text(parsed)


def _text(field: str, value: Any) -> str:
    if isinstance(value, (dict, list, bool)):
        raise BadEvent(field, "expected text")
    text = str(value)
    if len(text) > MAX_TEXT:
        raise BadEvent(field, f"longer than {MAX_TEXT} characters")
    return text
