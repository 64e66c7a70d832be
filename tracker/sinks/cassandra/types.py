"""Row values (JSON-shaped: UUIDs and times as text, JSON columns as dicts) to the Python values the driver
binds for each CQL type, and read values back to the shape the other sinks return.

A value that cannot be the column's type raises BadValue naming the column: the row is dead-lettered, never
retried. Nothing is guessed silently: a float for an int column, a malformed UUID, a non-numeric amount all fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any

import orjson

TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # the sinks' text form of a time, cut to milliseconds on reads
TEXT_TYPES = frozenset(("text", "varchar", "ascii", "inet"))
INT_TYPES = frozenset(("int", "bigint", "smallint", "tinyint", "varint", "counter"))
FLOAT_TYPES = frozenset(("double", "float"))
UUID_TYPES = frozenset(("uuid", "timeuuid"))


class BadValue(ValueError):
    """A row value that the column's CQL type cannot hold."""


def to_cql(value: Any, cql_type: str, column: str = "?") -> Any:
    """The value to bind for `cql_type`; None stays None (the sink leaves the column unset)."""
    return converter(cql_type, column)(value)


@lru_cache(maxsize=4096)
def converter(cql_type: str, column: str = "?") -> Callable[[Any], Any]:
    """`to_cql` for one column, its type text parsed once (a batch converts thousands of values per column)."""
    cql_type = _unfrozen(cql_type.strip().lower())
    if cql_type.startswith(("map<", "list<", "set<")):
        convert: Callable[[Any], Any] | None = partial(_collection, cql_type=cql_type, column=column)
    else:
        convert = SCALARS.get(cql_type)

    def to_column(value: Any) -> Any:
        if value is None or convert is None:
            return value
        try:
            return convert(value)
        except BadValue:
            raise
        except (ValueError, TypeError, ArithmeticError, orjson.JSONDecodeError) as error:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise BadValue(f"column {column} ({cql_type}): cannot store {shown}: {error}") from None

    return to_column


def from_cql(value: Any) -> Any:
    """A value read from Cassandra as the other sinks give it: UUIDs as text, times as text, collections plain."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime(TIME_FORMAT)[:-3]
    if isinstance(value, Mapping):
        return {from_cql(k): from_cql(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [from_cql(v) for v in value]
    return value


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise TypeError(f"a UUID is text, not {type(value).__name__}")
    return uuid.UUID(value) if value else None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = datetime.fromisoformat(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):  # CQL's own convention: milliseconds
        return datetime.fromtimestamp(value / 1000, UTC)
    else:
        raise TypeError(f"a time is ISO 8601 text, not {type(value).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not a whole number")
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise TypeError(f"not a number: {type(value).__name__}")


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise TypeError(f"not a number: {type(value).__name__}")
    return float(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise TypeError(f"not an amount: {type(value).__name__}")
    amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    if not amount.is_finite():
        raise ValueError("not a finite amount")
    return amount


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError("not true or false")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):  # a JSON column kept as text
        return orjson.dumps(value, default=str).decode()
    return str(value)


def _json_text(value: Any) -> str:
    """A collection member for a text slot: text as it is, anything else as its JSON."""
    return value if isinstance(value, str) else orjson.dumps(value, default=str).decode()


def _collection(value: Any, cql_type: str, column: str) -> Any:
    kind, _, inner = cql_type.partition("<")
    inner = inner[:-1]
    if isinstance(value, str):  # JSON text of the collection
        value = orjson.loads(value) if value.strip() else ({} if kind == "map" else [])
    if kind == "map":
        if not isinstance(value, Mapping):
            raise TypeError(f"a map is a JSON object, not {type(value).__name__}")
        key_type, _, value_type = (part.strip() for part in _split_pair(inner))
        return {_member(k, key_type, column): _member(v, value_type, column) for k, v in value.items()}
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(f"a {kind} is a JSON array, not {type(value).__name__}")
    members = [_member(v, inner.strip(), column) for v in value]
    return set(members) if kind == "set" else members


def _member(value: Any, cql_type: str, column: str) -> Any:
    if cql_type in TEXT_TYPES:
        return _json_text(value)
    converted = to_cql(value, cql_type, column)
    if converted is None:
        raise ValueError("a collection cannot hold null")
    return converted


def _split_pair(inner: str) -> tuple[str, str, str]:
    depth = 0
    for index, char in enumerate(inner):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            return inner[:index], ",", inner[index + 1 :]
    raise ValueError(f"not a map type: map<{inner}>")


def _unfrozen(cql_type: str) -> str:
    return cql_type[7:-1].strip() if cql_type.startswith("frozen<") else cql_type


SCALARS: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(UUID_TYPES, _uuid),
    **dict.fromkeys(TEXT_TYPES, _text),
    **dict.fromkeys(INT_TYPES, _integer),
    **dict.fromkeys(FLOAT_TYPES, _float),
    "decimal": _decimal,
    "boolean": _boolean,
    "timestamp": _timestamp,
}
