"""What a primary store answers about a short link's visits, and the rule that tells people from bots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Known bots, crawlers, link previewers and HTTP libraries: counted apart from people in visit statistics.
BOT_PATTERN = (
    "bot|crawl|spider|slurp|facebookexternalhit|embedly|preview|whatsapp|telegram|discord|slack|skype|"
    "headless|lighthouse|curl|wget|python-|httpx|go-http-client|java/|okhttp|libwww|monitor|uptime"
)
TOP = 10  # referrers and countries listed


@dataclass(frozen=True, slots=True)
class LinkStats:
    link: str
    visits: int  # by people
    uniques: int  # distinct people (visitor ids)
    bots: int
    by_day: list[dict[str, Any]]  # {"day": "YYYY-MM-DD", "visits": n}, people only, oldest first
    referrers: list[dict[str, Any]]  # {"referer", "visits"}, most first
    countries: list[dict[str, Any]]  # {"country", "visits"}, most first

    @classmethod
    def from_rows(
        cls,
        key: str,
        totals: Sequence[Mapping[str, Any]],
        by_day: Sequence[Mapping[str, Any]],
        referrers: Sequence[Mapping[str, Any]],
        countries: Sequence[Mapping[str, Any]],
    ) -> LinkStats:
        """From a store's four answers: totals (visits, bots, uniques), then day, referer and country counts."""
        total = totals[0] if totals else {}
        visits, bots = int(total.get("visits") or 0), int(total.get("bots") or 0)
        return cls(
            link=key,
            visits=visits - bots,
            uniques=int(total.get("uniques") or 0),
            bots=bots,
            by_day=[{"day": str(r["day"]), "visits": int(r["visits"])} for r in by_day],
            referrers=[{"referer": r["referer"], "visits": int(r["visits"])} for r in referrers],
            countries=[{"country": r["country"], "visits": int(r["visits"])} for r in countries],
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
