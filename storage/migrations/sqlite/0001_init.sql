-- Timestamps are integer milliseconds since the Unix epoch (BIGINT on PostgreSQL): they sort and
-- compare the same way on both dialects.

CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    source            TEXT    NOT NULL,
    kind              TEXT    NOT NULL,              -- full | incremental
    started_at        BIGINT  NOT NULL,
    snapshot_at       BIGINT  NOT NULL,              -- the stock is read as of this instant
    heartbeat_at      BIGINT  NOT NULL,
    finished_at       BIGINT,
    outcome           TEXT    NOT NULL,              -- running | complete | failed | abandoned
    failed_partitions TEXT    NOT NULL DEFAULT '[]', -- JSON array of partition names
    counts            TEXT    NOT NULL DEFAULT '{}', -- JSON object of counters
    cursor            TEXT,                          -- JSON, committed with the offers it covers
    error             TEXT
);
CREATE INDEX runs_by_source ON runs (source, id);

CREATE TABLE offers (
    source            TEXT    NOT NULL,
    source_offer_id   TEXT    NOT NULL,
    status            TEXT    NOT NULL,              -- active | withdrawn
    withdrawn_reason  TEXT,
    withdrawn_at      BIGINT,
    departement       TEXT,
    commune           TEXT,
    created_at_source BIGINT,
    first_seen_at     BIGINT  NOT NULL,
    last_seen_at      BIGINT  NOT NULL,
    last_seen_run     BIGINT,
    content_hash      TEXT    NOT NULL,
    offer             TEXT    NOT NULL,              -- the normalised offer, JSON
    PRIMARY KEY (source, source_offer_id)
);
CREATE INDEX offers_by_status ON offers (source, status);
CREATE INDEX offers_by_departement ON offers (status, departement);

-- Every distinct payload of every record as the source sent it, for audit and re-normalisation:
-- a new row when the content changes, the same row (last_received_at moves) when it does not.
CREATE TABLE raw_records (
    source            TEXT    NOT NULL,
    source_offer_id   TEXT    NOT NULL,
    content_hash      TEXT    NOT NULL,
    first_received_at BIGINT  NOT NULL,
    last_received_at  BIGINT  NOT NULL,
    run_id            BIGINT  NOT NULL,
    payload           TEXT    NOT NULL,
    PRIMARY KEY (source, source_offer_id, content_hash)
);
