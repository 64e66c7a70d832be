"""One value of an event checked and typed for its column: numbers, text, URLs, params and nested JSON.

Each raises BadEvent naming the field when the value cannot be stored as that column takes it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from tracker.errors import BadEvent
from tracker.events import coerce
from tracker.events.columns import EXCLUDED_FROM_PARAMS

MAX_TEXT = 8192
MAX_ENCODED = 64 * MAX_TEXT  # params and targets, as JSON
MAX_KNOWN, MAX_KNOWN_TEXT = 1024, 64  # what ParamTypes remembers: the typing of at most 1024 short values


def numbers(values: dict[str, Any], row: dict[str, Any]) -> None:
    cflags = values.get("cflags")
    if cflags is not None:
        # Go takes cflags only as a JSON number (or the cookie); text from a path or query is ignored.
        if isinstance(cflags, (int, float)) and not isinstance(cflags, bool):
            row["cflags"] = coerce.to_int("cflags", cflags)
        elif not isinstance(cflags, str):
            raise BadEvent("cflags", "expected an integer")
    if "duration" in values:
        row["duration"] = coerce.to_int("duration", values["duration"])
    if "ver" in values:
        row["ver"] = coerce.to_int("ver", values["ver"], bits=32)
    if "score" in values:
        row["score"] = coerce.to_float("score", values["score"])
    lat, lon = values.get("lat"), values.get("lon")
    if lat is not None or lon is not None:
        if lat is None or lon is None:
            raise BadEvent("lat" if lat is None else "lon", "lat and lon must be given together")
        row["lat"], row["lon"] = coerce.to_float("lat", lat), coerce.to_float("lon", lon)
        if not (-90 <= row["lat"] <= 90 and -180 <= row["lon"] <= 180):
            raise BadEvent("lat", "lat/lon out of range")
    for source, column in (("w", "vp_w"), ("h", "vp_h"), ("vp_w", "vp_w"), ("vp_h", "vp_h")):
        if source in values:
            row[column] = coerce.to_int(source, values[source])


def own_params(own: Any) -> dict[str, Any] | None:
    """The event's own `params` (a JSON object, or its text), or None when it names none."""
    if isinstance(own, str) and own.strip():
        try:
            own = orjson.loads(own)
        except orjson.JSONDecodeError:
            raise BadEvent("params", "expected a JSON object") from None
    if own is None or own == "":
        return None
    if not isinstance(own, dict):
        raise BadEvent("params", "expected a JSON object")
    return own


def typed_params(params: dict[Any, Any]) -> dict[str, Any]:
    return ParamTypes().typed(params)


class ParamTypes:
    """`params` typed by coerce.param_value, the type found for each short text value remembered: the events of
    one batch repeat their values, and typing text is the costly part. `forget` at the end of a batch keeps a
    long-lived socket from holding what its past messages said."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[str, Any] = {}

    def forget(self) -> None:
        self._known.clear()

    def typed(self, params: dict[Any, Any]) -> dict[str, Any]:
        known = self._known
        typed: dict[str, Any] = {}
        for key, value in params.items():
            if key in EXCLUDED_FROM_PARAMS:
                continue
            kind = type(value)
            if kind is str:
                found = known.get(value, known)  # the dict itself: never a value, so "not known yet"
                if found is known:
                    found = coerce.param_value(value)
                    if len(value) <= MAX_KNOWN_TEXT and len(known) < MAX_KNOWN and type(found) not in (dict, list):
                        known[value] = found
                value = found
            elif kind is int:
                if coerce.SECONDS_LOW <= value < coerce.SECONDS_HIGH:
                    value *= 1000
            elif kind is not float and kind is not bool:
                value = coerce.param_value(value)
            typed[key if type(key) is str else str(key)] = value
        if len(encoded("params", typed)) > MAX_ENCODED:
            raise BadEvent("params", "larger than 512 KiB")
        return typed


def encoded(field: str, value: Any) -> bytes:
    """`value` as the spool will write it, or BadEvent naming `field`: orjson reads 1024 levels of nesting but
    writes only 254, so a deep value that parsed fine would otherwise fail after it was accepted."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise BadEvent(field, f"cannot be stored as JSON ({error}); nest at most 254 levels") from None


def as_text(column: str, value: Any) -> str:
    text = value if isinstance(value, str) else encoded(column, value).decode()
    if len(text) > MAX_TEXT:
        raise BadEvent(column, f"longer than {MAX_TEXT} characters")
    return text


def clean_url(url: str, url_filter: re.Pattern[str] | None, group: int) -> str:
    if url_filter is not None:
        match = url_filter.search(url)
        if match:
            index = group if group > 0 else (match.re.groups or 0)
            kept = match.group(index) or ""
            return kept
    scheme = url[:6].lower()
    if scheme == "https:":
        url = url[6:]
    elif scheme[:5] == "http:":
        url = url[5:]
    return url.partition("?")[0].partition("#")[0]
