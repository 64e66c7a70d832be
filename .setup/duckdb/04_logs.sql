-- What the NATS consumer writes (Consume[] filters with Alias "log" and "update"), the Go tracker's columns.
CREATE TABLE IF NOT EXISTS logs (
    id UUID PRIMARY KEY,
    ldate DATE DEFAULT current_date,
    created_at TIMESTAMP DEFAULT current_timestamp,
    ltime BIGINT DEFAULT 0,                -- the sender's time in nanoseconds since the epoch
    topic VARCHAR DEFAULT '',
    name VARCHAR DEFAULT '',
    host VARCHAR DEFAULT '',
    hostname VARCHAR DEFAULT '',
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    org VARCHAR DEFAULT '',
    owner UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    ip VARCHAR DEFAULT '',
    iphash VARCHAR DEFAULT '',
    level INTEGER DEFAULT 0,
    msg VARCHAR DEFAULT '',
    params JSON DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS updates (
    id VARCHAR PRIMARY KEY,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    msg VARCHAR DEFAULT ''
);
