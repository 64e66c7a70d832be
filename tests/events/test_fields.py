"""ParamTypes (tracker/events/fields.py): typing a batch's params with what it learnt of earlier values gives what
coerce.param_value gives each value on its own, and it forgets between batches."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.errors import BadEvent
from tracker.events import coerce
from tracker.events.columns import EXCLUDED_FROM_PARAMS
from tracker.events.fields import MAX_KNOWN, ParamTypes, typed_params

VALUES = st.one_of(
    st.sampled_from(["true", "false", "12", " 12 ", "1.5", "2024-01-01", "1700000000", "[1, 2]", '{"a": 1}', "{bad"]),
    st.sampled_from(["pro", "٣", "+", "-", ".", "t", "f", "", " ", "x" * 70, "1700000000000"]),
    st.text(max_size=6),
    st.integers(-(2**40), 2**40),
    st.sampled_from([946684799, 946684800, 946684800000 - 1, 946684800000]),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.lists(st.integers(-100, 100), max_size=2),
)
PARAMS = st.dictionaries(st.sampled_from(["i", "plan", "ts", "vid", "url", "Case"]), VALUES, max_size=5)


def one_by_one(params: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): coerce.param_value(v) for k, v in params.items() if k not in EXCLUDED_FROM_PARAMS}


@given(st.lists(PARAMS, min_size=1, max_size=10))
def test_a_batch_of_params_is_typed_as_each_value_is_on_its_own(batch: list[dict[str, Any]]) -> None:
    types = ParamTypes()
    assert [types.typed(params) for params in batch] == [one_by_one(params) for params in batch]


def test_what_is_remembered_is_bounded_short_and_forgotten() -> None:
    types = ParamTypes()
    types.typed({"long": "x" * 100, "list": "[1]"} | {f"k{i}": f"v{i}" for i in range(MAX_KNOWN + 10)})
    assert len(types._known) == MAX_KNOWN
    assert "x" * 100 not in types._known and "[1]" not in types._known  # long text, and a parsed (mutable) list
    first, second = types.typed({"a": "[1]"}), types.typed({"a": "[1]"})
    assert first == second and first["a"] is not second["a"]
    types.forget()
    assert types._known == {}


def test_params_that_cannot_be_stored_name_the_field() -> None:
    with pytest.raises(BadEvent) as error:
        typed_params({"big": "x" * (600 * 1024)})
    assert error.value.field == "params"
    deep: Any = 1
    for _ in range(300):
        deep = [deep]
    with pytest.raises(BadEvent, match="254 levels"):
        ParamTypes().typed({"deep": deep})
