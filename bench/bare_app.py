"""The reference: a bare Starlette app answering 204, served by an engine of ours with the tracker's own settings
(the engine seam: the same sockets bound once, the same worker processes), so a ratio measures our app alone.

python bench/bare_app.py --port P [--server hypercorn|granian] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal
import sys
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from tracker.config import Config, from_mapping
from tracker.server.engine import engine_for


async def empty(request: object) -> Response:
    return Response(status_code=204)


def serve(config: Config, sockets: Any) -> None:
    app = Starlette(routes=[Route("/{path:path}", empty, methods=["GET", "POST"])])
    asyncio.run(engine_for(config).serve(app, config, sockets=sockets, shutdown=asyncio.Event().wait))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", default="hypercorn", choices=("hypercorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    config = from_mapping({"ProxyPort": f"127.0.0.1:{args.port}", "Server": args.server, "Workers": args.workers})
    sockets = engine_for(config).bind(config)
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=serve, args=(config, sockets), daemon=True) for _ in range(args.workers)]
    for worker in workers:
        worker.start()

    def stop(*_: object) -> None:
        for worker in workers:
            worker.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
