-- Collectivités managed with `relais collectivite add` (those of the configuration file are not
-- stored: the file wins on a shared id). `feeds` is a JSON array of feed names.
CREATE TABLE collectivites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    siren TEXT NOT NULL,
    territory TEXT NOT NULL,
    feeds TEXT NOT NULL,
    contact TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- API keys: only a hash of each key is kept; `id` is the public part shown in lists and logs.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    collectivite TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    rate_per_second DOUBLE PRECISION NOT NULL,
    daily_quota INTEGER,
    daily_offers INTEGER,
    label TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- What each key used per day (Europe/Paris days, `YYYY-MM-DD`): requests and offers returned,
-- so that quotas hold across restarts.
CREATE TABLE key_usage (
    key_id TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL,
    offers INTEGER NOT NULL,
    PRIMARY KEY (key_id, day)
);

-- Traffic counters, per day x collectivité x channel x source x offer. No visitor data.
CREATE TABLE traffic (
    day TEXT NOT NULL,
    collectivite TEXT NOT NULL,
    channel TEXT NOT NULL,
    source TEXT NOT NULL,
    source_offer_id TEXT NOT NULL,
    impressions INTEGER NOT NULL,
    views INTEGER NOT NULL,
    apply_clicks INTEGER NOT NULL,
    PRIMARY KEY (collectivite, day, channel, source, source_offer_id)
);

-- Operator actions: who, when, what; never a secret.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);
