"""The Go tables' rows derived from one event: which tables, when, and with what (tracker/events/derived.py)."""

from __future__ import annotations

from typing import Any

from tracker.events.derived import derived_records, tags
from tracker.events.go_columns import MSTORE, MTHREADS, MTRIAGE, read
from tracker.events.ids import ZERO_UUID
from tracker.events.inputs import RequestInfo
from tracker.privacy.consent import ConsentPolicy
from tracker.privacy.rules import PrivacyRules

EID = "0d6b8a2e-2f6c-11ef-9a4f-0242ac120002"
VID = "14fb0860-b4bf-11e9-8971-7b80435315ac"
UID = "b1c2d3e4-f5a6-7890-abcd-ef1234567890"
OID = "00000000-0000-0000-0000-000000000001"
TID = "11111111-2222-3333-4444-555555555555"
CREATED = "2026-03-04 05:06:07.890"


def event(**columns: Any) -> dict[str, Any]:
    row = {"eid": EID, "created_at": CREATED, "vid": VID, "sid": VID, "hhash": "h1", "host": "shop.example"}
    return {**row, **columns}


def tables(records: list[Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        found.setdefault(record.table, []).append(record.row)
    return found


def test_a_plain_browser_event_writes_only_its_host() -> None:
    assert tables(derived_records(event(), {}, is_server=False)) == {
        "hosts": [{"hhash": "h1", "hostname": "shop.example", "created_at": CREATED}]
    }


def test_a_server_event_without_tid_or_tags_writes_nothing() -> None:
    assert derived_records(event(uid=UID), {"ehash": "e", "outcome": "won"}, is_server=True) == []


def test_identity_rows_carry_the_hashes_and_the_visit() -> None:
    values = {"uhash": "u#", "ehash": "e#", "chash": "c#", "outcome": "signup"}
    found = tables(derived_records(event(uid=UID, sink="goal", url="//shop.example/a"), values, is_server=False))
    visit = {"hhash": "h1", "vid": VID, "sid": VID, "created_at": CREATED}
    assert found["userhosts"] == [{**visit, "uid": UID}]
    assert found["usernames"] == [{**visit, "uhash": "u#"}]
    assert found["emails"] == [{**visit, "ehash": "e#"}]
    assert found["cells"] == [{**visit, "chash": "c#"}]
    assert found["outcomes"] == [
        {
            "eid": EID,
            "hhash": "h1",
            "outcome": "signup",
            "sink": "goal",
            "created": "2026-03-04",
            "url": "//shop.example/a",
            "total": 1,
        }
    ]


def test_consent_without_personalisation_keeps_the_hashes_and_interests_out() -> None:
    rules = PrivacyRules(ConsentPolicy(mode="required"))
    info = RequestInfo(host="shop.example")
    values = {"ehash": "e#", "cflags": 2048, "tags": "a,b"}
    found = tables(derived_records(event(oid=OID), values, is_server=False, privacy=rules, info=info))
    assert set(found) == {"hosts"}
    allowed = tables(derived_records(event(oid=OID), {**values, "cflags": 2048 | 512}, False, rules, info))
    assert set(allowed) == {"hosts", "emails", "visitor_interests"}


def test_interests_need_a_vid_an_oid_and_tags() -> None:
    values = {"audience": ["ceo", " founder "], "content_tags": "sports, tech,"}
    found = tables(derived_records(event(oid=OID, campaign="spring", country="US"), values, is_server=True))
    (row,) = found["visitor_interests"]
    assert row["audience_tags"] == ["ceo", "founder"]
    assert row["content_tags"] == ["sports", "tech"]
    assert row["interests"] == ["ceo", "founder", "sports", "tech"]
    assert row["interest_counts"] == {"ceo": 1, "founder": 1, "sports": 1, "tech": 1}
    assert row["campaign_sources"] == {"spring": {"audience": ["ceo", "founder"], "content": ["sports", "tech"]}}
    assert (row["eid"], row["oid"], row["last_country"], row["first_seen"]) == (EID, OID, "US", CREATED)
    assert derived_records(event(), values, is_server=True) == []  # no oid
    assert derived_records(event(oid=OID), {"tags": " , "}, is_server=True) == []  # no tags
    assert tags("x") == ["x"] and tags([1, "y"]) == ["y"] and tags(None) == []


def test_a_tid_event_fills_the_messaging_tables_from_its_fields() -> None:
    values = {
        "tid": TID,
        "alias": "http://test.com/success",
        "provider": "website",
        "subject": "Test Conversion",
        "msg": "User completed purchase",
        "urgency": 5,
        "cats": ["a", 1, "b"],
        "admins": ["admin-1111-2222", VID.upper()],
        "mtempl": '{"template": "advanced"}',
        "provider_cost": "1250.75",
        "abz_enabled": True,
        "ephemeral": 1e12,
        "deleted": "2026-01-02T03:04:05Z",
        "vid": "not-this-one",
    }
    columns = {"tid": TID, "oid": OID, "ename": "conversion", "etyp": "conversion", "xid": "x1", "uid": UID}
    found = tables(derived_records(event(**columns), values, is_server=True))
    (thread,) = found["mthreads"]
    assert thread["tid"] == TID and thread["oid"] == OID and thread["vid"] == VID and thread["uid"] == UID
    assert (thread["alias"], thread["provider"], thread["ename"], thread["xid"]) == (
        "http://test.com/success",
        "website",
        "conversion",
        "x1",
    )
    assert thread["cats"] == ["a", "b"]
    assert thread["admins"] == [VID]  # Go keeps only the valid UUIDs
    assert thread["mtempl"] == {"template": "advanced"}
    assert thread["provider_cost"] == 1250.75 and thread["abz_enabled"] is True
    assert thread["ephemeral"] == 2**31 - 1  # clamped into Int32, never refused by the sink
    assert thread["deleted"] == "2026-01-02 03:04:05.000"
    assert thread["created_at"] == thread["updated_at"] == CREATED
    (message,) = found["mstore"]
    (triage,) = found["mtriage"]
    assert (message["subject"], message["msg"], message["urgency"]) == ("Test Conversion", "User completed purchase", 5)
    assert message["mid"] != triage["mid"]
    assert triage["urgency"] == 5 and triage["keep"] is True
    again = tables(derived_records(event(**columns), values, is_server=True))
    assert again["mstore"][0]["mid"] == message["mid"]  # a replayed event is the same message
    (daily,) = found["impression_daily"]
    assert daily == {
        "oid": OID,
        "org": "",
        "tid": TID,
        "campaign_id": "",
        "day": "2026-03-04",
        "variant_id": "x1",
        "total_impressions": 1,
        "anonymous_impressions": 1,
        "identified_impressions": 0,
        "unique_visitors": 1,
        "conversions": 1,
        "updated_at": CREATED,
    }


def test_triage_defaults_and_no_impression_without_conversion_or_score() -> None:
    found = tables(derived_records(event(tid=TID, oid=OID, ename="premium_signup"), {}, is_server=True))
    assert found["mtriage"][0]["urgency"] == 8 and "impression_daily" not in found
    scored = tables(derived_records(event(tid=TID, oid=OID, ename="view", score=2.5), {}, is_server=True))
    assert scored["impression_daily"][0]["conversions"] == 0
    assert derived_records(event(tid=ZERO_UUID), {}, is_server=True) == []  # an invalid tid is stored as zero


def test_bad_messaging_values_become_defaults() -> None:
    assert read("int32", "x") is None and read("int8", True) is None and read("float", float("nan")) is None
    assert read("time", "yesterday") is None and read("time", -1e20) is None and read("time", "1900-01-01") is None
    assert read("time", 0) == "1970-01-01 00:00:00.000"
    assert read("flag", "true") is True and read("flag", 1) is None
    assert read("json", "not json") == "not json" and read("json", 5) is None
    assert read("texts", "a") is None and read("uuids", [VID, 3]) == [VID]
    every_kind = {kind for kinds in (MTHREADS, MSTORE, MTRIAGE) for kind in kinds.values()}
    for kind in every_kind:
        assert read(kind, {"deep": [object()]}) is None or kind == "json"
