-- Payments and lifetime value (LTV), consent records and jurisdictions (SPEC.md §4).
CREATE TABLE IF NOT EXISTS payments (
    id UUID PRIMARY KEY,
    oid UUID, org VARCHAR DEFAULT '', tid UUID, uid UUID, vid UUID, sid UUID, invid UUID, orid UUID,
    product VARCHAR DEFAULT '', product_id UUID, pcat VARCHAR DEFAULT '', man VARCHAR DEFAULT '',
    model VARCHAR DEFAULT '', qty DOUBLE DEFAULT 0, duration BIGINT DEFAULT 0,
    starts TIMESTAMP, ends TIMESTAMP,
    price DECIMAL(18, 4), discount DECIMAL(18, 4), revenue DECIMAL(18, 4), margin DECIMAL(18, 4),
    cost DECIMAL(18, 4), tax DECIMAL(18, 4), tax_rate DECIMAL(18, 4), commission DECIMAL(18, 4),
    referral DECIMAL(18, 4), fees DECIMAL(18, 4), subtotal DECIMAL(18, 4), total DECIMAL(18, 4),
    payment DECIMAL(18, 4), currency VARCHAR DEFAULT 'USD', country VARCHAR DEFAULT '',
    rcode VARCHAR DEFAULT '', region VARCHAR DEFAULT '', campaign_id VARCHAR DEFAULT '',
    invoiced_at TIMESTAMP, paid_at TIMESTAMP, created_at TIMESTAMP, updated_at TIMESTAMP
);

-- One row per (payment line, id): summing is a query, so a replayed payment cannot add twice.
CREATE TABLE IF NOT EXISTS ltv (
    payment_id UUID, hhash VARCHAR DEFAULT '', id UUID, id_type VARCHAR, paid DECIMAL(18, 4),
    oid UUID, org VARCHAR DEFAULT '', updater VARCHAR DEFAULT '', owner VARCHAR DEFAULT '',
    created_at TIMESTAMP, updated_at TIMESTAMP,
    PRIMARY KEY (payment_id, id, id_type)
);
CREATE OR REPLACE VIEW ltvu AS SELECT hhash, id AS uid, sum(paid) AS paid FROM ltv WHERE id_type = 'uid' GROUP BY ALL;
CREATE OR REPLACE VIEW ltvv AS SELECT hhash, id AS vid, sum(paid) AS paid FROM ltv WHERE id_type = 'vid' GROUP BY ALL;

CREATE TABLE IF NOT EXISTS agreements (
    vid UUID PRIMARY KEY, created_at TIMESTAMP, updated_at TIMESTAMP, cflags BIGINT DEFAULT 0, sid UUID,
    uid UUID, avid UUID, hhash VARCHAR DEFAULT '', app VARCHAR DEFAULT '', rel VARCHAR DEFAULT '',
    url VARCHAR DEFAULT '', ip VARCHAR DEFAULT '', iphash VARCHAR DEFAULT '', gaid VARCHAR DEFAULT '',
    idfa VARCHAR DEFAULT '', msid VARCHAR DEFAULT '', fbid VARCHAR DEFAULT '', country VARCHAR DEFAULT '',
    region VARCHAR DEFAULT '', city VARCHAR DEFAULT '', culture VARCHAR DEFAULT '', source VARCHAR DEFAULT '',
    medium VARCHAR DEFAULT '',
    campaign VARCHAR DEFAULT '', term VARCHAR DEFAULT '', ref UUID, rcode VARCHAR DEFAULT '',
    aff VARCHAR DEFAULT '', browser VARCHAR DEFAULT '', bhash VARCHAR DEFAULT '', device VARCHAR DEFAULT '',
    os VARCHAR DEFAULT '', tz VARCHAR DEFAULT '', vp_w BIGINT DEFAULT 0, vp_h BIGINT DEFAULT 0,
    lat DOUBLE DEFAULT 0, lon DOUBLE DEFAULT 0, zip VARCHAR DEFAULT '', owner UUID, oid UUID,
    org VARCHAR DEFAULT ''
);
-- Consent history: every agreement row as it was recorded.
CREATE TABLE IF NOT EXISTS agreed AS SELECT uuid() AS id, * FROM agreements WHERE false;

CREATE TABLE IF NOT EXISTS jurisdictions (
    regulation VARCHAR, compliance VARCHAR, seq INTEGER, rules JSON, locs JSON,
    created_at TIMESTAMP, updated_at TIMESTAMP, PRIMARY KEY (regulation, compliance, seq)
);
