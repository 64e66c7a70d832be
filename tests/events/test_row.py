from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.errors import BadEvent
from tracker.events import inputs, row
from tracker.events.ids import ZERO_UUID, parse_uuid
from tracker.privacy.storage import IPPolicy

VID = "14fb0860-b4bf-11e9-8971-7b80435315ac"


def build(path: str = "", query: str = "", body: dict | None = None, cookies: dict | None = None, **kw):
    info = inputs.RequestInfo(
        host="yourdomain.com",
        path="/tr/v1/tr/" + path,
        query=query,
        user_agent="Mozilla/5.0",
        client_ip="203.0.113.9",
        cookies=cookies or {},
    )
    pairs = inputs.path_pairs(path)
    q = inputs.query_values(query, "igqp")
    values = {**inputs.seed(info), **pairs, **q, **inputs.lower_keys(body or {})}
    return row.build(
        values,
        info,
        kw.pop("policy", IPPolicy("hash")),
        is_server=kw.pop("is_server", False),
        injected_params={**pairs, **q},
        **kw,
    )


def test_url_tuple_pairs_after_the_route_prefix_spec_example_2() -> None:
    event, visitor = build(f"vid/{VID}/ename/Page_View/etyp/view")
    assert event["vid"] == VID and visitor.vid == VID and not visitor.new_visitor
    assert event["ename"] == "page_view" and event["etyp"] == "view"
    assert event["ip"] == "" and event["iphash"] and event["params"] == {}
    assert "v1" not in event["params"]


def test_query_sets_utm_columns_and_typed_params_and_igqp_skips_all_spec_example_3() -> None:
    event, _ = build(query="utm_source=Google&page=2")
    assert event["source"] == "google" and event["params"] == {"page": 2}
    event, _ = build(query="utm_source=Google&page=2&igqp=1")
    assert "source" not in event and event["params"] == {}


def test_post_body_types_cflags_latlon_and_drops_unknown_top_level_keys_spec_example_4() -> None:
    event, _ = build(body={"vid": VID, "ename": "Click", "cflags": 1024, "lat": "37.7", "lon": "-122.4", "foo": "Bar"})
    assert (event["ename"], event["cflags"], event["lat"], event["lon"]) == ("click", 1024, 37.7, -122.4)
    assert event["params"] == {}


def test_body_params_keep_case_and_seconds_become_milliseconds_spec_example_5() -> None:
    event, _ = build(body={"vid": VID, "params": {"foo": "Bar", "ts": "1700000000"}})
    assert event["params"] == {"foo": "Bar", "ts": 1700000000000}


def test_new_visitor_row_carries_the_same_ids_as_the_cookie() -> None:
    event, visitor = build()
    assert visitor.new_visitor and parse_uuid(event["vid"]) == visitor.vid != ZERO_UUID
    assert event["sid"] == visitor.vid  # first session of a new visitor is named after it, as in Go


def test_cookie_ids_and_consent_are_read() -> None:
    event, visitor = build(cookies={"vid": VID, "sid": VID, "CookieConsent": "7"})
    assert (event["vid"], event["sid"], event["cflags"]) == (VID, VID, 7)
    assert not visitor.new_session


def test_cflags_text_from_the_path_is_ignored_like_go() -> None:
    event, _ = build("cflags/123")
    assert "cflags" not in event


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration": "soon"}, "duration"),
        ({"lat": 1}, "lon"),
        ({"score": "x"}, "score"),
        ({"params": [1]}, "params"),
        ({"ver": 2**40}, "ver"),
        ({"lat": 91, "lon": 0}, "lat"),
        ({"ename": "x" * 9000}, "ename"),
        ({"cflags": True}, "cflags"),
    ],
)
def test_bad_values_name_their_field(body: dict, field: str) -> None:
    with pytest.raises(BadEvent) as caught:
        build(body=body)
    assert caught.value.field == field


def test_urls_keep_case_and_drop_scheme_and_query_like_go() -> None:
    event, _ = build(body={"url": "https://Example.com/A?q=1", "last": "http://x.io/p#h"})
    assert event["url"] == "//Example.com/A" and event["last"] == "//x.io/p"


def test_ip_storage_modes() -> None:
    assert build(policy=IPPolicy("raw"))[0]["ip"] == "203.0.113.9"
    assert build(policy=IPPolicy("truncate"))[0]["ip"] == "203.0.113.0"
    dropped = build(policy=IPPolicy("drop"))[0]
    assert dropped["ip"] == "" and dropped["iphash"] == ""


def test_server_events_do_not_read_the_user_agent() -> None:
    event, _ = build(is_server=True)
    assert "ua" not in event and "bhash" not in event


def test_email_is_hashed_never_stored() -> None:
    event, _ = build(body={"email": "A@B.com"})
    assert "A@B.com" not in repr(event)


@given(st.text(max_size=200))
def test_path_pairs_never_crash_and_pair_evenly(path: str) -> None:
    pairs = inputs.path_pairs(path)
    assert all(k == k.lower() for k in pairs)


@given(
    st.dictionaries(
        st.text(max_size=10),
        st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none(), st.booleans()),
        max_size=8,
    )
)
def test_any_json_object_is_stored_or_rejected_with_a_field(body: dict) -> None:
    try:
        event, _ = build(body=body)
    except BadEvent as error:
        assert error.field
    else:
        assert event["eid"]
