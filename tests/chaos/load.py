"""Event load for the chaos tests: every event has a client-chosen id, and each answer is tallied."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx


@dataclass
class Tally:
    acknowledged: list[str] = field(default_factory=list)  # 2xx: the server owes these
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    refused_without_retry_after: int = 0

    @property
    def refused(self) -> int:
        return self.statuses[503]

    def add(self, other: Tally) -> None:
        self.acknowledged += other.acknowledged
        self.statuses.update(other.statuses)
        self.connection_errors += other.connection_errors
        self.refused_without_retry_after += other.refused_without_retry_after


async def post_events(
    base_url: str,
    count: int,
    *,
    concurrency: int = 8,
    tag: str = "chaos",
    pad: int = 200,
    on_answer: Callable[[Tally], None] | None = None,
) -> Tally:
    """POST `count` events to /tr/v1/str/, `concurrency` at a time; a dead server ends nothing early."""
    tally = Tally()
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=10, limits=limits) as client:

        async def worker() -> None:
            nonlocal sent
            while sent < count:
                sent += 1
                eid = str(uuid.uuid1())
                body = {"eid": eid, "ename": tag, "vid": str(uuid.uuid1()), "params": {"pad": "x" * pad}}
                try:
                    response = await client.post("/tr/v1/str/", json=body)
                except httpx.HTTPError:
                    tally.connection_errors += 1
                    continue
                tally.statuses[response.status_code] += 1
                if 200 <= response.status_code < 300:
                    tally.acknowledged.append(eid)
                elif response.status_code == 503 and "retry-after" not in response.headers:
                    tally.refused_without_retry_after += 1
                if on_answer is not None:
                    on_answer(tally)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


def stored_ids(database: Path) -> Counter[str]:
    """How many times each event id is stored (the tracker must be stopped: DuckDB has one writer)."""
    with duckdb.connect(str(database), read_only=True) as db:
        return Counter(str(row[0]) for row in db.execute("select eid from events").fetchall())


def report(fault: str, tally: Tally, stored: Counter[str]) -> tuple[int, int, int]:
    """(acknowledged, stored once, lost); prints one line for the README's fault table."""
    acknowledged = set(tally.acknowledged)
    lost = len(acknowledged - set(stored))
    once = sum(1 for eid in acknowledged if stored[eid] == 1)
    print(
        f"\nCHAOS | {fault} | acknowledged {len(acknowledged)} | stored {once} | lost {lost}"
        f" | 503 {tally.refused} | connection errors {tally.connection_errors}"
        f" | doubled {sum(1 for n in stored.values() if n > 1)}"
    )
    return len(acknowledged), once, lost
