"""Static files: configured roots per host and path prefix, plus the Go `/tr/v1/pub/` route.

A request is served only when a site matches and a regular file resolves inside that site's root (no `..`,
no NUL or backslash, no symlink leading out); otherwise `serve()` sends nothing and returns False, so the
catch-all can fall through to the default upstream and 404. Representations: `.br`/`.gz` siblings when the
client accepts them (with Vary), ETag + Last-Modified with 304, and Range/If-Range (206, 416) through
Starlette's FileResponse, streaming the file in 256 KiB chunks read in a thread, each sent under
WriteTimeoutSeconds (tracker/edge/slow_clients.py). Only with no write deadline may an engine that offers ASGI
pathsend (Granian) send a whole file from its path in Rust, which no deadline reaches (Hypercorn 0.18 offers no
pathsend). Files up to 64 KiB are answered from one read on the loop (page cache, no thread hop). A
malformed Range is ignored (200, as nginx does); common web types are pinned so MIME types do not depend on
the machine's /etc/mime.types.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

from starlette.datastructures import Headers
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from tracker.config import StaticConfig
from tracker.http.context import context

ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
SMALL_FILE_BYTES = 64 * 1024
# suffix -> type for the web's common files; mimetypes answers the rest (its table varies by machine)
WEB_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "text/javascript",
    ".mjs": "text/javascript", ".json": "application/json", ".map": "application/json",
    ".webmanifest": "application/manifest+json", ".xml": "application/xml", ".txt": "text/plain",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
    ".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
    ".wasm": "application/wasm", ".pdf": "application/pdf", ".mp4": "video/mp4", ".webm": "video/webm",
}  # fmt: skip
# a file that is itself compressed (x.tar.gz) is served as such, never labelled with the inner type
ARCHIVE_TYPES = {"gzip": "application/gzip", "br": "application/x-brotli", "bzip2": "application/x-bzip2",
                 "xz": "application/x-xz", "compress": "application/x-compress"}  # fmt: skip
RANGE = re.compile(r"\s*(\d*)\s*-\s*(\d*)\s*")
TEXT_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/xml")


@dataclass(frozen=True, slots=True)
class Site:
    root: str  # resolved, no trailing slash (plain strings: pathlib's parsing was a third of a request's cost)
    prefix: str
    host: str
    cache_control: str
    index: str
    listing: bool

    def matches(self, host: str, path: str) -> bool:
        return (not self.host or self.host == host) and path.startswith(self.prefix)


class StaticFiles:
    def __init__(
        self, sites: Sequence[StaticConfig], static_directory: str, api_prefix: str, *, pathsend: bool = False
    ) -> None:
        self.pathsend = pathsend  # the engine may send whole files from their path: only without a write deadline
        found = [
            Site(os.path.realpath(s.root), _slashed(s.prefix), s.host.lower(), s.cache_control, s.index, s.listing)
            for s in sites
        ]
        if static_directory:  # the Go route, with StaticConfig's defaults
            pub = StaticConfig(root=static_directory, prefix=f"{api_prefix}/pub/")
            found.append(Site(os.path.realpath(pub.root), pub.prefix, "", pub.cache_control, pub.index, False))
        self.sites = sorted(found, key=lambda site: (not site.host, -len(site.prefix)))

    def __bool__(self) -> bool:
        return bool(self.sites)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> bool:
        headers = Headers(scope=scope)
        host = context(scope).host
        path = scope["path"]
        for site in self.sites:
            if path + "/" == site.prefix and (not site.host or site.host == host):
                await Response(status_code=308, headers={"location": site.prefix})(scope, receive, send)
                return True
            if not site.matches(host, path):
                continue
            response = self._response(site, path[len(site.prefix) :], scope["method"], headers)
            if response is not None:
                if "range" in headers and not _valid_range(headers["range"]):
                    scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]}
                await response(scope, receive, send)
                return True
        return False

    def _response(self, site: Site, relative: str, method: str, headers: Headers) -> Response | None:
        target = _resolve(site.root, relative)
        if target is None:
            return None
        info = _stat(target)
        if info is None:
            return None
        if stat.S_ISDIR(info.st_mode):
            if not relative.endswith("/") and relative:
                # built from the cleaned parts, so `//host` can never become a protocol-relative Location
                clean = "/".join(p for p in relative.split("/") if p not in ("", "."))
                return Response(status_code=308, headers={"location": quote(site.prefix + clean + "/")})
            index = _resolve(site.root, relative + site.index) if site.index else None
            index_info = _stat(index) if index is not None else None
            if index is not None and index_info is not None and stat.S_ISREG(index_info.st_mode):
                target, info = index, index_info
            elif site.listing:
                return _listing(target, site.prefix + relative)
            else:
                return None
        if not stat.S_ISREG(info.st_mode):
            return None
        if method not in ("GET", "HEAD"):
            return Response(status_code=405, headers={"allow": "GET, HEAD"})
        return _file_response(site, target, info, headers, self.pathsend)


def _file_response(site: Site, target: str, info: os.stat_result, headers: Headers, pathsend: bool) -> Response:
    media_type = _media_type(os.path.basename(target))
    if media_type.startswith(TEXT_TYPES):
        media_type += "; charset=utf-8"
    extra = {"cache-control": site.cache_control, "x-content-type-options": "nosniff"}
    chosen, chosen_info, encoding = target, info, ""
    siblings = [(name, target + suffix, _stat(target + suffix)) for name, suffix in ENCODINGS]
    available = [
        (name, path, sibling)
        for name, path, sibling in siblings
        if sibling is not None and stat.S_ISREG(sibling.st_mode) and _inside(site.root, path)
    ]
    if available:
        extra["vary"] = "Accept-Encoding"
        accepted = _accepted_encodings(headers.get("accept-encoding", ""))
        for name, path, sibling in available:
            if name in accepted:
                chosen, chosen_info, encoding = path, sibling, name
                extra["content-encoding"] = name
                break
    etag = _etag(chosen_info, encoding)
    last_modified = formatdate(chosen_info.st_mtime, usegmt=True)
    extra.update({"etag": etag, "last-modified": last_modified})
    if _not_modified(headers, etag, chosen_info.st_mtime):
        return Response(status_code=304, headers=extra)
    if chosen_info.st_size <= SMALL_FILE_BYTES and "range" not in headers:
        # one read from the page cache beats FileResponse's thread hops for every chunk (measured ~5x here)
        extra["accept-ranges"] = "bytes"
        with open(chosen, "rb") as file:
            return Response(file.read(), headers=extra, media_type=media_type)
    return (PathSentFile if pathsend else ChunkedFile)(
        chosen, headers=extra, media_type=media_type, stat_result=chosen_info
    )


class PathSentFile(FileResponse):
    """Starlette sends a whole file as `http.response.pathsend` when the engine offers it (Granian: Rust reads
    and writes it, no Python per chunk) and streams chunks otherwise (Hypercorn)."""

    chunk_size = 256 * 1024


class ChunkedFile(PathSentFile):
    """Always in chunks through the app, so WriteTimeoutSeconds times each one: a client that stops reading is
    cut off. Memory stays a few chunks per download in flight: Hypercorn awaits the socket before the next read,
    Granian's body channel holds four chunks and then makes the send wait. 256 KiB rather than Starlette's 64: a
    quarter of the thread hops; 1 MiB files measured 340-530 -> 595-615 req/s on Hypercorn."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = scope.get("extensions")
        if extensions and "http.response.pathsend" in extensions:
            unsent = {name: value for name, value in extensions.items() if name != "http.response.pathsend"}
            scope = {**scope, "extensions": unsent}
        await super().__call__(scope, receive, send)


