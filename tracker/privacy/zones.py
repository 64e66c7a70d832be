"""Time zone → country (ISO 3166 alpha-2), the Go tracker's `countries[tz]` rule, read from the tz database.

The tz database ships `zone1970.tab`/`zone.tab` with the country of every zone; the system copy is used, else
the `tzdata` package's. Keys are lowercased, as Go's table is, so `America/Los_Angeles` and its lowercase match.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

SYSTEM_TABLES = (Path("/usr/share/zoneinfo/zone.tab"), Path("/usr/share/zoneinfo/zone1970.tab"))


def country_of(tz: str) -> str:
    """'America/Los_Angeles' → 'US'; '' when the zone is unknown or spans no single country."""
    return _table().get(tz.strip().lower(), "")


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for text in _sources():
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) >= 3:
                codes = parts[0].split(",")
                # zone.tab lists one country per zone; zone1970.tab may list several: the first is the main one
                table.setdefault(parts[2].strip().lower(), codes[0].upper())
    return table


def _sources() -> list[str]:
    texts = [path.read_text(encoding="utf-8") for path in SYSTEM_TABLES if path.is_file()]
    if texts:
        return texts
    try:  # the PyPI tzdata package, on systems without /usr/share/zoneinfo
        folder = resources.files("tzdata").joinpath("zoneinfo")
        return [folder.joinpath(name).read_text(encoding="utf-8") for name in ("zone.tab", "zone1970.tab")]
    except (ModuleNotFoundError, FileNotFoundError):
        return []
