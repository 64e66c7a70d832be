"""What the WebSocket leg of the proxy (tracker/edge/proxy_ws.py) connects to: the configured target only, even
when the upstream answers the handshake with a redirect. The relay itself (messages, limits, close codes) is
tested end to end in tests/edge/test_proxy.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.harness import start_tracker
from tests.raw_http import RawUpstream


def test_an_upstream_redirect_is_the_clients_answer_and_is_not_followed(tmp_path: Path) -> None:
    """websockets follows up to 10 redirects to any host by default: an app's open redirect would have let a
    client send the tracker anywhere."""
    with RawUpstream() as decoy, RawUpstream() as upstream:
        upstream.redirect_to = f"ws://127.0.0.1:{decoy.port}/internal"
        tracker = start_tracker(tmp_path / "t", Upstreams=[{"Prefix": "/app/", "Targets": [upstream.url]}])
        try:

            async def handshake() -> None:
                async with connect(f"ws://127.0.0.1:{tracker.port}/app/ws", open_timeout=10):
                    pass

            with pytest.raises(InvalidStatus) as refused:
                asyncio.run(handshake())
            assert refused.value.response.status_code == 302
            assert b"upstream refused the websocket" in refused.value.response.body
            assert upstream.connections == 1 and decoy.connections == 0
        finally:
            tracker.kill9()
