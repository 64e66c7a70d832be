"""Reads of short links, accounts and visit statistics, from the primary store.

The primary store is the first configured sink that declares `PrimaryStore` (sinks/base.py), chosen once when
the control plane starts; each sink owns its queries. Writes never come through here: they go to the spool like
every other row, so every sink receives them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracker.sinks.base import PrimaryStore
from tracker.sinks.registry import primary_store


def primary(sinks: Iterable[object]) -> PrimaryStore | None:
    return primary_store(sinks)


async def load_redirects(store: PrimaryStore) -> list[dict[str, Any]]:
    return await store.load_links()


async def load_accounts(store: PrimaryStore) -> list[dict[str, Any]]:
    return await store.load_accounts()


async def link_stats(store: PrimaryStore, key: str, days: int = 30) -> dict[str, Any]:
    return (await store.link_stats(key, days)).as_json()


async def agreements(store: PrimaryStore, vid: str) -> list[dict[str, Any]]:
    return list(await store.agreements(vid) or [])  # a store inheriting the protocol's stub answers None


async def jurisdictions(store: PrimaryStore) -> list[dict[str, Any]]:
    return list(await store.jurisdictions() or [])


async def visit_count(store: PrimaryStore, key: str) -> int:
    return await store.visit_count(key)
