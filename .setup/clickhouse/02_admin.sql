-- Control-plane tables: short links, their history, admin accounts. The newest updated_at wins on merge;
-- reads use FINAL.
CREATE TABLE IF NOT EXISTS redirects (
    urlfrom String, hhash String DEFAULT '', urlto String, oid UUID, org String DEFAULT '',
    updater String DEFAULT '', created_at DateTime('UTC'), updated_at DateTime('UTC'), slug String DEFAULT '',
    status Int32 DEFAULT 0, valid_since Nullable(DateTime('UTC')), valid_until Nullable(DateTime('UTC')),
    max_visits Nullable(Int64), tags String DEFAULT '[]', targets String DEFAULT '{}',
    crawlable UInt8 DEFAULT 0, deleted UInt8 DEFAULT 0
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY urlfrom;

CREATE TABLE IF NOT EXISTS redirect_history (
    id UUID, urlfrom String DEFAULT '', hostfrom String DEFAULT '', slugfrom String DEFAULT '',
    urlto String DEFAULT '', hostto String DEFAULT '', pathto String DEFAULT '', searchto String DEFAULT '',
    action String DEFAULT '', updater String DEFAULT '', oid UUID, org String DEFAULT '',
    created_at DateTime('UTC'), updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (urlfrom, id);

CREATE TABLE IF NOT EXISTS accounts (
    uid String, pwd String, tokens String DEFAULT '[]', created_at DateTime('UTC'), updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY uid;
