"""The plain-HTTP listener when TLS is on: ACME HTTP-01 answers from the challenge directory, everything else
a 308 to the same URL on https (the ProxyExceptHTTP listener keeps serving everything); HSTS on HTTPS answers.
Location is always https://<a Host that is a DNS name or IP literal>[:port]<a path starting with />: a target
not in origin form is answered 400.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracker.http.request_target import REFUSAL, origin_form

CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# a DNS name or an IP literal: anything else (`a@evil.example`, `a/b`) would make Location point elsewhere
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
HSTS_HEADER = b"strict-transport-security"


class PlainToHttps:
    def __init__(
        self, app: ASGIApp, *, https_port: int, challenges: Path, serve_all_ports: frozenset[int], hsts: str
    ) -> None:
        self.app = app
        self.https_port = https_port
        self.challenges = challenges
        self.serve_all_ports = serve_all_ports
        self.hsts = hsts.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        secure = scope["scheme"] in ("https", "wss")
        server = scope.get("server") or ("", 0)
        if secure:
            await self.app(scope, receive, self._with_hsts(send) if self.hsts else send)
            return
        if server[1] in self.serve_all_ports:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["path"].startswith(CHALLENGE_PREFIX):
            await self._challenge(scope["path"][len(CHALLENGE_PREFIX) :], send)
            return
        await self._redirect(scope, send)

    def _with_hsts(self, send: Send) -> Send:
        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == HSTS_HEADER for name, _ in headers):  # an upstream's own wins
                    message["headers"] = [*headers, (HSTS_HEADER, self.hsts)]
            await send(message)

        return send_with_hsts

    async def _challenge(self, token: str, send: Send) -> None:
        body = await asyncio.to_thread(_read_token, self.challenges / token) if TOKEN.fullmatch(token) else None
        if body is not None:
            await _plain(send, 200, body, [])
        else:
            await _plain(send, 404, b"not found", [])

    async def _redirect(self, scope: Scope, send: Send) -> None:
        host = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"host"), "")
        host = host[: host.find("]") + 1] if host.startswith("[") else host.rsplit(":", 1)[0]  # "[" alone: ""
        if not HOST.fullmatch(host):
            await _plain(send, 400, b"a valid Host header is needed", [])
            return
        target = origin_form(scope)
        if target is None:  # `@evil.example/x` after the host would make Location name another host
            await _plain(send, 400, REFUSAL.encode(), [])
            return
        port = "" if self.https_port == 443 else f":{self.https_port}"
        location = f"https://{host}{port}{target.path}" + (f"?{target.query}" if target.query else "")
        await _plain(send, 308, b"", [(b"location", location.encode())])


def _read_token(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:  # missing, or a directory
        return None


async def _plain(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
