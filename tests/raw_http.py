"""HTTP/1.1 on raw sockets, for what a well-behaved client library will not send or show.

RawUpstream: a bare server in threads of the test process that records what a proxy really
sent: every connection it accepted, every request as its bytes framed it (Content-Length or chunked), bytes
that do not parse as a request, and which connections the peer closed. It stands in for an upstream whose
connections a proxy pools, and for "any host and port" a client must not make the tracker connect to.

By default it answers each request after reading its body. With `answer_before_body` it answers as soon as
the head is in (as apps that refuse or ignore a body do) and then reads the declared body, as a correct
server must before the next request on that connection. A path ending in `/big` answers `big_bytes` bytes;
`/late`, `/cut` and `/stall` declare 10 bytes and send 5, then the rest 0.3 s later, a closed connection, or
nothing more; with `redirect_to`, every request gets a 302 there.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.harness import TrackerProcess, free_port, start_tracker

REQUEST_LINE = re.compile(rb"[A-Z]+ /\S* HTTP/1\.1")


@dataclass(slots=True, frozen=True)
class Received:
    connection: int  # 1 for the first connection accepted, 2 for the next...
    line: str  # the request line
    headers: list[tuple[str, str]]  # names lowercase
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n == name]


@dataclass
class RawUpstream:
    answer_before_body: bool = False
    big_bytes: int = 4 << 20
    redirect_to: str = ""  # when set, every answer is a 302 to it
    port: int = 0
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    garbage: list[bytes] = field(default_factory=list)  # what arrived where a request line should be
    closed: set[int] = field(default_factory=set)  # connections the peer closed
    _listener: socket.socket = field(default_factory=socket.socket)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> RawUpstream:
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._listener.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock: socket.socket, number: int) -> None:
        reader = _Reader(sock)
        with sock:
            try:
                while True:
                    head = reader.until(b"\r\n\r\n")
                    if head is None:
                        break
                    line, *fields = head.split(b"\r\n")
                    if REQUEST_LINE.fullmatch(line) is None:
                        self.garbage.append(head)
                        break
                    headers = [
                        (n.strip().lower().decode(), v.strip().decode())
                        for n, _, v in (f.partition(b":") for f in fields)
                    ]
                    path = line.split(b" ")[1]
                    if self.answer_before_body:
                        self._answer(sock, number, line, path)
                    body = _read_body(reader, dict(headers))
                    if body is None:
                        break
                    self.requests.append(Received(number, line.decode(), headers, body))
                    if not self.answer_before_body:
                        self._answer(sock, number, line, path)
            except OSError:
                pass
            self.closed.add(number)

    def _answer(self, sock: socket.socket, number: int, line: bytes, path: bytes) -> None:
        if self.redirect_to:
            sock.sendall(b"HTTP/1.1 302 Found\r\nlocation: %s\r\ncontent-length: 0\r\n\r\n" % self.redirect_to.encode())
            return
        if path.endswith((b"/late", b"/cut", b"/stall")):  # 10 bytes declared, 5 sent; then the rest late, or never
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
            if path.endswith(b"/late"):
                time.sleep(0.3)  # the upstream's pace, not a wait for anything
                sock.sendall(b"world")
            elif path.endswith(b"/cut"):
                sock.shutdown(socket.SHUT_RDWR)
            return
        if path.endswith(b"/big"):
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % self.big_bytes)
            block = b"b" * 65536
            for _ in range(self.big_bytes // len(block)):
                sock.sendall(block)
            return
        body = b"%d %s" % (number, line)
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))


class _Reader:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def until(self, end: bytes) -> bytes | None:
        while end not in self.buffer:
            if not self._fill():
                return None
        found, _, self.buffer = self.buffer.partition(end)
        return found

    def exactly(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            if not self._fill():
                return None
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found


def _read_body(reader: _Reader, headers: dict[str, str]) -> bytes | None:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_line = reader.until(b"\r\n")
            if size_line is None:
                return None
            size = int(size_line.split(b";")[0], 16)
            chunk = reader.exactly(size + 2)
            if chunk is None:
                return None
            body += chunk[:-2]
            if size == 0:
                return body
    return reader.exactly(int(headers.get("content-length", "0")))


@dataclass(slots=True, frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lowercase; the last value of a repeated header
    body: bytes


def read_answer(sock: socket.socket) -> Answer | None:
    """One response from `sock` (Content-Length or chunked body), None when the connection closed first."""
    reader = _Reader(sock)
    head = reader.until(b"\r\n\r\n")
    if head is None:
        return None
    line, *fields = head.split(b"\r\n")
    headers = {n.strip().lower().decode(): v.strip().decode() for n, _, v in (f.partition(b":") for f in fields)}
    body = _read_body(reader, headers)
    return Answer(int(line.split(b" ")[1]), headers, body or b"")


def ask(port: int, request: bytes, *, see_close: bool = False, timeout: float = 10) -> tuple[Answer | None, bool]:
    """Sends `request` as is on a new connection: the first answer and, with `see_close`, whether the server
    closed the connection after it (waiting up to `timeout` for the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = read_answer(sock)
        if not see_close:
            return answer, False
        try:
            return answer, sock.recv(1) == b""
        except ConnectionResetError:
            return answer, True
        except TimeoutError:
            return answer, False


def h2_request(port: int, ca: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> Answer | None:
    """One HTTP/2 request over TLS with pseudo-headers and fields exactly as given (h2's own outbound checks
    off), for what HTTP/1.1 parsing would stop before the app: a `:path` not starting with `/`, say."""
    import h2.config
    import h2.connection
    import h2.events

    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols(["h2"])
    config = h2.config.H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False)
    connection = h2.connection.H2Connection(config)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        connection.initiate_connection()
        connection.send_headers(1, headers, end_stream=not body)
        if body:
            connection.send_data(1, body, end_stream=True)
        sock.sendall(connection.data_to_send())
        status, fields, data = 0, {}, b""
        while True:
            received = sock.recv(65536)
            if not received:
                return None
            for event in connection.receive_data(received):
                if isinstance(event, h2.events.ResponseReceived):
                    fields = {bytes(n).decode(): bytes(v).decode() for n, v in event.headers}
                    status = int(fields.pop(":status"))
                elif isinstance(event, h2.events.DataReceived):
                    data += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, 1)
                elif isinstance(event, h2.events.StreamEnded):
                    return Answer(status, fields, data)
                elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    return None
            sock.sendall(connection.data_to_send())


def start_tls_tracker(workdir: Path, certs: Path, **overrides: Any) -> tuple[TrackerProcess, int]:
    """A tracker with a TLS listener (HTTP/2 and HTTP/1.1) on the test CA's localhost certificate: the process
    and its TLS port, for h2_request."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("localhost.pem", "localhost.key"):
        shutil.copy(certs / name, workdir / name)
    port = free_port()
    tracker = start_tracker(
        workdir / "t",
        ProxyPortTLS=f"127.0.0.1:{port}",
        UseLocalTLS=True,
        TLSCert=str(workdir / "localhost.pem"),
        TLSKey=str(workdir / "localhost.key"),
        Acme={"CacheDirectory": str(workdir / "acme")},
        **overrides,
    )
    return tracker, port
