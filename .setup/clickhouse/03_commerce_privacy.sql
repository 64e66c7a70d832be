-- Payments and lifetime value (LTV), consent records and jurisdictions (SPEC.md §4).
-- A payment line updated later (paid, refunded) keeps its newest version on merge.
CREATE TABLE IF NOT EXISTS payments (
    id UUID, oid UUID, org String DEFAULT '', tid UUID, uid UUID, vid UUID, sid UUID, invid UUID, orid UUID,
    product String DEFAULT '', product_id UUID, pcat String DEFAULT '', man String DEFAULT '',
    model String DEFAULT '', qty Float64 DEFAULT 0, duration Int64 DEFAULT 0,
    starts Nullable(DateTime('UTC')), ends Nullable(DateTime('UTC')),
    price Nullable(Decimal(18, 4)), discount Nullable(Decimal(18, 4)), revenue Nullable(Decimal(18, 4)),
    margin Nullable(Decimal(18, 4)), cost Nullable(Decimal(18, 4)), tax Nullable(Decimal(18, 4)),
    tax_rate Nullable(Decimal(18, 4)), commission Nullable(Decimal(18, 4)), referral Nullable(Decimal(18, 4)),
    fees Nullable(Decimal(18, 4)), subtotal Nullable(Decimal(18, 4)), total Nullable(Decimal(18, 4)),
    payment Nullable(Decimal(18, 4)), currency String DEFAULT 'USD', country String DEFAULT '',
    rcode String DEFAULT '', region String DEFAULT '', campaign_id String DEFAULT '',
    invoiced_at Nullable(DateTime('UTC')), paid_at Nullable(DateTime('UTC')),
    created_at DateTime('UTC'), updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY id;

-- One row per (payment line, id): summing is a query, so a replayed payment cannot add twice.
CREATE TABLE IF NOT EXISTS ltv (
    payment_id UUID, hhash String DEFAULT '', id UUID, id_type String, paid Decimal(18, 4),
    oid UUID, org String DEFAULT '', updater String DEFAULT '', owner String DEFAULT '',
    created_at DateTime('UTC'), updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree() ORDER BY (payment_id, id, id_type);
CREATE VIEW IF NOT EXISTS ltvu AS
SELECT hhash, id AS uid, sum(paid) AS paid FROM ltv FINAL WHERE id_type = 'uid' GROUP BY hhash, uid;
CREATE VIEW IF NOT EXISTS ltvv AS
SELECT hhash, id AS vid, sum(paid) AS paid FROM ltv FINAL WHERE id_type = 'vid' GROUP BY hhash, vid;

CREATE TABLE IF NOT EXISTS agreements (
    vid UUID, created_at DateTime('UTC'), updated_at DateTime('UTC'), cflags Int64 DEFAULT 0, sid UUID,
    uid UUID, avid UUID, hhash String DEFAULT '', app String DEFAULT '', rel String DEFAULT '',
    url String DEFAULT '', ip String DEFAULT '', iphash String DEFAULT '', gaid String DEFAULT '',
    idfa String DEFAULT '', msid String DEFAULT '', fbid String DEFAULT '', country String DEFAULT '',
    region String DEFAULT '', city String DEFAULT '', culture String DEFAULT '', source String DEFAULT '',
    medium String DEFAULT '',
    campaign String DEFAULT '', term String DEFAULT '', ref UUID, rcode String DEFAULT '',
    aff String DEFAULT '', browser String DEFAULT '', bhash String DEFAULT '', device String DEFAULT '',
    os String DEFAULT '', tz String DEFAULT '', vp_w Int64 DEFAULT 0, vp_h Int64 DEFAULT 0,
    lat Float64 DEFAULT 0, lon Float64 DEFAULT 0, zip String DEFAULT '', owner UUID, oid UUID,
    org String DEFAULT ''
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY vid;

-- Consent history: every agreement row as it was recorded.
CREATE TABLE IF NOT EXISTS agreed (
    id UUID, vid UUID, created_at DateTime('UTC'), updated_at DateTime('UTC'), cflags Int64 DEFAULT 0, sid UUID,
    uid UUID, avid UUID, hhash String DEFAULT '', app String DEFAULT '', rel String DEFAULT '',
    url String DEFAULT '', ip String DEFAULT '', iphash String DEFAULT '', gaid String DEFAULT '',
    idfa String DEFAULT '', msid String DEFAULT '', fbid String DEFAULT '', country String DEFAULT '',
    region String DEFAULT '', city String DEFAULT '', culture String DEFAULT '', source String DEFAULT '',
    medium String DEFAULT '',
    campaign String DEFAULT '', term String DEFAULT '', ref UUID, rcode String DEFAULT '',
    aff String DEFAULT '', browser String DEFAULT '', bhash String DEFAULT '', device String DEFAULT '',
    os String DEFAULT '', tz String DEFAULT '', vp_w Int64 DEFAULT 0, vp_h Int64 DEFAULT 0,
    lat Float64 DEFAULT 0, lon Float64 DEFAULT 0, zip String DEFAULT '', owner UUID, oid UUID,
    org String DEFAULT ''
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (vid, created_at, id);

CREATE TABLE IF NOT EXISTS jurisdictions (
    regulation String, compliance String, seq Int32, rules String DEFAULT '{}', locs String DEFAULT '[]',
    created_at DateTime('UTC'), updated_at DateTime('UTC')
) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (regulation, compliance, seq);
