"""The control plane over a Unix socket: workers call the process that owns the sinks for short links.

ControlServer is a small Starlette app served by Hypercorn on `<SpoolDirectory>/control.sock` (mode 0600);
ControlClient has the ControlPlane's methods and raises the same ControlError subclasses, so routes use
either one the same way.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import httpx
import orjson
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.pipeline.private import private_directory
from tracker.redirects import errors
from tracker.redirects.control import ControlPlane
from tracker.redirects.errors import ControlError
from tracker.sinks.base import Rows

ERRORS = {
    cls.status: cls
    for cls in (
        errors.ControlError,
        errors.NotFound,
        errors.Conflict,
        errors.AuthFailed,
        errors.Throttled,
        errors.Unavailable,
    )
}
METHODS = (
    "changes",
    "list",
    "get",
    "stats",
    "claim_visit",
    "save",
    "delete",
    "add_account",
    "disable_account",
    "remove_account",
    "authenticate",
    "login",
    "agreements",
    "jurisdictions",
)


def socket_path(spool_directory: str) -> Path:
    return Path(spool_directory).resolve() / "control.sock"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class ControlServer:
    def __init__(self, plane: ControlPlane, path: Path) -> None:
        self.plane, self.path = plane, path
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        private_directory(self.path.parent)  # 0700: no other user reaches the socket, even before its chmod
        self.path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        os.chmod(self.path, 0o600)  # only this user may call the control plane; no process-wide umask switch
        listener.listen(128)
        settings = HypercornConfig()
        settings.bind = [f"fd://{listener.detach()}"]  # Hypercorn owns (and closes) it from here
        settings.accesslog = settings.errorlog = None
        # The server stops after the workers have exited: a long poll (changes) they left behind has no reader,
        # so there is nothing to wait the default 3 s for.
        settings.graceful_timeout = 0.2
        app = Starlette(routes=[Route("/{method}", self._call, methods=["POST"])])
        self._task = asyncio.create_task(serve(app, settings, shutdown_trigger=self._stop.wait))  # type: ignore[arg-type]

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        self.path.unlink(missing_ok=True)

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        if method not in METHODS:
            return _json({"error": f"no method {method}"}, 404)
        arguments = orjson.loads(await request.body() or b"{}")
        try:
            result = await getattr(self.plane, method)(**arguments)
        except ControlError as error:
            return _json({"error": error.message, **error.fields}, error.status)
        return _json({"result": result})


class ControlClient:
    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        transport = httpx.AsyncHTTPTransport(uds=str(path))
        self._http = httpx.AsyncClient(transport=transport, base_url="http://control", timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, **arguments: Any) -> Any:
        try:
            response = await self._http.post(f"/{method}", content=orjson.dumps(arguments))
        except httpx.HTTPError as error:
            raise errors.Unavailable(f"control plane unreachable: {type(error).__name__}") from None
        body = orjson.loads(response.content)
        if response.status_code != 200:
            fields = {k: v for k, v in body.items() if k != "error"}
            raise ERRORS.get(response.status_code, ControlError)(body.get("error", "error"), **fields)
        return body["result"]

    # The plane's methods, one by one, so a worker's client is checked against the same interface.
    async def changes(self, since: int, wait: float = 0.0, worker: str = "") -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("changes", since=since, wait=wait, worker=worker))

    async def list(self, host: str = "", offset: int = 0, limit: int = 100, query: str = "") -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("list", host=host, offset=offset, limit=limit, query=query))

    async def get(self, key: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("get", key=key))

    async def stats(self, key: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("stats", key=key))

    async def agreements(self, vid: str) -> Rows:
        return cast(Rows, await self._call("agreements", vid=vid))

    async def jurisdictions(self) -> Rows:
        return cast(Rows, await self._call("jurisdictions"))

    async def claim_visit(self, key: str) -> bool:
        return bool(await self._call("claim_visit", key=key))

    async def save(
        self, fields: Mapping[str, Any], uid: str, key: str | None = None, mode: str = "upsert"
    ) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("save", fields=dict(fields), uid=uid, key=key, mode=mode))

    async def delete(self, key: str, uid: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("delete", key=key, uid=uid))

    async def add_account(self, uid: str, password: str | None = None) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("add_account", uid=uid, password=password))

    async def disable_account(self, uid: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("disable_account", uid=uid))

    async def remove_account(self, uid: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("remove_account", uid=uid))

    async def authenticate(self, uid: str, password: str, token: str, client: str) -> str:
        return str(await self._call("authenticate", uid=uid, password=password, token=token, client=client))

    async def login(self, uid: str, password: str, client: str) -> dict[str, Any]:
        return cast(dict[str, Any], await self._call("login", uid=uid, password=password, client=client))
