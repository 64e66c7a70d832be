"""Short-link redirects vs the tracking GET on the same tracker, same wrk load, alternated in one run.

Both record one event through the spool; a redirect adds the cached lookup. Target: redirect ≥ 90% of tracking.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Result, wrk  # noqa: E402
from bench.run import TRACK_URL  # noqa: E402
from tests.harness import prepare_tracker  # noqa: E402
from tests.routes.conftest import BROWSER_UA, add_account  # noqa: E402


def main(seconds: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tracker = prepare_tracker(Path(tmp) / "t")
        token = add_account(tracker.config_path, "bench", "bench-password")["token"]
        tracker.start()
        try:
            created = httpx.post(
                tracker.url("/tr/v1/rpi/links"),
                headers={"authorization": f"Bearer {token}"},
                json={"host": "go.example", "slugfrom": "spring", "urlto": "https://example.com/x"},
            )
            created.raise_for_status()
            headers = {"Host": "go.example", "User-Agent": BROWSER_UA}
            results: dict[str, list[Result]] = {"track": [], "redirect": []}
            for _ in range(2):
                results["track"].append(
                    wrk(
                        "tracking GET /tr/", tracker.url(TRACK_URL), seconds=seconds, headers={"User-Agent": BROWSER_UA}
                    )
                )
                results["redirect"].append(
                    wrk(
                        "short link GET /spring (302)",
                        tracker.url("/spring?utm_source=bench"),
                        seconds=seconds,
                        headers=headers,
                    )
                )
        finally:
            tracker.stop(60)
    best = {k: max(v, key=lambda r: r.rps) for k, v in results.items()}
    print("| route | req/s | p50 ms | p99 ms | non-2xx/3xx |\n|---|---|---|---|---|")
    print(best["track"].row())
    print(best["redirect"].row())
    print(f"\n**redirect / tracking GET = {best['redirect'].rps / best['track'].rps:.0%}** (target ≥ 90%)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
