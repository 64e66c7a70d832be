"""The proxy's event hook (tracker/edge/proxy_track.py) with Durability "fsync": the proxied request's event is
written, then the hook waits for the group commit with none of its rows alive (tests/routes/alive.py). Driven
through the real runtime and spool in this process; the hook runs after the upstream's answer is relayed, so no
upstream is needed to call it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from tests.asgi import asgi_scope
from tests.harness import base_config, free_port
from tests.routes.alive import CommitWatch
from tracker.app import create_app
from tracker.config import from_mapping
from tracker.edge.proxy_track import event_recorder
from tracker.edge.upstreams import Upstream
from tracker.http.context import SCOPE_KEY, RequestContext

CONCURRENT = 4


def test_a_proxied_request_s_rows_are_not_alive_while_its_commit_is_awaited(tmp_path: Path) -> None:
    config = from_mapping(base_config(tmp_path, free_port(), Durability="fsync"))
    app = create_app(config, run_shipper=False)
    scope = asgi_scope("http", "/api/ename/signup", method="GET", query_string=b"plan=pro")
    headers = {b"host": "localhost", b"user-agent": "test/1.0"}
    scope[SCOPE_KEY] = RequestContext("proxy", "", "localhost", "127.0.0.1", headers, None)  # as the entry sets it
    unused = cast(Upstream, cast(Any, None))  # the hook records the request, not where it went

    async def run() -> CommitWatch:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            watch = CommitWatch(runtime.spool)
            record = event_recorder(config, runtime.intake)
            await asyncio.gather(*(record(scope, unused) for _ in range(CONCURRENT)))
            assert runtime.metrics.accepted_by_table["events"] == CONCURRENT  # counted once durable
            return watch

    watch = asyncio.run(run())
    events = [row for row in watch.written if row.get("ename") == "signup"]
    assert len(events) == CONCURRENT and all(row["params"] == {"plan": "pro"} for row in events)
    assert watch.most_alive == (0, 0), watch.alive_at_commits
