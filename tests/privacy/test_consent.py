"""Consent rules: the cflags bits, Go's marketing threshold and CFlagsIgnore, the browser signals, what is
dropped from a row, and Go's AccountHashMixer check."""

from __future__ import annotations

import pytest

from tracker.errors import BadEvent
from tracker.privacy.consent import (
    ANALYTICS,
    MARKETING,
    NECESSARY,
    PERSONALISATION,
    Allowed,
    ConsentPolicy,
    cflags_of,
    scrub,
)
from tracker.privacy.hashing import short_hash

REQUIRED = ConsentPolicy(mode="required")


def test_off_mode_is_go_behaviour_everything_allowed_whatever_cflags() -> None:
    assert ConsentPolicy().allowed(None) == Allowed(True, True, True)
    assert ConsentPolicy().allowed(NECESSARY) == Allowed(True, True, True)


def test_each_bit_allows_its_own_purpose_only() -> None:
    assert REQUIRED.allowed(NECESSARY) == Allowed(analytics=False, marketing=False, personalisation=False)
    assert REQUIRED.allowed(NECESSARY | ANALYTICS) == Allowed(True, False, False)
    assert REQUIRED.allowed(NECESSARY | PERSONALISATION) == Allowed(False, False, True)
    assert REQUIRED.allowed(NECESSARY | ANALYTICS | PERSONALISATION | MARKETING) == Allowed(True, True, True)


def test_marketing_is_gos_numeric_threshold_not_a_bit_test() -> None:
    policy = ConsentPolicy(mode="required", marketing_threshold=3000)
    assert policy.allowed(ANALYTICS | NECESSARY).marketing  # 3072 >= 3000
    assert not REQUIRED.allowed(4095).marketing and REQUIRED.allowed(4096).marketing


def test_missing_cflags_per_mode_and_cflags_ignore() -> None:
    assert REQUIRED.allowed(None) == Allowed(False, False, False)
    assert ConsentPolicy(mode="required", missing_is_marketing=True).allowed(None) == Allowed(False, True, False)
    assert ConsentPolicy(mode="given").allowed(None) == Allowed(True, False, True)
    assert ConsentPolicy(mode="given").allowed(NECESSARY) == Allowed(False, False, False)


def test_gpc_withdraws_marketing_and_dnt_everything_when_honoured() -> None:
    everything = NECESSARY | ANALYTICS | PERSONALISATION | MARKETING
    assert REQUIRED.allowed(everything, gpc=True) == Allowed(True, False, True)
    assert ConsentPolicy(honor_gpc=False).allowed(everything, gpc=True).marketing
    assert REQUIRED.allowed(everything, dnt=True) == Allowed(True, True, True)  # DNT is off by default
    assert ConsentPolicy(honor_dnt=True).allowed(None, dnt=True) == Allowed(False, False, False)


def test_scrub_drops_the_columns_of_each_refused_purpose() -> None:
    row = {"ename": "x", "vid": "v", "iphash": "h", "city": "london", "country": "GB", "gaid": "g", "uid": "u"}
    row["params"] = {"uid": "u", "page": 2}
    scrub(row, Allowed(analytics=False, marketing=False, personalisation=False))
    assert row == {"ename": "x", "country": "GB", "params": {"page": 2}}
    kept = {"vid": "v", "gaid": "g", "uid": "u"}
    scrub(kept, Allowed(analytics=True, marketing=False, personalisation=True))
    assert kept == {"vid": "v", "uid": "u"}


def test_cflags_count_only_as_numbers_as_go_reads_them() -> None:
    assert cflags_of({"cflags": 1024}) == 1024 and cflags_of({"cflags": 1024.0}) == 1024
    assert cflags_of({"cflags": "2048"}) is None  # from a path or query: Go ignores it
    assert cflags_of({}) is None and cflags_of({"cflags": True}) is None


def test_account_hash_mixer_requires_the_hosts_hash() -> None:
    policy = ConsentPolicy(account_mixer="mix")
    policy.check_account({"acct": short_hash("shop.example" + "mix")}, "shop.example")
    with pytest.raises(BadEvent) as missing:
        policy.check_account({}, "shop.example")
    assert missing.value.field == "acct"
    with pytest.raises(BadEvent):
        policy.check_account({"acct": short_hash("other.example" + "mix")}, "shop.example")
    ConsentPolicy().check_account({}, "shop.example")  # no mixer: no check
