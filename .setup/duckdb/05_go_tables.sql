-- The tables the Go tracker writes besides events (SPEC.md §3-4), with its names and columns, for DuckDB.
-- Types follow 01_events.sql: TIMESTAMP for Go's DateTime64(3), JSON, BOOLEAN, VARCHAR[] and UUID[] for arrays.
-- Written by tracker/events/derived.py; README.md ("Tables: what the Go tracker writes") says which event writes which table. The primary
-- keys are Go's ORDER BY (outcomes and visitor_interests: eid, ours), so a replayed spool batch is ignored
-- (INSERT OR IGNORE: the first row of a key stays).

CREATE TABLE IF NOT EXISTS mthreads (
    tid UUID DEFAULT '00000000-0000-0000-0000-000000000000', alias VARCHAR DEFAULT '', xid VARCHAR DEFAULT '',
    xstatus VARCHAR DEFAULT '', name VARCHAR DEFAULT '', ddata JSON DEFAULT '{}', post VARCHAR DEFAULT '',
    mtempl JSON DEFAULT '{}', mcert_id UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    cats VARCHAR[] DEFAULT [], mtypes VARCHAR[] DEFAULT [], fmtypes VARCHAR[] DEFAULT [],
    cmtypes VARCHAR[] DEFAULT [], urgency INTEGER DEFAULT 0, sys BOOLEAN DEFAULT false, ephemeral INTEGER DEFAULT 0,
    archived BOOLEAN DEFAULT false, admins UUID[] DEFAULT [], opens BOOLEAN DEFAULT false,
    openp BOOLEAN DEFAULT false, perms_ids UUID[] DEFAULT [], app VARCHAR DEFAULT '', rel VARCHAR DEFAULT '',
    ver INTEGER DEFAULT 0, ptyp VARCHAR DEFAULT '', etyp VARCHAR DEFAULT '', ename VARCHAR DEFAULT '',
    auth_name VARCHAR DEFAULT '', cohorts VARCHAR[] DEFAULT [], splits JSON DEFAULT '{}', source VARCHAR DEFAULT '',
    svc VARCHAR DEFAULT '', medium VARCHAR DEFAULT '', campaign VARCHAR DEFAULT '', term VARCHAR DEFAULT '',
    promo VARCHAR DEFAULT '', ref UUID DEFAULT '00000000-0000-0000-0000-000000000000', aff VARCHAR DEFAULT '',
    provider VARCHAR DEFAULT '', provider_campaign_id VARCHAR DEFAULT '', provider_account_id VARCHAR DEFAULT '',
    provider_metrics JSON DEFAULT '{}', provider_cost DOUBLE DEFAULT 0, provider_status VARCHAR DEFAULT '',
    broadcast BOOLEAN DEFAULT false, derive BOOLEAN DEFAULT false, sent UUID[] DEFAULT [], outs UUID[] DEFAULT [],
    subs UUID[] DEFAULT [], pubs UUID[] DEFAULT [], prefs JSON DEFAULT '{}', ftrack BOOLEAN DEFAULT false,
    strack BOOLEAN DEFAULT false, interest JSON DEFAULT '{}', perf JSON DEFAULT '{}',
    planned_impressions BIGINT DEFAULT 0, actual_impressions BIGINT DEFAULT 0, impression_goal BIGINT DEFAULT 0,
    impression_budget DOUBLE DEFAULT 0, cost_per_impression DOUBLE DEFAULT 0, vid_targets UUID[] DEFAULT [],
    funnel_stage VARCHAR DEFAULT '', total_conversions BIGINT DEFAULT 0, conversion_value DOUBLE DEFAULT 0,
    variants JSON DEFAULT '{}', variant_weights JSON DEFAULT '{}', winner_variant VARCHAR DEFAULT '',
    audience_params JSON DEFAULT '{}', audience_metrics JSON DEFAULT '{}', audience_segments VARCHAR[] DEFAULT [],
    content_keywords VARCHAR[] DEFAULT [], content_assumptions JSON DEFAULT '{}', content_metrics JSON DEFAULT '{}',
    content_intention VARCHAR DEFAULT '', abz_enabled BOOLEAN DEFAULT false, abz_algorithm VARCHAR DEFAULT '',
    abz_reward_metric VARCHAR DEFAULT '', abz_reward_value DOUBLE DEFAULT 0, abz_exploration_rate DOUBLE DEFAULT 0,
    abz_learning_rate DOUBLE DEFAULT 0, abz_start_time TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    abz_sample_size BIGINT DEFAULT 0, abz_min_sample_size BIGINT DEFAULT 0, abz_confidence_level DOUBLE DEFAULT 0,
    abz_winner_threshold DOUBLE DEFAULT 0, abz_auto_optimize BOOLEAN DEFAULT false,
    abz_auto_stop BOOLEAN DEFAULT false, abz_status VARCHAR DEFAULT '', abz_params JSON DEFAULT '{}',
    abz_infinite_armed BOOLEAN DEFAULT false, abz_param_space JSON DEFAULT '{}', abz_model_type VARCHAR DEFAULT '',
    abz_model_params JSON DEFAULT '{}', abz_acquisition_function VARCHAR DEFAULT '', campaign_id VARCHAR DEFAULT '',
    campaign_phase VARCHAR DEFAULT '', campaign_priority INTEGER DEFAULT 0,
    campaign_budget_allocation DOUBLE DEFAULT 0, campaign_status VARCHAR DEFAULT '',
    attribution_model VARCHAR DEFAULT '', attribution_weight DOUBLE DEFAULT 0, attribution_window INTEGER DEFAULT 0,
    attribution_params JSON DEFAULT '{}', requires_consent BOOLEAN DEFAULT false, consent_types VARCHAR[] DEFAULT [],
    regional_compliance JSON DEFAULT '{}', frequency_caps JSON DEFAULT '{}', data_retention INTEGER DEFAULT 0,
    content_version INTEGER DEFAULT 0, content_status VARCHAR DEFAULT '',
    content_approver UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    content_approval_date TIMESTAMP DEFAULT '1970-01-01 00:00:00', content_history UUID[] DEFAULT [],
    content_creator UUID DEFAULT '00000000-0000-0000-0000-000000000000', content_editors UUID[] DEFAULT [],
    creator_id UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    content_id UUID DEFAULT '00000000-0000-0000-0000-000000000000', creator_compensation BOOLEAN DEFAULT false,
    creator_compensation_rate DOUBLE DEFAULT 0, creator_compensation_model VARCHAR DEFAULT '',
    creator_compensation_cap DOUBLE DEFAULT 0, creator_notes VARCHAR DEFAULT '',
    parent_tid UUID DEFAULT '00000000-0000-0000-0000-000000000000', deleted TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    created_at TIMESTAMP DEFAULT current_timestamp, oid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    org VARCHAR DEFAULT '', owner UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    uid UUID DEFAULT '00000000-0000-0000-0000-000000000000', vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    updatedms BIGINT DEFAULT 0, updated_at TIMESTAMP DEFAULT current_timestamp,
    updater UUID DEFAULT '00000000-0000-0000-0000-000000000000', text_normalized VARCHAR DEFAULT '',
    text_tokens VARCHAR[] DEFAULT [],
    PRIMARY KEY (oid, org, tid, created_at)
);

