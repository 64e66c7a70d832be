"""ASGI scopes for driving the app in process, as an engine would hand them over."""

from __future__ import annotations

from typing import Any


def asgi_scope(kind: str, path: str, headers: list[tuple[bytes, bytes]] | None = None, **extra: Any) -> dict[str, Any]:
    """An `http` or `websocket` scope for `path` from 127.0.0.1, with a Host of localhost unless `headers` say."""
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws" if kind == "websocket" else "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers if headers is not None else [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        **extra,
    }
