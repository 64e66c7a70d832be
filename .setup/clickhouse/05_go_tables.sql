-- The tables the Go tracker writes besides events (SPEC.md §3-4), with its names and columns, for ClickHouse
-- 18.16 to current releases. Types as in 01_events.sql: DateTime('UTC') for Go's DateTime64(3), JSON as String,
-- Boolean as UInt8. Written by tracker/events/derived.py; what writes which table is in README.md ("Tables: what the Go tracker writes").
-- Keys are Go's ORDER BY, so a replayed spool batch collapses under FINAL; where Go sums (outcomes) or has no
-- key for one event (visitor_interests), an `eid` column (ours) keeps each event once.

CREATE TABLE IF NOT EXISTS mthreads (
    tid UUID, alias String DEFAULT '', xid String DEFAULT '', xstatus String DEFAULT '', name String DEFAULT '',
    ddata String DEFAULT '{}', post String DEFAULT '', mtempl String DEFAULT '{}', mcert_id UUID, cats Array(String),
    mtypes Array(String), fmtypes Array(String), cmtypes Array(String), urgency Int32 DEFAULT 0, sys UInt8 DEFAULT 0,
    ephemeral Int32 DEFAULT 0, archived UInt8 DEFAULT 0, admins Array(UUID), opens UInt8 DEFAULT 0,
    openp UInt8 DEFAULT 0, perms_ids Array(UUID), app String DEFAULT '', rel String DEFAULT '', ver Int32 DEFAULT 0,
    ptyp String DEFAULT '', etyp String DEFAULT '', ename String DEFAULT '', auth_name String DEFAULT '',
    cohorts Array(String), splits String DEFAULT '{}', source String DEFAULT '', svc String DEFAULT '',
    medium String DEFAULT '', campaign String DEFAULT '', term String DEFAULT '', promo String DEFAULT '', ref UUID,
    aff String DEFAULT '', provider String DEFAULT '', provider_campaign_id String DEFAULT '',
    provider_account_id String DEFAULT '', provider_metrics String DEFAULT '{}', provider_cost Float64 DEFAULT 0,
    provider_status String DEFAULT '', broadcast UInt8 DEFAULT 0, derive UInt8 DEFAULT 0, sent Array(UUID),
    outs Array(UUID), subs Array(UUID), pubs Array(UUID), prefs String DEFAULT '{}', ftrack UInt8 DEFAULT 0,
    strack UInt8 DEFAULT 0, interest String DEFAULT '{}', perf String DEFAULT '{}',
    planned_impressions Int64 DEFAULT 0, actual_impressions Int64 DEFAULT 0, impression_goal Int64 DEFAULT 0,
    impression_budget Float64 DEFAULT 0, cost_per_impression Float64 DEFAULT 0, vid_targets Array(UUID),
    funnel_stage String DEFAULT '', total_conversions Int64 DEFAULT 0, conversion_value Float64 DEFAULT 0,
    variants String DEFAULT '{}', variant_weights String DEFAULT '{}', winner_variant String DEFAULT '',
    audience_params String DEFAULT '{}', audience_metrics String DEFAULT '{}', audience_segments Array(String),
    content_keywords Array(String), content_assumptions String DEFAULT '{}', content_metrics String DEFAULT '{}',
    content_intention String DEFAULT '', abz_enabled UInt8 DEFAULT 0, abz_algorithm String DEFAULT '',
    abz_reward_metric String DEFAULT '', abz_reward_value Float64 DEFAULT 0, abz_exploration_rate Float64 DEFAULT 0,
    abz_learning_rate Float64 DEFAULT 0, abz_start_time DateTime('UTC'), abz_sample_size Int64 DEFAULT 0,
    abz_min_sample_size Int64 DEFAULT 0, abz_confidence_level Float64 DEFAULT 0,
    abz_winner_threshold Float64 DEFAULT 0, abz_auto_optimize UInt8 DEFAULT 0, abz_auto_stop UInt8 DEFAULT 0,
    abz_status String DEFAULT '', abz_params String DEFAULT '{}', abz_infinite_armed UInt8 DEFAULT 0,
    abz_param_space String DEFAULT '{}', abz_model_type String DEFAULT '', abz_model_params String DEFAULT '{}',
    abz_acquisition_function String DEFAULT '', campaign_id String DEFAULT '', campaign_phase String DEFAULT '',
    campaign_priority Int32 DEFAULT 0, campaign_budget_allocation Float64 DEFAULT 0,
    campaign_status String DEFAULT '', attribution_model String DEFAULT '', attribution_weight Float64 DEFAULT 0,
    attribution_window Int32 DEFAULT 0, attribution_params String DEFAULT '{}', requires_consent UInt8 DEFAULT 0,
    consent_types Array(String), regional_compliance String DEFAULT '{}', frequency_caps String DEFAULT '{}',
    data_retention Int32 DEFAULT 0, content_version Int32 DEFAULT 0, content_status String DEFAULT '',
    content_approver UUID, content_approval_date DateTime('UTC'), content_history Array(UUID), content_creator UUID,
    content_editors Array(UUID), creator_id UUID, content_id UUID, creator_compensation UInt8 DEFAULT 0,
    creator_compensation_rate Float64 DEFAULT 0, creator_compensation_model String DEFAULT '',
    creator_compensation_cap Float64 DEFAULT 0, creator_notes String DEFAULT '', parent_tid UUID,
    deleted DateTime('UTC'), created_at DateTime('UTC'), oid UUID, org String DEFAULT '', owner UUID, uid UUID,
    vid UUID, updatedms Int64 DEFAULT 0, updated_at DateTime('UTC'), updater UUID, text_normalized String DEFAULT '',
    text_tokens Array(String)
) ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMM(created_at) ORDER BY (oid, org, tid, created_at);

