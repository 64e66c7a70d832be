"""Where a sink's schema files live: `.setup/<kind>/` beside the package, or $TRACKER_SETUP_DIR/<kind>/."""

from __future__ import annotations

import os
from pathlib import Path

CANDIDATES = (
    Path(__file__).resolve().parent.parent.parent / ".setup",  # a source checkout or `pip install -e`
    Path("/opt/tracker/.setup"),  # the Docker image
)


def schema_dir(kind: str) -> Path:
    override = os.environ.get("TRACKER_SETUP_DIR")
    roots = [Path(override)] if override else list(CANDIDATES)
    for root in roots:
        if (root / kind).is_dir():
            return root / kind
    raise FileNotFoundError(f"no schema directory for {kind!r} under {', '.join(map(str, roots))}")


def schema_files(kind: str) -> list[Path]:
    return sorted(schema_dir(kind).glob("*.sql"))
