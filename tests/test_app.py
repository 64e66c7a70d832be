"""create_app's layer stack: only the layers a config needs are there, and the request entry does what
Starlette's error middleware did (a JSON 500 when nothing was sent, counted, logged, the error re-raised)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.requests import Request
from starlette.responses import Response

from tests.asgi import asgi_scope
from tests.harness import base_config, free_port
from tracker import dispatch
from tracker.app import create_app
from tracker.config import from_mapping
from tracker.dispatch import Dispatcher
from tracker.edge.connection_gate import ConnectionGate
from tracker.edge.ratelimit import RateLimit
from tracker.edge.slow_clients import SlowClients
from tracker.http.context import Classifier
from tracker.http.entry import RequestEntry

TRACK = "/tr/v1/tr/ename/x"


def app_for(tmp_path: Path, **overrides: Any) -> Any:
    raw = base_config(tmp_path, free_port(), Durability="memory", Notify=[{"Service": "memory"}], **overrides)
    return create_app(from_mapping(raw))


def layers(app: Any) -> list[type]:
    """The classes of the stack from the outermost to the dispatcher."""
    found, layer = [], app.build_middleware_stack()
    while not isinstance(layer, Dispatcher):
        found.append(type(layer))
        layer = layer.app
    return [*found, Dispatcher]


def test_layers_a_config_does_not_need_are_not_there(tmp_path: Path) -> None:
    bare = app_for(tmp_path / "bare", ReadTimeoutSeconds=0, WriteTimeoutSeconds=0)
    assert layers(bare) == [RequestEntry, Dispatcher]
    everything = app_for(
        tmp_path / "all", MaximumConnections=100, RateLimits=[{"Limit": "5/minute", "Routes": ["tracking"]}]
    )
    assert layers(everything) == [RequestEntry, SlowClients, ConnectionGate, RateLimit, Dispatcher]


def scope(path: str = TRACK) -> dict[str, Any]:
    return asgi_scope("http", path, method="GET")


async def call(app: Any, path: str = TRACK) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        await app(scope(path), receive, send)
    finally:
        app.sent = sent
    return sent


async def test_an_endpoint_that_raises_answers_json_500_counted_logged_and_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: Request, rest: str) -> Response:
        raise RuntimeError("boom")

    monkeypatch.setitem(dispatch.DIRECT_ENDPOINTS, "tr", broken)
    app = app_for(tmp_path)
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="boom"):
        await call(app)
    start, body = app.sent
    assert start["status"] == 500 and (b"content-type", b"application/json") in start["headers"]
    assert orjson.loads(body["body"]) == {"error": "internal error"}
    assert app.runtime.metrics.requests.counts == {("tracking", 500): 1}
    assert app.runtime.metrics.requests.in_flight == 0
    assert any(r.getMessage() == "unhandled error" and r.exc_info for r in caplog.records)


async def test_an_error_after_the_answer_started_sends_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class HalfAnswer(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            raise RuntimeError("after the start")

    async def half(request: Request, rest: str) -> Response:
        return HalfAnswer()

    monkeypatch.setitem(dispatch.DIRECT_ENDPOINTS, "tr", half)
    app = app_for(tmp_path)
    with pytest.raises(RuntimeError, match="after the start"):
        await call(app)
    assert [m["type"] for m in app.sent] == ["http.response.start"]
    assert app.runtime.metrics.requests.counts == {("tracking", 200): 1}


async def test_a_head_over_max_header_bytes_is_431_and_counted(tmp_path: Path) -> None:
    app = app_for(tmp_path, MaxHeaderBytes=64)
    start, body = await call(app, "/tr/v1/tr/" + "x" * 100)
    assert start["status"] == 431 and orjson.loads(body["body"])["limit"] == 64
    assert app.runtime.metrics.requests.counts == {("tracking", 431): 1}


async def test_a_failure_while_the_context_is_built_answers_json_500_and_raises(tmp_path: Path) -> None:
    app = app_for(tmp_path)
    entry = app.build_middleware_stack()
    assert isinstance(entry, RequestEntry)

    def broken(host: str, path: str) -> None:
        raise RuntimeError("no classifier today")

    entry.classifier = Classifier("/tr/v1", match_upstream=broken)
    app.middleware_stack = entry
    with pytest.raises(RuntimeError, match="no classifier today"):
        await call(app, "/not-the-api")
    start, body = app.sent
    assert start["status"] == 500 and orjson.loads(body["body"]) == {"error": "internal error"}
