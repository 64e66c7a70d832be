"""A real upstream for the proxy tests, run as its own Hypercorn process: echo, stream down, count uploads,
slow answers, any status, chunked bodies, an endless stream that reports when its reader left, a two-part
answer released by a second request, and a WebSocket echo that remembers the close code it got."""

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
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve

CHUNK = b"x" * 65536
STREAMS: dict[str, str] = {}  # id of an endless stream -> "open" | "closed"
RELEASES: dict[str, asyncio.Event] = {}
HOLDS: dict[str, str] = {}  # id of a held request -> "waiting" | "client left" | "timed out"
WS_CLOSED: dict[str, int] = {}  # id -> the close code the client sent us


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


async def forever(request: Request) -> Response:
    """Streams until the reader goes away; /app/streams tells whether it noticed."""
    stream_id = request.query_params["id"]

    async def body():  # type: ignore[no-untyped-def]
        STREAMS[stream_id] = "open"
        try:
            while True:
                yield CHUNK
                await asyncio.sleep(0)
        finally:
            STREAMS[stream_id] = "closed"

    return StreamingResponse(body(), media_type="application/octet-stream")


async def streams(request: Request) -> Response:
    return JSONResponse(STREAMS)


async def two_parts(request: Request) -> Response:
    """ "first" at once, "second" only after GET /app/release?id= (so a buffering proxy would never answer)."""
    released = RELEASES.setdefault(request.query_params["id"], asyncio.Event())

    async def body():  # type: ignore[no-untyped-def]
        yield b"first\n"
        await released.wait()
        yield b"second\n"

    return StreamingResponse(body(), media_type="text/plain")


async def release(request: Request) -> Response:
    RELEASES.setdefault(request.query_params["id"], asyncio.Event()).set()
    return Response("released")


async def hold(request: Request) -> Response:
    """Answers only when its client goes away (or after 30 s); /app/holds tells which."""
    hold_id = request.query_params["id"]
    HOLDS[hold_id] = "waiting"
    try:
        async with asyncio.timeout(30):
            while (await request.receive())["type"] != "http.disconnect":
                pass
        HOLDS[hold_id] = "client left"
    except TimeoutError:
        HOLDS[hold_id] = "timed out"
    return Response("held")


async def holds(request: Request) -> Response:
    return JSONResponse(HOLDS)


async def ws_closed(request: Request) -> Response:
    return JSONResponse(WS_CLOSED)


async def who(request: Request) -> Response:
    return Response(str(os.getpid()))


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept(
        subprotocol=(websocket.scope.get("subprotocols") or [None])[0], headers=[(b"set-cookie", b"ws=1; Path=/")]
    )
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                WS_CLOSED[websocket.query_params.get("id", "")] = message.get("code", 0)
                return
            if (message.get("text") or "").startswith("close:"):
                await websocket.close(code=int(message["text"][6:]), reason="bye")
                return
            if (message.get("text") or "").startswith("big:"):
                await websocket.send_bytes(b"b" * int(message["text"][4:]))
            elif message.get("bytes") is not None:
                await websocket.send_bytes(message["bytes"])
            else:
                await websocket.send_text("echo:" + message["text"])
    except WebSocketDisconnect:
        return


app = Starlette(
    routes=[
        Route("/app/echo", echo, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
        Route("/echo", echo),
        Route("/api/{rest:path}", echo, methods=["GET", "POST", "OPTIONS"]),
        Route("/ename/{rest:path}", echo),
        Route("/app/download", download),
        Route("/app/upload", upload, methods=["POST", "PUT"]),
        Route("/app/slow", slow),
        Route("/app/status/{code:int}", status),
        Route("/app/who", who),
        Route("/app/forever", forever),
        Route("/app/streams", streams),
        Route("/app/two-parts", two_parts),
        Route("/app/release", release),
        Route("/app/ws-closed", ws_closed),
        Route("/app/hold", hold),
        Route("/app/holds", holds),
        WebSocketRoute("/app/ws", ws_echo),
    ]
)


async def raw_ws_echo(connection: ServerConnection) -> None:
    """A WebSocket echo on the `websockets` server: unlike Hypercorn (issue #127, every client close reaches
    the app as 1006), it reports the close code the peer really sent, so the proxy's close frame can be seen."""
    try:
        async for message in connection:
            await connection.send(message)
    finally:
        WS_CLOSED[connection.request.path.rpartition("id=")[2] if connection.request else ""] = (
            connection.close_code or 0
        )


async def main(port: int, ws_port: int, certfile: str | None, keyfile: str | None) -> None:
    settings = Config()
    settings.bind = [f"127.0.0.1:{port}"]
    settings.accesslog = None
    settings.certfile, settings.keyfile = certfile, keyfile  # https (and wss) when given
    async with ws_serve(raw_ws_echo, "127.0.0.1", ws_port):
        await serve(app, settings)  # type: ignore[arg-type]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ws-port", type=int, required=True)
    parser.add_argument("--certfile")
    parser.add_argument("--keyfile")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.port, arguments.ws_port, arguments.certfile, arguments.keyfile))
