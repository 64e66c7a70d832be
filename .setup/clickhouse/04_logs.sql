-- What the NATS consumer writes (Consume[] filters with Alias "log" and "update"), the Go tracker's columns.
-- logs: one row per id (a message the consumer saw twice collapses on merge); updates: newest updated_at wins.
CREATE TABLE IF NOT EXISTS logs (
    id UUID, ldate Date, created_at DateTime('UTC'), ltime Int64 DEFAULT 0, topic String DEFAULT '',
    name String DEFAULT '', host String DEFAULT '', hostname String DEFAULT '', oid UUID, org String DEFAULT '',
    owner UUID, ip String DEFAULT '', iphash String DEFAULT '', level Int32 DEFAULT 0, msg String DEFAULT '',
    params String DEFAULT '{}'
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(ldate) ORDER BY (created_at, id);

CREATE TABLE IF NOT EXISTS updates (
    id String, updated_at DateTime('UTC'), msg String DEFAULT ''
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY id;
