"""Rows grouped for unlogged batches: one batch never spans two partitions (so it goes to one replica set as
one mutation, which is what an unlogged batch is good for), and stays under a row count and a byte size.
A partition with a single row is sent as a plain statement."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Group(Generic[Item]):
    partition: Hashable
    items: list[Item]


def by_partition(
    items: Iterable[Item],
    partition: Callable[[Item], Hashable],
    size: Callable[[Item], int],
    max_rows: int,
    max_bytes: int,
) -> list[Group[Item]]:
    """Items in groups of one partition each, in first-seen order, cut at `max_rows` items or `max_bytes`
    (an item larger than `max_bytes` travels alone)."""
    partitions: dict[Hashable, list[Item]] = {}
    for item in items:
        partitions.setdefault(partition(item), []).append(item)
    groups: list[Group[Item]] = []
    for key, members in partitions.items():
        groups.extend(Group(key, chunk) for chunk in _chunks(members, size, max_rows, max_bytes))
    return groups


def _chunks(members: Sequence[Item], size: Callable[[Item], int], max_rows: int, max_bytes: int) -> list[list[Item]]:
    chunks: list[list[Item]] = []
    current: list[Item] = []
    current_bytes = 0
    for member in members:
        member_bytes = size(member)
        if current and (len(current) >= max_rows or current_bytes + member_bytes > max_bytes):
            chunks.append(current)
            current, current_bytes = [], 0
        current.append(member)
        current_bytes += member_bytes
    if current:
        chunks.append(current)
    return chunks
