"""Load generation with wrk (bounded duration, loopback only) and parsing of its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclass(slots=True)
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int

    def row(self) -> str:
        return f"| {self.name} | {self.rps:,.0f} | {self.p50_ms:.2f} | {self.p99_ms:.2f} | {self.non_2xx} |"


def wrk(
    name: str,
    url: str,
    *,
    seconds: int = 5,
    connections: int = 32,
    script: str | None = None,
    headers: dict[str, str] | None = None,
) -> Result:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run .setup/services/install.sh bench")
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    for header, value in (headers or {}).items():
        command[1:1] = ["-H", f"{header}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return Result(
        name, rps, _percentile(out, "50%"), _percentile(out, "99%"), int(non_2xx_match.group(1)) if non_2xx_match else 0
    )


def _percentile(out: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")
