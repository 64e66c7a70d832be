"""What a tracking request says: the URL tuple, the query, cookies, the `User` header, JSON and form bodies.

Everything is merged into one value map (SPEC.md §2): User header, then cookies, then path pairs, then the
query, then the body; later sources win. Keys are lowercased; values keep their case (SPEC 'Our decisions').
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson

from tracker.errors import BadEvent


@dataclass(slots=True)
class RequestInfo:
    """The parts of an HTTP request the event model reads, detached from Starlette."""

    method: str = "GET"
    host: str = ""
    path: str = "/"
    query: str = ""
    user_agent: str = ""
    referer: str = ""
    client_ip: str = ""
    secure: bool = False
    cookies: Mapping[str, str] = field(default_factory=dict)
    user_header: str = ""
    gpc: bool = False  # Sec-GPC: 1
    dnt: bool = False  # DNT: 1


def path_pairs(rest: str) -> dict[str, str]:
    """'vid/X/ename/Y' → {'vid': 'X', 'ename': 'Y'}; an odd trailing segment is dropped."""
    parts = [p for p in rest.split("/") if p]
    return {parts[i].lower(): parts[i + 1] for i in range(0, len(parts) - 1, 2)}


def query_values(query: str, ignore_key: str) -> dict[str, str]:
    """First value per key; keys lowercased with `utm_` removed; nothing at all when `ignore_key` is present."""
    if not query:
        return {}
    values: dict[str, str] = {}
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:  # what parse_qsl does, without its cost on plain queries
            name, value = unquote_plus(name), unquote_plus(value)
        name = name.lower()
        if ignore_key and name == ignore_key.lower():
            return {}
        values.setdefault(name.replace("utm_", ""), value)
    return values


def seed(info: RequestInfo) -> dict[str, Any]:
    """Values from the `User` header / `user` cookie (JSON objects) and the cookies the server reads."""
    values: dict[str, Any] = {}
    for text in (info.user_header, info.cookies.get("user", "")):
        if text and text[0] == "{":
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(parsed, dict):
                values.update({str(k).lower(): v for k, v in parsed.items()})
    cookies = info.cookies
    for name in ("vid", "sid", "ehash"):
        if cookies.get(name):
            values[name] = cookies[name]
    consent = cookies.get("CookieConsent", "")
    if consent.lstrip("-").isdigit():
        values["cflags"] = int(consent)
    return values


def json_events(body: bytes, max_events: int) -> list[Any]:
    """A JSON object or array of objects; items are returned as-is, checked one by one by the caller."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadEvent("body", f"not valid JSON ({error.msg} at {error.pos})") from None
    if isinstance(parsed, dict):
        return [parsed]
    if isinstance(parsed, list):
        if len(parsed) > max_events:
            raise BadEvent("body", f"{len(parsed)} events in one request; the limit is {max_events}")
        return parsed
    raise BadEvent("body", "expected a JSON object or an array of objects")


def form_event(body: bytes) -> dict[str, str]:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise BadEvent("body", "form body is not UTF-8") from None
    values: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        values.setdefault(name.lower().replace("utm_", ""), value)
    return values


def lower_keys(item: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in item.items() if v is not None}
