"""The strict loader: config.json → `Config`, by reflection over the schema's `key()` fields.

An unknown key (with a "did you mean"), a wrong type or a missing required key raises ConfigError naming the
key path. A `Notify[]` entry is read with the settings schema of its sink, found by `Service` in the sink
registry, so a name that loads is a sink that can start.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import orjson

from tracker.config.fields import ConfigError, FrozenMap, show
from tracker.config.schema import Config
from tracker.config.sinks import DisabledSinkConfig, SinkConfig
from tracker.config.validation import validate

UNSUPPORTED_SINKS = {"facebook": 'the "facebook" sink is not supported; disable it with "facebook_"'}


def load(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError("", f"cannot read: {error.strerror}", source) from None
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ConfigError("", f"not valid JSON: {error}", source) from None
    return from_mapping(raw, source)


def from_mapping(raw: Any, source: str = "config.json") -> Config:
    if not isinstance(raw, Mapping):
        raise ConfigError("", "the top level must be a JSON object", source)
    unsupported: list[str] = []
    values = _build(Config, raw, "", source, unsupported)
    config = Config(**values, source=source, unsupported=tuple(unsupported))
    validate(config)
    return config


def sink_schema(raw: Mapping[str, Any], path: str, source: str) -> type[SinkConfig]:
    """The settings class of the Notify entry `raw`: its sink's own, or DisabledSinkConfig when switched off."""
    service = raw.get("Service")
    if service is None:
        raise ConfigError(f"{path}.Service", "required key is missing", source)
    if not isinstance(service, str):
        raise ConfigError(f"{path}.Service", f"expected a string, got {show(service)}", source)
    if service.endswith("_") or raw.get("Skip") is True:
        return DisabledSinkConfig
    if service in UNSUPPORTED_SINKS:
        raise ConfigError(f"{path}.Service", UNSUPPORTED_SINKS[service], source)
    # The registry sits above config in the import order (it imports every sink's settings); ask it at load time.
    from tracker.sinks import registry

    try:
        return registry.settings_schema(service)
    except registry.UnknownSink:
        known = ", ".join(registry.names())
        raise ConfigError(f"{path}.Service", f'unknown sink "{service}" (known: {known})', source) from None
    except registry.UnavailableSink as error:
        raise ConfigError(f"{path}.Service", str(error), source) from None


def _build(cls: type, raw: Mapping[str, Any], path: str, source: str, unsupported: list[str]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    by_key = {f.metadata["key"]: f for f in dataclasses.fields(cls) if "key" in f.metadata}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        here = f"{path}.{name}" if path else name
        if name not in by_key:
            close = _closest(name, by_key)
            hint = f' (did you mean "{close}"?)' if close else ""
            raise ConfigError(here, f"unknown key{hint}", source)
        f = by_key[name]
        if f.metadata.get("unsupported") and value not in (None, "", 0, False, [], {}):
            unsupported.append(here)
        if value is None and f.default is not dataclasses.MISSING:
            continue  # Go configs write null for "not set"
        values[f.name] = _convert(value, hints[f.name], here, source, unsupported)
    for name, f in by_key.items():
        if f.name not in values and f.default is dataclasses.MISSING:
            where = f"{path}.{name}" if path else name
            raise ConfigError(where, "required key is missing", source)
    return values


def _convert(value: Any, hint: Any, path: str, source: str, unsupported: list[str]) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None):
                return _convert(value, option, path, source, unsupported)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed or type(value) is not type(allowed[0]):
            shown = ", ".join(orjson.dumps(a).decode() for a in allowed)
            raise ConfigError(path, f"{show(value)} is not one of {shown}", source)
        return value
    if origin is Mapping:
        value_hint = typing.get_args(hint)[1]
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected an object, got {show(value)}", source)
        return FrozenMap({k: _convert(v, value_hint, f"{path}.{k}", source, unsupported) for k, v in value.items()})
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {show(value)}", source)
        return tuple(_convert(item, item_hint, f"{path}[{i}]", source, unsupported) for i, item in enumerate(value))
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(path, f"expected an object, got {show(value)}", source)
        cls: type = sink_schema(value, path, source) if hint is SinkConfig else hint  # type: ignore[assignment]
        return cls(**_build(cls, value, path, source, unsupported))
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {show(value)}", source)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(path, f"expected an integer, got {show(value)}", source)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"expected a number, got {show(value)}", source)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected a string, got {show(value)}", source)
        return value
    raise TypeError(f"config loader cannot handle {hint!r} at {path}")


def _closest(name: str, candidates: Mapping[str, Any]) -> str | None:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return match[0] if match else None