CREATE TABLE IF NOT EXISTS mstore (
    tid UUID, mid UUID, pmid UUID, subject String DEFAULT '', msg String DEFAULT '', data String DEFAULT '',
    urgency Int32 DEFAULT 0, sys UInt8 DEFAULT 0, broadcast UInt8 DEFAULT 0, mtempl String DEFAULT '',
    repl String DEFAULT '{}', svc String DEFAULT '', qid UUID, rid UUID, relation String DEFAULT '',
    meta String DEFAULT '{}', planned DateTime('UTC'), scheduled DateTime('UTC'),
    scheduled_local_hour Int8 DEFAULT -1, scheduled_local_dow Int8 DEFAULT -1, recipient_timezone String DEFAULT '',
    utc_offset_minutes Int16 DEFAULT 0, started DateTime('UTC'), completed DateTime('UTC'), mtypes Array(String),
    users Array(UUID), deliveries Array(UUID), failures Array(UUID), xid String DEFAULT '', split String DEFAULT '',
    perms_ids Array(UUID), deleted DateTime('UTC'), keep UInt8 DEFAULT 0, createdms Int64 DEFAULT 0,
    created_at DateTime('UTC'), oid UUID, org String DEFAULT '', owner UUID, uid UUID, vid UUID,
    updated_at DateTime('UTC'), updater UUID, interest String DEFAULT '{}', perf String DEFAULT '{}',
    hide DateTime('UTC'), hidden UInt8 DEFAULT 0, funnel_stage String DEFAULT '',
    conversion_event_count Int64 DEFAULT 0, text_normalized String DEFAULT '', text_tokens Array(String)
) ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMM(created_at) ORDER BY (oid, org, tid, mid, created_at);

