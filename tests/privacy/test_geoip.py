"""GeoIP lookups on MaxMind's test databases, the enrichment rules of SPEC §3, and time zone → country."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.privacy import geoip
from tracker.privacy.zones import country_of


@pytest.fixture(scope="module")
def city(geoip_city_database: Path) -> geoip.GeoIP:
    return geoip.GeoIP(str(geoip_city_database))


def test_city_database_answers_the_known_addresses(city: geoip.GeoIP) -> None:
    london = city.lookup("81.2.69.142")
    assert london is not None
    assert (london.iso2, london.region, london.city, london.tz) == ("GB", "ENG", "London", "Europe/London")
    assert (london.ips, london.ipe) == ("81.2.69.142", "81.2.69.143")
    milton = city.lookup(" 216.160.83.56 ")
    assert milton is not None and (milton.iso2, milton.city, milton.zip) == ("US", "Milton", "98354")
    assert city.lookup("8.8.8.8") is None
    with pytest.raises(geoip.BadAddress):
        city.lookup("not-an-ip")


def test_country_database_gives_the_country_only(geoip_country_database: Path) -> None:
    found = geoip.GeoIP(str(geoip_country_database)).lookup("81.2.69.142")
    assert found is not None and found.iso2 == "GB" and found.city == "" and found.lat == 0.0


def test_enrich_fills_only_what_the_client_did_not_say(city: geoip.GeoIP) -> None:
    location = city.lookup("81.2.69.142")
    row: dict[str, object] = {"country": "FR", "city": "paris"}
    geoip.enrich(row, location)
    assert row == {"country": "FR", "city": "paris", "region": "eng", "lat": 51.5142, "lon": -0.0931}
    bare: dict[str, object] = {}
    geoip.enrich(bare, location, with_region=False)  # UseRegionDescriptions=false drops region and city
    assert "region" not in bare and "city" not in bare and bare["country"] == "GB"


def test_a_missing_or_unreadable_database_turns_lookups_off(tmp_path: Path) -> None:
    assert geoip.open_database("") is None
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    assert geoip.open_database(str(broken)) is None


def test_time_zone_gives_the_country_as_go_countries_table() -> None:
    assert country_of("America/Los_Angeles") == "US" and country_of("america/los_angeles") == "US"
    assert country_of("Europe/London") == "GB" and country_of("Nowhere/City") == ""


def test_repeated_addresses_are_answered_from_memory(city: geoip.GeoIP) -> None:
    first = city.lookup("89.160.20.112")
    assert first is not None and first.iso2 == "SE"
    assert city.lookup("89.160.20.112") is first and city.lookup("8.8.8.8") is city.lookup("8.8.8.8") is None


def test_go_ip2location_keys_are_accepted_and_explained_at_start(
    caplog: pytest.LogCaptureFixture, geoip_city_database: Path
) -> None:
    from tracker.config import from_mapping
    from tracker.privacy.rules import PrivacyRules

    config = from_mapping({"UseGeoIP": True, "IPv4GeoIPZip": "IP2LOCATION-LITE-DB11.CSV.ZIP", "GeoIPVersion": 2})
    assert {"UseGeoIP", "IPv4GeoIPZip", "GeoIPVersion"} <= set(config.unsupported)
    with caplog.at_level("WARNING", logger="tracker.geoip"):
        rules = PrivacyRules.from_config(config, explain=True)
    assert rules.geo is None
    [record] = [r for r in caplog.records if "GeoIP.Database" in r.getMessage()]
    assert record.keys == ["UseGeoIP", "IPv4GeoIPZip", "GeoIPVersion"]  # type: ignore[attr-defined]
    go_key = from_mapping({"GeoIPDatabase": str(geoip_city_database)})  # README-only in Go, read by us
    assert PrivacyRules.from_config(go_key).geo is not None
