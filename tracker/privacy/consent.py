"""Consent enforced at ingest: what a visitor's `cflags` (and the browser's Sec-GPC / DNT signals) allow us to
set and to keep.

Bits of `cflags` (an Int64 the Go tracker stores without meaning; README examples use 1024):
  PERSONALISATION 512   account and contact links: uid, uhash, ehash, chash
  NECESSARY      1024   the event itself, without identifiers (always allowed)
  ANALYTICS      2048   the vid/sid cookies and the visitor columns: vid, sid, ip, iphash, ua, bhash, referer,
                        region, city, zip, lat/lon, viewport, ja4h
  MARKETING      4096   advertising ids: gaid, idfa, msid, fbid, aff, mcid. As in Go, marketing is a numeric
                        threshold, `cflags >= CFlagsMarketing` (4096 by default), not a bit test.
A missing `cflags` counts as marketing consent only when CFlagsIgnore is true (Go's Facebook rule). Mode "off"
(the default, Go's behaviour) stores cflags and enforces nothing but the browser signals configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker.errors import BadEvent
from tracker.privacy.hashing import short_hash

PERSONALISATION = 512
NECESSARY = 1024
ANALYTICS = 2048
MARKETING = 4096

ANALYTICS_COLUMNS = (
    "vid",
    "sid",
    "ip",
    "iphash",
    "ua",
    "bhash",
    "referer",
    "region",
    "city",
    "zip",
    "lat",
    "lon",
    "vp_w",
    "vp_h",
    "ja4h",
)
MARKETING_COLUMNS = ("gaid", "idfa", "msid", "fbid", "aff", "mcid")
PERSONALISATION_COLUMNS = ("uid", "uhash", "ehash", "chash")


@dataclass(slots=True, frozen=True)
class Allowed:
    """What one event's consent allows."""

    analytics: bool = True
    marketing: bool = True
    personalisation: bool = True

    @property
    def everything(self) -> bool:
        return self.analytics and self.marketing and self.personalisation


@dataclass(slots=True, frozen=True)
class ConsentPolicy:
    mode: str = "off"  # off | given | required
    honor_gpc: bool = True
    honor_dnt: bool = False
    marketing_threshold: int = MARKETING  # CFlagsMarketing
    missing_is_marketing: bool = False  # CFlagsIgnore
    account_mixer: str = ""  # AccountHashMixer

    def allowed(self, cflags: int | None, *, gpc: bool = False, dnt: bool = False) -> Allowed:
        if self.mode == "off":
            analytics = marketing = personalisation = True
        elif cflags is None:  # no answer yet: "given" assumes yes, "required" means necessary only
            analytics = personalisation = self.mode == "given"
            marketing = self.missing_is_marketing
        else:
            analytics = bool(cflags & ANALYTICS)
            personalisation = bool(cflags & PERSONALISATION)
            marketing = cflags >= self.marketing_threshold
        if gpc and self.honor_gpc:  # Global Privacy Control: do not sell or share
            marketing = False
        if dnt and self.honor_dnt:
            analytics = marketing = personalisation = False
        return Allowed(analytics, marketing, personalisation)

    def check_account(self, values: Mapping[str, Any], host: str) -> None:
        """Go's AccountHashMixer: when set, an event must carry acct == base36(fnv(host + mixer))."""
        if not self.account_mixer:
            return
        acct = values.get("acct")
        if not isinstance(acct, str) or not acct:
            raise BadEvent("acct", "required: this tracker checks events against AccountHashMixer")
        if acct.strip().lower() != short_hash(host + self.account_mixer):
            raise BadEvent("acct", "does not match this host's account hash")


def scrub(row: dict[str, Any], allowed: Allowed) -> None:
    """Drop from a row the columns its consent does not allow (they are then stored as the column default)."""
    if allowed.everything:
        return
    dropped: list[str] = []
    if not allowed.analytics:
        dropped += ANALYTICS_COLUMNS
    if not allowed.marketing:
        dropped += MARKETING_COLUMNS
    if not allowed.personalisation:
        dropped += PERSONALISATION_COLUMNS
    for column in dropped:
        row.pop(column, None)
    params = row.get("params")
    if isinstance(params, dict) and not allowed.personalisation:
        for column in PERSONALISATION_COLUMNS:
            params.pop(column, None)


def cflags_of(values: Mapping[str, Any]) -> int | None:
    """The visitor's cflags as Go reads them: a JSON number from the body or the CookieConsent cookie (which
    inputs.seed turns into a number); text from a path or query counts as no answer, as Go ignores it."""
    value = values.get("cflags")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    return None