CREATE TABLE IF NOT EXISTS mstore (
    tid UUID DEFAULT '00000000-0000-0000-0000-000000000000', mid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    pmid UUID DEFAULT '00000000-0000-0000-0000-000000000000', subject VARCHAR DEFAULT '', msg VARCHAR DEFAULT '',
    data VARCHAR DEFAULT '', urgency INTEGER DEFAULT 0, sys BOOLEAN DEFAULT false, broadcast BOOLEAN DEFAULT false,
    mtempl VARCHAR DEFAULT '', repl JSON DEFAULT '{}', svc VARCHAR DEFAULT '',
    qid UUID DEFAULT '00000000-0000-0000-0000-000000000000', rid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    relation VARCHAR DEFAULT '', meta JSON DEFAULT '{}', planned TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    scheduled TIMESTAMP DEFAULT '1970-01-01 00:00:00', scheduled_local_hour TINYINT DEFAULT -1,
    scheduled_local_dow TINYINT DEFAULT -1, recipient_timezone VARCHAR DEFAULT '',
    utc_offset_minutes SMALLINT DEFAULT 0, started TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    completed TIMESTAMP DEFAULT '1970-01-01 00:00:00', mtypes VARCHAR[] DEFAULT [], users UUID[] DEFAULT [],
    deliveries UUID[] DEFAULT [], failures UUID[] DEFAULT [], xid VARCHAR DEFAULT '', split VARCHAR DEFAULT '',
    perms_ids UUID[] DEFAULT [], deleted TIMESTAMP DEFAULT '1970-01-01 00:00:00', keep BOOLEAN DEFAULT false,
    createdms BIGINT DEFAULT 0, created_at TIMESTAMP DEFAULT current_timestamp,
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000', org VARCHAR DEFAULT '',
    owner UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    uid UUID DEFAULT '00000000-0000-0000-0000-000000000000', vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    updated_at TIMESTAMP DEFAULT current_timestamp, updater UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    interest JSON DEFAULT '{}', perf JSON DEFAULT '{}', hide TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    hidden BOOLEAN DEFAULT false, funnel_stage VARCHAR DEFAULT '', conversion_event_count BIGINT DEFAULT 0,
    text_normalized VARCHAR DEFAULT '', text_tokens VARCHAR[] DEFAULT [],
    PRIMARY KEY (oid, org, tid, mid, created_at)
);