def _media_type(name: str) -> str:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in WEB_TYPES:
        return WEB_TYPES[suffix]
    guessed, encoding = mimetypes.guess_type(name)
    if encoding is not None:
        return ARCHIVE_TYPES.get(encoding, "application/octet-stream")
    return guessed or "application/octet-stream"


def _valid_range(header: str) -> bool:
    """RFC 9110: a Range the server cannot parse is ignored (full 200), not refused; Starlette would say 400."""
    unit, equals, spec = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return False
    for part in spec.split(","):
        match = RANGE.fullmatch(part)
        if match is None:
            return False
        first, last = match.groups()
        if (not first and not last) or (first and last and int(first) > int(last)):
            return False
    return True


def _resolve(root: str, relative: str) -> str | None:
    """The path inside `root`, or None for anything that could leave it or is not a plain name."""
    if "\x00" in relative or "\\" in relative:
        return None
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    candidate = os.path.join(root, *parts)
    return candidate if _inside(root, candidate) else None


def _inside(root: str, candidate: str) -> bool:
    try:
        real = os.path.realpath(candidate)  # symlinks resolved: a link out of the root is refused
    except (OSError, ValueError):
        return False
    return real == root or real.startswith(root.rstrip("/") + "/")


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _etag(info: os.stat_result, encoding: str) -> str:
    digest = hashlib.md5(f"{info.st_mtime_ns}-{info.st_size}".encode(), usedforsecurity=False).hexdigest()
    return f'"{digest[:20]}{"-" + encoding if encoding else ""}"'


def _not_modified(headers: Headers, etag: str, mtime: float) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if since:
        try:
            return int(mtime) <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError):
            return False
    return False


def _accepted_encodings(header: str) -> set[str]:
    accepted = set()
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        q = params.strip().removeprefix("q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 1.0
        if name and weight > 0:
            accepted.add(name.strip().lower())
    return accepted


def _listing(directory: str, url_path: str) -> Response:
    entries = sorted(Path(directory).iterdir(), key=lambda p: (not p.is_dir(), p.name))
    items = "".join(
        f'<li><a href="{html.escape(quote(e.name))}{"/" if e.is_dir() else ""}">{html.escape(e.name)}</a></li>'
        for e in entries
        if not e.name.startswith(".")
    )
    return HTMLResponse(f"<!doctype html><title>{html.escape(url_path)}</title><ul>{items}</ul>")


def _slashed(prefix: str) -> str:
    return prefix if prefix.endswith("/") else prefix + "/"
