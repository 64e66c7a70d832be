"""The plain-to-https 308 never points at another host (tracker/edge/https_redirect.py): raw request lines to
a real TLS tracker's plain port, and every target shape through the middleware in process."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from tests.edge.test_tls import TLSTracker, shared_tls_tracker  # noqa: F401 - the shared TLS tracker fixture
from tests.raw_http import ask
from tracker.edge.https_redirect import PlainToHttps


@pytest.mark.parametrize(
    "target", ["@evil.example/x", "@evil.example:443/x", "http://evil.example/x", "evil.example:443"]
)
def test_a_target_not_in_origin_form_gets_no_redirect(shared_tls_tracker: TLSTracker, target: str) -> None:  # noqa: F811
    """`https://localhost:PORT` + `@evil.example/x` was a Location naming evil.example."""
    request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    answer, _ = ask(shared_tls_tracker.process.port, request)
    assert answer is not None and answer.status == 400 and "location" not in answer.headers
    assert answer.body == b"the request target must be a path starting with / (origin form)"


@pytest.mark.parametrize(
    ("target", "path"),
    [("//evil.example/x", "//evil.example/x"), ("/a%2F@evil.example/?q=@x", "/a%2F@evil.example/?q=@x")],
)
def test_paths_that_look_like_hosts_stay_paths_on_our_host(
    shared_tls_tracker: TLSTracker,  # noqa: F811
    target: str,
    path: str,
) -> None:
    request = f"GET {target} HTTP/1.1\r\nHost: localhost:1234\r\nConnection: close\r\n\r\n".encode()
    answer, _ = ask(shared_tls_tracker.process.port, request)
    assert answer is not None and answer.status == 308
    location = answer.headers["location"]
    assert location == f"https://localhost:{shared_tls_tracker.tls_port}{path}"
    assert urlsplit(location).hostname == "localhost"


async def not_reached(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("a plain request reached the app")


async def plain_answer(tmp_path: Path, raw_path: bytes, host: bytes, https_port: int = 443) -> list[dict[str, object]]:
    """The messages PlainToHttps sends for one plain-port request (the app behind it must not be reached)."""
    app = PlainToHttps(not_reached, https_port=https_port, challenges=tmp_path, serve_all_ports=frozenset(), hsts="")
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "scheme": "http",
        "method": "GET",
        "path": raw_path.decode(),
        "raw_path": raw_path,
        "query_string": b"",
        "headers": [(b"host", host)],
        "server": ("127.0.0.1", 80),
    }
    await app(scope, not_reached, send)  # type: ignore[arg-type]
    return sent


@pytest.mark.parametrize("https_port", [443, 8443])
@pytest.mark.parametrize(
    "raw_path", [b"/x", b"//evil.example/x", b"///evil.example", b"/\\evil.example", b"/@evil.example", b"/a:b@c/"]
)
async def test_location_is_always_our_host_then_a_path(tmp_path: Path, https_port: int, raw_path: bytes) -> None:
    sent = await plain_answer(tmp_path, raw_path, b"t.example:8080", https_port)
    headers = dict(sent[0]["headers"])  # type: ignore[call-overload]
    location = headers[b"location"].decode()
    assert sent[0]["status"] == 308 and urlsplit(location).hostname == "t.example"
    assert httpx.URL(location).host == "t.example" and httpx.URL(location).raw_path.startswith(raw_path)


@pytest.mark.parametrize("host", [b"[::1", b"[", b"a@evil.example", b""])
async def test_a_host_that_is_no_name_gets_400_not_a_crash(tmp_path: Path, host: bytes) -> None:
    sent = await plain_answer(tmp_path, b"/x", host)
    assert sent[0]["status"] == 400 and sent[1]["body"] == b"a valid Host header is needed"
