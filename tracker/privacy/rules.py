"""One process's privacy rules, built once from the config: consent enforcement, the account hash check and
location enrichment (time zone → country, then GeoIP), applied to every event and agreement row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.config import Config
from tracker.privacy import geoip
from tracker.privacy.consent import Allowed, ConsentPolicy, cflags_of, scrub
from tracker.privacy.zones import country_of


@dataclass(slots=True, frozen=True)
class PrivacyRules:
    consent: ConsentPolicy = ConsentPolicy()
    geo: geoip.GeoIP | None = None
    region_descriptions: bool = True

    @classmethod
    def from_config(cls, config: Config, *, explain: bool = False) -> PrivacyRules:
        consent = ConsentPolicy(
            mode=config.consent.mode,
            honor_gpc=config.consent.honor_gpc,
            honor_dnt=config.consent.honor_dnt,
            marketing_threshold=config.cflags_marketing,
            missing_is_marketing=config.cflags_ignore,
            account_mixer=config.account_hash_mixer,
        )
        if explain:
            go_keys = [k for k in config.unsupported if k in geoip.IP2LOCATION_KEYS]
            geoip.explain_go_keys(go_keys, config.geoip_path)
        geo = geoip.open_database(config.geoip_path)
        return cls(consent, geo, config.use_region_descriptions)

    def locate(self, row: dict[str, Any], client_ip: str) -> None:
        """Country from the time zone (Go's rule), then what GeoIP knows of the client address."""
        if not row.get("country") and isinstance(row.get("tz"), str):
            country = country_of(row["tz"])
            if country:
                row["country"] = country
        if self.geo is not None and client_ip:
            try:
                location = self.geo.lookup(client_ip)
            except geoip.BadAddress:
                return
            geoip.enrich(row, location, with_region=self.region_descriptions)

    def apply(
        self, row: dict[str, Any], values: Mapping[str, Any], *, host: str, client_ip: str, gpc: bool, dnt: bool
    ) -> Allowed:
        """Check the account hash, locate, then drop what consent does not allow; returns what it allows."""
        self.consent.check_account(values, host)
        self.locate(row, client_ip)
        allowed = self.consent.allowed(cflags_of(values), gpc=gpc, dnt=dnt)
        scrub(row, allowed)
        return allowed
