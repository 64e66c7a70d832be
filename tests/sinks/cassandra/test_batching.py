"""Groups never span two partitions and stay under the row and byte limits."""

from __future__ import annotations

from tracker.sinks.cassandra.batching import by_partition


def test_items_are_grouped_by_partition_in_first_seen_order() -> None:
    items = [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5)]
    groups = by_partition(items, lambda i: i[0], lambda i: 10, max_rows=10, max_bytes=1000)
    assert [(g.partition, [i[1] for i in g.items]) for g in groups] == [("a", [1, 3]), ("b", [2, 5]), ("c", [4])]


def test_a_partition_is_cut_at_the_row_limit() -> None:
    items = [("p", n) for n in range(7)]
    groups = by_partition(items, lambda i: i[0], lambda i: 1, max_rows=3, max_bytes=1000)
    assert [[i[1] for i in g.items] for g in groups] == [[0, 1, 2], [3, 4, 5], [6]]
    assert {g.partition for g in groups} == {"p"}


def test_a_partition_is_cut_at_the_byte_limit_and_a_large_item_travels_alone() -> None:
    sizes = [40, 40, 30, 500, 10]
    items = [("p", n, size) for n, size in enumerate(sizes)]
    groups = by_partition(items, lambda i: i[0], lambda i: i[2], max_rows=100, max_bytes=100)
    assert [[i[1] for i in g.items] for g in groups] == [[0, 1], [2], [3], [4]]