CREATE TABLE IF NOT EXISTS mtriage (
    tid UUID, mid UUID, pmid UUID, subject String DEFAULT '', msg String DEFAULT '', data String DEFAULT '',
    urgency Int32 DEFAULT 0, sys UInt8 DEFAULT 0, broadcast UInt8 DEFAULT 0, mtempl String DEFAULT '',
    repl String DEFAULT '{}', svc String DEFAULT '', qid UUID, rid UUID, relation String DEFAULT '',
    meta String DEFAULT '{}', scheduled DateTime('UTC'), scheduled_local_hour Int8 DEFAULT -1,
    scheduled_local_dow Int8 DEFAULT -1, recipient_timezone String DEFAULT '', utc_offset_minutes Int16 DEFAULT 0,
    started DateTime('UTC'), completed DateTime('UTC'), mtypes Array(String), users Array(UUID),
    deliveries Array(UUID), failures Array(UUID), xid String DEFAULT '', split String DEFAULT '',
    perms_ids Array(UUID), deleted DateTime('UTC'), keep UInt8 DEFAULT 0, createdms Int64 DEFAULT 0,
    created_at DateTime('UTC'), oid UUID, org String DEFAULT '', owner UUID, uid UUID, vid UUID,
    updated_at DateTime('UTC'), updater UUID
) ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMM(created_at) ORDER BY (tid, mid, created_at);

CREATE TABLE IF NOT EXISTS impression_daily (
    oid UUID, org String DEFAULT '', tid UUID, campaign_id String DEFAULT '', day Date, variant_id String DEFAULT '',
    total_impressions Int64 DEFAULT 0, anonymous_impressions Int64 DEFAULT 0, identified_impressions Int64 DEFAULT 0,
    unique_visitors Int64 DEFAULT 0, conversions Int64 DEFAULT 0, updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMM(day) ORDER BY (oid, org, tid, day, variant_id);

CREATE TABLE IF NOT EXISTS outcomes (
    hhash String DEFAULT '', outcome String DEFAULT '', sink String DEFAULT '', created Date, url String DEFAULT '',
    total UInt64 DEFAULT 0,
    eid UUID DEFAULT generateUUIDv4()
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(created) ORDER BY (hhash, outcome, sink, url, created, eid);

CREATE TABLE IF NOT EXISTS hosts (
    hhash String DEFAULT '', hostname String DEFAULT '', created_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(created_at) ORDER BY (hhash, hostname);

CREATE TABLE IF NOT EXISTS usernames (
    hhash String DEFAULT '', uhash String DEFAULT '', vid UUID, sid UUID, created_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(created_at) PARTITION BY toYYYYMM(created_at) ORDER BY (hhash, uhash, vid);

CREATE TABLE IF NOT EXISTS emails (
    hhash String DEFAULT '', ehash String DEFAULT '', vid UUID, sid UUID, created_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(created_at) PARTITION BY toYYYYMM(created_at) ORDER BY (hhash, ehash);

CREATE TABLE IF NOT EXISTS cells (
    hhash String DEFAULT '', chash String DEFAULT '', vid UUID, sid UUID, created_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(created_at) PARTITION BY toYYYYMM(created_at) ORDER BY (hhash, chash, vid);

CREATE TABLE IF NOT EXISTS userhosts (
    hhash String DEFAULT '', uid UUID, vid UUID, sid UUID, created_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(created_at) PARTITION BY toYYYYMM(created_at) ORDER BY (hhash, uid, vid);

-- Go writes visitor_interests (clickhouse.go) but ships no DDL for it: its insert's columns, plus created_at
-- (its own tests insert one) and eid (ours, one row per event).
CREATE TABLE IF NOT EXISTS visitor_interests (
    vid UUID, uid UUID, oid UUID, org String DEFAULT '', audience_tags Array(String),
    audience_counts String DEFAULT '{}', content_tags Array(String), content_counts String DEFAULT '{}',
    interests Array(String), interest_counts String DEFAULT '{}', campaign_sources String DEFAULT '{}',
    total_interactions Int64 DEFAULT 0, unique_campaigns Int64 DEFAULT 0, first_seen DateTime('UTC'),
    last_updated DateTime('UTC'), created_at DateTime('UTC'), updated_at DateTime('UTC'),
    last_iphash String DEFAULT '', last_lat Float64 DEFAULT 0, last_lon Float64 DEFAULT 0,
    last_country String DEFAULT '', last_region String DEFAULT '', last_city String DEFAULT '',
    last_zip String DEFAULT '', location_updated_at DateTime('UTC'), eid UUID DEFAULT generateUUIDv4()
) ENGINE = ReplacingMergeTree(updated_at) PARTITION BY toYYYYMM(updated_at) ORDER BY (oid, vid, eid);