CREATE TABLE IF NOT EXISTS mtriage (
    tid UUID DEFAULT '00000000-0000-0000-0000-000000000000', mid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    pmid UUID DEFAULT '00000000-0000-0000-0000-000000000000', subject VARCHAR DEFAULT '', msg VARCHAR DEFAULT '',
    data VARCHAR DEFAULT '', urgency INTEGER DEFAULT 0, sys BOOLEAN DEFAULT false, broadcast BOOLEAN DEFAULT false,
    mtempl VARCHAR DEFAULT '', repl JSON DEFAULT '{}', svc VARCHAR DEFAULT '',
    qid UUID DEFAULT '00000000-0000-0000-0000-000000000000', rid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    relation VARCHAR DEFAULT '', meta JSON DEFAULT '{}', scheduled TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    scheduled_local_hour TINYINT DEFAULT -1, scheduled_local_dow TINYINT DEFAULT -1,
    recipient_timezone VARCHAR DEFAULT '', utc_offset_minutes SMALLINT DEFAULT 0,
    started TIMESTAMP DEFAULT '1970-01-01 00:00:00', completed TIMESTAMP DEFAULT '1970-01-01 00:00:00',
    mtypes VARCHAR[] DEFAULT [], users UUID[] DEFAULT [], deliveries UUID[] DEFAULT [], failures UUID[] DEFAULT [],
    xid VARCHAR DEFAULT '', split VARCHAR DEFAULT '', perms_ids UUID[] DEFAULT [],
    deleted TIMESTAMP DEFAULT '1970-01-01 00:00:00', keep BOOLEAN DEFAULT false, createdms BIGINT DEFAULT 0,
    created_at TIMESTAMP DEFAULT current_timestamp, oid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    org VARCHAR DEFAULT '', owner UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    uid UUID DEFAULT '00000000-0000-0000-0000-000000000000', vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    updated_at TIMESTAMP DEFAULT current_timestamp, updater UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    PRIMARY KEY (tid, mid, created_at)
);

CREATE TABLE IF NOT EXISTS impression_daily (
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000', org VARCHAR DEFAULT '',
    tid UUID DEFAULT '00000000-0000-0000-0000-000000000000', campaign_id VARCHAR DEFAULT '',
    day DATE DEFAULT current_date, variant_id VARCHAR DEFAULT '', total_impressions BIGINT DEFAULT 0,
    anonymous_impressions BIGINT DEFAULT 0, identified_impressions BIGINT DEFAULT 0,
    unique_visitors BIGINT DEFAULT 0, conversions BIGINT DEFAULT 0, updated_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (oid, org, tid, day, variant_id)
);

CREATE TABLE IF NOT EXISTS outcomes (
    hhash VARCHAR DEFAULT '', outcome VARCHAR DEFAULT '', sink VARCHAR DEFAULT '', created DATE DEFAULT current_date,
    url VARCHAR DEFAULT '', total UBIGINT DEFAULT 0,
    eid UUID DEFAULT uuid(),
    PRIMARY KEY (eid)
);

CREATE TABLE IF NOT EXISTS hosts (
    hhash VARCHAR DEFAULT '', hostname VARCHAR DEFAULT '', created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (hhash, hostname)
);

CREATE TABLE IF NOT EXISTS usernames (
    hhash VARCHAR DEFAULT '', uhash VARCHAR DEFAULT '', vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    sid UUID DEFAULT '00000000-0000-0000-0000-000000000000', created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (hhash, uhash, vid)
);

CREATE TABLE IF NOT EXISTS emails (
    hhash VARCHAR DEFAULT '', ehash VARCHAR DEFAULT '', vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    sid UUID DEFAULT '00000000-0000-0000-0000-000000000000', created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (hhash, ehash)
);

CREATE TABLE IF NOT EXISTS cells (
    hhash VARCHAR DEFAULT '', chash VARCHAR DEFAULT '', vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    sid UUID DEFAULT '00000000-0000-0000-0000-000000000000', created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (hhash, chash, vid)
);

CREATE TABLE IF NOT EXISTS userhosts (
    hhash VARCHAR DEFAULT '', uid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    vid UUID DEFAULT '00000000-0000-0000-0000-000000000000', sid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (hhash, uid, vid)
);

-- Go writes visitor_interests but ships no DDL for it: its insert's columns, plus created_at and eid (ours).
CREATE TABLE IF NOT EXISTS visitor_interests (
    vid UUID DEFAULT '00000000-0000-0000-0000-000000000000', uid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000', org VARCHAR DEFAULT '', audience_tags VARCHAR[] DEFAULT [],
    audience_counts JSON DEFAULT '{}', content_tags VARCHAR[] DEFAULT [], content_counts JSON DEFAULT '{}',
    interests VARCHAR[] DEFAULT [], interest_counts JSON DEFAULT '{}', campaign_sources JSON DEFAULT '{}',
    total_interactions BIGINT DEFAULT 0, unique_campaigns BIGINT DEFAULT 0,
    first_seen TIMESTAMP DEFAULT current_timestamp, last_updated TIMESTAMP DEFAULT current_timestamp,
    created_at TIMESTAMP DEFAULT current_timestamp, updated_at TIMESTAMP DEFAULT current_timestamp,
    last_iphash VARCHAR DEFAULT '', last_lat DOUBLE DEFAULT 0, last_lon DOUBLE DEFAULT 0, last_country VARCHAR DEFAULT '',
    last_region VARCHAR DEFAULT '', last_city VARCHAR DEFAULT '', last_zip VARCHAR DEFAULT '',
    location_updated_at TIMESTAMP DEFAULT current_timestamp, eid UUID DEFAULT uuid(),
    PRIMARY KEY (eid)
);
