-- Events (SPEC.md §3) for ClickHouse, from Debian's 18.16 to current releases.
-- ReplacingMergeTree on (created_at, eid): a batch the spool replays collapses to one row per event on merge;
-- counts that must be exact before a merge use FINAL or uniqExact(eid). Times are whole seconds (DateTime, the
-- type every supported ClickHouse has) in UTC: DateTime('UTC') reads the tracker's UTC text as UTC whatever the
-- server's own timezone, and day views (toDate) count UTC days.
CREATE TABLE IF NOT EXISTS events (
    eid UUID DEFAULT generateUUIDv4(), oid UUID, org String DEFAULT '', vid UUID, device_id UUID, sid UUID, hhash String DEFAULT '',
    app String DEFAULT '', rel String DEFAULT '', cflags Int64 DEFAULT 0, created_at DateTime('UTC'), uid UUID,
    tid UUID,
    last String DEFAULT '', url String DEFAULT '', ip String DEFAULT '', iphash String DEFAULT '',
    lat Float64 DEFAULT 0, lon Float64 DEFAULT 0, ptyp String DEFAULT '', bhash String DEFAULT '', auth_id UUID,
    duration Int64 DEFAULT 0, xid String DEFAULT '', split String DEFAULT '', ename String DEFAULT '',
    source String DEFAULT '', medium String DEFAULT '', campaign String DEFAULT '', content String DEFAULT '',
    country String DEFAULT '', region String DEFAULT '', city String DEFAULT '', zip String DEFAULT '',
    term String DEFAULT '', etyp String DEFAULT '', ver Int32 DEFAULT 0, sink String DEFAULT '',
    score Float64 DEFAULT 0, params String DEFAULT '{}', invoice_id UUID, targets String DEFAULT '{}',
    relation String DEFAULT '', rid UUID, ja4h String DEFAULT '', gaid String DEFAULT '', idfa String DEFAULT '',
    msid String DEFAULT '', fbid String DEFAULT '', culture String DEFAULT '', ref UUID, rcode String DEFAULT '',
    aff String DEFAULT '', arm_id String DEFAULT '', mcid String DEFAULT '', browser String DEFAULT '',
    device String DEFAULT '', os String DEFAULT '', tz String DEFAULT '', vp_w Int64 DEFAULT 0,
    vp_h Int64 DEFAULT 0, ua String DEFAULT '', referer String DEFAULT '', host String DEFAULT '',
    link String DEFAULT ''
) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(created_at) ORDER BY (created_at, eid);

-- Visitors and sessions are views over events, as in the Go schema (never written).
-- (`t` keeps aggregates off the output alias created_at, which ClickHouse would substitute.)
CREATE VIEW IF NOT EXISTS visitors AS
SELECT vid, argMin(oid, t) AS oid, min(t) AS created_at, max(t) AS last_seen_at, argMin(sid, t) AS sid,
       argMin(hhash, t) AS hhash, argMin(url, t) AS url, argMin(referer, t) AS referer,
       argMin(source, t) AS source, argMin(medium, t) AS medium, argMin(campaign, t) AS campaign,
       argMin(country, t) AS country, count() AS events
FROM (SELECT vid, oid, sid, hhash, url, referer, source, medium, campaign, country, created_at AS t FROM events FINAL)
GROUP BY vid;

CREATE VIEW IF NOT EXISTS sessions AS
SELECT sid, argMin(vid, t) AS vid, min(t) AS created_at, max(t) AS last_seen_at, argMin(url, t) AS entry_url,
       argMax(url, t) AS exit_url, count() AS events
FROM (SELECT sid, vid, url, created_at AS t FROM events FINAL) GROUP BY sid;

-- The Go schema's counter tables, derived from events so nothing is counted twice (SPEC.md §8.11).
CREATE VIEW IF NOT EXISTS hits AS
SELECT hhash, url, count() AS total, toDate(created_at) AS date FROM events FINAL WHERE url != ''
GROUP BY hhash, url, date;
CREATE VIEW IF NOT EXISTS ips AS
SELECT hhash, iphash, count() AS total, toDate(created_at) AS date FROM events FINAL WHERE iphash != ''
GROUP BY hhash, iphash, date;
CREATE VIEW IF NOT EXISTS reqs AS
SELECT hhash, vid, count() AS total, toDate(created_at) AS date FROM events FINAL GROUP BY hhash, vid, date;
CREATE VIEW IF NOT EXISTS dailies AS
SELECT iphash AS ip, toDate(created_at) AS day, count() AS total FROM events FINAL WHERE iphash != ''
GROUP BY ip, day;
CREATE VIEW IF NOT EXISTS browsers AS
SELECT hhash, bhash, any(ua) AS browser, count() AS total, toDate(created_at) AS date FROM events FINAL
WHERE bhash != '' GROUP BY hhash, bhash, date;
CREATE VIEW IF NOT EXISTS referrers AS
SELECT hhash, referer AS url, count() AS total, toDate(created_at) AS date FROM events FINAL WHERE referer != ''
GROUP BY hhash, url, date;
CREATE VIEW IF NOT EXISTS counters AS
SELECT 'vids_created' AS id, count() AS total, toDate(created_at) AS date FROM visitors GROUP BY date;
