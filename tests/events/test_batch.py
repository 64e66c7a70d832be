"""build_batch (one request's or socket message's events) against row.build (one event at a time): the same rows,
the same visitors and the same rejections, whatever the mix of events; only new ids and the time may differ."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.errors import BadEvent
from tracker.events import inputs, row
from tracker.events.batch import build_batch, event_values
from tracker.events.derived import derived_records
from tracker.events.ids import _SUFFIX
from tracker.privacy.consent import ConsentPolicy
from tracker.privacy.rules import PrivacyRules
from tracker.privacy.storage import IPPolicy

VID = "14fb0860-b4bf-11e9-8971-7b80435315ac"
SID = "24fb0860-b4bf-11e9-8971-7b80435315ac"
UUIDISH = st.sampled_from([VID, SID, VID.upper(), VID.replace("-", ""), "not-a-uuid", "", 7])
TEXT = st.one_of(st.text(max_size=12), st.sampled_from(["View", "PAGE", "x" * 8193]), st.integers(), st.none())
PARAM = st.one_of(
    st.integers(-(2**40), 2**40),
    st.sampled_from(["true", "12", "1.5", "2024-01-01", "1700000000", "[1, 2]", "{bad", "٣", " pro "]),
    st.text(max_size=8),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
FIELDS: dict[str, Any] = {
    "vid": UUIDISH,
    "sid": UUIDISH,
    "eid": UUIDISH,
    "uid": UUIDISH,
    "did": UUIDISH,
    "ename": TEXT,
    "etyp": TEXT,
    "content": TEXT,
    "Source": TEXT,
    "COUNTRY": st.sampled_from(["us", "De", 5]),
    "tz": st.sampled_from(["Europe/Berlin", "America/New_York", "Nowhere/Else"]),
    "url": st.sampled_from(["https://Shop.example/p?q=1#f", "HTTP://a/b", "//h/p", 3]),
    "last": st.sampled_from(["https://a.example/x?y", "/rel"]),
    "params": st.one_of(
        st.dictionaries(st.sampled_from(["i", "plan", "ts", "uid", "Case"]), PARAM, max_size=4),
        st.sampled_from(['{"a": "1"}', "not json", "", "  ", "[1]", 5]),
    ),
    "cflags": st.sampled_from([0, 1024, 2048 + 512, 8191, "2048", 1.5, True]),
    "duration": st.sampled_from([5, "7", "x", 2**70]),
    "ver": st.sampled_from([1, 2**40]),
    "score": st.sampled_from([0.5, "2.5", "nan", False]),
    "lat": st.sampled_from([37.7, "91", None]),
    "lon": st.sampled_from([-122.4, "1"]),
    "w": st.sampled_from([1024, "800", "wide"]),
    "email": st.sampled_from(["A@Example.com ", "", 3]),
    "acct": st.sampled_from(["", "abc"]),
    "targets": st.sampled_from([{"a": 1}, [1], "t"]),
    "custom": PARAM,
}
EVENT = st.fixed_dictionaries({}, optional=FIELDS)
VALID = st.fixed_dictionaries(  # values that build: so that most examples compare whole rows, not only rejections
    {},
    optional={
        "vid": st.sampled_from([VID, VID.upper(), VID.replace("-", "")]),
        "sid": st.sampled_from([SID, "x"]),
        "eid": st.sampled_from([SID, VID]),
        "did": st.just(VID),
        "ename": st.text(max_size=12),
        "etyp": st.sampled_from(["View", "page"]),
        "content": st.text(max_size=5),
        "Medium": st.sampled_from(["CPC", "email"]),
        "country": st.sampled_from(["de", "US"]),
        "tz": st.sampled_from(["Europe/Berlin", "Asia/Tokyo"]),
        "url": st.sampled_from(["https://Shop.example/p?q=1#f", "HTTP://a/b", "//h/p"]),
        "last": st.just("https://a.example/x?y"),
        "params": st.one_of(
            st.dictionaries(st.sampled_from(["i", "plan", "ts", "Case"]), PARAM, max_size=4),
            st.just('{"a": "1700000000"}'),
        ),
        "cflags": st.sampled_from([1024, 2048 + 512, 8191]),
        "duration": st.sampled_from([5, "7"]),
        "score": st.just(0.5),
        "w": st.just(1024),
        "email": st.just("A@Example.com "),
        "targets": st.just({"a": [1, 2]}),
        "custom": PARAM,
    },
)
ITEM = st.one_of(EVENT, VALID, VALID, st.sampled_from([[], "text", 5]))
INFO = st.builds(
    inputs.RequestInfo,
    host=st.sampled_from(["yourdomain.com", "", "Shop.Example"]),
    path=st.sampled_from(["/tr/v1/tr/", "/page/x", "/tr/v1/ws"]),
    user_agent=st.sampled_from(["Mozilla/5.0", ""]),
    referer=st.sampled_from(["https://ref.example/", ""]),
    client_ip=st.sampled_from(["203.0.113.9", "2001:db8::1", ""]),
    gpc=st.booleans(),
    dnt=st.booleans(),
)
PRIVACY = st.builds(
    PrivacyRules,
    consent=st.builds(
        ConsentPolicy,
        mode=st.sampled_from(["off", "given", "required"]),
        honor_dnt=st.booleans(),
        missing_is_marketing=st.booleans(),
        account_mixer=st.sampled_from(["", "", "", "mix"]),
    ),
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def normalised(found: Any) -> Any:
    """Ids this process made and the time written as placeholders: they differ between any two builds."""
    if isinstance(found, dict):
        return {k: "<time>" if k == "created_at" else normalised(v) for k, v in found.items()}
    if isinstance(found, (list, tuple)):
        return [normalised(v) for v in found]
    if isinstance(found, str) and found.endswith(_SUFFIX):
        return "<new id>"
    return found


@SETTINGS
@given(
    items=st.lists(ITEM, min_size=1, max_size=12),
    base=EVENT,
    injected=st.dictionaries(st.sampled_from(["page", "plan", "vid", "source"]), PARAM, max_size=3),
    info=INFO,
    privacy=PRIVACY,
    is_server=st.booleans(),
    ip_mode=st.sampled_from(["hash", "truncate", "raw", "drop"]),
)
def test_a_batch_builds_the_rows_and_rejections_of_its_events_built_one_by_one(
    items: list[Any],
    base: dict[str, Any],
    injected: dict[str, Any],
    info: inputs.RequestInfo,
    privacy: PrivacyRules,
    is_server: bool,
    ip_mode: str,
) -> None:
    base = inputs.lower_keys(base)
    injected = {k: v for k, v in injected.items() if v is not None}
    policy = IPPolicy(ip_mode, "")
    options: dict[str, Any] = {"is_server": is_server, "injected_params": injected, "privacy": privacy}
    batch = build_batch(items, dict(base), row.EventRows(info, policy, **options), item_field="body")

    expected_rows, expected_visitors, expected_rejected, expected_tables = [], [], [], []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise BadEvent("body", "each event must be a JSON object")
            values = {**base, **inputs.lower_keys(item)}
            built = row.build(values, info, policy, **options)  # adds the hashes the derived rows read
        except BadEvent as error:
            expected_rejected.append({"index": index, "field": error.field, "error": error.message})
            continue
        expected_rows.append(built[0])
        expected_visitors.append(built[1])
        expected_tables += ["events", *(r.table for r in derived_records(built[0], values, is_server, privacy, info))]
    assert [r.table for r in batch.records] == expected_tables  # each event, then the Go tables' rows from it
    assert normalised([r.row for r in batch.records if r.table == "events"]) == normalised(expected_rows)
    assert normalised(batch.visitors) == normalised(expected_visitors)
    assert batch.rejected == expected_rejected


PLAIN_FIELDS: dict[str, Any] = {  # lower-case keys, mostly of the kinds a plain event has, often None
    "vid": st.sampled_from([VID, SID, None, "x"]),
    "sid": st.sampled_from([SID, None]),
    "eid": st.sampled_from([SID, None, ""]),
    "ename": st.one_of(TEXT, st.just({"a": 1})),
    "etyp": TEXT,
    "medium": st.sampled_from(["CPC", None, 3.5]),
    "country": st.sampled_from(["de", None]),
    "tz": st.sampled_from(["Europe/Berlin", None]),
    "url": st.sampled_from(["https://Shop.example/p?q=1#f", None, 3]),
    "params": st.one_of(st.none(), st.dictionaries(st.sampled_from(["i", "plan", "ts", "vid"]), PARAM, max_size=3)),
    "acct": st.sampled_from([None, "abc"]),
    "outcome": st.sampled_from([None, "won"]),
    "tags": st.sampled_from([None, "a,b"]),
    "uid": st.sampled_from([None, VID]),
    "duration": st.sampled_from([None, 5]),
    "custom": PARAM,
}
PLAIN_EVENT = st.fixed_dictionaries({}, optional=PLAIN_FIELDS)


@SETTINGS
@given(
    items=st.lists(st.one_of(PLAIN_EVENT, PLAIN_EVENT.map(lambda item: {**item, "vid": VID})), min_size=1, max_size=8),
    base=PLAIN_EVENT.map(lambda base: {k: v for k, v in base.items() if v is not None}),
    info=INFO,
    privacy=PRIVACY,
    is_server=st.booleans(),
)
def test_events_of_one_key_set_share_its_shape_and_build_as_one_by_one_even_with_none_values(
    items: list[dict[str, Any]], base: dict[str, Any], info: inputs.RequestInfo, privacy: PrivacyRules, is_server: bool
) -> None:
    """The per-batch shortcuts (a shape per key set, an item used as its own value map, None read as no value)
    give what row.build gives each event's `{**base, **lower_keys(item)}`, and leave the items as they were."""
    before = [dict(item) for item in items]
    options: dict[str, Any] = {"is_server": is_server, "injected_params": {"page": "2"}, "privacy": privacy}
    batch = build_batch(items, dict(base), row.EventRows(info, IPPolicy(), **options), item_field="body")
    assert items == before
    expected_rows, expected_tables, expected_rejected = [], [], []
    for index, item in enumerate(items):
        values = {**base, **inputs.lower_keys(item)}
        try:
            built = row.build(values, info, IPPolicy(), **options)
        except BadEvent as error:
            expected_rejected.append({"index": index, "field": error.field, "error": error.message})
            continue
        expected_rows.append(built[0])
        derived = derived_records(built[0], values, is_server, privacy, info)
        expected_tables += ["events", *(r.table for r in derived)]
    assert [r.table for r in batch.records] == expected_tables
    assert normalised([r.row for r in batch.records if r.table == "events"]) == normalised(expected_rows)
    derived_rows = [r.row for r in batch.records if r.table != "events"]
    assert all(r["created_at"] == batch.records[0].row["created_at"] for r in derived_rows if "created_at" in r)
    assert batch.rejected == expected_rejected


@given(st.dictionaries(st.text(max_size=6), st.one_of(st.none(), st.integers(), st.text(max_size=4)), max_size=8))
def test_event_values_is_the_base_updated_with_the_item_as_lower_keys_gives_it(item: dict[str, Any]) -> None:
    base = {"vid": VID, "source": "query"}
    assert event_values(base, item) == {**base, **inputs.lower_keys(item)}
    assert base == {"vid": VID, "source": "query"}  # never changed: every event of the request starts from it


def test_the_events_of_one_batch_share_the_time_and_get_their_own_ids() -> None:
    info = inputs.RequestInfo(host="yourdomain.com", path="/tr/v1/tr/", client_ip="203.0.113.9")
    rows = row.EventRows(info, IPPolicy(), is_server=False, privacy=PrivacyRules())
    batch = build_batch([{"vid": VID, "ename": f"e{i}"} for i in range(300)], {}, rows, item_field="body")
    events = [r.row for r in batch.records if r.table == "events"]
    assert len({e["created_at"] for e in events}) == 1
    ids = [e["eid"] for e in events] + [e["sid"] for e in events]
    assert len(set(ids)) == 600  # more than one block of ids: 2 per event were planned, none repeats
    assert {e["vid"] for e in events} == {VID}
