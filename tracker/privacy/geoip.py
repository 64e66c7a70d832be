"""GeoIP lookups on a MaxMind-format database (.mmdb, read with geoip2): the /ppi/geoip answer and the
country, region, city, zip and lat/lon that enrich events and agreements.

The file is memory-mapped once per process and never written, so every worker can share it. A Go config's
IP2Location keys (UseGeoIP, IPv4GeoIPZip, ...) cannot be read by this module; config/privacy explains them.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import asdict, dataclass
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb

log = logging.getLogger("tracker.geoip")
RECENT_ADDRESSES = 65536


class BadAddress(ValueError):
    """The text is not an IP address."""


@dataclass(slots=True, frozen=True)
class Location:
    """One lookup, in the Go /ppi/geoip field names."""

    ips: str  # first address of the matched network
    ipe: str  # last address of the matched network
    iso2: str
    country: str
    region: str
    city: str
    lat: float
    lon: float
    zip: str
    tz: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class GeoIP:
    def __init__(self, path: str) -> None:
        self.path = path
        self._reader = geoip2.database.Reader(path, mode=maxminddb.MODE_AUTO)  # the C reader when built
        self._kind = self._reader.metadata().database_type
        self._has_city = "City" in self._kind
        self._recent: dict[str, Location | None] = {}

    def close(self) -> None:
        self._reader.close()

    def lookup(self, ip: str) -> Location | None:
        """The location of `ip`, or None when the database has no network for it; BadAddress if not an IP."""
        key = ip.strip()
        if key in self._recent:
            return self._recent[key]
        found = self._find(key)
        # geoip2 builds rich models (~180 us a lookup); visitors repeat their address, so keep recent answers
        if len(self._recent) >= RECENT_ADDRESSES:
            self._recent.clear()
        self._recent[key] = found
        return found

    def _find(self, ip: str) -> Location | None:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise BadAddress(ip) from None
        try:
            found = self._reader.city(address) if self._has_city else self._reader.country(address)
        except geoip2.errors.AddressNotFoundError:
            return None
        except (ValueError, maxminddb.InvalidDatabaseError) as error:  # an IPv6 address in an IPv4-only file
            log.warning("geoip lookup failed", extra={"error": str(error)})
            return None
        network = found.traits.network
        city = getattr(found, "city", None)
        location = getattr(found, "location", None)
        postal = getattr(found, "postal", None)
        subdivision = found.subdivisions.most_specific if hasattr(found, "subdivisions") else None
        return Location(
            ips=str(network.network_address) if network else str(address),
            ipe=str(network.broadcast_address) if network else str(address),
            iso2=found.country.iso_code or "",
            country=found.country.name or "",
            region=(subdivision.iso_code or subdivision.name or "") if subdivision else "",
            city=(city.name or "") if city else "",
            lat=float(location.latitude or 0.0) if location else 0.0,
            lon=float(location.longitude or 0.0) if location else 0.0,
            zip=(postal.code or "") if postal else "",
            tz=(location.time_zone or "") if location else "",
        )


def open_database(path: str) -> GeoIP | None:
    """The database at `path`, or None (logged) when it is not configured or cannot be read."""
    if not path:
        return None
    try:
        return GeoIP(path)
    except (OSError, maxminddb.InvalidDatabaseError, ValueError) as error:
        log.error("GeoIP database cannot be read; lookups are off", extra={"path": path, "error": str(error)})
        return None


def enrich(row: dict[str, Any], location: Location | None, *, with_region: bool = True) -> None:
    """Fill what the client did not say (SPEC §3 Geo): a client-supplied country/region/city always wins;
    lat/lon only when both are non-zero; region and city only with UseRegionDescriptions."""
    if location is None:
        return
    if not row.get("country") and location.iso2:
        row["country"] = location.iso2.upper()
    if with_region:
        if not row.get("region") and location.region:
            row["region"] = location.region.lower()
        if not row.get("city") and location.city:
            row["city"] = location.city.lower()
    if not row.get("zip") and location.zip:
        row["zip"] = location.zip
    if "lat" not in row and location.lat and location.lon:
        row["lat"], row["lon"] = location.lat, location.lon


IP2LOCATION_KEYS = ("UseGeoIP", "GeoIPVersion", "IPv4GeoIPZip", "IPv6GeoIPZip", "IPv4GeoIPCSVDest", "IPv6GeoIPCSVDest")


def explain_go_keys(set_keys: list[str], path: str) -> None:
    """Go loads IP2Location CSVs into a Pebble store; we read a MaxMind .mmdb instead. Say so once at start-up."""
    if not set_keys:
        return
    log.warning(
        "Go GeoIP keys are accepted but not used: tracker reads a MaxMind-format .mmdb from GeoIP.Database"
        " (IP2Location publishes its LITE DB11 as .mmdb too)",
        extra={"keys": set_keys, "geoip_database": path or "(not set: lookups are off)"},
    )
