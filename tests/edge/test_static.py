"""Static files (tracker/edge/static.py) served by a real tracker process."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import TrackerProcess, start_tracker

BODY = b"0123456789" * 100  # 1,000 bytes
BIG = os.urandom(300 * 1024)  # above the one-read size: streamed in chunks
HUGE = 256 * 1024 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    base = tmp_path_factory.mktemp("static")
    root, pub, outside = base / "root", base / "pub", base / "outside"
    listed = base / "listed"
    for directory in (root / "docs", pub, outside, listed / "sub"):
        directory.mkdir(parents=True)
    (root / "data.bin").write_bytes(BODY)
    (root / "big.bin").write_bytes(BIG)
    (root / "link.bin").symlink_to(root / "data.bin")  # a link that stays inside the root is fine
    (root / "backup.tar.gz").write_bytes(gzip.compress(b"tar"))
    (root / "font.woff2").write_bytes(b"wOF2")
    with (root / "huge.bin").open("wb") as huge:  # sparse: no disk used, read back as zeros
        huge.truncate(HUGE)
    (outside / "evil.example").mkdir()
    (root / "app.js").write_text("console.log('plain');" * 20)
    (root / "app.js.gz").write_bytes(gzip.compress(b"gz-version"))
    (root / "app.js.br").write_bytes(b"br-version")
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "only-host.txt").write_text("any host")
    (outside / "secret.txt").write_text("secret")
    (root / "escape").symlink_to(outside)
    (pub / "banner.txt").write_text("pub file")
    (listed / "a b.txt").write_text("spaced")
    (listed / ".hidden").write_text("hidden")
    process = start_tracker(
        base / "tracker",
        StaticDirectory=str(pub),
        Static=[
            {"Root": str(root), "Prefix": "/files/", "CacheControl": "public, max-age=60"},
            {"Root": str(outside), "Prefix": "/", "Host": "secret.example"},
            {"Root": str(listed), "Prefix": "/listed/", "Index": "", "Listing": True},
        ],
    )
    yield process
    process.kill9()


def raw_get(tracker: TrackerProcess, target: str, host: str = "localhost") -> tuple[int, dict[str, str]]:
    """Status and headers for a request target sent byte for byte (httpx would normalise `..` and `//`)."""
    with socket.create_connection(("127.0.0.1", tracker.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received and (chunk := sock.recv(4096)):
            received += chunk
    status_line, *lines = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split(" ", 2)[1]), headers


def test_a_file_with_validators_and_cache_control(site: TrackerProcess) -> None:
    response = httpx.get(site.url("/files/data.bin"))
    assert response.status_code == 200 and response.content == BODY
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["etag"].startswith('"') and response.headers["last-modified"].endswith("GMT")
    assert response.headers["accept-ranges"] == "bytes"
    head = httpx.head(site.url("/files/data.bin"))
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "1000"


def test_conditional_requests_answer_304(site: TrackerProcess) -> None:
    first = httpx.get(site.url("/files/data.bin"))
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(site.url("/files/data.bin"), headers={"if-none-match": etag}).status_code == 304
    assert httpx.get(site.url("/files/data.bin"), headers={"if-none-match": f'W/{etag}, "x"'}).status_code == 304
    assert httpx.get(site.url("/files/data.bin"), headers={"if-modified-since": modified}).status_code == 304
    assert httpx.get(site.url("/files/data.bin"), headers={"if-none-match": '"other"'}).status_code == 200


def test_ranges_206_and_416(site: TrackerProcess) -> None:
    part = httpx.get(site.url("/files/data.bin"), headers={"range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == BODY[10:20]
    assert part.headers["content-range"] == "bytes 10-19/1000"
    tail = httpx.get(site.url("/files/data.bin"), headers={"range": "bytes=-5"})
    assert tail.status_code == 206 and tail.content == BODY[-5:]
    beyond = httpx.get(site.url("/files/data.bin"), headers={"range": "bytes=5000-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == "bytes */1000"
    stale = httpx.get(site.url("/files/data.bin"), headers={"range": "bytes=0-1", "if-range": '"stale"'})
    assert stale.status_code == 200 and stale.content == BODY


def test_precompressed_siblings_follow_accept_encoding(site: TrackerProcess) -> None:
    def fetch(accept: str) -> tuple[httpx.Headers, bytes]:
        with httpx.stream("GET", site.url("/files/app.js"), headers={"accept-encoding": accept}) as response:
            return response.headers, b"".join(response.iter_raw())  # the bytes as sent, not decoded

    br, br_body = fetch("gzip, br")
    assert br["content-encoding"] == "br" and br_body == b"br-version"
    assert br["vary"] == "Accept-Encoding" and br["content-type"].startswith("text/javascript")
    gz, gz_body = fetch("gzip")
    assert gz["content-encoding"] == "gzip" and gzip.decompress(gz_body) == b"gz-version"
    plain, plain_body = fetch("identity")
    assert "content-encoding" not in plain and plain_body.startswith(b"console.log")
    assert fetch("br;q=0, gzip")[0]["content-encoding"] == "gzip"
    assert len({br["etag"], gz["etag"], plain["etag"]}) == 3
    with httpx.stream("GET", site.url("/files/app.js"), headers={"accept-encoding": "br", "range": "bytes=0-1"}) as r:
        # a range counts bytes of the representation sent, here the .br file
        assert r.status_code == 206 and r.headers["content-encoding"] == "br" and b"".join(r.iter_raw()) == b"br"


def test_index_files_and_directory_redirect(site: TrackerProcess) -> None:
    assert httpx.get(site.url("/files/docs/")).text == "<h1>docs</h1>"
    redirect = httpx.get(site.url("/files/docs"))
    assert redirect.status_code == 308 and redirect.headers["location"] == "/files/docs/"


def test_the_go_pub_route_serves_static_directory(site: TrackerProcess) -> None:
    assert httpx.get(site.url("/tr/v1/pub/banner.txt")).text == "pub file"


def test_host_specific_site(site: TrackerProcess) -> None:
    assert httpx.get(site.url("/secret.txt"), headers={"host": "secret.example"}).text == "secret"
    assert httpx.get(site.url("/secret.txt")).status_code == 404


@pytest.mark.parametrize(
    "target",
    [
        "/files/../outside/secret.txt",
        "/files/%2e%2e/outside/secret.txt",
        "/files/..%2foutside%2fsecret.txt",
        "/files/%2E%2E%2Foutside/secret.txt",
        "/files/..%5coutside%5csecret.txt",
        "/files/data.bin%00.txt",
        "/files/escape/secret.txt",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
    ],
)
def test_traversal_attempts_never_leave_the_root(site: TrackerProcess, target: str) -> None:
    assert raw_get(site, target)[0] in (400, 404)


def test_a_directory_redirect_is_never_protocol_relative(site: TrackerProcess) -> None:
    status, headers = raw_get(site, "//evil.example", host="secret.example")
    assert status == 308 and headers["location"] == "/evil.example/"


def test_large_files_stream_whole_and_in_ranges(site: TrackerProcess) -> None:
    whole = httpx.get(site.url("/files/big.bin"))
    assert whole.status_code == 200 and whole.content == BIG and whole.headers["content-length"] == str(len(BIG))
    part = httpx.get(site.url("/files/big.bin"), headers={"range": "bytes=65000-200000"})
    assert part.status_code == 206 and part.content == BIG[65000:200001]
    assert part.headers["content-range"] == f"bytes 65000-200000/{len(BIG)}"
    head = httpx.head(site.url("/files/big.bin"), headers={"range": "bytes=0-9"})
    assert head.status_code == 206 and head.headers["content-length"] == "10" and head.content == b""
    same = httpx.get(site.url("/files/big.bin"), headers={"range": "bytes=0-1", "if-range": whole.headers["etag"]})
    assert same.status_code == 206 and same.content == BIG[:2]


def test_several_ranges_answer_multipart_byteranges(site: TrackerProcess) -> None:
    response = httpx.get(site.url("/files/data.bin"), headers={"range": "bytes=0-1, 10-12"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert b"Content-Range: bytes 0-1/1000\r\n\r\n01\r\n" in response.content
    assert b"Content-Range: bytes 10-12/1000\r\n\r\n012\r\n" in response.content


@pytest.mark.parametrize("header", ["bytes=abc", "items=0-1", "bytes=9-2", "bytes=-"])
def test_a_malformed_range_is_ignored(site: TrackerProcess, header: str) -> None:
    response = httpx.get(site.url("/files/data.bin"), headers={"range": header})
    assert response.status_code == 200 and response.content == BODY


def test_media_types_do_not_depend_on_the_machine(site: TrackerProcess) -> None:
    archive = httpx.get(site.url("/files/backup.tar.gz"), headers={"accept-encoding": "identity"})
    assert archive.headers["content-type"] == "application/gzip" and "content-encoding" not in archive.headers
    assert httpx.get(site.url("/files/font.woff2")).headers["content-type"] == "font/woff2"


def test_a_symlink_inside_the_root_is_served(site: TrackerProcess) -> None:
    assert httpx.get(site.url("/files/link.bin")).content == BODY


def test_writes_to_a_file_are_405(site: TrackerProcess) -> None:
    assert httpx.post(site.url("/files/data.bin"), content=b"x").status_code == 405


def test_missing_files_fall_through_to_404_json(site: TrackerProcess) -> None:
    response = httpx.get(site.url("/files/nope.txt"))
    assert response.status_code == 404 and response.json()["error"] == "not found"


def test_a_listing_links_each_entry_and_hides_dotfiles(site: TrackerProcess) -> None:
    page = httpx.get(site.url("/listed/"))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<a href="sub/">sub</a>' in page.text and '<a href="a%20b.txt">a b.txt</a>' in page.text
    assert ".hidden" not in page.text
    assert httpx.get(site.url("/listed/a%20b.txt")).text == "spaced"


def worker_peak_rss_kib(tracker: TrackerProcess) -> int:
    """The highest peak RSS (VmHWM) among the tracker's worker processes."""
    assert tracker.process is not None
    children = subprocess.run(["pgrep", "-P", str(tracker.process.pid)], capture_output=True, text=True).stdout.split()
    peaks = []
    for pid in children:
        if "multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_text():
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
            peaks.append(int(fields["VmHWM"].split()[0]))
    assert peaks, "no worker process found"
    return max(peaks)


def test_a_huge_file_streams_in_bounded_memory(site: TrackerProcess) -> None:
    before = worker_peak_rss_kib(site)
    received = 0
    with httpx.stream("GET", site.url("/files/huge.bin"), timeout=60) as response:
        assert response.status_code == 200 and response.headers["content-length"] == str(HUGE)
        for chunk in response.iter_raw():
            received += len(chunk)
    assert received == HUGE
    assert worker_peak_rss_kib(site) - before < 64 * 1024  # a whole-file read would add 256 MiB
