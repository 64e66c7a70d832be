-- Events: one row per tracked event (SPEC.md §3). No key: a key's index on a table that grows forever stays in
-- memory forever (about 80 bytes an event). The DuckDB sink recognises a replayed or resent event by the newest
-- ids it keeps in a table of its own, event_ids (tracker/sinks/duckdb/event_ids.py).
CREATE TABLE IF NOT EXISTS events (
    eid UUID NOT NULL,
    oid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    org VARCHAR DEFAULT '',
    vid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    device_id UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    sid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    hhash VARCHAR DEFAULT '',
    app VARCHAR DEFAULT '',
    rel VARCHAR DEFAULT '',
    cflags BIGINT DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    uid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    tid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    last VARCHAR DEFAULT '',
    url VARCHAR DEFAULT '',
    ip VARCHAR DEFAULT '',
    iphash VARCHAR DEFAULT '',
    lat DOUBLE DEFAULT 0,
    lon DOUBLE DEFAULT 0,
    ptyp VARCHAR DEFAULT '',
    bhash VARCHAR DEFAULT '',
    auth_id UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    duration BIGINT DEFAULT 0,
    xid VARCHAR DEFAULT '',
    split VARCHAR DEFAULT '',
    ename VARCHAR DEFAULT '',
    source VARCHAR DEFAULT '',
    medium VARCHAR DEFAULT '',
    campaign VARCHAR DEFAULT '',
    content VARCHAR DEFAULT '',
    country VARCHAR DEFAULT '',
    region VARCHAR DEFAULT '',
    city VARCHAR DEFAULT '',
    zip VARCHAR DEFAULT '',
    term VARCHAR DEFAULT '',
    etyp VARCHAR DEFAULT '',
    ver INTEGER DEFAULT 0,
    sink VARCHAR DEFAULT '',
    score DOUBLE DEFAULT 0,
    params JSON DEFAULT '{}',
    invoice_id UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    targets JSON DEFAULT '{}',
    relation VARCHAR DEFAULT '',
    rid UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    ja4h VARCHAR DEFAULT '',
    gaid VARCHAR DEFAULT '',
    idfa VARCHAR DEFAULT '',
    msid VARCHAR DEFAULT '',
    fbid VARCHAR DEFAULT '',
    culture VARCHAR DEFAULT '',
    ref UUID DEFAULT '00000000-0000-0000-0000-000000000000',
    rcode VARCHAR DEFAULT '',
    aff VARCHAR DEFAULT '',
    arm_id VARCHAR DEFAULT '',
    mcid VARCHAR DEFAULT '',
    browser VARCHAR DEFAULT '',
    device VARCHAR DEFAULT '',
    os VARCHAR DEFAULT '',
    tz VARCHAR DEFAULT '',
    vp_w BIGINT DEFAULT 0,
    vp_h BIGINT DEFAULT 0,
    ua VARCHAR DEFAULT '',
    referer VARCHAR DEFAULT '',
    host VARCHAR DEFAULT '',
    link VARCHAR DEFAULT ''              -- the short link (redirects.urlfrom) a short_rdr hit came through
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS link VARCHAR DEFAULT '';

-- Visitors and sessions are views over events, as in the Go schema (never written).
CREATE OR REPLACE VIEW visitors AS
SELECT vid, arg_min(oid, created_at) AS oid, min(created_at) AS created_at, max(created_at) AS last_seen_at,
       arg_min(sid, created_at) AS sid, arg_min(hhash, created_at) AS hhash, arg_min(url, created_at) AS url,
       arg_min(referer, created_at) AS referer, arg_min(source, created_at) AS source,
       arg_min(medium, created_at) AS medium, arg_min(campaign, created_at) AS campaign,
       arg_min(country, created_at) AS country, count(*) AS events
FROM events GROUP BY vid;

CREATE OR REPLACE VIEW sessions AS
SELECT sid, arg_min(vid, created_at) AS vid, min(created_at) AS created_at, max(created_at) AS last_seen_at,
       arg_min(url, created_at) AS entry_url, arg_max(url, created_at) AS exit_url, count(*) AS events
FROM events GROUP BY sid;

-- Counter tables of the Go schema, derived from events so nothing is counted twice (SPEC.md §8.11).
CREATE OR REPLACE VIEW hits AS
SELECT hhash, url, count(*) AS total, CAST(created_at AS DATE) AS date FROM events WHERE url <> '' GROUP BY ALL;
CREATE OR REPLACE VIEW ips AS
SELECT hhash, iphash, count(*) AS total, CAST(created_at AS DATE) AS date FROM events WHERE iphash <> '' GROUP BY ALL;
CREATE OR REPLACE VIEW dailies AS
SELECT iphash AS ip, CAST(created_at AS DATE) AS day, count(*) AS total FROM events WHERE iphash <> '' GROUP BY ALL;
CREATE OR REPLACE VIEW browsers AS
SELECT hhash, bhash, any_value(ua) AS browser, count(*) AS total, CAST(created_at AS DATE) AS date
FROM events WHERE bhash <> '' GROUP BY hhash, bhash, CAST(created_at AS DATE);
CREATE OR REPLACE VIEW referrers AS
SELECT hhash, referer AS url, count(*) AS total, CAST(created_at AS DATE) AS date
FROM events WHERE referer <> '' GROUP BY ALL;
CREATE OR REPLACE VIEW reqs AS
SELECT hhash, vid, count(*) AS total, CAST(created_at AS DATE) AS date FROM events GROUP BY ALL;
CREATE OR REPLACE VIEW counters AS
SELECT 'vids_created' AS id, count(*) AS total, CAST(created_at AS DATE) AS date FROM visitors GROUP BY ALL;
