"""What one WebSocket message of /tr/{v}/ws says: the Go framing (SPEC.md §1.1) and ours, decoded to events.

A text message is JSON. A binary message is the Go layout (a 4-byte little-endian uncompressed length, then one
raw LZ4 block) or, ours, an LZ4 frame (magic 04 22 4D 18). The JSON is one event object or, ours, an array of
them. Decompression never makes more than `max_decompressed` bytes: a declared or actual size past it is a
FrameTooLarge (the socket closes with 1009); anything else unreadable is a BadFrame (the message is skipped).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import lz4.block
import lz4.frame
import orjson

LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
GO_MAX_DECLARED = 0x7E000000  # bkaradzic/go-lz4 refuses a declared length above this
CLOSE_TOO_BIG = 1009


class BadFrame(ValueError):
    """A message that holds no usable event; `field` and `message` say why (the ack repeats them)."""

    def __init__(self, message: str, field: str = "message") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class FrameTooLarge(BadFrame):
    """Decompressing would pass the limit: an LZ4 bomb or a declared size the server will not allocate."""


@dataclass(slots=True, frozen=True)
class FrameLimits:
    max_decompressed: int
    max_events: int
    arrays: bool = True
    lz4_frames: bool = True


def payload(message: bytes | str, limits: FrameLimits) -> bytes:
    """The JSON bytes a message carries (b"" for the Go "declared length 0", which is skipped)."""
    if isinstance(message, str):
        return message.encode()
    if message[:4] == LZ4_FRAME_MAGIC and limits.lz4_frames:
        return _lz4_frame(message, limits.max_decompressed)
    return _go_block(message, limits.max_decompressed)


def _go_block(message: bytes, limit: int) -> bytes:
    if len(message) < 4:
        raise BadFrame(f"binary message of {len(message)} bytes has no 4-byte length prefix")
    (declared,) = struct.unpack_from("<I", message)
    if declared == 0:
        return b""
    if declared > min(limit, GO_MAX_DECLARED):
        raise FrameTooLarge(f"declared uncompressed size {declared} is over the limit of {limit} bytes")
    try:
        return lz4.block.decompress(message[4:], uncompressed_size=declared)  # type: ignore[no-any-return]
    except lz4.block.LZ4BlockError:
        raise BadFrame(f"not an LZ4 block of at most {declared} bytes") from None


def _lz4_frame(message: bytes, limit: int) -> bytes:
    decompressor = lz4.frame.LZ4FrameDecompressor()
    try:
        data: bytes = decompressor.decompress(message, max_length=limit + 1)
    except RuntimeError as error:  # lz4.frame reports corrupt input as RuntimeError
        raise BadFrame(f"not a valid LZ4 frame ({error})") from None
    if len(data) > limit or not decompressor.needs_input:
        raise FrameTooLarge(f"LZ4 frame decompresses past the limit of {limit} bytes")
    if not decompressor.eof:
        raise BadFrame("LZ4 frame is truncated")
    return data


def events(message: bytes | str, limits: FrameLimits) -> list[Any]:
    """The items of one message, each to be checked as an event by the caller; [] for an empty message."""
    data = payload(message, limits)
    if not data.strip():
        return []
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise BadFrame(f"not valid JSON ({error.msg} at {error.pos})") from None
    if isinstance(parsed, dict):
        return [parsed]
    if isinstance(parsed, list) and limits.arrays:
        if len(parsed) > limits.max_events:
            raise BadFrame(f"{len(parsed)} events in one message; the limit is {limits.max_events}")
        return parsed
    expected = "an object or an array of objects" if limits.arrays else "a JSON object"
    raise BadFrame(f"expected {expected}")


def encode_block(data: bytes) -> bytes:
    """The Go binary layout: what lz4.block's store_size writes (4-byte little-endian length, raw block)."""
    return lz4.block.compress(data, store_size=True)  # type: ignore[no-any-return]


def encode_frame(data: bytes) -> bytes:
    return lz4.frame.compress(data)  # type: ignore[no-any-return]
