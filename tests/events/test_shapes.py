"""What an event's keys decide (tracker/events/shapes.py): the same whether worked out, remembered, or merged from
a base and an item's keys; remembered only for short key sets, and at most MAX_REMEMBERED of them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tracker.events import shapes
from tracker.events.columns import TEXT_COLUMNS

KEYS = st.lists(
    st.sampled_from([*TEXT_COLUMNS, "url", "vid", "sid", "eid", "params", "uid", "w", "last", "tags", "outcome", "x"]),
    unique=True,
    max_size=8,
)


@given(KEYS, KEYS)
def test_a_shape_is_the_same_worked_out_remembered_or_merged(base_keys: list[str], item_keys: list[str]) -> None:
    base = dict.fromkeys(base_keys, "b")
    merged = {**base, **dict.fromkeys(item_keys, "i")}
    fresh = shapes._shape(merged)
    assert shapes.shape_of(merged) == fresh == shapes.shape_of(merged)  # worked out, then remembered
    found = shapes.merged_shape(base, tuple(item_keys))
    assert found is not None and found[:4] == fresh[:4]
    assert set(found.overrides) == set(base_keys) & set(item_keys)
    assert [column for column, _ in fresh.text] == [c for c in TEXT_COLUMNS if c in merged]  # one fixed order


def test_only_short_key_sets_are_remembered_and_at_most_max_remembered() -> None:
    shapes._REMEMBERED.clear()
    shapes.shape_of({"x" * (shapes.MAX_REMEMBERED_TEXT + 1): 1})
    assert shapes._REMEMBERED == {}
    for index in range(shapes.MAX_REMEMBERED + 5):
        shapes.shape_of({f"k{index}": 1, "ename": "e"})
    assert 0 < len(shapes._REMEMBERED) <= shapes.MAX_REMEMBERED
    assert shapes.shape_of({1: "not text", "ename": "e"}).text == (("ename", str.lower),)


def test_an_item_with_a_key_that_is_not_lower_case_text_has_no_merged_shape() -> None:
    assert shapes.merged_shape({}, ("Ename",)) is None
    assert shapes.merged_shape({}, (1, "ename")) is None
    assert shapes.merged_shape({"vid": "v"}, ("ename",)) is not None
