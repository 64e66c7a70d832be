-- Control-plane tables: short links, their history, admin accounts.
CREATE TABLE IF NOT EXISTS redirects (
    urlfrom VARCHAR PRIMARY KEY,          -- lower(host) + lower(path), no scheme
    hhash VARCHAR DEFAULT '',
    urlto VARCHAR NOT NULL,
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    org VARCHAR DEFAULT '',
    updater VARCHAR DEFAULT '',
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    slug VARCHAR DEFAULT '',
    status INTEGER DEFAULT 0,
    valid_since TIMESTAMP,
    valid_until TIMESTAMP,
    max_visits INTEGER,
    tags JSON DEFAULT '[]',
    targets JSON DEFAULT '{}',
    crawlable BOOLEAN DEFAULT false,
    deleted BOOLEAN DEFAULT false
);

CREATE TABLE IF NOT EXISTS redirect_history (
    id UUID PRIMARY KEY,
    urlfrom VARCHAR DEFAULT '',
    hostfrom VARCHAR DEFAULT '',
    slugfrom VARCHAR DEFAULT '',
    urlto VARCHAR DEFAULT '',
    hostto VARCHAR DEFAULT '',
    pathto VARCHAR DEFAULT '',
    searchto VARCHAR DEFAULT '',
    action VARCHAR DEFAULT '',
    updater VARCHAR DEFAULT '',
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    org VARCHAR DEFAULT '',
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE IF NOT EXISTS accounts (
    uid VARCHAR PRIMARY KEY,
    pwd VARCHAR NOT NULL,
    tokens JSON DEFAULT '[]',
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp
);
