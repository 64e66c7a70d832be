"""tracker/events/frames.py: the Go binary layout, LZ4 frames, arrays, and the limits, checked directly and fuzzed."""

from __future__ import annotations

import struct

import lz4.block
import lz4.frame
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.events.frames import (
    BadFrame,
    FrameLimits,
    FrameTooLarge,
    encode_block,
    encode_frame,
    events,
    payload,
)

LIMITS = FrameLimits(max_decompressed=64 * 1024, max_events=100)
EVENT = {"ename": "view", "url": "https://example.com/ü"}


def test_a_text_frame_is_one_event() -> None:
    assert events(orjson.dumps(EVENT).decode(), LIMITS) == [EVENT]


def test_the_go_binary_layout_is_a_little_endian_length_and_one_raw_block() -> None:
    data = orjson.dumps(EVENT)
    message = struct.pack("<I", len(data)) + lz4.block.compress(data, store_size=False)
    assert message == encode_block(data) == lz4.block.compress(data, store_size=True)
    assert events(message, LIMITS) == [EVENT]


def test_a_declared_length_of_zero_is_an_empty_message() -> None:
    assert payload(b"\x00\x00\x00\x00", LIMITS) == b""
    assert events(b"\x00\x00\x00\x00anything", LIMITS) == []


def test_an_lz4_frame_is_recognised_by_its_magic() -> None:
    message = encode_frame(orjson.dumps([EVENT, EVENT]))
    assert message[:4] == b"\x04\x22\x4d\x18"
    assert events(message, LIMITS) == [EVENT, EVENT]


def test_lz4_frames_can_be_turned_off_and_are_then_read_as_the_go_layout() -> None:
    message = encode_frame(orjson.dumps(EVENT))
    with pytest.raises(FrameTooLarge):  # 0x184D2204 bytes declared: far over any limit
        events(message, FrameLimits(64 * 1024, 100, lz4_frames=False))


def test_arrays_hold_several_events_up_to_the_limit() -> None:
    assert events(orjson.dumps([EVENT] * 100).decode(), LIMITS) == [EVENT] * 100
    with pytest.raises(BadFrame, match="101 events in one message; the limit is 100"):
        events(orjson.dumps([EVENT] * 101).decode(), LIMITS)
    with pytest.raises(BadFrame, match="expected a JSON object"):
        events(orjson.dumps([EVENT]).decode(), FrameLimits(1024, 10, arrays=False))


@pytest.mark.parametrize("encode", [encode_block, encode_frame], ids=["go-block", "lz4-frame"])
def test_an_lz4_bomb_is_refused_before_it_is_inflated(encode: object) -> None:
    bomb = encode(b"\x00" * (LIMITS.max_decompressed + 1))  # type: ignore[operator]
    assert len(bomb) < 2048  # a tiny message claiming or holding more than the limit
    with pytest.raises(FrameTooLarge):
        events(bomb, LIMITS)
    at_limit = encode(orjson.dumps({"pad": "x" * (LIMITS.max_decompressed - 20)}))  # type: ignore[operator]
    assert events(at_limit, LIMITS)[0]["pad"].startswith("x")


def test_a_block_that_lies_about_its_length_is_a_bad_frame_not_a_crash() -> None:
    data = orjson.dumps([EVENT] * 10)
    honest = encode_block(data)
    with pytest.raises(BadFrame, match="not an LZ4 block"):
        events(struct.pack("<I", 10) + honest[4:], LIMITS)  # says 10 bytes, holds more


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (b"\x01\x02", "no 4-byte length prefix"),
        (b"\x10\x00\x00\x00\xff\xff\xff", "not an LZ4 block"),
        (b"\x04\x22\x4d\x18garbage", "not a valid LZ4 frame"),
        (lz4.frame.compress(b'{"a":1}')[:-6], "truncated"),
        ("{not json", "not valid JSON"),
        ("42", "expected an object or an array"),
    ],
)
def test_unreadable_messages_name_the_problem(message: bytes | str, why: str) -> None:
    with pytest.raises(BadFrame, match=why) as raised:
        events(message, LIMITS)
    assert not isinstance(raised.value, FrameTooLarge)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_any_bytes_decode_or_raise_bad_frame(message: bytes) -> None:
    try:
        found = events(message, LIMITS)
    except BadFrame:
        return
    assert isinstance(found, list)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=4, max_size=256), st.integers(min_value=0, max_value=2**32 - 1))
def test_fuzz_any_declared_length_over_any_block(block: bytes, declared: int) -> None:
    message = struct.pack("<I", declared) + block
    try:
        data = payload(message, LIMITS)
    except BadFrame:
        return
    assert len(data) <= LIMITS.max_decompressed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), min_size=1, max_size=20))
def test_fuzz_round_trip_through_both_layouts(batch: list[dict[str, object]]) -> None:
    data = orjson.dumps(batch)
    assert events(encode_block(data), LIMITS) == batch
    assert events(encode_frame(data), LIMITS) == batch
    assert events(data.decode(), LIMITS) == batch
