"""The reference: a bare Starlette app answering 204, served by Hypercorn with the tracker's own settings."""

from __future__ import annotations

import argparse
import asyncio

from hypercorn.asyncio.run import worker_serve
from hypercorn.utils import wrap_app
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from tracker.config import from_mapping
from tracker.server.hypercorn import hypercorn_config


async def empty(request: object) -> Response:
    return Response(status_code=204)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Starlette(routes=[Route("/{path:path}", empty, methods=["GET", "POST"])])
    settings = hypercorn_config(from_mapping({"ProxyPort": f"127.0.0.1:{args.port}"}))
    asyncio.run(worker_serve(wrap_app(app, 0, "asgi"), settings))


if __name__ == "__main__":
    main()
