"""The building blocks of the config schema: `key()` fields named by their JSON key, the frozen JSON object,
and the one error every config problem raises."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

import orjson

GIB = 1024**3
MIB = 1024**2


class ConfigError(Exception):
    """A config.json problem; str() is the one line printed before exiting with status 2."""

    def __init__(self, path: str, message: str, source: str = "config.json") -> None:
        super().__init__(f"{source}: {path}: {message}" if path else f"{source}: {message}")
        self.path = path


def key(name: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    """A dataclass field read from the JSON key `name`; metadata `secret` masks it in logs, `unsupported` lists
    a Go key that is accepted but not implemented."""
    if isinstance(default, (list, dict, set)) and not isinstance(default, FrozenMap):
        raise TypeError("use tuples or FrozenMap for mutable defaults")
    return field(default=default, metadata={"key": name, **kw})


class FrozenMap(dict[str, Any]):
    """A JSON object in the frozen config: hashable, read-only, and picklable to the workers."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (dict(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the config is read-only")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _read_only


UNSUPPORTED: dict[str, Any] = {"unsupported": True}


def show(value: Any) -> str:
    """A config value as it reads in an error message: JSON, cut at 60 characters."""
    text = orjson.dumps(value).decode() if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."
