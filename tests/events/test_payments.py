"""Payment lines and LTV rows from a /ltv/ value map (SPEC.md §4), amounts exact from the JSON text."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.errors import BadEvent
from tracker.events import payments
from tracker.events.ids import ZERO_UUID

U, V, INV = (str(uuid.uuid4()) for _ in range(3))


def rows(body: bytes, host: str = "shop.example") -> dict[str, list[dict[str, Any]]]:
    records = payments.build(payments.top_level(payments.parse_body(body)), host, max_lines=50)
    found: dict[str, list[dict[str, Any]]] = {"payments": [], "ltv": []}
    for record in records:
        found[record.table].append(record.row)
    return found


def test_spec_example_gives_two_lines_and_three_ltv_rows_of_75() -> None:
    body = f'{{"uid":"{U}","vid":"{V}","invid":"{INV}","payments":[{{"amt":50}},{{"revenue":"25"}}]}}'
    found = rows(body.encode())
    assert [p["revenue"] for p in found["payments"]] == ["50", "25"]
    assert {p["currency"] for p in found["payments"]} == {"USD"}
    assert all(p["uid"] == U and p["vid"] == V and p["invid"] == INV for p in found["payments"])
    assert sorted((r["id_type"], r["id"], r["paid"]) for r in found["ltv"]) == sorted(
        [("uid", U, "75"), ("vid", V, "75"), ("orid", INV, "75")]
    )
    assert len({r["payment_id"] for r in found["ltv"]}) == 1
    assert all(uuid.UUID(p["id"]).version == 4 for p in found["payments"])


def test_floats_in_the_body_are_summed_exactly() -> None:
    found = rows(f'{{"uid":"{U}","payments":[{{"amt":0.1}},{{"amt":0.2}},{{"amt":"0.0001"}}]}}'.encode())
    assert [p["revenue"] for p in found["payments"]] == ["0.1", "0.2", "0.0001"]
    assert [r["paid"] for r in found["ltv"]] == ["0.3001"]


def test_a_single_payment_is_the_body_itself_and_revenue_wins_over_amt() -> None:
    found = rows(f'{{"vid":"{V}","amt":3,"revenue":"19.99","price":9.995,"qty":2,"Product":"Hat"}}'.encode())
    (line,) = found["payments"]
    assert line["revenue"] == "19.99" and line["price"] == "9.995" and line["qty"] == 2.0
    assert line["product"] == "hat"  # top-level strings are lowercased as in Go
    assert [(r["id_type"], r["paid"]) for r in found["ltv"]] == [("vid", "19.99")]
    assert found["ltv"][0]["hhash"] and "hhash" not in line


def test_payment_items_keep_their_case_and_top_level_orid_only_reaches_payments() -> None:
    orid = str(uuid.uuid4())
    found = rows(f'{{"uid":"{U}","orid":"{orid}","payments":[{{"amt":5,"product":"Blue Hat"}}]}}'.encode())
    assert found["payments"][0]["product"] == "Blue Hat"
    assert found["payments"][0]["orid"] == orid
    assert [r["id_type"] for r in found["ltv"]] == ["uid"]


def test_no_ltv_row_without_positive_revenue_or_without_ids() -> None:
    assert rows(f'{{"uid":"{U}","payments":[{{"amt":5}},{{"amt":-5}}]}}'.encode())["ltv"] == []
    assert rows(f'{{"uid":"{U}","product":"free"}}'.encode())["ltv"] == []
    found = rows(b'{"uid":"not-a-uuid","amt":5}')
    assert found["ltv"] == [] and found["payments"][0]["uid"] == ZERO_UUID


def test_go_schema_columns_duration_int_and_campaign_id_text() -> None:
    (line,) = rows(b'{"amt":1,"duration":"3600","campaign_id":"","starts":"2026-01-02T03:04:05Z"}')["payments"]
    assert line["duration"] == 3600 and line["campaign_id"] == "" and line["starts"] == "2026-01-02 03:04:05.000"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"amt":"ten"}', "amt"),
        (b'{"amt":true}', "amt"),
        (b'{"revenue":"1.00001"}', "revenue"),
        (b'{"price":1e20}', "price"),
        (b'{"amt":NaN}', "body"),
        (b'{"payments":[{"amt":1},{"tax":"1,5"}]}', "payments[1].tax"),
        (b'{"amt":1,"currency":"dollars"}', "currency"),
        (b'{"payments":[{"amt":1,"currency":7}]}', "payments[0].currency"),
        (b'{"payments":{"amt":1}}', "payments"),
        (b'{"payments":[5]}', "payments[0]"),
        (b'{"amt":1,"duration":"long"}', "duration"),
        (b'{"amt":1,"paid_at":"yesterday"}', "paid_at"),
        (b"[1]", "body"),
        (b"{", "body"),
    ],
)
def test_bad_input_names_its_field(body: bytes, field: str) -> None:
    with pytest.raises(BadEvent) as raised:
        rows(body)
    assert raised.value.field == field


def test_too_many_lines_are_refused() -> None:
    values = {"payments": [{"amt": 1}] * 3}
    with pytest.raises(BadEvent, match="limit is 2"):
        payments.build(values, "h", max_lines=2)


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False), min_size=1, max_size=20))
def test_ltv_paid_is_the_exact_sum_of_any_amounts(amounts: list[Decimal]) -> None:
    lines = ",".join(f'{{"amt":{a}}}' for a in amounts)
    body = f'{{"uid":"{U}","payments":[{lines}]}}'
    found = rows(body.encode())
    total = sum(amounts, Decimal(0))
    assert [Decimal(r["paid"]) for r in found["ltv"]] == ([total] if total > 0 else [])
    assert [Decimal(p["revenue"]) for p in found["payments"]] == amounts
