"""The one list of sinks, by `Service` name: the built-ins here, then the `tracker.sinks` entry-point group.

The config loader asks it for each Notify entry's settings schema, `--check-config` therefore fails on a name
it does not list, and start-up builds the sinks from it: a name that passes the check also starts.
A third-party package registers `name = "package.module:PLUGIN"` in the group, where PLUGIN is a SinkPlugin.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from tracker.config import Config, ConfigError, SinkConfig
from tracker.sinks.base import PrimaryStore, SchemaOwner, Sink, SinkPlugin

ENTRY_POINT_GROUP = "tracker.sinks"
BUILTIN = {
    "cassandra": "tracker.sinks.cassandra:PLUGIN",
    "clickhouse": "tracker.sinks.clickhouse:PLUGIN",
    "duckdb": "tracker.sinks.duckdb:PLUGIN",
    "memory": "tracker.sinks.memory:PLUGIN",
    "nats": "tracker.sinks.nats:PLUGIN",
}


class UnknownSink(LookupError):
    """No built-in sink and no entry point has this name."""


class UnavailableSink(LookupError):
    """The name is registered but its plugin cannot be loaded here (a missing library, a broken entry point)."""


def _entry_points() -> dict[str, Any]:
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP) if entry.name not in BUILTIN}


def names() -> list[str]:
    """Every sink name a Notify entry may use, sorted."""
    return sorted({*BUILTIN, *_entry_points()})


@cache
def plugin(kind: str) -> SinkPlugin[Any]:
    """The plugin registered as `kind`; raises UnknownSink or UnavailableSink."""
    try:
        if kind in BUILTIN:
            module_name, _, attribute = BUILTIN[kind].partition(":")
            found = getattr(importlib.import_module(module_name), attribute)
        else:
            entry = _entry_points().get(kind)
            if entry is None:
                raise UnknownSink(f'unknown sink "{kind}"')
            found = entry.load()
    except UnknownSink:
        raise
    except Exception as error:  # noqa: BLE001 - a plugin that fails to import is reported, not a traceback
        reason = str(error) if isinstance(error, ImportError) else f"{type(error).__name__}: {error}"
        raise UnavailableSink(f'sink "{kind}" is not available here: {reason}') from None
    if not isinstance(found, SinkPlugin) or found.kind != kind:
        raise UnavailableSink(f'sink "{kind}" is not available here: its entry point is not a SinkPlugin "{kind}"')
    return found


def settings_schema(kind: str) -> type[SinkConfig]:
    return plugin(kind).settings


def build_sinks(config: Config) -> list[Sink]:
    sinks: list[Sink] = []
    for index, settings in enumerate(config.notify):
        if not settings.enabled:
            continue
        where = f"Notify[{index}].Service"
        try:
            sinks.append(plugin(settings.kind).build(settings, config))
        except LookupError as error:
            raise ConfigError(where, str(error), config.source) from None
        except ImportError as error:  # the implementation's own libraries, imported only now
            raise ConfigError(where, f'sink "{settings.kind}" is not available here: {error}', config.source) from None
    return sinks


def primary_store(sinks: Iterable[object]) -> PrimaryStore | None:
    """The store that answers reads: the first configured sink that declares PrimaryStore."""
    return next((sink for sink in sinks if isinstance(sink, PrimaryStore)), None)


def schema_owner(sink: Sink) -> SchemaOwner | None:
    return sink if isinstance(sink, SchemaOwner) else None
