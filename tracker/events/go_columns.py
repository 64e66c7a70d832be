"""The columns of the Go tracker's messaging tables (mthreads, mstore, mtriage) by kind, and Go's lenient reading
of an event's same-named keys into them (messaging_helpers.go): a value of the wrong type is the column default,
never an error, so a campaign field cannot cost the event it rides on. The schemas are .setup/*/05_go_tables.sql.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from tracker.events.ids import parse_uuid
from tracker.timestamps import text as time_text

INT_RANGES = {"int8": 7, "int16": 15, "int32": 31, "int64": 63}
YEARS = range(1970, 2106)  # what a ClickHouse DateTime holds


def table(**kinds: str) -> dict[str, str]:
    """column → kind, from space-separated column names per kind."""
    return {column: kind for kind, names in kinds.items() for column in names.split()}


MTHREADS = table(
    uuid=(
        "tid mcert_id ref content_approver content_creator creator_id content_id parent_tid oid owner uid vid updater"
    ),
    text=(
        "alias xid xstatus name post app rel ptyp etyp ename auth_name source svc medium campaign term promo "
        "aff provider provider_campaign_id provider_account_id provider_status funnel_stage winner_variant "
        "content_intention abz_algorithm abz_reward_metric abz_status abz_model_type abz_acquisition_function "
        "campaign_id campaign_phase campaign_status attribution_model content_status "
        "creator_compensation_model creator_notes org text_normalized"
    ),
    json=(
        "ddata mtempl splits provider_metrics prefs interest perf variants variant_weights audience_params "
        "audience_metrics content_assumptions content_metrics abz_params abz_param_space abz_model_params "
        "attribution_params regional_compliance frequency_caps"
    ),
    texts="cats mtypes fmtypes cmtypes cohorts audience_segments content_keywords consent_types text_tokens",
    int32="urgency ephemeral ver campaign_priority attribution_window data_retention content_version",
    flag=(
        "sys archived opens openp broadcast derive ftrack strack abz_enabled abz_auto_optimize abz_auto_stop "
        "abz_infinite_armed requires_consent creator_compensation"
    ),
    uuids="admins perms_ids sent outs subs pubs vid_targets content_history content_editors",
    float=(
        "provider_cost impression_budget cost_per_impression conversion_value abz_reward_value "
        "abz_exploration_rate abz_learning_rate abz_confidence_level abz_winner_threshold "
        "campaign_budget_allocation attribution_weight creator_compensation_rate creator_compensation_cap"
    ),
    int64=(
        "planned_impressions actual_impressions impression_goal total_conversions abz_sample_size "
        "abz_min_sample_size updatedms"
    ),
    time="abz_start_time content_approval_date deleted created_at updated_at",
)
MSTORE = table(
    uuid="tid mid pmid qid rid oid owner uid vid updater",
    text="subject msg data mtempl svc relation recipient_timezone xid split org funnel_stage text_normalized",
    int32="urgency",
    flag="sys broadcast keep hidden",
    json="repl meta interest perf",
    time="planned scheduled started completed deleted created_at updated_at hide",
    int8="scheduled_local_hour scheduled_local_dow",
    int16="utc_offset_minutes",
    texts="mtypes text_tokens",
    uuids="users deliveries failures perms_ids",
    int64="createdms conversion_event_count",
)
MTRIAGE = table(
    uuid="tid mid pmid qid rid oid owner uid vid updater",
    text="subject msg data mtempl svc relation recipient_timezone xid split org",
    int32="urgency",
    flag="sys broadcast keep",
    json="repl meta",
    time="scheduled started completed deleted created_at updated_at",
    int8="scheduled_local_hour scheduled_local_dow",
    int16="utc_offset_minutes",
    texts="mtypes",
    uuids="users deliveries failures perms_ids",
    int64="createdms",
)
MESSAGING_TABLES = {"mthreads": MTHREADS, "mstore": MSTORE, "mtriage": MTRIAGE}


def read_columns(kinds: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns of `kinds` that `values` has a usable value for, typed; the others are left to their default."""
    row: dict[str, Any] = {}
    for column in kinds.keys() & values.keys():
        value = read(kinds[column], values[column])
        if value is not None:
            row[column] = value
    return row


def read(kind: str, value: Any) -> Any:
    """`value` as a column of this kind stores it, or None (the column's default) when it cannot be one."""
    if value is None:
        return None
    if kind == "text":
        return value if isinstance(value, str) else None
    if kind == "uuid":
        return parse_uuid(value.lower() if isinstance(value, str) else value)
    if kind in INT_RANGES:
        number = _number(value)
        if number is None or not math.isfinite(number):
            return None
        limit = 1 << INT_RANGES[kind]
        return max(-limit, min(limit - 1, int(number)))
    if kind == "float":
        number = _number(value)
        return number if number is not None and math.isfinite(number) else None
    if kind == "flag":
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False}.get(value) if isinstance(value, str) else None
    if kind == "json":
        return _json(value)
    if kind == "texts":
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else None
    if kind == "uuids":
        return [u for u in map(parse_uuid, value) if u is not None] if isinstance(value, list) else None
    if kind == "time":
        return _time(value)
    raise ValueError(f"unknown column kind {kind!r}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _json(value: Any) -> Any:
    """JSON columns take objects and arrays; text that is JSON is parsed, other text kept as a JSON string."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value if isinstance(value, (dict, list)) else None


def _time(value: Any) -> str | None:
    """RFC 3339 or "YYYY-MM-DD HH:MM:SS" text, or Unix seconds, as the one stored time text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return time_text(moment) if moment.year in YEARS else None
    if not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return time_text(moment) if moment.year in YEARS else None
