"""A real upstream for the proxy tests, run as its own Hypercorn process: echo, stream down, count uploads,
slow answers, any status, chunked bodies and a WebSocket echo."""

from __future__ import annotations

import argparse
import asyncio
import os

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CHUNK = b"x" * 65536


async def echo(request: Request) -> Response:
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "port": request.url.port,
            "body": (await request.body()).decode(errors="replace"),
        },
        headers={"connection": "x-private", "x-private": "hop", "keep-alive": "timeout=5", "x-upstream": "yes"},
    )


async def download(request: Request) -> Response:
    size = int(request.query_params["size"])

    async def body():  # type: ignore[no-untyped-def]
        left = size
        while left > 0:
            yield CHUNK[: min(left, len(CHUNK))]
            left -= len(CHUNK)

    headers = {} if request.query_params.get("chunked") else {"content-length": str(size)}
    return StreamingResponse(body(), media_type="application/octet-stream", headers=headers)


async def upload(request: Request) -> Response:
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return JSONResponse({"bytes": total, "chunked": "transfer-encoding" in request.headers})


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.query_params.get("seconds", "5")))
    return Response("late")


async def status(request: Request) -> Response:
    return Response(status_code=int(request.path_params["code"]), headers={"x-code": str(request.path_params["code"])})


async def who(request: Request) -> Response:
    return Response(str(os.getpid()))


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=(websocket.scope.get("subprotocols") or [None])[0])
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if (message.get("text") or "").startswith("close:"):
                await websocket.close(code=int(message["text"][6:]), reason="bye")
                return
            if message.get("bytes") is not None:
                await websocket.send_bytes(message["bytes"])
            else:
                await websocket.send_text("echo:" + message["text"])
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/app/echo", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/echo", echo),
        Route("/app/download", download),
        Route("/app/upload", upload, methods=["POST", "PUT"]),
        Route("/app/slow", slow),
        Route("/app/status/{code:int}", status),
        Route("/app/who", who),
        WebSocketRoute("/app/ws", ws_echo),
    ]
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    settings = Config()
    settings.bind = [f"127.0.0.1:{parser.parse_args().port}"]
    settings.accesslog = None
    asyncio.run(serve(app, settings))  # type: ignore[arg-type]
