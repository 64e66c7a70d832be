"""MaxMind's official GeoIP test databases (.mmdb), taken from the geoip2 source distribution on the package
registry (SERVICES.md "GeoIP test databases") once, and cached outside the tests' temp dirs.

Known answers in GeoIP2-City-Test.mmdb: 81.2.69.142 → GB/London/ENG, 216.160.83.56 → US/Milton/WA (98354),
89.160.20.112 → SE/Linköping; 8.8.8.8 is not in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib.metadata import version
from pathlib import Path

import pytest

CITY = "GeoIP2-City-Test.mmdb"
COUNTRY = "GeoLite2-Country-Test.mmdb"


def cache_directory() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "tracker-tests" / f"geoip2-{version('geoip2')}"


def fetch_test_databases() -> Path:
    """The folder holding the test .mmdb files, fetched with `pip download` on first use."""
    folder = cache_directory()
    if (folder / CITY).is_file() and (folder / COUNTRY).is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    release = version("geoip2")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", "geoip2"]
        + [f"geoip2=={release}", "-d", str(folder)],
        check=True,
        timeout=300,
    )
    [sdist] = folder.glob("geoip2-*.tar.gz")
    inside = f"geoip2-{release}/tests/data/test-data/"
    with tarfile.open(sdist) as archive:
        for name in (CITY, COUNTRY):
            member = archive.getmember(inside + name)
            extracted = archive.extractfile(member)
            assert extracted is not None, name
            (folder / name).write_bytes(extracted.read())
    sdist.unlink()
    return folder


@pytest.fixture(scope="session")
def geoip_city_database() -> Path:
    return fetch_test_databases() / CITY


@pytest.fixture(scope="session")
def geoip_country_database() -> Path:
    return fetch_test_databases() / COUNTRY
