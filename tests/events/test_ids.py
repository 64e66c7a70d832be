from __future__ import annotations

import time
import uuid

import pytest

from tracker.events import ids

GREGORIAN_OFFSET = 0x01B21DD213814000


def stamps(made: list[str]) -> list[int]:
    parsed = [uuid.UUID(text) for text in made]
    assert all(u.version == 1 and str(u) == text for u, text in zip(parsed, made, strict=True))
    return [u.time for u in parsed]


def test_new_ids_are_uuid1_of_now_strictly_increasing_and_continue_new_id() -> None:
    before = time.time_ns() // 100 + GREGORIAN_OFFSET
    made = [ids.new_id(), *ids.new_ids(50), ids.new_id(), ids.IdBlock(4).take()]
    found = stamps(made)
    assert found == sorted(found) and len(set(found)) == len(found)
    assert before <= found[0] < before + 10**8  # within 10 s of the clock
    assert {text[8:] == made[1][8:] for text in made[1:51]} == {True}  # one block: the same time_mid/high


def test_new_ids_stay_valid_where_time_low_wraps_inside_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time_ns() // 100 + GREGORIAN_OFFSET
    near_wrap = ((now >> 32) + 1 << 32) - 20  # 20 stamps before time_low wraps, a little in the future
    monkeypatch.setattr(ids, "_last_stamp", near_wrap)
    found = stamps(ids.new_ids(40))
    assert found == list(range(near_wrap + 1, near_wrap + 41))


def test_an_id_block_hands_out_each_id_once_and_makes_more_when_empty() -> None:
    block = ids.IdBlock(3)
    taken = [block.take() for _ in range(10)]
    assert len(set(taken)) == 10 and stamps(taken) == sorted(stamps(taken))
