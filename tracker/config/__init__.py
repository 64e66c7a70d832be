"""config.json → frozen, typed configuration, validated once at start-up.

`schema` holds the sections and `Config`, `sinks` the keys every Notify entry takes (each sink package adds
its own), `loader` the strict reader, `validation` the checks across keys. Everything is re-exported here:
`from tracker.config import Config, load` is the way in.
"""

from tracker.config.fields import GIB, MIB, ConfigError, FrozenMap, key
from tracker.config.loader import from_mapping, load, sink_schema
from tracker.config.schema import (
    AcmeConfig,
    Config,
    CookieConfig,
    LimitsConfig,
    RateLimitConfig,
    RedirectConfig,
    StaticConfig,
    UpstreamConfig,
    redacted,
    replace,
)
from tracker.config.sinks import DisabledSinkConfig, PruneField, PruneRule, SinkConfig
from tracker.config.validation import BODY_LIMIT_FAMILIES, RATE_LIMIT_FAMILIES, split_bind, validate

__all__ = [
    "BODY_LIMIT_FAMILIES",
    "GIB",
    "MIB",
    "RATE_LIMIT_FAMILIES",
    "AcmeConfig",
    "Config",
    "ConfigError",
    "CookieConfig",
    "DisabledSinkConfig",
    "FrozenMap",
    "LimitsConfig",
    "PruneField",
    "PruneRule",
    "RateLimitConfig",
    "RedirectConfig",
    "SinkConfig",
    "StaticConfig",
    "UpstreamConfig",
    "from_mapping",
    "key",
    "load",
    "redacted",
    "replace",
    "sink_schema",
    "split_bind",
    "validate",
]
