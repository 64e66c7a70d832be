"""Admin input for a short link (tracker/redirects/fields.py): shapes, storage bounds and keys, field named."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.errors import BadEvent
from tracker.redirects.fields import MAX_VISITS, admin_fields, checked_slug, key_from_url, normalise_time


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "abc"}, "status"),
        ({"status": True}, "status"),
        ({"max_visits": 3_000_000_000}, "max_visits"),
        ({"max_visits": 0}, "max_visits"),
        ({"max_visits": 1.5}, "max_visits"),
        ({"targets": {"ios": deep(300)}}, "targets.ios"),
        ({"targets": deep(300)}, "targets"),
        ({"tags": deep(300)}, "tags"),
        ({"tags": ["t"] * 51}, "tags"),
        ({"tags": ["x" * 101]}, "tags"),
        ({"org": {"a": 1}}, "org"),
        ({"urlto": ["https://example.com/"]}, "urlto"),
        ({"urlto": "https://example.com/" + "a" * 9000}, "urlto"),
        ({"crawlable": "false"}, "crawlable"),
    ],
)
def test_shapes_and_sizes_are_checked_naming_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadEvent) as caught:
        admin_fields(body)
    assert caught.value.field == field


def test_unknown_fields_are_dropped_and_nulls_mean_not_given() -> None:
    fields = admin_fields({"urlto": "https://example.com/", "hostto": deep(300), "status": "301", "tags": None})
    assert fields == {"urlto": "https://example.com/", "status": 301}
    assert admin_fields({"max_visits": MAX_VISITS})["max_visits"] == MAX_VISITS


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "2106-02-08", "x"]
)
def test_times_outside_every_sinks_range_are_refused(value: str) -> None:
    with pytest.raises(BadEvent) as caught:
        normalise_time(value, "valid_since")
    assert caught.value.field == "valid_since"


def test_times_inside_the_range_are_utc_text() -> None:
    assert normalise_time("2106-02-07T06:28:15Z", "valid_until") == "2106-02-07 06:28:15.000"
    assert normalise_time("2030-01-01T02:00:00+02:00", "valid_until") == "2030-01-01 00:00:00.000"
    assert normalise_time("2999-01-01", "valid_until", bounded=False).startswith("2999")  # rows already stored


@pytest.mark.parametrize("slug", ["a\r\nb", "a b", "../x", "a/../b", "<b>", "a\x00", "a\x7f", "a?b", "a#b", "a%2f", ""])
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(BadEvent) as caught:
        checked_slug(slug, "slugfrom")
    assert caught.value.field == "slugfrom"


def test_good_slugs_are_lowercased_path_segments() -> None:
    assert checked_slug("/Spring-Sale/", "slugfrom") == "spring-sale"
    assert checked_slug("a/b.c_d~e!$&'()*+,;=:@", "slugfrom") == "a/b.c_d~e!$&'()*+,;=:@"
    assert checked_slug("Frühling", "slugfrom") == "frühling"


def test_go_urlfrom_keys_are_checked_as_host_and_slug() -> None:
    assert key_from_url("https://Bücher.Example/Short?x=1") == "xn--bcher-kva.example/short"
    bad_keys = ("https://go.example/a\r\nb", "https://go.example/a b", "https://u@go.example/a", "https://go.example/")
    for bad in (*bad_keys, "https://[go.example/a"):
        with pytest.raises(BadEvent) as caught:
            key_from_url(bad)
        assert caught.value.field == "urlfrom"
