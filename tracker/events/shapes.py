"""What the keys of an event's value map decide about building its row (which text columns, in which case; whether
any of the rarely sent keys is there), worked out once per set of keys: the events of a batch nearly always share
their keys, so build_batch looks at them once per batch, not once per event.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from tracker.events.columns import LOWERCASE, TEXT_COLUMN_SET, TEXT_COLUMNS, UUID_ALIASES, UUID_COLUMN_SET
from tracker.events.derived import BEYOND_HOSTS

NUMBER_KEYS = frozenset(("cflags", "duration", "ver", "score", "lat", "lon", "w", "h", "vp_w", "vp_h"))
PRIVATE_HASHES = (("email", "ehash"), ("cell", "chash"), ("uname", "uhash"))
PRIVATE_SOURCES = frozenset(source for source, _ in PRIVATE_HASHES)
UUID_KEYS = UUID_COLUMN_SET | UUID_ALIASES.keys()
RARE_KEYS = UUID_KEYS | NUMBER_KEYS | PRIVATE_SOURCES | {"content", "last", "targets"}

TextCase = Callable[[str], str] | None
TEXT_CASES: dict[str, TextCase] = {
    column: str.lower if column in LOWERCASE else str.upper if column == "country" else None for column in TEXT_COLUMNS
}
TEXT_ORDER = {column: index for index, column in enumerate(TEXT_COLUMNS)}
MAX_REMEMBERED, MAX_REMEMBERED_TEXT = 1024, 512  # shape_of remembers 1024 key sets of at most 512 characters
TextColumns = tuple[tuple[str, TextCase], ...]


class Shape(NamedTuple):
    rare: bool  # a key few events carry: extra ids, numbers, private fields, content, last, targets
    text: TextColumns  # the text columns the keys hold, each with the case it is stored in
    url: bool
    plain: bool  # derives no row but `hosts` (derived.BEYOND_HOSTS); a rare shape may add keys: ask the values
    overrides: tuple[str, ...] = ()  # the item's keys the base also has (merged_shape)


_REMEMBERED: dict[tuple[str, ...], Shape] = {}


def text_columns(keys: Collection[Any]) -> TextColumns:
    """In the order of TEXT_COLUMNS, so that of two bad values the same one is named whichever way it is built."""
    present = sorted(TEXT_COLUMN_SET.intersection(keys), key=TEXT_ORDER.__getitem__)
    return tuple((column, TEXT_CASES[column]) for column in present)


def shape_of(keys: Collection[Any]) -> Shape:
    """The shape of a value map with these keys (remembered for short key sets: the one-event requests of a site
    repeat theirs)."""
    try:
        key = tuple(keys)
        remember = sum(map(len, key)) <= MAX_REMEMBERED_TEXT
    except TypeError:  # a key that is not text
        return _shape(keys)
    shape = _REMEMBERED.get(key) if remember else None
    if shape is None:
        shape = _shape(keys)
        if remember:
            if len(_REMEMBERED) >= MAX_REMEMBERED:
                _REMEMBERED.clear()
            _REMEMBERED[key] = shape
    return shape


def _shape(keys: Collection[Any]) -> Shape:
    rare = not RARE_KEYS.isdisjoint(keys)
    return Shape(rare, text_columns(keys), "url" in keys, not rare and BEYOND_HOSTS.isdisjoint(keys))


def merged_shape(base: Mapping[str, Any], keys: tuple[Any, ...]) -> Shape | None:
    """The shape of `{**base, **item}` for an item with these keys; None when one of them is not lower-case text
    (that item's keys must go through inputs.lower_keys first).

    inputs.lower_keys also drops None values. In a value map that has no rare key a None value is read as no value
    at all, so only a None at one of `overrides` (which must leave the base's value in place) or, for a rare
    shape, anywhere makes an item's map differ from `{**base, **item}`."""
    try:
        joined = "".join(keys)
    except TypeError:  # a key that is not text
        return None
    if joined.lower() != joined:
        return None
    rare, text, url, plain, _ = _shape(base.keys() | set(keys))
    return Shape(rare, text, url, plain, tuple(base.keys() & set(keys)))
