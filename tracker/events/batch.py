"""The events of one request (or one WebSocket message) → `events` records and the Go tables' rows derived from
each, with only the per-event work left in the loop: the request's values, columns, time and consent are worked
out once by EventRows.

An item that is not an object, or whose row cannot be built, is rejected by index and the rest are kept;
callers decide what a batch of only rejects means (a 400 for /tr/, an ack naming them for the socket).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.errors import BadEvent
from tracker.events.derived import BEYOND_HOSTS, derived_records
from tracker.events.inputs import lower_keys
from tracker.events.row import EventRows, Visitor, new_tuple
from tracker.events.shapes import Shape, merged_shape
from tracker.records import Record

UNSEEN = Shape(True, (), False, False)  # a key set not looked at yet


@dataclass(slots=True)
class Batch:
    records: list[Record] = field(default_factory=list)
    visitors: list[Visitor] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def build_batch(items: list[Any], base: dict[str, Any], rows: EventRows, *, item_field: str) -> Batch:
    """Rows for `items`, each merged over `base` (the request's own values: seed, path pairs, query)."""
    rows.new_batch(len(items))
    batch = Batch()
    records, visitors, build = batch.records, batch.visitors, rows.build
    shapes: dict[tuple[Any, ...], Shape | None] = {}  # by the item's keys: most batches have one or two
    plain: list[Record] | None = None  # what a plain event derives (its hosts row): made once, shared by all
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise BadEvent(item_field, "each event must be a JSON object")
            keys = tuple(item)
            shape = shapes.get(keys, UNSEEN)
            if shape is UNSEEN:
                shape = shapes[keys] = merged_shape(base, keys)
            if shape is not None:
                if shape.rare:
                    if None in item.values():
                        shape = None
                else:
                    for key in shape.overrides:
                        if item[key] is None:
                            shape = None
            if shape is None:
                values = event_values(base, item)
            elif base or shape.rare:
                values = {**base, **item}
            else:
                values = item  # build leaves a value map of a shape that is not rare as it is
            event, visitor = build(values, shape)
        except BadEvent as error:
            batch.rejected.append({"index": index, "field": error.field, "error": error.message})
            continue
        records.append(new_tuple(Record, ("events", event)))
        if (shape is not None and shape.plain) or BEYOND_HOSTS.isdisjoint(values):
            if plain is None:
                plain = derived_records(event, values, rows.is_server, rows.privacy, rows.info)
            records += plain
        else:
            records += derived_records(event, values, rows.is_server, rows.privacy, rows.info)
        visitors.append(visitor)
    return batch


def event_records(event: dict[str, Any], values: dict[str, Any], rows: EventRows) -> list[Record]:
    """The event's own record, then the Go tables' rows derived from it."""
    return [Record("events", event), *derived_records(event, values, rows.is_server, rows.privacy, rows.info)]


def event_values(base: dict[str, Any], item: dict[Any, Any]) -> dict[str, Any]:
    """`base` updated with `item` as inputs.lower_keys gives it; the keys of JSON events are nearly always
    lower case and never None-valued, which is checked in C instead of rebuilding the item key by key."""
    try:
        keys = "".join(item)
    except TypeError:  # a key that is not text
        return {**base, **lower_keys(item)}
    if keys.lower() == keys and None not in item.values():
        return {**base, **item}
    return {**base, **lower_keys(item)}
